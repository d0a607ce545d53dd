package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"hushbox/pbx/backup"
)

// The backup page: download an encrypted backup (store and identity.kek,
// through Config.Admin.Backup) and upload one to restore. A restore is only
// staged (backup.Stage into Config.DataDir); the daemon installs it at its
// next start (backup.ApplyPending), since the running daemon keeps the
// store open.
const (
	// restorePath receives the restore upload; requireSession gives it
	// a larger body limit than other forms.
	restorePath = "/backup/restore"
	// maxUpload bounds an uploaded backup.
	maxUpload = 64 << 20
	// uploadMemory is how much of an upload is held in memory; the rest
	// goes to a temporary file (the upload is encrypted).
	uploadMemory = 1 << 20
	// uploadTime is how long an upload may take to arrive.
	uploadTime = 5 * time.Minute
	// maxBackupPassphrase bounds a passphrase in bytes (as pbx/backup).
	maxBackupPassphrase = 1024
)

// restoreStagedMsg is shown once a restore is staged.
const restoreStagedMsg = "Backup checked; restore staged: it is applied when hushbox restarts."

// backupData is the backup page's data.
type backupData struct {
	// CanRestore is false when the web page was not told the data folder.
	CanRestore bool
	// Pending is true while a staged restore waits for a restart.
	Pending bool
	MinLen  int
}

func (s *Server) showBackup(w http.ResponseWriter, r *http.Request, status int, errs formErrors) {
	d := backupData{CanRestore: s.cfg.DataDir != "", MinLen: backup.MinPassphrase}
	if d.CanRestore {
		d.Pending = backup.Pending(s.cfg.DataDir)
	}
	s.render(w, r, status, "backup", pageData{Title: "Backup", Errors: errs, Data: d})
}

func (s *Server) backupPage(w http.ResponseWriter, r *http.Request) {
	s.showBackup(w, r, http.StatusOK, nil)
}

// backupPassphraseError explains what is wrong with a new backup
// passphrase, or "".
func backupPassphraseError(p string) string {
	switch {
	case !utf8.ValidString(p):
		return "not valid text"
	case utf8.RuneCountInString(p) < backup.MinPassphrase:
		return fmt.Sprintf("at least %d characters", backup.MinPassphrase)
	case len(p) > maxBackupPassphrase:
		return fmt.Sprintf("at most %d bytes", maxBackupPassphrase)
	}
	return ""
}

// backupDownload writes the backup to a temporary file first, so a
// failure shows an error page rather than a cut download, then sends it.
func (s *Server) backupDownload(w http.ResponseWriter, r *http.Request) {
	pass, confirm := r.PostFormValue("passphrase"), r.PostFormValue("confirm")
	errs := formErrors{}
	if e := backupPassphraseError(pass); e != "" {
		errs["passphrase"] = e
	} else if !tokensEqual(pass, confirm) {
		errs["confirm"] = "does not match the passphrase"
	}
	if len(errs) > 0 {
		s.showBackup(w, r, http.StatusBadRequest, errs)
		return
	}
	tmp, err := os.CreateTemp("", "hushbox-backup-*.hbk")
	if err != nil {
		s.fail(w, r, fmt.Errorf("backup: temporary file: %w", err))
		return
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var berr error
	if err := s.withHashSlot(r.Context(), func() { berr = s.cfg.Admin.Backup(r.Context(), tmp, pass) }); err != nil {
		s.fail(w, r, err)
		return
	}
	if berr != nil {
		s.log.Error("web: backup failed", "err", berr, "src", clientIP(r))
		s.showBackup(w, r, http.StatusInternalServerError, formErrors{"": "the backup was not made: " + plainError(berr)})
		return
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("backup: rewind: %w", err))
		return
	}
	name := "hushbox-" + s.now().Format("20060102") + ".hbk"
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	n, err := io.Copy(w, tmp)
	if err != nil {
		s.log.Warn("web: backup download cut", "bytes", n, "err", err, "src", clientIP(r))
		return
	}
	s.log.Info("web: backup downloaded", "file", name, "bytes", n, "src", clientIP(r))
}

// restoreErrors maps a refused restore to the field the user should look
// at, or nil when the cause is not the upload.
func restoreErrors(err error) formErrors {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return formErrors{"file": "the file is larger than 64 MiB"}
	case errors.Is(err, backup.ErrPassphrase):
		return formErrors{"restore_passphrase": "wrong passphrase (or the file's header is damaged)"}
	case errors.Is(err, backup.ErrNotBackup):
		return formErrors{"file": "this is not a hushbox backup file"}
	case errors.Is(err, backup.ErrVersion):
		return formErrors{"file": "this backup was made by a newer hushbox"}
	case errors.Is(err, backup.ErrCorrupt):
		return formErrors{"file": "the file is damaged, truncated or was altered"}
	case errors.Is(err, backup.ErrInvalidStore):
		return formErrors{"file": "the backup does not hold a valid hushbox store"}
	}
	return nil
}

func (s *Server) backupRestore(w http.ResponseWriter, r *http.Request) {
	if s.cfg.DataDir == "" {
		s.showBackup(w, r, http.StatusNotFound, formErrors{"": "restore is not available here"})
		return
	}
	if err := r.ParseMultipartForm(uploadMemory); err != nil {
		errs := restoreErrors(err)
		if errs == nil {
			errs = formErrors{"file": "choose a backup file"}
		}
		s.showBackup(w, r, http.StatusBadRequest, errs)
		return
	}
	defer r.MultipartForm.RemoveAll()
	pass := r.PostFormValue("passphrase")
	errs := formErrors{}
	if pass == "" {
		errs["restore_passphrase"] = "enter the passphrase the backup was made with"
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		errs["file"] = "choose a backup file"
	} else {
		defer f.Close()
	}
	if len(errs) > 0 {
		s.showBackup(w, r, http.StatusBadRequest, errs)
		return
	}
	var serr error
	if err := s.withHashSlot(r.Context(), func() { serr = backup.Stage(f, pass, s.cfg.DataDir) }); err != nil {
		s.fail(w, r, err)
		return
	}
	if serr != nil {
		if errs := restoreErrors(serr); errs != nil {
			s.log.Warn("web: restore refused", "file", hdr.Filename, "bytes", hdr.Size, "err", serr, "src", clientIP(r))
			s.showBackup(w, r, http.StatusBadRequest, errs)
			return
		}
		s.log.Error("web: restore not staged", "err", serr, "src", clientIP(r))
		s.showBackup(w, r, http.StatusInternalServerError, formErrors{"": "the restore was not staged: " + plainError(serr)})
		return
	}
	s.log.Info("web: restore staged", "file", hdr.Filename, "bytes", hdr.Size, "src", clientIP(r))
	s.flashRedirect(w, r, "/backup", flash{Msg: restoreStagedMsg})
}

func (s *Server) backupDiscard(w http.ResponseWriter, r *http.Request) {
	if s.cfg.DataDir == "" {
		s.showBackup(w, r, http.StatusNotFound, formErrors{"": "restore is not available here"})
		return
	}
	if err := backup.DiscardPending(s.cfg.DataDir); err != nil {
		s.log.Error("web: discard staged restore", "err", err)
		s.showBackup(w, r, http.StatusInternalServerError, formErrors{"": "the staged restore was not discarded: " + plainError(err)})
		return
	}
	s.log.Info("web: staged restore discarded", "src", clientIP(r))
	s.flashRedirect(w, r, "/backup", flash{Msg: "The staged restore was discarded."})
}
