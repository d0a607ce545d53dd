package daemon

import (
	"context"
	"errors"
	"os"
	"sync"

	"hushbox/pbx/logbuf"
)

// Run returns these after a clean stop the web page asked for: the caller
// (cmd/hushbox) then re-executes itself with the same arguments, or reboots
// the board (Reboot).
var (
	ErrRestart = errors.New("daemon: restart requested")
	ErrReboot  = errors.New("daemon: reboot requested")
)

// system is the running daemon as the web page's system page drives it
// (web.System): restart and reboot end Run's context, so the daemon stops
// the way it does on SIGTERM, and Run returns ErrRestart or ErrReboot.
type system struct {
	cancel    context.CancelFunc
	ring      *logbuf.Ring
	canReboot bool

	mu   sync.Mutex
	want error
}

// request records what Run returns and starts the clean stop; the first
// request wins.
func (s *system) request(what error) error {
	s.mu.Lock()
	if s.want == nil {
		s.want = what
	}
	s.mu.Unlock()
	s.cancel()
	return nil
}

func (s *system) Restart() error { return s.request(ErrRestart) }

func (s *system) Reboot() error {
	if !s.canReboot {
		return errors.New("reboot is only possible on the appliance")
	}
	return s.request(ErrReboot)
}

func (s *system) CanReboot() bool { return s.canReboot }

func (s *system) Logs(n int) []string { return s.ring.Lines(n) }

// result is what Run returns after its clean stop: nil, ErrRestart or
// ErrReboot.
func (s *system) result() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.want
}

// canReboot is true only on the appliance: started with --appliance by
// /init, i.e. as PID 1's child.
func canReboot(appliance bool) bool { return appliance && os.Getppid() == 1 }
