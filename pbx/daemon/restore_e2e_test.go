package daemon

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hushbox/pbx/backup"
	"hushbox/pbx/control"
)

// A backup of one box, staged on a fresh one (as the web page does), is in
// place when the fresh box starts: its extensions and identity are back.
func TestE2EStagedRestore(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	a := startPBX(t, pbxOptions{})
	const pass = "a long enough passphrase"
	var buf bytes.Buffer
	if err := a.admin().Backup(ctx, &buf, pass); err != nil {
		t.Fatal(err)
	}
	idA, err := a.admin().Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "hbrestore")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := backup.Stage(bytes.NewReader(buf.Bytes()), pass, dir); err != nil {
		t.Fatal(err)
	}
	port, lo := freeSIPPort(t), freeRTPRange(t, 20)
	out, _ := runDaemon(t, Config{DataDir: dir, SIPAddr: "127.0.0.1:" + strconv.Itoa(port),
		RTPPorts: strconv.Itoa(lo) + "-" + strconv.Itoa(lo+19), MediaIP: "127.0.0.1"})
	if !strings.Contains(out.String(), "restored the backup") {
		t.Fatalf("no word of the restore:\n%s", out.String())
	}
	b, err := control.Connect(dir, DBName)
	if err != nil {
		t.Fatal(err)
	}
	exts, err := b.Extensions(ctx)
	if err != nil || len(exts) != 4 || exts[0].Number != "101" {
		t.Fatalf("extensions after restore: %+v %v", exts, err)
	}
	if idB, err := b.Identity(ctx); err != nil || idB != idA {
		t.Fatalf("identity after restore %q, want %q (%v)", idB, idA, err)
	}
	if backup.Pending(dir) {
		t.Fatal("staging left behind")
	}
}
