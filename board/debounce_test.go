package board

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	// Readings every 5 ms; "1" = contact reads active.
	tests := []struct {
		name     string
		readings string
		changes  []int // reading indexes where the state changes
		final    bool
	}{
		{"steady low", "0000000000", nil, false},
		{"clean press", "00011111111111", []int{9}, true}, // 30 ms after index 3
		{"bounce then press", "0001010111111111", []int{13}, true},
		{"glitch shorter than 30 ms", "0001111100000000", nil, false},
		{"press and release", "0111111111100000000000", []int{7, 17}, false},
		{"starts pressed: no transition", "1111111", nil, true},
	}
	t0 := time.Unix(1000, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Debouncer
			var got []int
			var state bool
			for i, c := range tc.readings {
				var changed bool
				state, changed = d.Update(c == '1', t0.Add(time.Duration(i)*5*time.Millisecond))
				if changed {
					got = append(got, i)
				}
			}
			if len(got) != len(tc.changes) {
				t.Fatalf("changes at %v, want %v", got, tc.changes)
			}
			for i := range got {
				if got[i] != tc.changes[i] {
					t.Fatalf("changes at %v, want %v", got, tc.changes)
				}
			}
			if state != tc.final || d.State() != tc.final {
				t.Errorf("final state %v, want %v", state, tc.final)
			}
		})
	}
}
