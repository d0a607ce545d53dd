package handoff

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"hushbox/pbx/media"
)

// RelayRequest asks the cloud for a relay for one call leg.
type RelayRequest struct {
	// CallID is the leg's dialog Call-ID: SIP requests carrying it that reach
	// the cloud are forwarded to the board.
	CallID string `json:"call_id"`
	// Board is the board's relay leg (host:port) the cloud sends the party's
	// media to; Party the party's media address (host:port, optional), where
	// the cloud sends the board's media until the party's first packet.
	Board string `json:"board"`
	Party string `json:"party,omitempty"`
}

// RelayGrant is the cloud's answer: WAN is the address the party is told
// to send media to, Peer where the board's relay leg sends, SIP the
// cloud's SIP URI for the party's Contact.
type RelayGrant struct {
	ID   string `json:"id"`
	WAN  string `json:"wan"`
	Peer string `json:"peer"`
	SIP  string `json:"sip"`
}

// RelayBatchItem is the cloud's answer for one request of a batch
// (RelaysPath): a grant, or why there is none.
type RelayBatchItem struct {
	Grant RelayGrant `json:"grant"`
	Error string     `json:"error,omitempty"`
}

// MaxBatch bounds the requests of one batch.
const MaxBatch = 256

// RelayInfo describes a live cloud relay for status pages.
type RelayInfo struct {
	RelayGrant
	CallID  string    `json:"call_id"`
	Owner   string    `json:"owner"` // the peer that asked
	Created time.Time `json:"created"`
	// Packets relayed each way.
	PartyToBoard uint64 `json:"party_to_board"`
	BoardToParty uint64 `json:"board_to_party"`
}

// Errors of Relays.
var (
	ErrBadRequest = errors.New("handoff: bad relay request")
	ErrNoRelay    = errors.New("handoff: no such relay")
)

// Relays is the cloud's relay service. Each relay is a media session of
// the cloud's relay: leg A faces the party (WAN side), leg B the board
// (peer side); neither converts anything, so SRTP and scrambled payloads
// pass unchanged. Each side latches on its first source; an idle relay
// (no RTP either way for the relay's timeout) closes by itself.
type Relays struct {
	relay *media.Relay
	wanIP netip.Addr
	sip   string
	log   *slog.Logger

	mu   sync.Mutex
	byID map[string]*cloudRelay
}

type cloudRelay struct {
	info RelayInfo
	s    *media.Session
}

// NewRelays makes the relay service on relay; wanIP is the address parties
// and the board reach the cloud's media ports at, sipURI the cloud's SIP
// URI (e.g. "sip:hushbox@203.0.113.5:5060").
func NewRelays(relay *media.Relay, wanIP netip.Addr, sipURI string, log *slog.Logger) *Relays {
	if log == nil {
		log = slog.Default()
	}
	return &Relays{relay: relay, wanIP: wanIP, sip: sipURI, log: log, byID: map[string]*cloudRelay{}}
}

// Allocate opens a relay for owner (a peer name).
func (r *Relays) Allocate(owner string, req RelayRequest) (RelayGrant, error) {
	board, err := netip.ParseAddrPort(req.Board)
	if err != nil || req.CallID == "" || len(req.CallID) > 256 {
		return RelayGrant{}, fmt.Errorf("%w: call_id and board host:port needed", ErrBadRequest)
	}
	var party netip.AddrPort
	if req.Party != "" {
		if party, err = netip.ParseAddrPort(req.Party); err != nil {
			return RelayGrant{}, fmt.Errorf("%w: party: %v", ErrBadRequest, err)
		}
	}
	s, err := r.relay.NewSession()
	if err != nil {
		return RelayGrant{}, fmt.Errorf("handoff relay: %w", err)
	}
	s.B().SetRemote(board)
	if party.IsValid() {
		s.A().SetRemote(party)
	}
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	g := RelayGrant{ID: id, SIP: r.sip,
		WAN:  netip.AddrPortFrom(r.wanIP, uint16(s.A().Port())).String(),
		Peer: netip.AddrPortFrom(r.wanIP, uint16(s.B().Port())).String()}
	cr := &cloudRelay{s: s, info: RelayInfo{RelayGrant: g, CallID: req.CallID, Owner: owner, Created: time.Now().UTC()}}
	s.OnTimeout(func() {
		r.log.Info("hand-off relay idle; closed", "id", id, "call_id", req.CallID)
		r.Free(id)
	})
	s.Arm()
	r.mu.Lock()
	r.byID[id] = cr
	r.mu.Unlock()
	r.log.Info("hand-off relay open", "id", id, "call_id", req.CallID, "owner", owner, "wan", g.WAN, "peer", g.Peer)
	return g, nil
}

// AllocateAll opens a relay for each request of a batch; a request that
// fails gets its error, the others their grants.
func (r *Relays) AllocateAll(owner string, reqs []RelayRequest) ([]RelayBatchItem, error) {
	if len(reqs) > MaxBatch {
		return nil, fmt.Errorf("%w: %d requests, at most %d", ErrBadRequest, len(reqs), MaxBatch)
	}
	out := make([]RelayBatchItem, len(reqs))
	for i, req := range reqs {
		g, err := r.Allocate(owner, req)
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		out[i].Grant = g
	}
	return out, nil
}

// Free closes relay id; false when there was none.
func (r *Relays) Free(id string) bool {
	r.mu.Lock()
	cr := r.byID[id]
	delete(r.byID, id)
	r.mu.Unlock()
	if cr == nil {
		return false
	}
	go cr.s.Close() // Close waits for the readers; OnTimeout runs on one of them
	return true
}

// Owner is the peer that owns a relay for callID ("" when none): SIP
// requests of that dialog are forwarded to it.
func (r *Relays) Owner(callID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cr := range r.byID {
		if cr.info.CallID == callID {
			return cr.info.Owner
		}
	}
	return ""
}

// Touch re-arms the idle watchdog of callID's relays: a redirected call's
// relay opens before the call is answered and must outlive its ringing.
func (r *Relays) Touch(callID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cr := range r.byID {
		if cr.info.CallID == callID {
			cr.s.Arm()
		}
	}
}

// List describes the live relays.
func (r *Relays) List() []RelayInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RelayInfo, 0, len(r.byID))
	for _, cr := range r.byID {
		in := cr.info
		in.PartyToBoard = cr.s.A().Stats().PacketsIn
		in.BoardToParty = cr.s.B().Stats().PacketsIn
		out = append(out, in)
	}
	return out
}

// Close frees every relay.
func (r *Relays) Close() {
	r.mu.Lock()
	all := r.byID
	r.byID = map[string]*cloudRelay{}
	r.mu.Unlock()
	for _, cr := range all {
		cr.s.Close()
	}
}
