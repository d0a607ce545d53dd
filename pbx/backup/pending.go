package backup

// Staged restore: the web page cannot restore over the store of the running
// daemon (it keeps writing to the open file), so it decrypts and validates
// an uploaded backup into the data folder beside the store, and the daemon
// installs it at its next start, before it opens the store.
//
// Staging layout in the data folder (all 0600):
//
//	restore.pending.db        the validated store snapshot
//	restore.pending.<name>    each extra file (identity.kek, ...)
//
// restore.pending.db is the commit mark of a staging: Stage writes it
// last and ApplyPending renames it away last, so a staging without it is
// incomplete or already applied, and its leftover files are removed.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

const (
	// PendingPrefix starts the name of every staged file.
	PendingPrefix = "restore.pending."
	// PendingDB is the staged store snapshot, the staging's commit mark.
	PendingDB = PendingPrefix + "db"
	// incomingDB is where Stage decrypts before committing.
	incomingDB = "restore.incoming.db"
)

// pendingMu serialises Stage, ApplyPending and DiscardPending within a
// process (they share fixed file names).
var pendingMu sync.Mutex

// applyStep, when set (tests), is called after each step of ApplyPending;
// an error stops it there, as a crash would.
var applyStep func(step string) error

// Stage decrypts and validates the backup read from r into dataDir as a
// pending restore (restore.pending.db and restore.pending.<name> for each
// extra file), replacing any earlier staging. Nothing live is touched: the
// store and identity.kek stay as they are until ApplyPending. On any error
// (wrong passphrase, damaged backup, invalid store, I/O) an earlier
// staging is left as it was, except when the failure happens while the
// new staging is being committed, which leaves none. Limit r's size when
// it comes from the network.
func Stage(r io.Reader, passphrase, dataDir string) error {
	pendingMu.Lock()
	defer pendingMu.Unlock()
	incoming := filepath.Join(dataDir, incomingDB)
	if err := removeIfExists(incoming); err != nil {
		return fmt.Errorf("backup: stage: %w", err)
	}
	extra, err := RestoreFiles(r, passphrase, incoming)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = os.Remove(incoming)
		}
	}()
	staged := make(map[string][]byte, len(extra))
	for name, data := range extra {
		if name == "db" {
			return fmt.Errorf("%w: extra file named %q", ErrInvalidStore, name)
		}
		staged[PendingPrefix+name] = data
	}
	if err := os.Chmod(incoming, 0o600); err != nil {
		return fmt.Errorf("backup: stage: %w", err)
	}
	// From here the old staging goes: first its commit mark, so a crash
	// leaves no staging rather than a mix of old and new files.
	if err := removeIfExists(filepath.Join(dataDir, PendingDB)); err != nil {
		return fmt.Errorf("backup: stage: drop earlier staging: %w", err)
	}
	if err := removeStaged(dataDir); err != nil {
		return fmt.Errorf("backup: stage: drop earlier staging: %w", err)
	}
	if len(staged) > 0 {
		if err := InstallFiles(dataDir, staged); err != nil {
			return fmt.Errorf("backup: stage: %w", err)
		}
	}
	if err := os.Rename(incoming, filepath.Join(dataDir, PendingDB)); err != nil {
		_ = removeStaged(dataDir)
		return fmt.Errorf("backup: stage: %w", err)
	}
	committed = true
	if err := syncDir(dataDir); err != nil {
		return fmt.Errorf("backup: stage: %w", err)
	}
	return nil
}

// ApplyPending installs a restore staged by Stage: first the extra files
// into dataDir (as InstallFiles does), then the staged store renamed over
// dbName (a name inside dataDir, or an absolute path), then the staging is
// removed. It reports false when nothing was staged. The daemon calls it
// before it opens the store.
//
// Crash safety: the store is replaced by one rename, so it is always
// either the old or the new one. A crash after the extra files were
// installed but before the rename leaves the staging in place, and the
// next ApplyPending installs it again and completes.
func ApplyPending(dataDir, dbName string) (bool, error) {
	pendingMu.Lock()
	defer pendingMu.Unlock()
	pending := filepath.Join(dataDir, PendingDB)
	if _, err := os.Stat(pending); errors.Is(err, os.ErrNotExist) {
		// Leftovers of an interrupted Stage or ApplyPending.
		if err := removeIfExists(filepath.Join(dataDir, incomingDB)); err != nil {
			return false, fmt.Errorf("backup: apply: clean up: %w", err)
		}
		if err := removeStaged(dataDir); err != nil {
			return false, fmt.Errorf("backup: apply: clean up: %w", err)
		}
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("backup: apply: %w", err)
	}
	files, err := readStaged(dataDir)
	if err != nil {
		return false, fmt.Errorf("backup: apply: %w", err)
	}
	if len(files) > 0 {
		if err := InstallFiles(dataDir, files); err != nil {
			return false, fmt.Errorf("backup: apply: %w", err)
		}
	}
	if err := step("files"); err != nil {
		return false, err
	}
	dst := dbName
	if !filepath.IsAbs(dst) {
		dst = filepath.Join(dataDir, dbName)
	}
	if err := os.Rename(pending, dst); err != nil {
		return false, fmt.Errorf("backup: apply: install %s: %w", dst, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return true, fmt.Errorf("backup: apply: installed %s but: %w", dst, err)
	}
	if err := step("db"); err != nil {
		return true, err
	}
	if err := removeStaged(dataDir); err != nil {
		return true, fmt.Errorf("backup: apply: installed, but clean up: %w", err)
	}
	return true, nil
}

// DiscardPending removes a staged restore (and any leftovers of an
// interrupted one). It is not an error when nothing is staged.
func DiscardPending(dataDir string) error {
	pendingMu.Lock()
	defer pendingMu.Unlock()
	if err := removeIfExists(filepath.Join(dataDir, PendingDB)); err != nil {
		return fmt.Errorf("backup: discard: %w", err)
	}
	if err := removeIfExists(filepath.Join(dataDir, incomingDB)); err != nil {
		return fmt.Errorf("backup: discard: %w", err)
	}
	if err := removeStaged(dataDir); err != nil {
		return fmt.Errorf("backup: discard: %w", err)
	}
	return syncDir(dataDir)
}

// Pending reports whether a restore is staged in dataDir.
func Pending(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, PendingDB))
	return err == nil
}

func step(name string) error {
	if applyStep == nil {
		return nil
	}
	return applyStep(name)
}

// stagedNames lists the staged extra files (not the staged store).
func stagedNames(dataDir string) ([]string, error) {
	ents, err := os.ReadDir(dataDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // no data folder yet: nothing staged
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, PendingPrefix) && n != PendingDB && e.Type().IsRegular() {
			out = append(out, n)
		}
	}
	return out, nil
}

// readStaged reads the staged extra files, keyed by their final names.
func readStaged(dataDir string) (map[string][]byte, error) {
	names, err := stagedNames(dataDir)
	if err != nil {
		return nil, err
	}
	if len(names) > MaxExtraFiles {
		return nil, fmt.Errorf("%d staged files, limit %d", len(names), MaxExtraFiles)
	}
	files := make(map[string][]byte, len(names))
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dataDir, n))
		if err != nil {
			return nil, err
		}
		files[strings.TrimPrefix(n, PendingPrefix)] = data
	}
	return files, nil
}

// removeStaged removes the staged extra files.
func removeStaged(dataDir string) error {
	names, err := stagedNames(dataDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeIfExists(filepath.Join(dataDir, n)); err != nil {
			return err
		}
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
