package media

import (
	"testing"
	"time"
)

// A session that timed out while nobody sent RTP (a call still ringing)
// starts a fresh window when armed, and only then can time out again.
func TestArmRestartsTimeout(t *testing.T) {
	_, s := newTestRelay(t, 4, 150*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // past the timeout with no callback set
	s.Arm()
	fired := make(chan time.Time, 1)
	armed := time.Now()
	s.OnTimeout(func() { fired <- time.Now() })
	select {
	case at := <-fired:
		if at.Sub(armed) < 100*time.Millisecond {
			t.Fatalf("fired %v after Arm: the old silence still counted", at.Sub(armed))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timeout never fired after Arm")
	}
}

func TestClearPTMaps(t *testing.T) {
	_, s := newTestRelay(t, 4, time.Minute)
	s.SetPTMap(AtoB, 101, 96)
	s.SetPTMap(BtoA, 96, 101)
	if s.rules[AtoB].Load() == nil || s.rules[BtoA].Load() == nil {
		t.Fatal("maps not applied")
	}
	s.ClearPTMaps()
	if s.rules[AtoB].Load() != nil || s.rules[BtoA].Load() != nil {
		t.Fatal("maps still applied after ClearPTMaps")
	}
}
