package daemon

import (
	"fmt"
	"net"
	"syscall"
)

// forceReadBuffer sets SO_RCVBUFFORCE (needs CAP_NET_ADMIN; not capped by
// net.core.rmem_max).
func forceReadBuffer(c *net.UDPConn, n int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
	}); err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("SO_RCVBUFFORCE: %w", serr)
	}
	return nil
}
