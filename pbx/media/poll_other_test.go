//go:build !(linux && (amd64 || arm64 || arm))

package media

// fdOf is never called without the poller.
func fdOf(udpSock) int { return -1 }
