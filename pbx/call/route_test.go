package call

import (
	"errors"
	"testing"
	"time"

	"hushbox/pbx/sdp"
	"hushbox/pbx/store"
)

type fakeDir map[string]store.Extension

func (d fakeDir) Extension(n string) (store.Extension, error) {
	if e, ok := d[n]; ok {
		return e, nil
	}
	return store.Extension{}, store.ErrNotFound
}

type fakeTrunks []store.Trunk

func (f fakeTrunks) Trunks() ([]store.Trunk, error) { return f, nil }

func TestFindRoute(t *testing.T) {
	m := NewManager(Config{
		Dir: fakeDir{"101": {Number: "101"}, "900": {Number: "900"}},
		Trunks: fakeTrunks{
			{Name: "b", Prefix: "9", Strip: 1},
			{Name: "b-long", Prefix: "92", Strip: 0},
			{Name: "c", Prefix: "8", Strip: 1},
		},
	})
	cases := []struct {
		target     string
		trunks     bool
		ext, trunk string
		number     string
		noRoute    bool
	}{
		{"101", true, "101", "", "", false},
		{"900", true, "900", "", "", false}, // a local extension beats a trunk prefix
		{"9102", true, "", "b", "102", false},
		{"9201", true, "", "b-long", "9201", false}, // longest prefix wins
		{"8555", true, "", "c", "555", false},
		{"9102", false, "", "", "", true}, // calls from a trunk never leave on one
		{"777", true, "", "", "", true},
	}
	for _, c := range cases {
		r, err := m.findRoute(c.target, c.trunks)
		if c.noRoute {
			if !errors.Is(err, errNoRoute) {
				t.Errorf("%s: %+v %v, want no route", c.target, r, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		if c.ext != "" && (r.trunk != nil || r.ext.Number != c.ext) {
			t.Errorf("%s: %+v, want extension %s", c.target, r, c.ext)
		}
		if c.trunk != "" && (r.trunk == nil || r.trunk.Name != c.trunk || r.number != c.number) {
			t.Errorf("%s: %+v, want trunk %s number %s", c.target, r, c.trunk, c.number)
		}
	}
}

func TestFailureMapping(t *testing.T) {
	cases := []struct {
		codes []int
		want  int
		disp  string
	}{
		{[]int{486}, 486, store.DispBusy},
		{[]int{408, 486}, 486, store.DispBusy},
		{[]int{480, 603}, 603, store.DispBusy},
		{[]int{408}, 480, store.DispNoAnswer},
		{[]int{404}, 404, store.DispFailed},
		{[]int{488, 408}, 488, store.DispFailed},
		{[]int{500}, 480, store.DispFailed},
	}
	for _, c := range cases {
		best := 0
		for _, code := range c.codes {
			best = betterFailure(best, code)
		}
		code, _, disp := mapFailure(best)
		if code != c.want || disp != c.disp {
			t.Errorf("%v: %d %s, want %d %s", c.codes, code, disp, c.want, c.disp)
		}
	}
}

func TestWithExtraReplacesHushboxAttributes(t *testing.T) {
	s := &sdp.Session{Audio: &sdp.Media{Extra: []string{"maxptime:40", "hushbox-key:old", "hushbox-call:x"}}}
	got := withExtra(s, "hushbox-key:new")
	want := []string{"maxptime:40", "hushbox-key:new"}
	if len(got.Audio.Extra) != 2 || got.Audio.Extra[0] != want[0] || got.Audio.Extra[1] != want[1] {
		t.Fatalf("extra %v, want %v", got.Audio.Extra, want)
	}
	if len(s.Audio.Extra) != 3 {
		t.Fatal("withExtra changed its input")
	}
	if !hasKeyShare([]byte("v=0\r\na=hushbox-key:1 x\r\n")) || hasKeyShare([]byte("v=0\r\na=rtpmap:0 PCMU/8000\r\n")) {
		t.Fatal("hasKeyShare")
	}
}

// A provider's name is looked up once, not for every INVITE.
func TestResolveCached(t *testing.T) {
	m := NewManager(Config{})
	first := m.resolve("localhost")
	m.dnsMu.Lock()
	m.dns["localhost"] = resolvedHost{addrs: []string{"192.0.2.9"}, expires: time.Now().Add(time.Minute)}
	m.dnsMu.Unlock()
	if got := m.resolve("localhost"); len(got) != 1 || got[0] != "192.0.2.9" {
		t.Fatalf("second lookup went to DNS: %v (first %v)", got, first)
	}
	if !m.hostIs("localhost", "192.0.2.9") || m.hostIs("localhost", "192.0.2.10") || !m.hostIs("10.0.0.1", "10.0.0.1") {
		t.Fatal("hostIs")
	}
}
