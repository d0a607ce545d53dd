package daemon

import "testing"

func TestParseRole(t *testing.T) {
	tests := []struct {
		in        string
		want      Role
		cloud     bool
		appliance bool
		bad       bool
	}{
		{in: "", want: RoleBoard, appliance: true},
		{in: "board", want: RoleBoard, appliance: true},
		{in: " Cloud ", want: RoleCloud, cloud: true},
		{in: "cloud", want: RoleCloud, cloud: true},
		{in: "edge", bad: true},
		{in: "cloud2", bad: true},
	}
	for _, tc := range tests {
		r, err := ParseRole(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseRole(%q) accepted %q", tc.in, r)
			}
			continue
		}
		if err != nil || r != tc.want || r.Cloud() != tc.cloud || r.Appliance() != tc.appliance {
			t.Errorf("ParseRole(%q) = %q %v (cloud %v appliance %v)", tc.in, r, err, r.Cloud(), r.Appliance())
		}
	}
	if Role("").String() != "board" {
		t.Error("the zero Role is not shown as board")
	}
}
