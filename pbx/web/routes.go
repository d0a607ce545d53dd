package web

import "net/http"

// routes is the whole URL space. Public: /setup, /login, /static/ and
// /metrics (which has its own bearer token); everything else needs a
// session, and a CSRF token unless it is a GET.
func (s *Server) routes() http.Handler {
	priv := http.NewServeMux()
	priv.HandleFunc("GET /{$}", s.dashboard)
	priv.HandleFunc("POST /logout", s.logout)
	priv.HandleFunc("GET /events", s.events)

	priv.HandleFunc("GET /extensions", s.extensionsPage)
	priv.HandleFunc("POST /extensions", s.extensionAdd)
	priv.HandleFunc("POST /extensions/{num}/delete", s.extensionDelete)
	priv.HandleFunc("POST /extensions/{num}/password", s.extensionPassword)
	priv.HandleFunc("POST /extensions/{num}/srtp", s.extensionSRTP)
	priv.HandleFunc("POST /extensions/{num}/name", s.extensionName)

	priv.HandleFunc("GET /trunks", s.trunksPage)
	priv.HandleFunc("POST /trunks", s.trunkAdd)
	priv.HandleFunc("POST /trunks/{name}/delete", s.trunkDelete)

	priv.HandleFunc("GET /cdrs", s.cdrsPage)
	priv.HandleFunc("GET /cdrs.csv", s.cdrsCSV)
	priv.HandleFunc("GET /settings", s.settingsPage)
	priv.HandleFunc("POST /settings", s.settingsSave)
	priv.HandleFunc("GET /system", s.systemPage)
	priv.HandleFunc("POST /system/restart", s.systemRestart)
	priv.HandleFunc("POST /system/reboot", s.systemReboot)
	s.phoneRoutes(priv)

	s.securityRoutes(priv) // bans, allow-list, rate limits (security.go)
	priv.HandleFunc("GET /backup", s.backupPage)
	priv.HandleFunc("POST /backup/download", s.backupDownload)
	priv.HandleFunc("POST "+restorePath, s.backupRestore)
	priv.HandleFunc("POST /backup/discard", s.backupDiscard)
	s.updateRoutes(priv) // GET /update, POST /update/install (update.go)

	priv.HandleFunc("GET /api/extensions", s.apiExtensions)
	priv.HandleFunc("POST /api/extensions", s.apiExtensionAdd)
	priv.HandleFunc("DELETE /api/extensions/{num}", s.apiExtensionDelete)
	priv.HandleFunc("GET /api/calls", s.apiCalls)
	priv.HandleFunc("GET /api/registrations", s.apiRegistrations)
	priv.HandleFunc("GET /api/cdrs", s.apiCDRs)
	priv.HandleFunc("GET /api/trunks", s.apiTrunks)
	priv.HandleFunc("GET /api/settings", s.apiSettings)
	priv.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such API resource"})
	})

	pub := http.NewServeMux()
	pub.Handle("GET /static/", staticHandler())
	pub.HandleFunc("GET /setup", s.setupPage)
	pub.HandleFunc("POST /setup", s.setupSubmit)
	pub.HandleFunc("GET /login", s.loginPage)
	pub.HandleFunc("POST /login", s.loginSubmit)
	pub.HandleFunc("GET /metrics", s.metrics)
	s.peerRoutes(priv, pub) // Peers page and the public pairing endpoint (peers.go)
	s.handoffRoutes(priv)   // Hand-off page and /api/handoff (handoff.go)
	pub.Handle("/", s.requireSession(priv))

	// CrossOriginProtection refuses cross-site non-GET requests by
	// Sec-Fetch-Site/Origin, a second wall behind the CSRF tokens.
	cop := http.NewCrossOriginProtection()
	return securityHeaders(s.setupGate(cop.Handler(pub)))
}
