//go:build unix

package testenv

import "syscall"

// terminate sends SIGTERM to the process group start-moto.sh made with
// setsid, then to the process itself in case it has none.
func terminate(pid int) {
	syscall.Kill(-pid, syscall.SIGTERM)
	syscall.Kill(pid, syscall.SIGTERM)
}
