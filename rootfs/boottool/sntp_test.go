package main

import (
	"net"
	"testing"
	"time"
)

// fakeNTP answers each request from 127.0.0.1 with a clock ahead by skew,
// echoing the request's transmit timestamp unless tamper is set.
func fakeNTP(t *testing.T, skew time.Duration, stratum byte, tamper bool) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < sntpPacket {
				continue
			}
			now := time.Now().Add(skew)
			r := make([]byte, sntpPacket)
			r[0] = 4<<3 | 4
			r[1] = stratum
			copy(r[24:32], buf[40:48])
			if tamper {
				r[24] ^= 0xff
			}
			copy(r[32:40], ntpStamp(now))
			copy(r[40:48], ntpStamp(now))
			c.WriteTo(r, from)
		}
	}()
	return c.LocalAddr().String()
}

func TestQuery(t *testing.T) {
	cases := []struct {
		name    string
		skew    time.Duration
		stratum byte
		tamper  bool
		wantErr bool
	}{
		{"server an hour ahead", time.Hour, 2, false, false},
		{"server a day behind", -24 * time.Hour, 1, false, false},
		{"kiss-o'-death (stratum 0)", 0, 0, false, true},
		{"answer not to our request", time.Hour, 2, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			off, err := query(fakeNTP(t, tc.skew, tc.stratum, tc.tamper), 2*time.Second)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (off-tc.skew > time.Second || tc.skew-off > time.Second) {
				t.Errorf("offset %v, want about %v", off, tc.skew)
			}
		})
	}
}

func TestNTPTimeRoundTrip(t *testing.T) {
	for _, s := range []string{"2026-11-27T14:00:00.5Z", "2036-02-07T06:28:17Z", "2040-01-01T00:00:00Z"} {
		want, _ := time.Parse(time.RFC3339Nano, s)
		if got := ntpTime(ntpStamp(want)); got.Sub(want).Abs() > time.Microsecond {
			t.Errorf("%s -> %s", want, got)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	good := make([]byte, sntpPacket)
	good[0], good[1] = 4<<3|4, 2
	copy(good[32:], ntpStamp(time.Now()))
	copy(good[40:], ntpStamp(time.Now()))
	f.Add(good, make([]byte, 8))
	f.Fuzz(func(t *testing.T, b, origin []byte) {
		t2, t3, err := parseReply(b, origin)
		if err == nil && t3.Before(t2) {
			t.Fatal("accepted a reply sent before it was received")
		}
	})
}
