// Package backup writes and restores passphrase-encrypted backups of the
// hushbox store.
//
// # Format (version 1)
//
// A backup is a clear header followed by an encrypted chunk stream:
//
//	magic    "HUSHBOX-BACKUP"                  14 bytes
//	version  1                                  1 byte
//	kdf      1 = argon2id                       1 byte
//	time     argon2id passes                    uint32 big-endian
//	memory   argon2id memory in KiB             uint32 big-endian
//	threads  argon2id lanes                     1 byte
//	salt     random                            16 bytes
//	mac      HMAC-SHA256 of the bytes above    32 bytes
//	chunks   AES-256-GCM, see below
//
// argon2id(passphrase, salt, time, memory, threads) gives a 32-byte master
// key; HKDF-SHA256 splits it into a header MAC key and a stream key. The
// header MAC is checked (in constant time) before anything else is read,
// so a wrong passphrase, or a header whose parameters were changed, is
// refused at once with ErrPassphrase. A reader refuses costs above fixed
// limits (16 passes, 256 MiB, 16 lanes) so a forged header cannot exhaust
// the appliance's memory.
//
// The payload is cut into ChunkSize (64 KiB) chunks, each sealed with the
// stream key, the whole header as additional data, and a nonce made of an
// 88-bit chunk counter and a final-chunk flag byte (the STREAM
// construction age uses). Reordered, dropped, repeated or altered chunks,
// a file cut at any point and bytes appended after the end all fail
// authentication (ErrCorrupt).
//
// The decrypted payload is: a uint16 count of extra files, for each (in
// name order) a uint8 name length, the name, a uint32 length and the
// bytes, then the store snapshot (store.DB.Export) to the end.
//
// # What a backup does not carry
//
// The box's identity key and provider trunk passwords are kept in the
// store sealed under a key-encryption key held outside it, in the data
// folder's identity.kek (see pbx/identity). A backup made with Write holds
// the sealed blobs but not that key: restored onto another box (or after
// the kek file is lost) the identity cannot be unsealed: identity.Load
// fails ("cannot unseal") until the sealed identity is removed and a new
// one made (peers that pinned the old one then refuse the box), and trunk
// passwords must be entered again. To carry them, write the
// backup with WriteWithFiles passing the kek file's bytes, and install the
// files RestoreFiles returns (InstallFiles) alongside the store. Such a
// backup is then as secret as the box itself: its passphrase protects the
// identity.
package backup

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"

	"hushbox/pbx/store"
)

// MinPassphrase is the shortest passphrase accepted, in characters.
const MinPassphrase = 12

// maxPassphrase bounds the passphrase in bytes (argon2id hashes anything;
// this only refuses absurd input).
const maxPassphrase = 1024

// Errors callers can test with errors.Is; every failure of Restore wraps
// one of them (or an I/O error of the destination folder).
var (
	ErrWeakPassphrase = errors.New("backup: passphrase must be at least 12 characters")
	ErrNotBackup      = errors.New("backup: not a hushbox backup")
	ErrVersion        = errors.New("backup: unsupported backup format version")
	ErrPassphrase     = errors.New("backup: wrong passphrase (or damaged header)")
	ErrCorrupt        = errors.New("backup: backup is damaged, truncated or was altered")
	ErrInvalidStore   = errors.New("backup: the backup's store is not valid")
)

// checkPassphrase enforces the length rule when writing.
func checkPassphrase(p string) error {
	if !utf8.ValidString(p) {
		return fmt.Errorf("%w: not valid UTF-8", ErrWeakPassphrase)
	}
	if utf8.RuneCountInString(p) < MinPassphrase {
		return ErrWeakPassphrase
	}
	if len(p) > maxPassphrase {
		return fmt.Errorf("backup: passphrase longer than %d bytes", maxPassphrase)
	}
	return nil
}

// Write writes an encrypted backup of db to w. The passphrase must have at
// least MinPassphrase characters. It does not include identity.kek (see
// the package documentation); use WriteWithFiles for that.
func Write(w io.Writer, db *store.DB, passphrase string) error {
	return WriteWithFiles(w, db, passphrase, nil)
}

