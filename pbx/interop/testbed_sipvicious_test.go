package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sipvicious against the board's WAN address from the attacker's namespace
// of the test bed: there the tools' source is a real stranger's address
// (10.71.5.2, not allow-listed), unlike the loopback test, where the
// allow-list has to be emptied. One fresh test bed and board per tool, so
// that one tool's ban does not hide what the next one would find.
//
// Asserted: svmap does not find the board, svwar enumerates no extension,
// svcrack does not find a password that is in its dictionary, and each
// tool's source is banned (as a scanner: the tools announce themselves, so
// the ban comes on the first request, before any password guess is
// checked).
func TestTestbedSipvicious(t *testing.T) {
	requireRoot(t)
	svmap := requireTool(t, "svmap")
	svwar := requireTool(t, "svwar")
	svcrack := requireTool(t, "svcrack")
	if buildErr != nil {
		t.Fatalf("hushbox binary: %v", buildErr)
	}

	t.Run("svmap", func(t *testing.T) {
		tb, board := startSipviciousBoard(t)
		wan := tb.env["BOARD_WAN_IP"]
		out := tb.nsTool(t, "attacker", svmap, "-p", "5060", wan)
		if strings.Contains(out, wan+":5060") {
			t.Errorf("svmap found the board:\n%s", out)
		}
		if got := nsBans(board); got[tb.env["ATTACKER_IP"]] == "" {
			t.Errorf("svmap's source %s not banned: %v", tb.env["ATTACKER_IP"], got)
		}
	})
	t.Run("svwar", func(t *testing.T) {
		tb, board := startSipviciousBoard(t)
		out := tb.nsTool(t, "attacker", svwar, "-p", "5060", "-e", "100-110", "--maximumtime", "5", tb.env["BOARD_WAN_IP"])
		for _, ext := range []string{"101", "102"} {
			if regexp.MustCompile(`\|\s*` + ext + `\s*\|`).MatchString(out) {
				t.Errorf("svwar enumerated extension %s:\n%s", ext, out)
			}
		}
		if got := nsBans(board); got[tb.env["ATTACKER_IP"]] == "" {
			t.Errorf("svwar's source %s not banned: %v", tb.env["ATTACKER_IP"], got)
		}
	})
	t.Run("svcrack", func(t *testing.T) {
		tb, board := startSipviciousBoard(t)
		dict := filepath.Join(t.TempDir(), "passwords.txt")
		var words []string
		for i := range 20 {
			words = append(words, fmt.Sprintf("guess%02d", i))
		}
		words = append(words, "secret-101") // the right one, after a handful of wrong ones
		if err := os.WriteFile(dict, []byte(strings.Join(words, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out := tb.nsTool(t, "attacker", svcrack, "-p", "5060", "-u", "101", "-d", dict, tb.env["BOARD_WAN_IP"])
		if strings.Contains(out, "secret-101") {
			t.Errorf("svcrack found the password:\n%s", out)
		}
		if got := nsBans(board); got[tb.env["ATTACKER_IP"]] == "" {
			t.Errorf("svcrack's source %s not banned: %v", tb.env["ATTACKER_IP"], got)
		} else {
			t.Logf("svcrack's source banned: %s", got[tb.env["ATTACKER_IP"]])
		}
	})
}

// startSipviciousBoard brings up a test bed with a board holding 101 and
// 102 and a guard that trusts only loopback and the LAN.
func startSipviciousBoard(t *testing.T) (*testbed, *nsDaemon) {
	t.Helper()
	tb := startTestbed(t)
	data := filepath.Join(t.TempDir(), "board")
	prepareBoard(t, data)
	for _, e := range [][2]string{{"101", "secret-101"}, {"102", "secret-102"}} {
		if out, err := exec.Command(hushboxBin, "ext", "add", e[0], "--password", e[1], "--data", data).CombinedOutput(); err != nil {
			t.Fatalf("ext add %s: %v %s", e[0], err, out)
		}
	}
	board := tb.startNSDaemon("board", data, "--sip", "0.0.0.0:5060", "--web", "0.0.0.0:8443",
		"--media-ip", tb.env["BOARD_WAN_IP"], "--log-level", "debug")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("board log:\n%s", lastBytes([]byte(board.stderr.String()), 8000))
		}
	})
	return tb, board
}

// nsTool runs a bounded sipvicious command in role's namespace and returns
// its output (the tools exit non-zero when they find nothing).
func (tb *testbed) nsTool(t *testing.T, role, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	prog, argv := tb.nsExec(role, bin, args...)
	cmd := exec.CommandContext(ctx, prog, argv...)
	cmd.Dir = t.TempDir() // sipvicious keeps session files under $HOME
	cmd.Env = append(os.Environ(), "HOME="+cmd.Dir)
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish in 90 s:\n%s", filepath.Base(bin), out)
	}
	t.Logf("%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	return string(out)
}

// nsBans returns the sources a daemon's log says it banned, with reasons.
func nsBans(d *nsDaemon) map[string]string {
	re := regexp.MustCompile(`msg="source banned".* src=(\S+) reason="([^"]*)"`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(d.stderr.String(), -1) {
		out[m[1]] = m[2]
	}
	return out
}
