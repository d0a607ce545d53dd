//go:build !linux

package daemon

import "errors"

// RebootBoard is only implemented on Linux (the appliance).
func RebootBoard() error { return errors.New("reboot: only on Linux") }
