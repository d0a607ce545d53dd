package media

import (
	"errors"
	"testing"
)

func TestPortPool(t *testing.T) {
	ok := func(int) error { return nil }
	busy := func(ports ...int) func(int) error {
		return func(p int) error {
			for _, b := range ports {
				if p == b {
					return errors.New("address in use")
				}
			}
			return nil
		}
	}
	p := newPortPool(20000, 3) // pairs at 20000, 20002, 20004

	tests := []struct {
		name      string
		free      int // RTP port to free first; 0 for none
		try       func(int) error
		wantPort  int
		wantOK    bool
		wantInUse int
	}{
		{"first pair", 0, ok, 20000, true, 1},
		{"skips a pair another process holds", 0, busy(20002), 20004, true, 2},
		{"wraps around to the skipped pair", 0, ok, 20002, true, 3},
		{"full", 0, ok, 0, false, 3},
		{"freed pair is reused", 20000, ok, 20000, true, 3},
		{"nothing bindable", 20002, busy(20002), 0, false, 2},
		{"freeing an unknown port is ignored", 20001, ok, 20002, true, 3},
	}
	for _, tc := range tests {
		if tc.free != 0 {
			p.free(tc.free)
		}
		port, got := p.alloc(tc.try)
		if port != tc.wantPort || got != tc.wantOK || p.inUse != tc.wantInUse {
			t.Errorf("%s: alloc = %d, %v (in use %d); want %d, %v (in use %d)",
				tc.name, port, got, p.inUse, tc.wantPort, tc.wantOK, tc.wantInUse)
		}
	}
	p.free(20002)
	p.free(20002) // double free is ignored
	if p.inUse != 2 || p.available() != 1 {
		t.Errorf("after double free: in use %d, available %d; want 2, 1", p.inUse, p.available())
	}
}

// TestPortPoolNextFit: a freed pair is not the next one handed out while
// others are free, so late packets of an ended call miss the new one.
func TestPortPoolNextFit(t *testing.T) {
	p := newPortPool(30000, 4)
	ok := func(int) error { return nil }
	first, _ := p.alloc(ok)
	p.free(first)
	if again, _ := p.alloc(ok); again == first {
		t.Errorf("freed pair %d handed out again at once", first)
	}
}