// WriteWithFiles writes an encrypted backup of db and of the named extra
// files (at most MaxExtraFiles of at most MaxExtraFileSize bytes, names
// checked by ValidFileName). The daemon passes {"identity.kek": ...} so
// the restored box keeps its identity and trunk passwords.
func WriteWithFiles(w io.Writer, db *store.DB, passphrase string, extra map[string][]byte) error {
	return write(w, db.Export, passphrase, defaultKDF, extra)
}

// write is Write with the snapshot source and KDF costs as parameters
// (tests use cheap costs and hand-made payloads).
func write(w io.Writer, export func(io.Writer) error, passphrase string, kdf kdfParams, extra map[string][]byte) error {
	if err := checkPassphrase(passphrase); err != nil {
		return err
	}
	if err := checkExtra(extra); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := kdf.check(kdfLimits); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	h, err := newHeader(kdf)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	k, err := h.derive(passphrase)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer clear(k.stream[:])
	defer clear(k.mac[:])
	raw, err := writeHeader(w, h, k)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	sw, err := newSealWriter(w, k.stream[:], raw)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := writeExtra(sw, extra); err != nil {
		return fmt.Errorf("backup: extra files: %w", err)
	}
	if err := export(sw); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := sw.Close(); err != nil {
		return err
	}
	return nil
}

// Restore decrypts the backup read from r and installs its store at dst,
// dropping any extra files (use RestoreFiles to get them). See
// RestoreFiles for the guarantees.
func Restore(r io.Reader, passphrase string, dst string) error {
	_, err := RestoreFiles(r, passphrase, dst)
	return err
}

// RestoreFiles decrypts the backup read from r into a temporary file in
// dst's folder, checks it with store.ValidateSnapshot, syncs it and only
// then renames it over dst (and syncs the folder), so dst is either the
// old file or the complete restored one. On any error (wrong passphrase,
// damaged, truncated or reordered backup, invalid store, I/O) dst is left
// untouched and the temporary file removed. It returns the extra files the
// backup carried (empty for one made with Write).
//
// Do not restore over the store of a running daemon: it keeps writing to
// the old file. Call it while the daemon is stopped, or restart the
// daemon right after. Restore reads r to its end; limit its size (for
// example http.MaxBytesReader) when it comes from the network.
func RestoreFiles(r io.Reader, passphrase string, dst string) (map[string][]byte, error) {
	h, raw, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(passphrase) < MinPassphrase || len(passphrase) > maxPassphrase {
		// No backup was ever written with such a passphrase; skip argon2.
		return nil, ErrPassphrase
	}
	k, err := h.derive(passphrase)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer clear(k.stream[:])
	defer clear(k.mac[:])
	if !hmac.Equal(headerMAC(k, raw[:headerBodySize]), raw[headerBodySize:]) {
		return nil, ErrPassphrase
	}
	or, err := newOpenReader(r, k.stream[:], raw)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	extra, err := readExtra(or)
	if err != nil {
		return nil, fmt.Errorf("backup: extra files: %w", err)
	}
	if err := installSnapshot(or, dst); err != nil {
		return nil, err
	}
	return extra, nil
}

// installSnapshot copies the rest of the payload into a temporary file
// beside dst, validates it and renames it over dst.
func installSnapshot(src io.Reader, dst string) (err error) {
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".restore-*")
	if err != nil {
		return fmt.Errorf("backup: temporary file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	n, err := io.Copy(tmp, src)
	if err != nil {
		return fmt.Errorf("backup: store snapshot: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: no store in the backup", ErrInvalidStore)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("backup: sync %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup: close %s: %w", tmpName, err)
	}
	if err := store.ValidateSnapshot(tmpName); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidStore, err)
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return fmt.Errorf("backup: install %s: %w", dst, err)
	}
	if err := syncDir(dir); err != nil {
		// The rename happened; only its durability is in doubt.
		return fmt.Errorf("backup: installed %s but: %w", dst, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
