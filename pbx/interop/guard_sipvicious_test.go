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

	"hushbox/pbx/store"
)

// startGuardedPBX starts the daemon with an empty allow-list, so that
// even loopback is a stranger to the guard: sipvicious 0.3 ignores its
// --bindingip option in svwar and svcrack, so the tools speak from
// 127.0.0.1. The host's firewall is left alone.
func startGuardedPBX(t *testing.T) *pbx {
	t.Helper()
	t.Setenv("HUSHBOX_NFT", "off")
	data := t.TempDir()
	db, err := store.Open(filepath.Join(data, "hushbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting("guard.allow", `[]`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	p := startPBXData(t, data)
	p.addExt("101", "secret-101")
	p.addExt("102", "secret-102")
	return p
}

// runTool runs a bounded sipvicious command and returns its output.
func runTool(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir() // sipvicious keeps session files under $HOME
	cmd.Env = append(os.Environ(), "HOME="+cmd.Dir)
	out, _ := cmd.CombinedOutput() // the tools exit non-zero when they find nothing
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish in 90 s:\n%s", filepath.Base(bin), out)
	}
	t.Logf("%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	return string(out)
}

// bans returns the sources the daemon's log says it banned, with reasons.
func bans(p *pbx) map[string]string {
	re := regexp.MustCompile(`msg="source banned".* src=(\S+) reason="([^"]*)"`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(p.stderr.String(), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// sipvicious against the daemon, one fresh daemon per tool: svmap finds no
// device, svwar enumerates no extension, svcrack does not find a password
// that is in its dictionary; each tool's source is banned on its first
// request, and the registrar never sees a guess.
func TestSipviciousAgainstGuard(t *testing.T) {
	svmap := requireTool(t, "svmap")
	svwar := requireTool(t, "svwar")
	svcrack := requireTool(t, "svcrack")

	t.Run("svmap", func(t *testing.T) {
		p := startGuardedPBX(t)
		out := runTool(t, svmap, "-p", fmt.Sprint(p.port), "127.0.0.1")
		if strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", p.port)) {
			t.Errorf("svmap found the daemon:\n%s", out)
		}
		if got := bans(p); got["127.0.0.1"] != "scanner sipvicious" {
			t.Errorf("svmap's source not banned as a scanner: %v", got)
		}
	})
	t.Run("svwar", func(t *testing.T) {
		p := startGuardedPBX(t)
		out := runTool(t, svwar, "-p", fmt.Sprint(p.port), "-e", "100-110", "--maximumtime", "5", "127.0.0.1")
		for _, ext := range []string{"101", "102"} {
			if regexp.MustCompile(`\|\s*` + ext + `\s*\|`).MatchString(out) {
				t.Errorf("svwar enumerated extension %s:\n%s", ext, out)
			}
		}
		if got := bans(p); got["127.0.0.1"] != "scanner sipvicious" {
			t.Errorf("svwar's source not banned as a scanner: %v", got)
		}
	})
	t.Run("svcrack", func(t *testing.T) {
		p := startGuardedPBX(t)
		dict := filepath.Join(t.TempDir(), "passwords.txt")
		var words []string
		for i := range 20 {
			words = append(words, fmt.Sprintf("guess%02d", i))
		}
		words = append(words, "secret-101") // the right one, after a handful of wrong ones
		if err := os.WriteFile(dict, []byte(strings.Join(words, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out := runTool(t, svcrack, "-p", fmt.Sprint(p.port), "-u", "101", "-d", dict, "127.0.0.1")
		if strings.Contains(out, "secret-101") {
			t.Errorf("svcrack found the password:\n%s", out)
		}
		if got := bans(p); got["127.0.0.1"] != "scanner sipvicious" {
			t.Errorf("svcrack's source not banned as a scanner: %v", got)
		}
	})
}
