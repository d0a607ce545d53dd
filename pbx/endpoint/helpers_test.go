package endpoint

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"hushbox/audio"
	"hushbox/crypto/keys"
)

// memDevice plays src in real time (20 ms per ReadFrame) and records what
// is written.
type memDevice struct {
	mu    sync.Mutex
	src   []int16
	pos   int
	next  time.Time
	rec   []int16
	close sync.Once
}

func (d *memDevice) ReadFrame(dst []int16) error {
	d.mu.Lock()
	if d.next.IsZero() {
		d.next = time.Now()
	}
	d.next = d.next.Add(audio.FrameMillis * time.Millisecond)
	wait := time.Until(d.next)
	if d.pos >= len(d.src) {
		d.mu.Unlock()
		return io.EOF
	}
	n := copy(dst, d.src[d.pos:])
	clear(dst[n:])
	d.pos += len(dst)
	d.mu.Unlock()
	time.Sleep(wait)
	return nil
}

func (d *memDevice) WriteFrame(src []int16) error {
	d.mu.Lock()
	d.rec = append(d.rec, src...)
	d.mu.Unlock()
	return nil
}

func (d *memDevice) Close() error { return nil }

func (d *memDevice) recording() []int16 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int16(nil), d.rec...)
}

// speechLike is a deterministic test signal with speech-like structure: a
// few harmonics whose pitch and loudness change every 100 ms, with pauses.
func speechLike(seconds float64) []int16 {
	n := int(seconds * audio.SampleRate)
	out := make([]int16, n)
	phase := 0.0
	for i := range out {
		seg := i / 800
		if seg%5 == 4 {
			continue // a pause
		}
		f0 := 110 + float64((seg*37)%90)
		amp := 3000 + float64((seg*53)%5000)
		phase += 2 * math.Pi * f0 / audio.SampleRate
		v := math.Sin(phase) + 0.5*math.Sin(2*phase) + 0.3*math.Sin(3*phase+1) + 0.2*math.Sin(5*phase)
		out[i] = int16(amp * v / 2)
	}
	return out
}

// bestCorr is the largest normalised cross-correlation of ref against got
// over lags 0..maxLag (got delayed by lag).
// bestCorr is how well got carries ref: ref is cut into 200 ms pieces,
// each piece is matched at its best lag in got (0..maxLag samples), and the
// median of the pieces' correlations is returned with the first piece's
// lag. Matching piece by piece is what a listener does: a CPU-starved test
// machine makes the jitter buffer grow mid-call (a shift of a frame or two),
// which ruins one global correlation but not a single word.
func bestCorr(ref, got []int16, maxLag int) (float64, int) {
	const piece = 1600
	var rs []float64
	firstLag := -1
	for at := 0; at+piece <= len(ref); at += piece {
		var e float64
		for _, v := range ref[at : at+piece] {
			e += float64(v) * float64(v)
		}
		if e/piece < 100*100 { // near silence carries no evidence
			continue
		}
		r, lag := globalCorr(ref[at:at+piece], got[min(at, len(got)):], maxLag)
		if firstLag < 0 {
			firstLag = lag
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return globalCorr(ref, got, maxLag)
	}
	slices.Sort(rs)
	return rs[len(rs)/2], firstLag
}

// globalCorr is the best normalised correlation of ref against got at one
// lag in 0..maxLag samples.
func globalCorr(ref, got []int16, maxLag int) (float64, int) {
	best, bestLag := -2.0, -1
	for lag := 0; lag <= maxLag && lag < len(got); lag++ {
		var sxy, sxx, syy float64
		for i := range ref {
			j := i + lag
			if j >= len(got) {
				break
			}
			x, y := float64(ref[i]), float64(got[j])
			sxy += x * y
			sxx += x * x
			syy += y * y
		}
		if sxx == 0 || syy == 0 {
			continue
		}
		if r := sxy / math.Sqrt(sxx*syy); r > best {
			best, bestLag = r, lag
		}
	}
	return best, bestLag
}

func testIdentity(t testing.TB) *keys.Identity {
	t.Helper()
	id, err := keys.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(id.Destroy)
	return id
}

func testLogger() *slog.Logger {
	if os.Getenv("ENDPOINT_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// pair makes two endpoints that call each other directly (no PBX): each
// one's Server is the other's SIP socket.
func pair(t *testing.T, cfgA, cfgB Config) (*Endpoint, *Endpoint) {
	t.Helper()
	ca, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfgA.SIPConn, cfgA.Server, cfgA.NoRegister = ca, cb.LocalAddr().String(), true
	cfgB.SIPConn, cfgB.Server, cfgB.NoRegister = cb, ca.LocalAddr().String(), true
	if cfgA.User == "" {
		cfgA.User = "101"
	}
	if cfgB.User == "" {
		cfgB.User = "102"
	}
	cfgA.Logger, cfgB.Logger = testLogger(), testLogger()
	// These tests are about the call, not the delay: a deeper jitter
	// buffer keeps a loaded machine from shifting the audio mid-call.
	for _, c := range []*Config{&cfgA, &cfgB} {
		if c.JitterFrames == 0 {
			c.JitterFrames = 3
		}
	}
	a, err := New(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfgB)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// waitEvent returns the next event of kind k, failing on EventEnded (unless
// that is k) or after bound.
func waitEvent(t *testing.T, e *Endpoint, k EventKind, bound time.Duration) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for {
		select {
		case ev := <-e.Events():
			if ev.Kind == k {
				return ev
			}
			if ev.Kind == EventEnded {
				t.Fatalf("%s: call ended (%s) while waiting for %v", e.cfg.User, ev.Reason, k)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no %v event within %v", e.cfg.User, k, bound)
			return Event{}
		}
	}
}
