package update

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bootDir makes a boot partition as the image build leaves it: both slots
// filled, slot a good, nothing to try.
func bootDir(t *testing.T, env string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"initrd-a.img": "old a", "initrd-b.img": "old b", EnvFile: env} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noStrayFiles checks that a failed install left no temporary file.
func noStrayFiles(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("stray file %s left in the boot dir", e.Name())
		}
	}
}

const imageEnv = "slot=a\ntry=\ntries=0\nhb_board=rpi2\n"

func TestInstall(t *testing.T) {
	pub, priv := newKey(t)
	_, otherPriv := newKey(t)
	newFW := []byte(strings.Repeat("new initramfs ", 1000))
	good := makeBundle(t, priv, "v2.0", []string{"rpi2"}, newFW)
	hl := headerLen(t, good)
	tampered := bytes.Clone(good)
	tampered[hl+10] ^= 0x80
	tests := []struct {
		name   string
		env    string
		booted string
		bundle []byte
		want   error
	}{
		{"good into b", imageEnv, "a", good, nil},
		{"good into a", "slot=b\ntry=\ntries=0\n", "b", good, nil},
		{"again before the test boot", "slot=a\ntry=b\ntries=1\n", "a", good, nil},
		{"wrong key", imageEnv, "a", makeBundle(t, otherPriv, "v2.0", []string{"rpi2"}, newFW), ErrSignature},
		{"wrong board", imageEnv, "a", makeBundle(t, priv, "v2.0", []string{"cubietruck"}, newFW), ErrBoard},
		{"tampered payload", imageEnv, "a", tampered, ErrPayload},
		{"truncated", imageEnv, "a", good[:len(good)-100], ErrTruncated},
		{"running a test boot", "slot=a\ntry=b\ntries=0\n", "b", good, ErrOnTrial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := bootDir(t, tt.env)
			in := &Installer{Dir: dir, Key: pub, Board: "rpi2", Booted: tt.booted}
			h, err := in.Install(context.Background(), bytes.NewReader(tt.bundle))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Install: err %v, want %v", err, tt.want)
			}
			target := Other(tt.booted)
			noStrayFiles(t, dir)
			if tt.want != nil {
				for _, s := range slotNames {
					if got := readFile(t, filepath.Join(dir, SlotFile(s))); got != "old "+s {
						t.Errorf("slot %s changed to %.20q after a refused install", s, got)
					}
				}
				if got := readFile(t, filepath.Join(dir, EnvFile)); got != tt.env {
					t.Errorf("%s changed after a refused install: %q", EnvFile, got)
				}
				return
			}
			if h.Version != "v2.0" {
				t.Errorf("version %q", h.Version)
			}
			if got := readFile(t, filepath.Join(dir, SlotFile(target))); got != string(newFW) {
				t.Errorf("slot %s does not hold the new firmware", target)
			}
			if got := readFile(t, filepath.Join(dir, SlotFile(tt.booted))); got != "old "+tt.booted {
				t.Errorf("the running slot %s changed", tt.booted)
			}
			env, err := ReadEnv(dir)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := env.State()
			if st != (State{Slot: tt.booted, Try: target, Tries: DefaultTries}) {
				t.Errorf("state %+v after install", st)
			}
			if env.SlotVersion(target) != "v2.0" {
				t.Errorf("slot version %q", env.SlotVersion(target))
			}
		})
	}
}

func TestInstallKeepsOtherEnvKeys(t *testing.T) {
	pub, priv := newKey(t)
	dir := bootDir(t, imageEnv)
	in := &Installer{Dir: dir, Key: pub, Board: "rpi2", Booted: "a"}
	if _, err := in.Install(context.Background(), bytes.NewReader(makeBundle(t, priv, "v3", []string{"rpi2"}, []byte("fw")))); err != nil {
		t.Fatal(err)
	}
	env, _ := ReadEnv(dir)
	if env.Get(KeyBoard) != "rpi2" {
		t.Fatalf("%s lost hb_board: %q", EnvFile, env.Bytes())
	}
}

