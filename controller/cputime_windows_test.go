//go:build windows

package controller_test

import (
	"time"

	"golang.org/x/sys/windows"
)

// cpuTime is the process's user and kernel CPU time (see the Unix file
// for why benchmarks report it).
func cpuTime() time.Duration {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &created, &exited, &kernel, &user); err != nil {
		return 0
	}
	// A Filetime counts 100 ns intervals; these are durations, not dates.
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return time.Duration((ticks(kernel) + ticks(user)) * 100)
}
