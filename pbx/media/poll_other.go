//go:build !(linux && (amd64 || arm64 || arm))

package media

import (
	"errors"
	"log/slog"
	"net/netip"
)

// Without the Linux poller every session runs on the goroutine path
// (loop.go). These stand-ins are never called.

const havePoller = false

var errNoPoller = errors.New("media: no poller on this platform")

type poller struct{}

func newPoller(*slog.Logger) (*poller, error) { return nil, errNoPoller }
func (p *poller) add(*Session) error          { return errNoPoller }
func (p *poller) remove(*Session)             {}
func (p *poller) stop()                       {}
func (p *poller) holds() HoldStats            { return HoldStats{} }

func bindRawPair(netip.Addr, int) (rtp, rtcp udpSock, err error) { return nil, nil, errNoPoller }
