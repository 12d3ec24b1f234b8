//go:build !unix

package main

import "os"

// die ends the helper process the way a crash does; on Windows Kill is
// TerminateProcess, which like SIGKILL runs nothing of the process's own.
func die() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	select {}
}
