package daemon

import (
	"fmt"
	"syscall"
)

// RebootBoard reboots the machine after flushing file systems. Only for
// the appliance after Run returned ErrReboot (the store is closed by then);
// it needs CAP_SYS_BOOT and does not return on success.
func RebootBoard() error {
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART); err != nil {
		return fmt.Errorf("reboot: %w", err)
	}
	return nil
}
