package store

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// testCDR is an answered 60 s call starting at start (10 s ringing).
func testCDR(callID, from, to string, start time.Time) CDR {
	return CDR{CallID: callID, From: from, To: to, FromName: "Caller " + from, Start: start,
		Answer: start.Add(10 * time.Second), End: start.Add(70 * time.Second),
		Disposition: DispAnswered, SIPCode: 200, Codec: "PCMU", Hangup: HangupCaller}
}

func TestCDRDurations(t *testing.T) {
	tests := []struct {
		name              string
		c                 CDR
		duration, billsec time.Duration
	}{
		{"answered", testCDR("a", "1", "2", t0), 70 * time.Second, 60 * time.Second},
		{"not answered", CDR{Start: t0, End: t0.Add(20 * time.Second)}, 20 * time.Second, 0},
		{"end before start", CDR{Start: t0, Answer: t0, End: t0.Add(-time.Second)}, 0, 0},
		{"zero", CDR{}, 0, 0},
	}
	for _, tt := range tests {
		if d := tt.c.Duration(); d != tt.duration {
			t.Errorf("%s: Duration = %v, want %v", tt.name, d, tt.duration)
		}
		if d := tt.c.Billsec(); d != tt.billsec {
			t.Errorf("%s: Billsec = %v, want %v", tt.name, d, tt.billsec)
		}
	}
}

func TestAppendCDRValidation(t *testing.T) {
	db := openTest(t)
	tests := []struct {
		name   string
		modify func(*CDR)
	}{
		{"unknown disposition", func(c *CDR) { c.Disposition = "WEIRD" }},
		{"unknown hangup", func(c *CDR) { c.Hangup = "alien" }},
		{"no start", func(c *CDR) { c.Start = time.Time{} }},
		{"no end", func(c *CDR) { c.End = time.Time{} }},
		{"bad SIP code", func(c *CDR) { c.SIPCode = 42 }},
		{"huge field", func(c *CDR) { c.FromName = string(make([]byte, MaxCDRField+1)) }},
	}
	for _, tt := range tests {
		c := testCDR("x", "1001", "1002", t0)
		tt.modify(&c)
		if err := db.AppendCDR(&c); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: AppendCDR = %v, want ErrInvalid", tt.name, err)
		}
		if c.ID != 0 {
			t.Errorf("%s: refused record got ID %d", tt.name, c.ID)
		}
	}
	if got, _ := db.CDRs(CDRQuery{}); len(got) != 0 {
		t.Errorf("refused records were stored: %v", got)
	}
}

func TestCDRQuery(t *testing.T) {
	db := openTest(t)
	// Five calls, one a minute; 1003 is involved in c and e.
	calls := []CDR{
		testCDR("a", "1001", "1002", t0),
		testCDR("b", "1002", "1001", t0.Add(1*time.Minute)),
		testCDR("c", "1003", "1001", t0.Add(2*time.Minute)),
		testCDR("d", "1001", "1002", t0.Add(3*time.Minute)),
		testCDR("e", "1002", "1003", t0.Add(4*time.Minute)),
	}
	calls[2].Answer, calls[2].Disposition, calls[2].SIPCode, calls[2].Hangup = time.Time{}, DispNoAnswer, 480, HangupTimeout
	for i := range calls {
		if err := db.AppendCDR(&calls[i]); err != nil {
			t.Fatal(err)
		}
		if calls[i].ID != uint64(i+1) {
			t.Fatalf("call %d got ID %d", i, calls[i].ID)
		}
	}
	tests := []struct {
		name string
		q    CDRQuery
		want string
	}{
		{"all newest first", CDRQuery{}, "edcba"},
		{"limit", CDRQuery{Limit: 2}, "ed"},
		{"number as from or to", CDRQuery{Number: "1003"}, "ec"},
		{"number with limit", CDRQuery{Number: "1001", Limit: 3}, "dcb"},
		{"since inclusive", CDRQuery{Since: t0.Add(3 * time.Minute)}, "ed"},
		{"until exclusive", CDRQuery{Until: t0.Add(2 * time.Minute)}, "ba"},
		{"window", CDRQuery{Since: t0.Add(time.Minute), Until: t0.Add(4 * time.Minute)}, "dcb"},
		{"nothing", CDRQuery{Number: "9999"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.CDRs(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			ids := ""
			for _, c := range got {
				ids += c.CallID
			}
			if ids != tt.want {
				t.Errorf("CDRs = %q, want %q", ids, tt.want)
			}
		})
	}
	got, _ := db.CDRs(CDRQuery{Number: "1003", Limit: 1})
	want := calls[4]
	if len(got) != 1 || got[0] != want {
		t.Errorf("stored record differs:\n%+v\n%+v", got, want)
	}
	got, _ = db.CDRs(CDRQuery{Since: calls[2].Start, Until: calls[2].Start.Add(time.Second)})
	if len(got) != 1 || !got[0].Answer.IsZero() || got[0].Billsec() != 0 {
		t.Errorf("unanswered call did not keep a zero Answer: %+v", got)
	}
}

func TestWriteCDRCSV(t *testing.T) {
	answered := testCDR("abc@host", "1001", "1002", t0)
	answered.ID = 7
	missed := CDR{ID: 8, CallID: "x,\"y\"", From: "=HYPERLINK(\"http://evil\")", To: "1001", FromName: "Line\nBreak",
		Start: t0, End: t0.Add(30 * time.Second), Disposition: DispNoAnswer, SIPCode: 487, Hangup: HangupCaller}
	var buf bytes.Buffer
	if err := WriteCDRCSV(&buf, []CDR{answered, missed}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("output is not valid CSV: %v\n%s", err, buf.String())
	}
	want := [][]string{
		csvHeader,
		{"7", "abc@host", "1001", "Caller 1001", "1002", "2025-03-01T12:00:00Z", "2025-03-01T12:00:10Z", "2025-03-01T12:01:10Z",
			"70", "60", "ANSWERED", "200", "PCMU", "caller"},
		{"8", "x,\"y\"", "'=HYPERLINK(\"http://evil\")", "Line\nBreak", "1001", "2025-03-01T12:00:00Z", "", "2025-03-01T12:00:30Z",
			"30", "0", "NO ANSWER", "487", "", "caller"},
	}
	if fmt.Sprintf("%q", rows) != fmt.Sprintf("%q", want) {
		t.Errorf("CSV rows =\n%q\nwant\n%q", rows, want)
	}
}

func TestWriteCDRCSVEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCDRCSV(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "id,call_id,from,from_name,to,start,answer,end,duration,billsec,disposition,sip_code,codec,hangup\n" {
		t.Errorf("empty CSV = %q", got)
	}
}

func BenchmarkAppendCDR(b *testing.B) {
	db := openTest(b)
	c := testCDR("bench", "1001", "1002", t0)
	for b.Loop() {
		c.ID = 0
		if err := db.AppendCDR(&c); err != nil {
			b.Fatal(err)
		}
	}
}
