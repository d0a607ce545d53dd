package call

import (
	"context"
	"errors"
	"hushbox/crypto/keys"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/media"
	"hushbox/pbx/scrambler"
	"hushbox/pbx/sdp"
	"hushbox/pbx/store"
)

// State of a call.
type State int

const (
	Ringing State = iota
	Answered
	Ended
)

func (s State) String() string {
	switch s {
	case Ringing:
		return "ringing"
	case Answered:
		return "answered"
	}
	return "ended"
}

// Info is a snapshot of a live call for status pages.
type Info struct {
	CallID   string    `json:"call_id"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	State    string    `json:"state"`
	Codec    string    `json:"codec"`
	Start    time.Time `json:"start"`
	Answered time.Time `json:"answered,omitempty"`
	// SAS and Trunk are set on scrambled trunk calls: both boxes show the
	// same SAS, which the two people can compare aloud.
	SAS   string `json:"sas,omitempty"`
	Trunk string `json:"trunk,omitempty"`
	// ScrambledFrames counts frames scrambled or descrambled by this box;
	// DroppedFrames those it could not scramble (never sent in clear).
	ScrambledFrames uint64 `json:"scrambled_frames,omitempty"`
	DroppedFrames   uint64 `json:"dropped_frames,omitempty"`
	// Packets relayed each way, for live status.
	PacketsAtoB uint64 `json:"packets_a_to_b"`
	PacketsBtoA uint64 `json:"packets_b_to_a"`
	// Where is "board", or "cloud" while a leg is handed to the cloud peer.
	Where string `json:"where"`
}

// Call is one call between a caller (leg a) and the callee phone that
// answered (leg b).
type Call struct {
	m *Manager

	mu      sync.Mutex
	state   State
	a       *leg
	b       *leg
	forks   []*fork
	winner  *fork
	media   *media.Session
	offerA  *sdp.Session // last offer from the caller
	originA sdp.Origin
	originB sdp.Origin
	plan    sdp.Plan
	cdr     store.CDR
	ended   bool
	// reinvite serialises re-INVITEs: only one offer/answer at a time.
	reinvite bool
	// ackWait receives the ACK for our 2xx on leg a (or b for re-INVITEs from b).
	ackWait map[*leg]chan struct{}
	// hungup is closed when the call ends, whatever the reason.
	hungup chan struct{}
	// ringEnd tells the INVITE loop to give up a ringing call (shutdown).
	ringEnd chan string
	// secA and secB are the SRTP profile and our keys on each leg.
	secA, secB sdp.Security
	// in and out are set on calls that arrive on or leave by a hushbox trunk.
	in  *trunkIn
	out *trunkOut
	// scr scrambles the trunk leg; sas is the call's short authentication string.
	scr *scrambler.Hook
	sas string
	// remotes are the media addresses last taken from each side's SDP.
	remoteA, remoteB netip.AddrPort
}

func (c *Call) info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := Info{CallID: c.cdr.CallID, From: c.cdr.From, To: c.cdr.To, State: c.state.String(),
		Codec: c.cdr.Codec, Start: c.cdr.Start, Answered: c.cdr.Answer, SAS: c.sas, Trunk: c.trunkName(), Where: c.where()}
	if c.scr != nil {
		in.ScrambledFrames, in.DroppedFrames = c.scr.Processed(), c.scr.Dropped.Load()
	}
	if c.media != nil {
		in.PacketsAtoB = c.media.A().Stats().PacketsIn
		in.PacketsBtoA = c.media.B().Stats().PacketsIn
	}
	return in
}

// applyMedia applies an offer/answer outcome to the relay: where each
// side's media goes and which payload conversions each direction needs.
// offerer tells which leg made the offer the plan was built from: the plan's
// "caller" fields describe the offerer, its "callee" fields the answerer.
func (c *Call) applyMedia(offerer *leg, offerMedia, answerMedia *sdp.Media, plan sdp.Plan) {
	codecA, codecB := plan.CallerCodec, plan.CalleeCodec
	dtmfA, dtmfB := plan.CallerDTMF, plan.CalleeDTMF
	mediaA, mediaB := offerMedia, answerMedia
	if offerer != c.a {
		codecA, codecB = codecB, codecA
		dtmfA, dtmfB = dtmfB, dtmfA
		mediaA, mediaB = mediaB, mediaA
	}
	c.plan = plan
	kA, kB := plan.CallerSRTP, plan.CalleeSRTP
	if offerer != c.a {
		kA, kB = kB, kA
	}
	if err := c.media.A().SetSRTP(kA); err != nil {
		c.m.log.Error("SRTP on caller leg", "call_id", c.cdr.CallID, "err", err)
	}
	if err := c.media.B().SetSRTP(kB); err != nil {
		c.m.log.Error("SRTP on callee leg", "call_id", c.cdr.CallID, "err", err)
	}
	setRemote(c.media.A(), mediaA, &c.remoteA)
	setRemote(c.media.B(), mediaB, &c.remoteB)
	if plan.Transcode {
		c.media.SetTranscode(media.AtoB, media.Transcode{FromPT: codecA.PT, ToPT: codecB.PT, Kind: kindOf(codecA, codecB)})
		c.media.SetTranscode(media.BtoA, media.Transcode{FromPT: codecB.PT, ToPT: codecA.PT, Kind: kindOf(codecB, codecA)})
	} else {
		c.media.SetTranscode(media.AtoB, media.Transcode{})
		c.media.SetTranscode(media.BtoA, media.Transcode{})
	}
	c.media.ClearPTMaps()
	if !plan.Transcode && codecA.PT != codecB.PT {
		// Same law under different payload numbers: renumber only.
		c.media.SetPTMap(media.AtoB, codecA.PT, codecB.PT)
		c.media.SetPTMap(media.BtoA, codecB.PT, codecA.PT)
	}
	if dtmfA != 0 && dtmfB != 0 && dtmfA != dtmfB {
		c.media.SetPTMap(media.AtoB, dtmfA, dtmfB)
		c.media.SetPTMap(media.BtoA, dtmfB, dtmfA)
	}
	c.cdr.Codec = codecA.Name
	if plan.Transcode {
		c.cdr.Codec = codecA.Name + "/" + codecB.Name
	}
}

func kindOf(from, to sdp.Codec) media.TranscodeKind {
	switch {
	case from.Name == "PCMU" && to.Name == "PCMA":
		return media.UlawToAlaw
	case from.Name == "PCMA" && to.Name == "PCMU":
		return media.AlawToUlaw
	}
	return media.None
}

// setRemote points a relay leg at the address a party's SDP gives. A held
// stream (c=0.0.0.0) or a rejected one (port 0) leaves the leg as it is.
func setRemote(l *media.Leg, m *sdp.Media, last *netip.AddrPort) {
	if m == nil || m.Port == 0 || !m.Addr.IsValid() || m.Addr.IsUnspecified() {
		return
	}
	ap := netip.AddrPortFrom(m.Addr, uint16(m.Port))
	if *last != ap {
		l.SetRemote(ap)
		if last.IsValid() {
			// The party moved its media (re-INVITE): latch afresh.
			l.Relatch()
		}
		*last = ap
	}
	if m.RTCP.IsValid() {
		l.SetRemoteRTCP(m.RTCP)
	}
}

// hangup ends the call once: BYE to every answered leg except from (the one
// that hung up), CANCEL for ringing forks, media closed, CDR written.
func (c *Call) hangup(from *leg, reason string) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	if c.state == Ringing {
		// The INVITE loop owns ringing calls; tell it.
		c.mu.Unlock()
		select {
		case <-c.hungup:
		default:
			c.endRinging(reason)
		}
		return
	}
	c.ended = true
	c.state = Ended
	a, b := c.a, c.b
	c.cdr.End = time.Now().UTC()
	c.cdr.Hangup = reason
	c.mu.Unlock()

	var wg sync.WaitGroup
	for _, l := range []*leg{a, b} {
		if l == nil || l == from {
			continue
		}
		wg.Add(1)
		go func(l *leg) {
			defer wg.Done()
			c.m.sendBye(l)
		}(l)
	}
	wg.Wait()
	c.finish()
}

// endRinging is set by the INVITE loop; hangup of a ringing call signals it.
func (c *Call) endRinging(reason string) {
	c.mu.Lock()
	r := c.ringEnd
	c.mu.Unlock()
	if r != nil {
		select {
		case r <- reason:
		default:
		}
	}
}

// finish releases everything the call holds and writes its CDR.
func (c *Call) finish() {
	c.mu.Lock()
	if c.media != nil {
		c.media.Close()
	}
	a, b := c.a, c.b
	cdr := c.cdr
	select {
	case <-c.hungup:
	default:
		close(c.hungup)
	}
	c.mu.Unlock()
	if a != nil {
		c.m.removeDialog(a)
	}
	if b != nil {
		c.m.removeDialog(b)
	}
	if err := c.m.cfg.CDR.AppendCDR(&cdr); err != nil {
		c.m.log.Error("write CDR", "call_id", cdr.CallID, "err", err)
	}
	c.m.log.Info("call ended", "call_id", cdr.CallID, "from", cdr.From, "to", cdr.To,
		"disposition", cdr.Disposition, "code", cdr.SIPCode, "hangup", cdr.Hangup)
	c.m.untrack(c)
}

// sendBye sends BYE on a leg and waits (bounded) for its answer.
func (m *Manager) sendBye(l *leg) {
	req := l.request(sip.BYE, nil, m.cfg.Signer)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	res, err := m.cfg.Client.Do(ctx, req)
	if err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			m.log.Debug("BYE failed", "call_id", l.callID, "err", err)
		}
		return
	}
	m.log.Debug("BYE answered", "call_id", l.callID, "code", res.StatusCode)
}

// trunkName is the trunk the call uses, if any.
func (c *Call) trunkName() string {
	switch {
	case c.in != nil:
		return c.in.trunk.Name
	case c.out != nil:
		return c.out.trunk.Name
	}
	return ""
}

// secureAnswer finishes the key exchange of a trunk call from the callee
// side's SDP answer and returns the scrambling hook, the SAS, and the answer
// to pass on to the caller (with our key share when the caller is the trunk).
func (c *Call) secureAnswer(ans *sdp.Session) (*scrambler.Hook, string, *sdp.Session, error) {
	switch {
	case c.out != nil:
		if ans.Audio == nil {
			return nil, "", nil, errNoShare
		}
		attr, ok := keys.AttributeValue(ans.Audio.Extra)
		if !ok {
			return nil, "", nil, errNoShare
		}
		pinned := c.out.pinned
		ck, err := c.out.ex.Complete(attr, func(k keys.PublicKey) bool { return k == pinned })
		if err != nil {
			return nil, "", nil, err
		}
		defer ck.Wipe()
		// Leg B is the trunk: audio towards it (A to B) is scrambled.
		h := scrambler.New(media.AtoB, ck.ScrambleTx, ck.ScrambleRx)
		return h, ck.SAS, withExtra(ans), nil
	case c.in != nil:
		ck := c.in.keys
		// Leg A is the trunk: audio towards it (B to A) is scrambled.
		h := scrambler.New(media.BtoA, ck.ScrambleTx, ck.ScrambleRx)
		sas := ck.SAS
		ck.Wipe()
		return h, sas, withExtra(ans, keys.AttributeName+":"+c.in.ex.Attribute()), nil
	}
	return nil, "", ans, nil
}
