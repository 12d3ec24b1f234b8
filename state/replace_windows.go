//go:build windows

package state

import (
	"errors"
	"time"

	"golang.org/x/sys/windows"
)

// replaceDurably renames tmp over path with MOVEFILE_WRITE_THROUGH, which
// returns only once the rename is on disk. Windows cannot sync a folder
// (FlushFileBuffers on a directory handle is refused), so this flag is its
// equivalent of the fsync of the folder done elsewhere.
// https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-movefileexw
//
// A reader holding the state file open without delete sharing (`autotuner
// plan` reading a snapshot, a virus scanner, a backup) makes the rename
// fail with a sharing violation or access denied for as long as it holds
// it; such a hold is brief, so the rename is retried a bounded number of
// times (about 1.4 s in all) before the error is returned. The tick then
// records the failed save and the next tick writes the state again.
func replaceDurably(tmp, path string) error {
	from, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return err
	}
	to, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	const attempts = 8
	for i := 0; ; i++ {
		err = windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
		if err == nil || i == attempts-1 || !heldOpen(err) {
			return err
		}
		time.Sleep(time.Duration(25*(i+1)) * time.Millisecond)
	}
}

// heldOpen reports whether err is what another process holding the file
// open causes.
func heldOpen(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_ACCESS_DENIED)
}