func TestInstallStopsWhenCancelled(t *testing.T) {
	pub, priv := newKey(t)
	dir := bootDir(t, imageEnv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := &Installer{Dir: dir, Key: pub, Board: "rpi2", Booted: "a"}
	if _, err := in.Install(ctx, bytes.NewReader(makeBundle(t, priv, "v3", []string{"rpi2"}, []byte("fw")))); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if readFile(t, filepath.Join(dir, "initrd-b.img")) != "old b" {
		t.Fatal("slot b changed")
	}
	noStrayFiles(t, dir)
}

func TestMarkGood(t *testing.T) {
	tests := []struct {
		name, env, booted string
		changed           bool
		want              State
	}{
		{"test boot of b is healthy", "slot=a\ntry=b\ntries=0\n", "b", true, State{Slot: "b"}},
		{"test boot of a is healthy", "slot=b\ntry=a\ntries=1\n", "a", true, State{Slot: "a"}},
		{"normal boot", "slot=a\ntry=\ntries=0\n", "a", false, State{Slot: "a"}},
		{"normal boot, update armed", "slot=a\ntry=b\ntries=1\n", "a", false, State{Slot: "a", Try: "b", Tries: 1}},
		{"fallback boot after the test", "slot=b\ntry=\ntries=0\n", "a", false, State{Slot: "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := bootDir(t, tt.env)
			in := &Installer{Dir: dir, Booted: tt.booted}
			changed, err := in.MarkGood()
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.changed {
				t.Errorf("changed %v, want %v", changed, tt.changed)
			}
			env, _ := ReadEnv(dir)
			if st, _ := env.State(); st != tt.want {
				t.Errorf("state %+v, want %+v", st, tt.want)
			}
			if !tt.changed && readFile(t, filepath.Join(dir, EnvFile)) != tt.env {
				t.Error("file rewritten although nothing changed")
			}
		})
	}
	if _, err := (&Installer{Dir: t.TempDir()}).MarkGood(); err == nil {
		t.Error("MarkGood without a booted slot succeeded")
	}
}

func TestAwaitGood(t *testing.T) {
	dir := bootDir(t, "slot=a\ntry=b\ntries=0\n")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := AwaitGood(ctx, dir, "b", time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unmarked test boot: err %v", err)
	}
	if _, err := (&Installer{Dir: dir, Booted: "b"}).MarkGood(); err != nil {
		t.Fatal(err)
	}
	if err := AwaitGood(context.Background(), dir, "b", time.Millisecond); err != nil {
		t.Fatalf("after MarkGood: %v", err)
	}
}

func TestStatus(t *testing.T) {
	dir := bootDir(t, "slot=a\ntry=b\ntries=1\nhb_ver_a=v1\nhb_ver_b=v2\n")
	st, err := (&Installer{Dir: dir, Booted: "a"}).Status()
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Booted: "a", Good: "a", Try: "b", Tries: 1, Inactive: "b", BootedVersion: "v1", InactiveVersion: "v2"}
	if st != want {
		t.Fatalf("%+v, want %+v", st, want)
	}
}

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name, in string
		want     State
		bad      bool
	}{
		{"image default", "slot=a\ntry=\ntries=0\n", State{Slot: "a"}, false},
		{"U-Boot export with NUL and CRLF", "slot=a\r\ntries=0\r\ntry=b\n\x00junk", State{Slot: "a", Try: "b"}, false},
		{"missing file content", "", State{Slot: "a"}, false},
		{"comment", "# hushbox\nslot=b\n", State{Slot: "b"}, false},
		{"bad slot", "slot=c\n", State{}, true},
		{"bad try", "slot=a\ntry=x\n", State{}, true},
		{"bad tries", "slot=a\ntries=many\n", State{}, true},
		{"no equals", "slot\n", State{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnv([]byte(tt.in))
			var st State
			if err == nil {
				st, err = env.State()
			}
			if (err != nil) != tt.bad {
				t.Fatalf("err %v, bad %v", err, tt.bad)
			}
			if !tt.bad && st != tt.want {
				t.Fatalf("%+v, want %+v", st, tt.want)
			}
		})
	}
}

func FuzzParseEnv(f *testing.F) {
	f.Add([]byte("slot=a\ntry=\ntries=0\n"))
	f.Add([]byte("slot=b\r\ntry=a\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseEnv(b)
		if err != nil {
			return
		}
		again, err := ParseEnv(env.Bytes())
		if err != nil || !bytes.Equal(again.Bytes(), env.Bytes()) {
			t.Fatalf("Bytes does not round-trip: %v", err)
		}
		_, _ = env.State()
	})
}

func TestCmdlineAndBoard(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		bad      bool
	}{
		{"console=ttyAMA0 hushbox.slot=b rootwait", "b", false},
		{"console=ttyAMA0", "", false},
		{"hushbox.slot=a hushbox.slot=b", "b", false},
		{"hushbox.slot=../x", "", true},
	} {
		got, err := slotFromCmdline(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("%q: %q, %v", tt.in, got, err)
		}
	}
	dir := t.TempDir()
	dt := filepath.Join(dir, "compatible")
	os.WriteFile(dt, []byte("cubietech,cubietruck\x00allwinner,sun7i-a20\x00"), 0o644)
	nofile := filepath.Join(dir, "no-board-file")
	if b, err := DetectBoard(dir, nofile, dt); err != nil || b != "cubietruck" {
		t.Errorf("device tree: %q, %v", b, err)
	}
	bf := filepath.Join(dir, "board")
	os.WriteFile(bf, []byte("cubieboard2\n"), 0o644)
	if b, err := DetectBoard(dir, bf, dt); err != nil || b != "cubieboard2" {
		t.Errorf("board file: %q, %v", b, err)
	}
	os.WriteFile(filepath.Join(dir, EnvFile), []byte(imageEnv), 0o644)
	if b, err := DetectBoard(dir, bf, dt); err != nil || b != "rpi2" {
		t.Errorf("hb_board: %q, %v", b, err)
	}
	os.WriteFile(dt, []byte("linux,dummy-virt\x00"), 0o644)
	if _, err := DetectBoard(t.TempDir(), nofile, dt); err == nil {
		t.Error("qemu virt without hb_board detected as a board")
	}
}
