package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"hushbox/pbx/update"
)

const updateUsage = `usage:
  hushbox update keygen --out KEY [--pub PUB]
        make a release key pair (KEY private, mode 0600; PUB public, default KEY.pub);
        with an existing KEY only (re)writes PUB
  hushbox update sign --key KEY --version V --board B[,B...] --out BUNDLE INITRD
        sign an initramfs into an update bundle
  hushbox update verify [--update-key PUB] [--board B] BUNDLE
        check a bundle's signature, hash and (with --board) board
  hushbox update install [--boot-dir /boot] [--update-key PUB] [--board B] BUNDLE
        install into the inactive slot and arm a test boot (the daemon's web page does the same)
  hushbox update mark-good [--boot-dir /boot]
        make the running test boot the known-good slot
  hushbox update await-healthy [--boot-dir /boot] [--timeout 5m]
        wait until the running slot is the known-good one; exit 1 at the timeout
        (for /init: reboot then, and the boot script falls back)
  hushbox update status [--boot-dir /boot]
`

// DefaultUpdateKey is where the image puts the release public key
// (rootfs/keys/release.pub).
const DefaultUpdateKey = "/etc/hushbox/release.pub"

// defaultBootDir is where /init mounts the boot partition.
const defaultBootDir = "/boot"

func updateCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"update: no subcommand\n" + updateUsage}
	}
	fs := flag.NewFlagSet("update "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bootDir := fs.String("boot-dir", defaultBootDir, "the boot partition (A/B slots and hushbox.env)")
	keyPath := fs.String("update-key", DefaultUpdateKey, "release public key (PEM) bundles must be signed with")
	board := fs.String("board", "", "board name (default: hb_board in hushbox.env, else the device tree)")
	cmdline := fs.String("cmdline", update.CmdlinePath, "kernel command line file (hushbox.slot=)")
	switch args[0] {
	case "keygen":
		out := fs.String("out", "", "private key file to create")
		pub := fs.String("pub", "", "public key file (default: --out + .pub)")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *out == "" {
			return usageError{"update keygen: --out is required"}
		}
		if *pub == "" {
			*pub = *out + ".pub"
		}
		return keygen(*out, *pub, stdout)
	case "sign":
		key := fs.String("key", "", "release private key (PEM)")
		version := fs.String("version", "", "firmware version")
		out := fs.String("out", "", "bundle file to write")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 || *key == "" || *version == "" || *board == "" || *out == "" {
			return usageError{"update sign: need --key, --version, --board, --out and one INITRD\n" + updateUsage}
		}
		return signCmd(*key, *version, strings.Split(*board, ","), pos[0], *out, stdout)
	case "verify":
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"update verify: one BUNDLE\n" + updateUsage}
		}
		pub, err := update.LoadPublicKey(*keyPath)
		if err != nil {
			return err
		}
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		h, err := update.Verify(f, pub, *board)
		if err != nil {
			return fmt.Errorf("%s refused: %w", pos[0], err)
		}
		fmt.Fprintf(stdout, "%s: good bundle of hushbox %s for %s (%d bytes)\n", pos[0], h.Version, strings.Join(h.Boards, ","), h.PayloadLen)
		return nil
	case "install":
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"update install: one BUNDLE\n" + updateUsage}
		}
		in, err := NewInstaller(*bootDir, *keyPath, *board, *cmdline)
		if err != nil {
			return err
		}
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		h, err := in.Install(ctx, f)
		if err != nil {
			return fmt.Errorf("%s refused: %w", pos[0], err)
		}
		st, _ := in.Status()
		fmt.Fprintf(stdout, "installed hushbox %s into slot %s; it is test-booted at the next reboot\n", h.Version, st.Try)
		return nil
	case "mark-good", "await-healthy", "status":
		timeout := fs.Duration("timeout", 5*time.Minute, "await-healthy: how long to wait")
		if pos, err := parse(fs, args[1:]); err != nil {
			return err
		} else if len(pos) != 0 {
			return usageError{"update " + args[0] + ": no arguments\n" + updateUsage}
		}
		booted, err := update.BootedSlot(*cmdline)
		if err != nil {
			return err
		}
		in := &update.Installer{Dir: *bootDir, Booted: booted}
		switch args[0] {
		case "mark-good":
			changed, err := in.MarkGood()
			if err != nil {
				return err
			}
			if changed {
				fmt.Fprintf(stdout, "slot %s is now the known-good slot\n", booted)
			} else {
				fmt.Fprintf(stdout, "nothing to do: slot %s is not under test\n", booted)
			}
			return nil
		case "await-healthy":
			ctx, cancel := context.WithTimeout(context.Background(), *timeout)
			defer cancel()
			return update.AwaitGood(ctx, *bootDir, booted, time.Second)
		default:
			st, err := in.Status()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "booted %s\ngood %s\ntry %s\ntries %d\nversion_a %s\nversion_b %s\n", st.Booted, st.Good, st.Try, st.Tries,
				map[bool]string{true: st.BootedVersion, false: st.InactiveVersion}[st.Booted == "a"],
				map[bool]string{true: st.BootedVersion, false: st.InactiveVersion}[st.Booted == "b"])
			return nil
		}
	case "help", "-h", "--help":
		fmt.Fprint(stdout, updateUsage)
		return nil
	}
	return usageError{fmt.Sprintf("update: unknown subcommand %q\n%s", args[0], updateUsage)}
}

// NewInstaller sets up an update.Installer for the boot partition at
// bootDir: the release key from keyPath, the board (detected when empty),
// the booted slot from the kernel command line file.
func NewInstaller(bootDir, keyPath, board, cmdline string) (*update.Installer, error) {
	pub, err := update.LoadPublicKey(keyPath)
	if err != nil {
		return nil, err
	}
	if board == "" {
		if board, err = update.DetectBoard(bootDir, update.BoardFile, update.CompatiblePath); err != nil {
			return nil, err
		}
	}
	booted, err := update.BootedSlot(cmdline)
	if err != nil {
		return nil, err
	}
	if booted == "" {
		return nil, errors.New("update: no hushbox.slot= on the kernel command line: not booted by the hushbox boot script")
	}
	return &update.Installer{Dir: bootDir, Key: pub, Board: board, Booted: booted}, nil
}

func keygen(out, pub string, stdout io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return err
	}
	if priv, err := update.LoadPrivateKey(out); err == nil {
		if err := os.WriteFile(pub, update.EncodePublicKey(priv.Public().(ed25519.PublicKey)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s exists; public key written to %s\n", out, pub)
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if _, err := update.GenerateKey(out, pub); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "release key %s (keep it secret, never commit it); public key %s\n", out, pub)
	return nil
}

func signCmd(keyPath, version string, boards []string, initrd, out string, stdout io.Writer) error {
	key, err := update.LoadPrivateKey(keyPath)
	if err != nil {
		return err
	}
	payload, err := os.ReadFile(initrd)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	h, err := update.Sign(&b, version, boards, payload, key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: hushbox %s for %s, payload %d bytes, sha256 %x\n", out, h.Version, strings.Join(h.Boards, ","), h.PayloadLen, h.SHA256)
	return nil
}
