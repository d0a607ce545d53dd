package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/peer"
)

// Peer-link paths.
const (
	RelayPath = "/peer/handoff/relay"
	// RelaysPath opens the relays of a whole batch in one request.
	RelaysPath = "/peer/handoff/relays"
	SIPPath    = "/peer/sip"
)

// maxSIP bounds a forwarded SIP message.
const maxSIP = 64 << 10

// Router adds routes to the peer endpoint: *peer.Manager satisfies it.
type Router interface {
	Route(pattern string, h peer.PeerHandler)
}

// ServeRelays adds the cloud's relay routes to the peer endpoint.
func (r *Relays) ServeRelays(rt Router) {
	rt.Route("POST "+RelayPath, func(w http.ResponseWriter, req *http.Request, from peer.Peer) {
		var in RelayRequest
		if err := json.NewDecoder(io.LimitReader(req.Body, 8<<10)).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{"relay request: " + err.Error()})
			return
		}
		g, err := r.Allocate(from.Name, in)
		switch {
		case errors.Is(err, ErrBadRequest):
			writeJSON(w, http.StatusBadRequest, errorReply{err.Error()})
		case err != nil:
			writeJSON(w, http.StatusServiceUnavailable, errorReply{err.Error()})
		default:
			writeJSON(w, http.StatusOK, g)
		}
	})
	rt.Route("POST "+RelaysPath, func(w http.ResponseWriter, req *http.Request, from peer.Peer) {
		var in []RelayRequest
		if err := json.NewDecoder(io.LimitReader(req.Body, MaxBatch*(8<<10))).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{"relay batch: " + err.Error()})
			return
		}
		items, err := r.AllocateAll(from.Name, in)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, items)
	})
	rt.Route("DELETE "+RelayPath+"/{id}", func(w http.ResponseWriter, req *http.Request, from peer.Peer) {
		id := req.PathValue("id")
		r.mu.Lock()
		cr := r.byID[id]
		mine := cr != nil && cr.info.Owner == from.Name
		r.mu.Unlock()
		if !mine || !r.Free(id) {
			writeJSON(w, http.StatusNotFound, errorReply{ErrNoRelay.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Forwarded is what handles a forwarded in-dialog request on the board:
// *call.Manager satisfies it.
type Forwarded interface {
	HandleForwarded(ctx context.Context, req *sip.Request) *sip.Response
}

// ServeSIP adds the board's POST SIPPath route: the cloud forwards a
// handed-off party's in-dialog request (raw), the board answers with the
// raw final response (204 and no body for an ACK or no answer in time).
func ServeSIP(rt Router, calls Forwarded) {
	rt.Route("POST "+SIPPath, func(w http.ResponseWriter, req *http.Request, from peer.Peer) {
		raw, err := io.ReadAll(io.LimitReader(req.Body, maxSIP+1))
		if err != nil || len(raw) > maxSIP {
			writeJSON(w, http.StatusBadRequest, errorReply{"SIP message unreadable or too long"})
			return
		}
		msg, err := sip.ParseMessage(raw)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorReply{"SIP message: " + err.Error()})
			return
		}
		sreq, ok := msg.(*sip.Request)
		if !ok || sreq.CallID() == nil || sreq.CSeq() == nil || sreq.From() == nil || sreq.To() == nil || sreq.Via() == nil {
			writeJSON(w, http.StatusBadRequest, errorReply{"not a complete SIP request"})
			return
		}
		ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
		defer cancel()
		res := calls.HandleForwarded(ctx, sreq)
		if res == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "message/sip")
		_, _ = io.WriteString(w, res.String())
	})
}

type errorReply struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
