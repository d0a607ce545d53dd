package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hushbox/pbx/backup"
	"hushbox/pbx/control"
	"hushbox/pbx/daemon"
)

// passphrase reads the backup passphrase from a file, the environment
// (HUSHBOX_PASSPHRASE) or the first line of standard input, never from a
// flag (it would show in the process list).
func passphrase(file string, stdin io.Reader) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("passphrase file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if p := os.Getenv("HUSHBOX_PASSPHRASE"); p != "" {
		return p, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read passphrase: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func backupCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	data := dataFlag(fs)
	out := fs.String("out", "", "write the backup to this file")
	pwFile := fs.String("passphrase-file", "", "read the passphrase from this file (else $HUSHBOX_PASSPHRASE or stdin)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"usage: hushbox backup --out FILE [--passphrase-file F]"}
	}
	pw, err := passphrase(*pwFile, stdin)
	if err != nil {
		return err
	}
	if len([]rune(pw)) < backup.MinPassphrase {
		return backup.ErrWeakPassphrase
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".hushbox-backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = withAdmin(*data, func(ctx context.Context, a control.Admin) error {
		return a.Backup(ctx, tmp, pw)
	})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// A backup that has not been read back is a hope: decrypt and validate
	// it into a scratch store before calling it done.
	if err := verifyBackup(tmp.Name(), pw); err != nil {
		return fmt.Errorf("backup written but does not verify: %w", err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup written to %s (verified)\n", *out)
	return nil
}

func verifyBackup(path, pw string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dir, err := os.MkdirTemp("", "hushbox-verify-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	_, err = backup.RestoreFiles(f, pw, filepath.Join(dir, daemon.DBName))
	return err
}

func restoreCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	data := dataFlag(fs)
	pwFile := fs.String("passphrase-file", "", "read the passphrase from this file (else $HUSHBOX_PASSPHRASE or stdin)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: hushbox restore FILE [--passphrase-file F] (with hushbox stopped)"}
	}
	if c, err := net.DialTimeout("unix", filepath.Join(*data, control.SocketName), time.Second); err == nil {
		c.Close()
		return errors.New("hushbox is running on this data folder: stop it, then restore")
	}
	pw, err := passphrase(*pwFile, stdin)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// RestoreFiles decrypts and validates into a scratch file first: a
	// wrong passphrase or a damaged backup replaces nothing.
	files, err := backup.RestoreFiles(f, pw, filepath.Join(*data, daemon.DBName))
	if err != nil {
		return err
	}
	if err := backup.InstallFiles(*data, files); err != nil {
		return fmt.Errorf("restore: store restored, but its key file could not be installed: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", pos[0], *data)
	return nil
}
