//go:build unix

package control

import "syscall"

// umask sets the process umask around the socket's creation so it is never
// briefly reachable by other users.
func umask(m int) int { return syscall.Umask(m) }
