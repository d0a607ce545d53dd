package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"hushbox/pbx/control"
)

func TestAPI(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.ready()
	jsonHdr := map[string]string{"Content-Type": "application/json", csrfHeader: csrf}

	r := e.get(c, "/api/extensions")
	if r.StatusCode != http.StatusOK || strings.TrimSpace(r.body) != "[]" {
		t.Fatalf("empty list = %d %q, want []", r.StatusCode, r.body)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"bad number", `{"number":"1x"}`, http.StatusBadRequest, "number"},
		{"short password", `{"number":"101","password":"short"}`, http.StatusBadRequest, "password"},
		{"unknown field", `{"number":"101","admin":true}`, http.StatusBadRequest, ""},
		{"not JSON", `number=101`, http.StatusBadRequest, ""},
	} {
		r := e.do(c, "POST", "/api/extensions", strings.NewReader(tc.body), jsonHdr)
		var ae apiError
		if r.StatusCode != tc.status || json.Unmarshal([]byte(r.body), &ae) != nil || ae.Error == "" {
			t.Errorf("%s: %d %q, want %d with a JSON error", tc.name, r.StatusCode, r.body, tc.status)
		}
		if tc.field != "" && ae.Field[tc.field] == "" {
			t.Errorf("%s: no error for field %s in %q", tc.name, tc.field, r.body)
		}
	}
	r = e.do(c, "POST", "/api/extensions", strings.NewReader(`{"number":"101","name":"Alice","require_srtp":true}`), jsonHdr)
	var pw apiPassword
	if r.StatusCode != http.StatusCreated || json.Unmarshal([]byte(r.body), &pw) != nil || pw.Number != "101" || len(pw.Password) != 20 {
		t.Fatalf("add = %d %q", r.StatusCode, r.body)
	}
	if r := e.do(c, "POST", "/api/extensions", strings.NewReader(`{"number":"101"}`), jsonHdr); r.StatusCode != http.StatusConflict {
		t.Fatalf("add again = %d, want 409", r.StatusCode)
	}
	var exts []control.ExtensionInfo
	r = e.get(c, "/api/extensions")
	if json.Unmarshal([]byte(r.body), &exts) != nil || len(exts) != 1 || exts[0].Name != "Alice" || !exts[0].RequireSRTP || exts[0].Registrations != 2 {
		t.Fatalf("list = %q", r.body)
	}
	if strings.Contains(strings.ToLower(r.body), "ha1") || strings.Contains(r.body, pw.Password) {
		t.Fatal("extension list leaks a secret")
	}
	for _, p := range []string{"/api/calls", "/api/registrations", "/api/cdrs", "/api/trunks"} {
		r := e.get(c, p)
		var v []json.RawMessage
		if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.body), &v) != nil {
			t.Errorf("GET %s = %d %q, want a JSON array", p, r.StatusCode, r.body)
		}
	}
	if r := e.get(c, "/api/calls"); !strings.Contains(r.body, `"sas":"k7m2"`) {
		t.Errorf("calls %q lack the SAS", r.body)
	}
	if r := e.get(c, "/api/cdrs?limit=0"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("limit=0 = %d, want 400", r.StatusCode)
	}
	if r := e.do(c, "DELETE", "/api/extensions/101", nil, jsonHdr); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d %q", r.StatusCode, r.body)
	}
	if r := e.do(c, "DELETE", "/api/extensions/101", nil, jsonHdr); r.StatusCode != http.StatusNotFound {
		t.Fatalf("delete again = %d, want 404", r.StatusCode)
	}
}
