// Command hushbox-boot is the appliance's small boot helper, for the two jobs
// Debian's busybox-static cannot do (it has neither ntpd nor resize2fs):
//
//	hushbox-boot growfs DEVICE MOUNTPOINT
//	    first boot: grow the data partition DEVICE (an MBR primary partition)
//	    to the end of its card and the ext4 file system mounted on MOUNTPOINT
//	    with it (online resize). A no-op once both fill the card.
//	hushbox-boot sntp [-loop DURATION] [SERVER...]
//	    set the clock from SNTP servers (DHCP's, else pool.ntp.org); with
//	    -loop, again every DURATION.
//
// /init (rootfs/init) runs it; it is built static for ARMv7 by scripts/image.sh.
package main

import (
	"fmt"
	"log/slog"
	"os"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "hushbox-boot")
	if err := run(os.Args[1:], log); err != nil {
		fmt.Fprintln(os.Stderr, "hushbox-boot:", err)
		os.Exit(1)
	}
}

func run(args []string, log *slog.Logger) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: hushbox-boot growfs DEVICE MOUNTPOINT | sntp [-loop DURATION] [SERVER...]")
	}
	switch args[0] {
	case "growfs":
		if len(args) != 3 {
			return fmt.Errorf("usage: hushbox-boot growfs DEVICE MOUNTPOINT")
		}
		return growFS(args[1], args[2], log)
	case "sntp":
		return sntpCommand(args[1:], log)
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
}
