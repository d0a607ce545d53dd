package sipmsg

import "testing"

func TestUnfold(t *testing.T) {
	cases := []struct{ in, want string }{
		{"A: b\r\nC: d\r\n\r\nbody\r\n more", "A: b\r\nC: d\r\n\r\nbody\r\n more"},
		{"A: b,\r\n c\r\nD: e\r\n\r\n", "A: b, c\r\nD: e\r\n\r\n"},
		{"A: b\r\n\t\tc\r\n\r\nx\r\n y", "A: b c\r\n\r\nx\r\n y"},
		{"no end\r\n folded", "no end folded"},
		{"", ""},
		{"\r\n ", " "},
	}
	for _, c := range cases {
		if got := string(Unfold([]byte(c.in))); got != c.want {
			t.Errorf("Unfold(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzUnfold(f *testing.F) {
	f.Add([]byte("INVITE sip:a SIP/2.0\r\nTo: a\r\n  b\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := Unfold(b)
		if len(out) > len(b) {
			t.Fatal("unfolding grew the message")
		}
	})
}

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"INVITE x SIP/2.0\r\nFrom: \"A ; = b\" <sip:a@b;x = y> ; tag = 1\r\nSubject: a = b\r\n\r\nv = 0",
			"INVITE x SIP/2.0\r\nFrom: \"A ; = b\" <sip:a@b;x = y>;tag=1\r\nSubject: a = b\r\n\r\nv = 0"},
		{"INVITE x SIP/2.0\r\nfrom   : <sip:a@b>\r\n  ;\r\n  tag = 98asjd8\r\n\r\n",
			"INVITE x SIP/2.0\r\nfrom   : <sip:a@b>;tag=98asjd8\r\n\r\n"},
		{"INVITE x SIP/2.0\r\nTo: <sip:a@b>;tag=1\r\n\r\n", "INVITE x SIP/2.0\r\nTo: <sip:a@b>;tag=1\r\n\r\n"},
	}
	for _, c := range cases {
		if got := string(Normalize([]byte(c.in))); got != c.want {
			t.Errorf("Normalize(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add([]byte("INVITE x SIP/2.0\r\nFrom: \"a\\\"\" <sip:a> ; tag = 1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Normalize(b)
	})
}

func BenchmarkNormalizeTypical(b *testing.B) {
	msg := []byte("REGISTER sip:h SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport\r\n" +
		"From: <sip:101@h>;tag=1\r\nTo: <sip:101@h>\r\nCall-ID: c\r\nCSeq: 2 REGISTER\r\n" +
		"Contact: <sip:101@10.0.0.2:5060>;expires=3600\r\nAuthorization: Digest username=\"101\",realm=\"r\",nonce=\"n\"\r\n" +
		"Content-Length: 0\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		Normalize(msg)
	}
}
