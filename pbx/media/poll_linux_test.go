//go:build linux && (amd64 || arm64 || arm)

package media

import "net"

// fdOf is a socket's descriptor number (-1 for a *net.UDPConn).
func fdOf(c udpSock) int {
	if r, ok := c.(*rawSock); ok {
		return r.fd
	}
	_ = c.(*net.UDPConn)
	return -1
}
