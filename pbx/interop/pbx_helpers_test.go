package interop

import "testing"

func TestParseCDRCSVAndMatch(t *testing.T) {
	in := "Start,From,To,Disposition,Duration\n" +
		"2025-01-01T00:00:00Z,\"\"\"Ext 101\"\" <sip:101@127.0.0.1>\",sip:102@127.0.0.1,ANSWERED,7\n" +
		"2025-01-01T00:01:00Z,101,103,BUSY,0\n"
	recs, err := parseCDRCSV(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	tests := []struct {
		caller, callee, disp string
		want                 bool
	}{
		{"101", "102", "ANSWERED", true},
		{"101", "102", "answered", true},
		{"101", "103", "BUSY", true},
		{"101", "102", "BUSY", false},
		{"102", "104", "ANSWERED", false},
	}
	for _, tc := range tests {
		_, got := findCDR(recs, tc.caller, tc.callee, tc.disp)
		if got != tc.want {
			t.Errorf("findCDR(%s,%s,%s) = %v, want %v", tc.caller, tc.callee, tc.disp, got, tc.want)
		}
	}
	if _, err := parseCDRCSV(""); err == nil {
		t.Error("empty CSV: want error")
	}
}

func TestURIUser(t *testing.T) {
	tests := map[string]string{
		"sip:101@h":               "101",
		"<sips:alice@h:5061>":     "alice",
		"\"A\" <sip:102@h>;tag=1": "102",
		"101":                     "",
		"sip:h":                   "",
	}
	for in, want := range tests {
		if got := uriUser(in); got != want {
			t.Errorf("uriUser(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCountPcapRecords(t *testing.T) {
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	rec := func(n byte) []byte {
		r := make([]byte, 16+int(n))
		r[8] = n
		r[12] = n
		return r
	}
	two := append(append(append([]byte{}, hdr...), rec(3)...), rec(5)...)
	tests := []struct {
		name    string
		in      []byte
		want    int
		wantErr bool
	}{
		{"empty capture", hdr, 0, false},
		{"two records", two, 2, false},
		{"truncated", two[:len(two)-1], 0, true},
		{"bad magic", make([]byte, 24), 0, true},
		{"short", hdr[:10], 0, true},
	}
	for _, tc := range tests {
		got, err := countPcapRecords(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: got %d, %v; want %d, err=%v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func FuzzCountPcapRecords(f *testing.F) {
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := countPcapRecords(data)
		if err == nil && n > len(data)/16 {
			t.Fatalf("%d records in %d bytes", n, len(data))
		}
	})
}
