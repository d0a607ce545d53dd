package nulldev

import (
	"errors"
	"testing"

	"hushbox/audio"
)

func TestOpenSpecs(t *testing.T) {
	tests := []struct {
		spec    string
		paced   bool
		wantErr bool
	}{
		{"null", true, false},
		{"null:fast", false, false},
		{"null:slow", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			d, err := audio.Open(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Open(%q) succeeded, want error", tt.spec)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.spec, err)
			}
			defer d.Close()
			if got := d.(*Device).paced; got != tt.paced {
				t.Errorf("paced = %v, want %v", got, tt.paced)
			}
		})
	}
}

func TestSilenceInDiscardOut(t *testing.T) {
	d := New(false)
	buf := make([]int16, audio.FrameLen)
	for i := range buf {
		buf[i] = 1234
	}
	for range 5 {
		if err := d.ReadFrame(buf); err != nil {
			t.Fatal(err)
		}
		if err := d.WriteFrame(buf); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range buf {
		if s != 0 {
			t.Fatalf("sample %d = %d, want silence", i, s)
		}
	}
	if r, w := d.Frames(); r != 5 || w != 5 {
		t.Errorf("frames read/written = %d/%d, want 5/5", r, w)
	}
	if err := d.ReadFrame(make([]int16, 10)); err == nil {
		t.Error("short read accepted")
	}
	if err := d.WriteFrame(make([]int16, 200)); err == nil {
		t.Error("long write accepted")
	}
	d.Close()
	if err := d.ReadFrame(buf); !errors.Is(err, ErrClosed) {
		t.Errorf("read after close: %v, want ErrClosed", err)
	}
	if err := d.WriteFrame(buf); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
}
