//go:build !unix

package guard

import "time"

// processCPU is not measured here; pressure comes from drops and delay.
func processCPU() (time.Duration, bool) { return 0, false }
