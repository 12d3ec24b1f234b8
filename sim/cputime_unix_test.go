//go:build unix

package sim

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time. On a shared machine
// wall time measures the neighbours too; the CPU the benchmark used is
// reported beside it (the process's, so the GC's threads count).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
