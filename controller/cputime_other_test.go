//go:build !unix && !windows

package controller_test

import "time"

// cpuTime is not measured where the system has no per-process CPU clock
// the standard library reaches; benchmarks then report 0 cpu-ms.
func cpuTime() time.Duration { return 0 }
