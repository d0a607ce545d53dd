package store

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestSettings(t *testing.T) {
	db := openTest(t)
	if _, ok, err := db.Setting("missing"); ok || err != nil {
		t.Errorf("Setting(missing) = ok %v, %v", ok, err)
	}
	tests := []struct {
		key, val string
		wantErr  bool
	}{
		{"sip.port", "5060", false},
		{"web.port", "8443", false},
		{"empty.value", "", false},
		{"sip.port", "5070", false}, // overwrite
		{"", "x", true},
		{strings.Repeat("k", MaxSettingKey+1), "x", true},
		{"big", strings.Repeat("v", MaxSettingValue+1), true},
	}
	want := map[string]string{}
	for _, tt := range tests {
		err := db.SetSetting(tt.key, tt.val)
		if (err != nil) != tt.wantErr {
			t.Fatalf("SetSetting(%.20q) error = %v, wantErr %v", tt.key, err, tt.wantErr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			continue
		}
		want[tt.key] = tt.val
		got, ok, err := db.Setting(tt.key)
		if err != nil || !ok || got != tt.val {
			t.Errorf("Setting(%q) = %q, %v, %v; want %q", tt.key, got, ok, err, tt.val)
		}
	}
	all, err := db.Settings()
	if err != nil || !maps.Equal(all, want) {
		t.Errorf("Settings = %v, %v; want %v", all, err, want)
	}
	if err := db.DeleteSetting("web.port"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Setting("web.port"); ok {
		t.Error("setting still there after DeleteSetting")
	}
}
