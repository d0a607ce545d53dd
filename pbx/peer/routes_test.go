package peer

import (
	"net/http"
	"sync"
	"testing"
)

// A burst of concurrent requests to a peer (a hand-back freeing 20 cloud
// relays at once) rides on one TLS connection: each extra connection is a
// mutual-TLS handshake the board pays in CPU while it relays calls.
func TestConcurrentRequestsShareOneConnection(t *testing.T) {
	ctx := ctxT(t)
	a, b := pairedBoxes(t)
	// The link is up (heartbeats keep it so): the burst comes on top.
	if _, err := b.m.Heartbeat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	const n = 20
	// The handler holds every request until all n have arrived, so they
	// are in flight together whatever the scheduler does.
	var arrived sync.WaitGroup
	arrived.Add(n)
	protos := make(chan string, n)
	a.m.Route("POST /test/echo", func(w http.ResponseWriter, r *http.Request, from Peer) {
		protos <- r.Proto
		arrived.Done()
		arrived.Wait()
		writeJSON(w, http.StatusOK, from.Name)
	})
	p, ok := b.m.Peer("a")
	if !ok {
		t.Fatal("b has no peer a after pairing")
	}
	errs := make(chan error, n)
	for range n {
		go func() {
			var name string
			err := b.m.Request(ctx, p, http.MethodPost, "/test/echo", map[string]int{"x": 1}, &name)
			if err == nil && name != "b" {
				t.Errorf("answer %q, want the caller's name b", name)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := a.peerLn.accepted.Load(); got != 1 {
		t.Errorf("%d requests in flight together took %d connections with the heartbeat's, want 1", n, got)
	}
	if proto := <-protos; proto != "HTTP/2.0" {
		t.Errorf("peer link spoke %s, want HTTP/2.0", proto)
	}
}
