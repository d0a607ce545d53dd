//go:build !linux

package daemon

import (
	"errors"
	"net"
)

// forceReadBuffer is Linux only; elsewhere SO_RCVBUF (SetReadBuffer) does.
func forceReadBuffer(*net.UDPConn, int) error { return errors.New("SO_RCVBUFFORCE is Linux only") }
