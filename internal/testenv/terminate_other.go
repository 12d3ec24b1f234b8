//go:build !unix

package testenv

import "os"

// terminate ends the process; without process groups or SIGTERM (Windows)
// this is the only way. moto's start script needs bash and a Unix, so this
// is reached only if a moto was started there by other means.
func terminate(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
