//go:build unix

package contract

import (
	"syscall"
	"time"
)

// processCPU returns the user and system CPU time the kernel has charged the
// process, all threads, or false when it cannot tell.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
