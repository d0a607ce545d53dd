package store

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// csvHeader names the columns WriteCDRCSV writes.
var csvHeader = []string{
	"id", "call_id", "from", "from_name", "to", "start", "answer", "end",
	"duration", "billsec", "disposition", "sip_code", "codec", "hangup",
}

// WriteCDRCSV writes a header row and one row per record (RFC 4180, through
// encoding/csv). Times are RFC 3339 in UTC, an unanswered call has an empty
// answer column, duration and billsec are whole seconds. Text fields that
// come from outside and start with '=', '+', '-', '@', TAB or CR get a
// leading apostrophe so a spreadsheet never runs them as formulas.
func WriteCDRCSV(w io.Writer, cdrs []CDR) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("store: write CSV header: %w", err)
	}
	for _, c := range cdrs {
		row := []string{
			strconv.FormatUint(c.ID, 10),
			safeCell(c.CallID),
			safeCell(c.From),
			safeCell(c.FromName),
			safeCell(c.To),
			csvTime(c.Start),
			csvTime(c.Answer),
			csvTime(c.End),
			strconv.FormatInt(int64(c.Duration()/time.Second), 10),
			strconv.FormatInt(int64(c.Billsec()/time.Second), 10),
			safeCell(c.Disposition),
			strconv.Itoa(c.SIPCode),
			safeCell(c.Codec),
			safeCell(c.Hangup),
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("store: write CSV row %d: %w", c.ID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("store: write CSV: %w", err)
	}
	return nil
}

// csvTime formats t as RFC 3339 UTC, or "" for the zero time.
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// safeCell defuses spreadsheet formula injection (CWE-1236).
func safeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
