// Package handoff moves live calls between the board and its cloud peer
// (issue 7): on the cloud it runs relays that forward a handed-off party's
// media to the board unchanged and forwards the party's in-dialog SIP
// requests to the board over the peer link; on the board it asks the cloud
// for relays, drives the call manager's re-INVITEs, keeps the hand-off log
// and decides when to hand off and back (pressure, drills).
//
// The peer link is pbx/peer's mutual-TLS endpoint; the routes are
//
//	POST   /peer/handoff/relay        board → cloud: RelayRequest → RelayGrant
//	DELETE /peer/handoff/relay/{id}   board → cloud: free a relay
//	POST   /peer/sip                  cloud → board: a raw SIP request → the raw final response
//	POST   /peer/handoff/redirect     board → cloud: new WAN callers are (not) sent here (redirect.go)
//	POST   /peer/sip/invite           cloud → board: a redirected caller's new INVITE (invite.go)
//	POST   /peer/sip/cancel           cloud → board: that caller cancelled
//	POST   /peer/sip/response         board → cloud: each response to such an INVITE, in order
//
// See docs/handoff.md.
package handoff
