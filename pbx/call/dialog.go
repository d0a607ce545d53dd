package call

import (
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/sipmsg"
)

// leg is hushbox's side of one SIP dialog of a call: the caller's dialog
// (hushbox is the UAS) or the callee's (hushbox is the UAC). It holds what
// RFC 3261 section 12 calls the dialog state, enough to build in-dialog
// requests (BYE, re-INVITE, ACK, INFO) towards that party.
type leg struct {
	mu sync.Mutex

	callID     string
	localTag   string
	remoteTag  string
	localURI   sip.Uri
	localName  string
	remoteURI  sip.Uri
	remoteName string
	// remoteTarget is the party's Contact: the request-URI of our requests.
	remoteTarget sip.Uri
	routes       []sip.Uri
	// dest and transport are where that party's messages came from; we send
	// there so phones behind NAT (or on TCP connections they opened) are reached.
	dest      string
	transport string
	localCSeq uint32
	// remoteCSeq is the highest CSeq seen from the party (stale requests get 500).
	remoteCSeq uint32
	// lastSDP is the last SDP body hushbox sent to this party; a re-INVITE
	// without an offer (a session refresh) is answered with it.
	lastSDP []byte
	// replicaSDP is lastSDP without its keys, as the replication sends it
	// (made once per SDP, not once per snapshot: the board snapshots its
	// dialogs every second).
	replicaSDP string
	// inviteCSeq is the CSeq of our last INVITE on this leg, for its ACK.
	inviteCSeq uint32
	// ho is set while the leg is handed to the cloud peer (handoff.go).
	ho *legHandoff
}

// key is the dialog's index in the manager: Call-ID and our tag.
func (l *leg) key() string { return dialogKey(l.callID, l.localTag) }

func dialogKey(callID, localTag string) string { return callID + "\x00" + localTag }

// request builds an in-dialog request of method towards this leg's party.
// ACK reuses the CSeq number of the INVITE it acknowledges; others take the
// next local CSeq.
func (l *leg) request(method sip.RequestMethod, contact *sip.ContactHeader, signer sipmsg.Signer) *sip.Request {
	l.mu.Lock()
	var seq uint32
	switch method {
	case sip.ACK:
		seq = l.inviteCSeq
	default:
		l.localCSeq++
		seq = l.localCSeq
		if method == sip.INVITE {
			l.inviteCSeq = seq
		}
	}
	req := sip.NewRequest(method, *l.remoteTarget.Clone())
	for _, r := range l.routes {
		req.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
	}
	from := &sip.FromHeader{DisplayName: l.localName, Address: *l.localURI.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", l.localTag)
	to := &sip.ToHeader{DisplayName: l.remoteName, Address: *l.remoteURI.Clone(), Params: sip.NewParams()}
	if l.remoteTag != "" {
		to.Params.Add("tag", l.remoteTag)
	}
	callID := sip.CallIDHeader(l.callID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&maxFwd)
	if contact != nil && method != sip.BYE {
		req.AppendHeader(contact.Clone())
	}
	req.SetTransport(l.transport)
	if len(l.routes) == 0 && l.dest != "" {
		req.SetDestination(l.dest)
	}
	l.mu.Unlock()
	signer.Sign(req)
	return req
}

// acceptCSeq records a request's CSeq from the party and reports whether it
// is newer than any before (RFC 3261 12.2.2: lower ones get 500).
func (l *leg) acceptCSeq(req *sip.Request) bool {
	cs := req.CSeq()
	if cs == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if req.IsAck() {
		return true
	}
	if l.remoteCSeq != 0 && cs.SeqNo <= l.remoteCSeq {
		return false
	}
	l.remoteCSeq = cs.SeqNo
	return true
}

// refreshTarget takes a new remote target from a target-refresh request.
func (l *leg) refreshTarget(req *sip.Request) {
	if c := req.Contact(); c != nil && !c.Address.Wildcard {
		l.mu.Lock()
		l.remoteTarget = *c.Address.Clone()
		l.mu.Unlock()
	}
}

func (l *leg) setLastSDP(b []byte) {
	l.mu.Lock()
	l.lastSDP = b
	l.replicaSDP = withoutKeys(b)
	l.mu.Unlock()
}

func (l *leg) getLastSDP() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastSDP
}

// contactHeader is hushbox's Contact for a given transport.
func contactHeader(host string, ports map[string]int, transport string) *sip.ContactHeader {
	tp := sip.NetworkToLower(transport)
	port := ports[tp]
	uri := sip.Uri{Scheme: "sip", User: "hushbox", Host: host, Port: port, UriParams: sip.NewParams()}
	if tp != "udp" && tp != "" {
		uri.UriParams.Add("transport", tp)
	}
	return &sip.ContactHeader{Address: uri, Params: sip.NewParams()}
}

func itoa(n int) string { return strconv.Itoa(n) }
