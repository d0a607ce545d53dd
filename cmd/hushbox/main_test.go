package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(args, &out, &errb)
	return out.String() + errb.String(), err
}

// The management commands work on a stopped hushbox by opening its store.
func TestExtensionLifecycleOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out, err := runCLI(t, "ext", "add", "101", "--name", "Alice", "--data", dir)
	if err != nil {
		t.Fatal(err, out)
	}
	m := regexp.MustCompile(`password: ([a-z0-9]{20})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no generated password in %q", out)
	}
	out, err = runCLI(t, "ext", "add", "--data", dir, "102", "--password", "chosen-pass")
	if err != nil || strings.Contains(out, "chosen-pass") {
		t.Fatalf("add with a chosen password: %v %q (must not echo it)", err, out)
	}
	if _, err := runCLI(t, "ext", "add", "101", "--data", dir); err == nil {
		t.Fatal("duplicate extension accepted")
	}
	out, err = runCLI(t, "ext", "list", "--json", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	var exts []struct{ Number, Name string }
	if err := json.Unmarshal([]byte(out), &exts); err != nil || len(exts) != 2 || exts[0].Name != "Alice" {
		t.Fatalf("list: %q %v", out, err)
	}
	if strings.Contains(out, m[1]) {
		t.Fatal("list shows a password")
	}
	out, err = runCLI(t, "ext", "passwd", "101", "--data", dir)
	if err != nil || !regexp.MustCompile(`password: [a-z0-9]{20}`).MatchString(out) || strings.Contains(out, m[1]) {
		t.Fatalf("passwd: %v %q", err, out)
	}
	if _, err := runCLI(t, "ext", "rm", "102", "--data", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "ext", "rm", "102", "--data", dir); err == nil {
		t.Fatal("removing a missing extension succeeded")
	}
	out, err = runCLI(t, "cdr", "--csv", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 1 {
		t.Fatalf("empty CDR CSV should be just the header: %q %v", out, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"ext"},
		{"ext", "add"},
		{"ext", "add", "101", "102"},
		{"serve", "--log-level", "loud"},
		{"serve", "--no-such-flag"},
	} {
		_, err := runCLI(t, args...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"serve", "--data", dir, "--rtp-ports", "5000"},
		{"serve", "--data", dir, "--rtp-ports", "30000-20000"},
		{"serve", "--data", dir, "--realm", `bad"realm`},
		{"serve", "--data", dir, "--digest", "SHA-512"},
		{"serve", "--data", dir, "--media-ip", "0.0.0.0"},
	} {
		if _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v started", args)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "hushbox ") {
		t.Fatalf("%q %v", out, err)
	}
}
