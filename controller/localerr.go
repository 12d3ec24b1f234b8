package controller

import (
	"errors"
	"io/fs"
	"syscall"
)

// LocalClass classes the errors of this machine rather than of AWS: they
// need a human, so they must never read as transient (which pages no one).
//   - Permission denied on a local file, or a read-only file system: the
//     deployment is wrong, so `permission`.
//   - Out of file descriptors (EMFILE, ENFILE), or of disk (ENOSPC,
//     EDQUOT): the process or host is exhausted, so `internal`.
//
// ok is false for anything else.
func LocalClass(err error) (c Class, ok bool) {
	switch {
	case err == nil:
		return ClassNone, false
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE),
		errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return ClassInternal, true
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return ClassPermission, true
	}
	return ClassNone, false
}
