package backup

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// InstallFiles writes files (as returned by RestoreFiles) into dir with
// mode 0600: every file is first written and synced to a temporary name,
// then all are renamed into place and the folder is synced. A failure
// before the renames changes nothing; a failing rename (rare: same
// folder) can leave the files before it installed. Names are checked with
// ValidFileName, so none can point outside dir.
func InstallFiles(dir string, files map[string][]byte) (err error) {
	names := slices.Sorted(maps.Keys(files))
	for _, name := range names {
		if err := ValidFileName(name); err != nil {
			return fmt.Errorf("backup: install: %w", err)
		}
	}
	tmps := make(map[string]string, len(names))
	defer func() {
		if err != nil {
			for _, t := range tmps {
				_ = os.Remove(t)
			}
		}
	}()
	for _, name := range names {
		t, err := writeTemp(dir, name, files[name])
		if err != nil {
			return err
		}
		tmps[name] = t
	}
	for _, name := range names {
		if err := os.Rename(tmps[name], filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("backup: install %s: %w", name, err)
		}
		delete(tmps, name)
	}
	return syncDir(dir)
}

// writeTemp writes data to a synced temporary file beside dir/name.
func writeTemp(dir, name string, data []byte) (path string, err error) {
	f, err := os.CreateTemp(dir, "."+name+".restore-*")
	if err != nil {
		return "", fmt.Errorf("backup: install %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("backup: install %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("backup: install %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("backup: install %s: %w", name, err)
	}
	return f.Name(), nil
}
