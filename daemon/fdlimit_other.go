//go:build !unix

package daemon

// descriptorLimit reports no limit where the system has no RLIMIT_NOFILE
// (Windows' handle table is not capped per process the same way), so the
// connection cap stays as configured.
func descriptorLimit() (uint64, bool) { return 0, false }
