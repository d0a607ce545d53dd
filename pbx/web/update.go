package web

import (
	"errors"
	"net/http"

	"hushbox/pbx/update"
)

// The update page: which slot runs and which one an update goes to, and an
// upload form for a signed firmware bundle (`make update-bundle`), handed
// to Config.Updater, which checks the signature before it writes a byte
// and arms a test boot of the inactive slot. Without an Updater (a laptop,
// a container) the page says updates are not available here.

// updatePath receives the bundle upload; requireSession gives it the
// upload body limit (maxUpload) like a backup restore.
const updatePath = "/update/install"

// updateRoutes adds the update page's routes to the session-only mux.
func (s *Server) updateRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /update", s.updatePage)
	mux.HandleFunc("POST "+updatePath, s.updateInstall)
}

// updateData is the update page's data.
type updateData struct {
	Available        bool
	Active, Inactive string
	SlotsErr         string
	CanReboot        bool
}

func (s *Server) showUpdate(w http.ResponseWriter, r *http.Request, status int, errs formErrors) {
	d := updateData{Available: s.cfg.Updater != nil}
	if d.Available {
		var err error
		if d.Active, d.Inactive, err = s.cfg.Updater.Slots(); err != nil {
			s.log.Error("web: update slots", "err", err)
			d.SlotsErr = plainError(err)
		}
		d.CanReboot = s.cfg.System != nil && s.cfg.System.CanReboot()
	}
	s.render(w, r, status, "update", pageData{Title: "Update", Errors: errs, Data: d})
}

func (s *Server) updatePage(w http.ResponseWriter, r *http.Request) {
	s.showUpdate(w, r, http.StatusOK, nil)
}

// updateRefusal says why a bundle was refused, in the user's terms, or ""
// when the cause is not the bundle.
func updateRefusal(err error) string {
	var tooBig *http.MaxBytesError
	const kept = " Nothing was installed."
	switch {
	case errors.As(err, &tooBig):
		return "The file is larger than 64 MiB: not a hushbox update bundle." + kept
	case errors.Is(err, update.ErrNotBundle):
		return "This is not a hushbox update bundle (a .hbup file from make update-bundle)." + kept
	case errors.Is(err, update.ErrSignature):
		return "Refused: the bundle is not signed with this box's release key." + kept
	case errors.Is(err, update.ErrBoard):
		return "Refused: the bundle is for another board (" + plainError(err) + ")." + kept
	case errors.Is(err, update.ErrFormat):
		return "Refused: the bundle was made for a newer firmware's format." + kept
	case errors.Is(err, update.ErrHeader):
		return "Refused: the bundle's header is malformed." + kept
	case errors.Is(err, update.ErrTruncated):
		return "Refused: the bundle is incomplete (cut short in the upload or the download)." + kept
	case errors.Is(err, update.ErrPayload), errors.Is(err, update.ErrTrailing):
		return "Refused: the bundle is damaged or was altered after it was signed." + kept
	case errors.Is(err, update.ErrOnTrial):
		return "Not now: this firmware is itself on a test boot and not yet marked good. Wait a minute and reload this page." + kept
	case errors.Is(err, update.ErrSpace):
		return "Not enough space on the boot partition (" + plainError(err) + ")." + kept
	}
	return ""
}

func (s *Server) updateInstall(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Updater == nil {
		s.showUpdate(w, r, http.StatusNotFound, formErrors{"": "Firmware updates are not available here."})
		return
	}
	if err := r.ParseMultipartForm(uploadMemory); err != nil {
		msg := updateRefusal(err)
		if msg == "" {
			msg = "choose an update bundle"
		}
		s.showUpdate(w, r, http.StatusBadRequest, formErrors{"bundle": msg})
		return
	}
	defer r.MultipartForm.RemoveAll()
	f, hdr, err := r.FormFile("bundle")
	if err != nil {
		s.showUpdate(w, r, http.StatusBadRequest, formErrors{"bundle": "choose an update bundle"})
		return
	}
	defer f.Close()
	version, err := s.cfg.Updater.Install(r.Context(), f)
	if err != nil {
		if msg := updateRefusal(err); msg != "" {
			s.log.Warn("web: update refused", "file", hdr.Filename, "bytes", hdr.Size, "err", err, "src", clientIP(r))
			s.showUpdate(w, r, http.StatusBadRequest, formErrors{"bundle": msg})
			return
		}
		s.log.Error("web: update failed", "file", hdr.Filename, "err", err, "src", clientIP(r))
		s.showUpdate(w, r, http.StatusInternalServerError, formErrors{"": "The update was not installed: " + plainError(err)})
		return
	}
	s.log.Info("web: update installed", "version", version, "file", hdr.Filename, "bytes", hdr.Size, "src", clientIP(r))
	s.flashRedirect(w, r, "/update", flash{Msg: "Firmware " + version + " installed into the inactive slot. Reboot to test it: " +
		"it becomes the running firmware once it comes up healthy, and the box goes back to this one by itself if it does not."})
}
