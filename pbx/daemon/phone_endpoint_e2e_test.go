package daemon

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"hushbox/audio"
	"hushbox/crypto/keys"
	"hushbox/pbx/endpoint"
)

// toneDevice plays a tone whose pitch steps every 100 ms, in real time,
// and records what it hears.
type toneDevice struct {
	mu   sync.Mutex
	n    int
	next time.Time
	rec  []int16
}

func toneSample(i int) int16 {
	f := 200 + float64((i/800)%7)*90
	return int16(6000 * math.Sin(2*math.Pi*f*float64(i)/audio.SampleRate))
}

func (d *toneDevice) ReadFrame(dst []int16) error {
	d.mu.Lock()
	if d.next.IsZero() {
		d.next = time.Now()
	}
	d.next = d.next.Add(audio.FrameMillis * time.Millisecond)
	wait := time.Until(d.next)
	for i := range dst {
		dst[i] = toneSample(d.n + i)
	}
	d.n += len(dst)
	d.mu.Unlock()
	time.Sleep(wait)
	return nil
}

func (d *toneDevice) WriteFrame(src []int16) error {
	d.mu.Lock()
	d.rec = append(d.rec, src...)
	d.mu.Unlock()
	return nil
}

func (d *toneDevice) Close() error { return nil }

// phoneEvent waits for an event of kind k from ep.
func phoneEvent(t *testing.T, ctx context.Context, ep *endpoint.Endpoint, k endpoint.EventKind) endpoint.Event {
	t.Helper()
	for {
		select {
		case ev := <-ep.Events():
			if ev.Kind == k {
				return ev
			}
			if ev.Kind == endpoint.EventEnded {
				t.Fatalf("call ended (%s) while waiting for %v", ev.Reason, k)
			}
		case <-ctx.Done():
			t.Fatalf("no %v event", k)
		}
	}
}

// TestE2EEndpointsScrambleThroughPBX: two hushbox endpoints (pbx/endpoint)
// registered as 101 and 102 call each other through the daemon over UDP.
// The daemon must treat 101's key share as a phone's (challenge it, not
// refuse it as an unknown trunk) and carry both shares unchanged, so the
// two phones agree on the SAS and 102 hears 101.
func TestE2EEndpointsScrambleThroughPBX(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	p := startPBX(t, pbxOptions{})
	devA, devB := &toneDevice{}, &toneDevice{}
	start := func(ext string, dev audio.Device, answer bool) *endpoint.Endpoint {
		id, err := keys.NewIdentity()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(id.Destroy)
		ep, err := endpoint.New(endpoint.Config{Server: p.addr, User: ext, Password: testPasswords[ext],
			Listen: "127.0.0.1:0", Audio: dev, Identity: id, AutoAnswer: answer, JitterFrames: 3})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = ep.Run(rctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		phoneEvent(t, ctx, ep, endpoint.EventRegistered)
		return ep
	}
	a := start("101", devA, false)
	b := start("102", devB, true)
	if err := a.Dial(ctx, "102"); err != nil {
		t.Fatal(err)
	}
	evA := phoneEvent(t, ctx, a, endpoint.EventScrambled)
	evB := phoneEvent(t, ctx, b, endpoint.EventScrambled)
	if evA.SAS == "" || evA.SAS != evB.SAS {
		t.Errorf("SAS %q at 101, %q at 102: want the same", evA.SAS, evB.SAS)
	}
	if err := b.SendDTMF('7'); err != nil {
		t.Fatal(err)
	}
	if ev := phoneEvent(t, ctx, a, endpoint.EventDTMF); ev.Digit != '7' {
		t.Errorf("101 got DTMF %q, want 7", ev.Digit)
	}
	time.Sleep(1500 * time.Millisecond)
	a.Hangup()
	phoneEvent(t, ctx, b, endpoint.EventEnded)

	devA.mu.Lock()
	sent := devA.n
	devA.mu.Unlock()
	devB.mu.Lock()
	rec := append([]int16(nil), devB.rec...)
	devB.mu.Unlock()
	// 102 heard 101's tone. Each 100 ms window of the recording that is
	// not silent is matched against the tone at its best offset, so a
	// loaded machine that shifts the playout now and then does not count;
	// audio that was not descrambled matches nowhere.
	const win = 800
	var scores []float64
	for w := 0; w+win <= len(rec); w += win {
		seg := rec[w : w+win]
		var e float64
		for _, v := range seg {
			e += float64(v) * float64(v)
		}
		if e < win*1e4 { // silence before the first packet, or after the call
			continue
		}
		best := 0.0
		for off := 0; off+win <= sent; off++ {
			var xy, xx float64
			for i, y := range seg {
				x := float64(toneSample(off + i))
				xy, xx = xy+x*float64(y), xx+x*x
			}
			best = max(best, xy/math.Sqrt(xx*e))
		}
		scores = append(scores, best)
	}
	slices.Sort(scores)
	if len(scores) < 5 {
		t.Fatalf("102 recorded only %d windows of sound", len(scores))
	}
	best := scores[len(scores)/2]
	t.Logf("SAS %s; 102's recording: %d windows of sound, median correlation with 101's tone %.4f", evA.SAS, len(scores), best)
	if best < 0.95 {
		t.Errorf("102's recording: median window correlation with 101's tone %.4f, want >= 0.95", best)
	}
}
