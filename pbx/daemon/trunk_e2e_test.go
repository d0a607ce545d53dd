package daemon

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"hushbox/audio/g711"
	"hushbox/pbx/store"
)

// trunkTo pins peer's identity on a hushbox trunk of p.
func trunkTo(t *testing.T, ctx context.Context, p, peer *pbx, prefix string) {
	t.Helper()
	id, err := peer.admin().Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = p.admin().AddTrunk(ctx, store.Trunk{Name: "peer", Kind: store.TrunkHushbox, Address: peer.tlsAddr,
		Transport: "tls", Prefix: prefix, Strip: len(prefix), PeerKey: id}, "")
	if err != nil {
		t.Fatal(err)
	}
}

func toneFrame(i int) []byte {
	pcm := make([]int16, 160)
	for k := range pcm {
		x := float64(i*160+k) / 8000
		pcm[k] = int16(5000*math.Sin(2*math.Pi*440*x) + 2500*math.Sin(2*math.Pi*1100*x))
	}
	out := make([]byte, 160)
	g711.EncodeUlawFrame(out, pcm)
	return out
}

func decodeAll(pkts []rtp.Packet) []int16 {
	var out []int16
	for _, p := range pkts {
		if p.PayloadType != 0 {
			continue
		}
		pcm := make([]int16, len(p.Payload))
		g711.DecodeUlawFrame(pcm, p.Payload)
		out = append(out, pcm...)
	}
	return out
}

func normCorr(a, b []int16) float64 {
	n := min(len(a), len(b))
	var ab, aa, bb float64
	for i := 0; i < n; i++ {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb+1e-9)
}

// Two offices joined by a hushbox trunk: a call from A's 101 to B's 102
// is scrambled between the boxes and descrambled at B, both boxes show the
// same SAS, and a box that is not pinned is refused.
func TestE2EScrambledTrunk(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	a := startPBX(t, pbxOptions{tls: true})
	b := startPBX(t, pbxOptions{tls: true})
	trunkTo(t, ctx, a, b, "9")
	trunkTo(t, ctx, b, a, "8")
	alice, bob := newPhone(t, a, "101"), newPhone(t, b, "102")
	alice.mustRegister(ctx)
	bob.mustRegister(ctx)

	oc := alice.call(ctx, "9102", buildSDP(alice.rtpPort(), []int{0}, "sendrecv"), []int{0})
	if res := oc.waitFinal(ctx); res.StatusCode != 200 {
		t.Fatalf("trunk call answered %d %s\nA:\n%s\nB:\n%s", res.StatusCode, res.Reason, a.logs.String(), b.logs.String())
	}
	ic := bob.waitCall(ctx)
	if strings.Contains(string(ic.req.Body()), "hushbox-key") {
		t.Fatal("the key share reached the phone: the box must terminate it")
	}
	const n = 100
	alice.sendRTP(oc.d.remoteSDP().media(), 0, n, toneFrame)
	waitUntil(t, ctx, "speech at B's phone", func() bool { return bob.rtpCount.Load() >= n })
	var sent []int16
	for i := range n {
		pcm := make([]int16, 160)
		g711.DecodeUlawFrame(pcm, toneFrame(i))
		sent = append(sent, pcm...)
	}
	got := decodeAll(bob.received())
	if c := normCorr(sent, got); c < 0.9 {
		t.Fatalf("B's phone hears audio correlating %.3f with what A's phone sent, want > 0.9", c)
	}

	callsA, err := a.admin().Calls(ctx)
	if err != nil || len(callsA) != 1 {
		t.Fatalf("calls at A: %+v %v", callsA, err)
	}
	callsB, err := b.admin().Calls(ctx)
	if err != nil || len(callsB) != 1 {
		t.Fatalf("calls at B: %+v %v", callsB, err)
	}
	if callsA[0].SAS == "" || callsA[0].SAS != callsB[0].SAS {
		t.Fatalf("SAS at A %q, at B %q: want the same, not empty", callsA[0].SAS, callsB[0].SAS)
	}
	if callsA[0].ScrambledFrames < n || callsB[0].ScrambledFrames < n {
		t.Fatalf("frames scrambled at A %d, descrambled at B %d, want >= %d each", callsA[0].ScrambledFrames, callsB[0].ScrambledFrames, n)
	}
	t.Logf("SAS %s on both boxes; B hears A with correlation %.4f", callsA[0].SAS, normCorr(sent, got))
	if callsA[0].Trunk != "peer" || callsB[0].Trunk != "peer" {
		t.Fatalf("trunk names %q %q", callsA[0].Trunk, callsB[0].Trunk)
	}
	if r := oc.d.bye(ctx); r.StatusCode != 200 {
		t.Fatalf("BYE: %d", r.StatusCode)
	}
	ic.d.waitBye(ctx)

	// B forgets A: A's next call is not a trunk call for B any more, only
	// a caller without a password (challenged, so refused), logged there.
	if err := b.admin().RemoveTrunk(ctx, "peer"); err != nil {
		t.Fatal(err)
	}
	oc = alice.call(ctx, "9102", buildSDP(alice.rtpPort(), []int{0}, "sendrecv"), []int{0})
	if res := oc.waitFinal(ctx); res.StatusCode < 400 {
		t.Fatalf("call to a box that does not pin us answered %d", res.StatusCode)
	}
	waitUntil(t, ctx, "B logs the refusal", func() bool {
		return strings.Contains(b.logs.String(), "identity no trunk pins")
	})
}
