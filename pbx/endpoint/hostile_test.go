package endpoint

import (
	"context"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestHostileRTP: garbage, truncated and wrong-sized RTP and frames of
// another SSRC sent to a phone in a scrambled call (from the peer's IP)
// neither crash it nor end the call nor spoil what it hears.
func TestHostileRTP(t *testing.T) {
	devA := &memDevice{src: speechLike(1.5)}
	devB := &memDevice{}
	a, b := pair(t, Config{Identity: testIdentity(t), Audio: devA}, Config{Identity: testIdentity(t), Audio: devB, AutoAnswer: true})
	if err := a.Dial(context.Background(), "102"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, EventInCall, bound)
	// The garbage comes once the caller's stream flows (the phone latches
	// onto the first SSRC it hears; see doc.go).
	for deadline := time.Now().Add(bound); b.Status().FramesReceived < 5; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no audio reached the callee")
		}
	}
	conn, err := net.Dial("udp", b.rtpConn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		var msg []byte
		switch i % 4 {
		case 0: // random bytes
			msg = make([]byte, rng.IntN(300))
			for j := range msg {
				msg[j] = byte(rng.Uint32())
			}
		case 1: // G.711 of the wrong size
			msg, _ = (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, Timestamp: rng.Uint32()}, Payload: make([]byte, rng.IntN(400))}).Marshal()
		case 2: // truncated telephone-event
			msg, _ = (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: dtmfPT}, Payload: []byte{1}}).Marshal()
		case 3: // a right-sized frame far in the future
			msg, _ = (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 7, Timestamp: rng.Uint32()}, Payload: make([]byte, 160)}).Marshal()
		}
		_, _ = conn.Write(msg)
	}
	if st := b.Status(); st.State != StateInCall {
		t.Fatalf("callee state %q after the garbage", st.State)
	}
	time.Sleep(time.Duration(len(devA.src)/8+800) * time.Millisecond)
	a.Hangup()
	waitEvent(t, b, EventEnded, bound)
	if b.Status().State != StateIdle {
		t.Error("callee not idle after the call")
	}
	r, lag := bestCorr(devA.src, devB.recording(), 8000)
	t.Logf("callee's recording: correlation %.4f at lag %d", r, lag)
	if r < 0.95 {
		t.Errorf("correlation %.4f after the garbage, want >= 0.95", r)
	}
}
