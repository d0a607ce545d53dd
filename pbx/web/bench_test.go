package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDashboard renders the dashboard for a logged-in session (the
// server's share of the time to first render; run it under
// qemu-arm-static for the ARMv7 figure).
func BenchmarkDashboard(b *testing.B) {
	e := newEnv(b)
	e.srv.configured.Store(true)
	id, _, err := e.srv.sessions.create()
	if err != nil {
		b.Fatal(err)
	}
	h := e.srv.Handler()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("dashboard = %d", w.Code)
		}
	}
}
