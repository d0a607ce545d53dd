// Command armidle does nothing for a minute: scripts/bench/run.sh runs it
// under qemu-arm-static to measure the emulator's (and the Go runtime's)
// own RSS, the baseline subtracted from the ARMv7 daemon's figures.
package main

import "time"

func main() { time.Sleep(time.Minute) }
