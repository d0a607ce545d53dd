package endpoint

import "testing"

func TestDTMFPayload(t *testing.T) {
	for i, d := range "0123456789*#ABCD" {
		code, err := eventCode(d)
		if err != nil || int(code) != i {
			t.Fatalf("eventCode(%q) = %d, %v", d, code, err)
		}
		ev := dtmfEvent{Event: code, End: i%2 == 0, Volume: 10, Duration: uint16(160 * i)}
		got, ok := parseDTMF(ev.marshal(make([]byte, 4)))
		if !ok || got != ev || got.Digit() != d {
			t.Errorf("%q: round trip %+v -> %+v", d, ev, got)
		}
	}
	if c, err := eventCode('a'); err != nil || c != 12 {
		t.Errorf("lower-case a: %d, %v", c, err)
	}
	for _, bad := range "xE!" {
		if _, err := eventCode(bad); err == nil {
			t.Errorf("eventCode(%q) accepted", bad)
		}
	}
	if _, ok := parseDTMF([]byte{1, 2, 3}); ok {
		t.Error("3-byte payload accepted")
	}
	// Wire format of RFC 4733 section 2.3: event, E|R|volume, duration.
	b := dtmfEvent{Event: 11, End: true, Volume: 7, Duration: 800}.marshal(make([]byte, 4))
	if want := []byte{11, 0x87, 0x03, 0x20}; string(b) != string(want) {
		t.Errorf("payload % x, want % x", b, want)
	}
	if (dtmfEvent{Event: 16}).Digit() != 0 {
		t.Error("event 16 (not a key) has a digit")
	}
}

func FuzzDTMFPayload(f *testing.F) {
	f.Add([]byte{1, 0x8a, 0, 160})
	f.Add([]byte{255, 255, 255, 255, 1})
	f.Fuzz(func(t *testing.T, p []byte) {
		ev, ok := parseDTMF(p)
		if ok != (len(p) >= 4) {
			t.Fatalf("ok %v for %d bytes", ok, len(p))
		}
		if ok && ev.Volume > 63 {
			t.Fatal("volume out of range")
		}
		_ = ev.Digit()
	})
}
