package imagetest

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// powerLossRounds is how many times TestQemuPowerLoss pulls the power; each
// round costs one boot (30-90 s under TCG).
const powerLossRounds = 3

// tryAddExtension adds number through the JSON API and reports whether the
// appliance acknowledged it (201 Created). Errors are expected: the power
// goes while requests are in flight.
func (w *webClient) tryAddExtension(number string) bool {
	body, _ := json.Marshal(map[string]string{"number": number, "name": "Power " + number})
	req, err := http.NewRequest(http.MethodPost, w.base+"/api/extensions", bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", w.csrf)
	res, err := w.c.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode == http.StatusCreated
}

// TestQemuPowerLoss pulls the appliance's power (SIGKILL of qemu) while the
// web API is adding extensions as fast as it answers, boots the same card
// again and checks that every extension whose add was acknowledged (201) is
// listed, powerLossRounds times. The daemon's store syncs every commit and
// the data partition is ext4 (journaled), so an acknowledged write must be
// on the card.
func TestQemuPowerLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("boots qemu several times")
	}
	b := buildImage(t, "cubietruck")
	dir := t.TempDir()
	const password = "imagetest-power-pw-1"

	v := boot(t, "virt", b.img, dir, "--grow", "512")
	v.ready()
	fp := certFP.FindStringSubmatch(v.console())
	if fp == nil {
		t.Fatalf("no web certificate fingerprint on the console:\n%s", tail(v.console(), 3000))
	}
	w := newWebClient(t, v.web, fp[1])
	if code, _ := w.get("/"); code != http.StatusOK {
		t.Fatalf("GET /: %d", code)
	}
	w.setup(setupToken(t, v), password)

	var acked []string
	next := 300
	for round := range powerLossRounds {
		// Writers: two clients adding extensions back to back.
		var mu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					num := strconv.Itoa(next)
					next++
					mu.Unlock()
					if w.tryAddExtension(num) {
						mu.Lock()
						acked = append(acked, num)
						mu.Unlock()
					}
				}
			})
		}
		// Pull the power at a random moment once writes are flowing.
		time.Sleep(time.Duration(1500+rand.IntN(3000)) * time.Millisecond)
		v.kill()
		close(stop)
		// Requests in flight end with an error now that qemu is gone.
		w.c.CloseIdleConnections()
		wg.Wait()
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		t.Logf("round %d: power pulled with %d extensions acknowledged so far", round, n)
		if n == 0 {
			t.Fatalf("round %d: no extension add was acknowledged before the power went", round)
		}

		v = boot(t, "virt", b.img, dir)
		v.ready()
		if consoleToken.MatchString(v.console()) {
			t.Fatalf("round %d: the appliance asks for setup again: the admin password was lost", round)
		}
		fp2 := certFP.FindStringSubmatch(v.console())
		if fp2 == nil || fp2[1] != fp[1] {
			t.Fatalf("round %d: web certificate changed or missing after the power cut", round)
		}
		w = newWebClient(t, v.web, fp[1])
		w.login(password)
		have := w.extensions()
		var lost []string
		for _, num := range acked {
			if !slices.Contains(have, num) {
				lost = append(lost, num)
			}
		}
		if len(lost) > 0 {
			t.Fatalf("round %d: %d acknowledged extensions lost after the power cut: %v", round, len(lost), lost)
		}
		if status, err := sipOptions(t, v.sip); err != nil || !strings.HasPrefix(status, "SIP/2.0 200") {
			t.Errorf("round %d: SIP OPTIONS after the power cut: %q %v", round, status, err)
		}
	}
	t.Logf("%d power cuts, %d acknowledged extensions all found", powerLossRounds, len(acked))
}
