package guard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"
)

// nftSession is one long-lived `nft -j -i` the exec backend reads its
// counters through. Starting nft costs about 30 ms of CPU (the dynamic
// libraries, the cache); a command to a running one about 2 ms. On a
// CPU-limited board (the test bed gives it 20 ms per 100 ms) an exec per
// second was a throttled period every second, stalling the media relay.
//
// Each list command prints exactly one line of JSON on stdout; an error
// prints nothing there (only on stderr), which the reply timeout catches.
// Any failure ends the session for good and the caller goes back to one
// exec per read: a diagnosis aid must never be a new way to fail.
type nftSession struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	cancel context.CancelFunc
	failed bool
}

// sessionReplyTimeout bounds the wait for one reply of the session.
const sessionReplyTimeout = 2 * time.Second

// errSessionOff says the session failed before and is not used again.
var errSessionOff = errors.New("nft session off")

// start runs nft -j -i with the prefix argv (nft, or ip netns exec NS nft).
func (s *nftSession) start(argv []string) error {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, argv[0], append(append([]string(nil), argv[1:]...), "-j", "-i")...)
	in, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return fmt.Errorf("nft session: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return fmt.Errorf("nft session: %w", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return fmt.Errorf("nft session: %w", err)
	}
	lines := make(chan []byte, 1)
	go func() {
		defer close(lines)
		r := bufio.NewReaderSize(out, 64*1024)
		for {
			l, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			lines <- l
		}
	}()
	go func() { _ = cmd.Wait() }() // reaps it whenever it ends
	s.cmd, s.stdin, s.lines, s.cancel = cmd, in, lines, cancel
	return nil
}

// list sends one list command (starting nft the first time) and returns
// its JSON reply; calls are serialised.
func (s *nftSession) list(argv []string, command string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed {
		return nil, errSessionOff
	}
	if s.cmd == nil {
		if err := s.start(argv); err != nil {
			s.failed = true
			return nil, err
		}
	}
	fail := func(err error) ([]byte, error) {
		s.stopLocked()
		s.failed = true
		return nil, err
	}
	if _, err := io.WriteString(s.stdin, command+"\n"); err != nil {
		return fail(fmt.Errorf("nft session: %w", err))
	}
	t := time.NewTimer(sessionReplyTimeout)
	defer t.Stop()
	select {
	case l, ok := <-s.lines:
		if !ok {
			return fail(errors.New("nft session ended"))
		}
		return l, nil
	case <-t.C:
		return fail(fmt.Errorf("nft session: no reply to %q in %v", command, sessionReplyTimeout))
	}
}

// stop ends the session (the guard's table is going away).
func (s *nftSession) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	s.failed = true
}

func (s *nftSession) stopLocked() {
	if s.cmd == nil {
		return
	}
	s.stdin.Close() // nft ends at end of input
	s.cancel()      // and is killed if it does not
	s.cmd = nil
}
