//go:build windows

package state

import "golang.org/x/sys/windows"

// replaceDurably renames tmp over path with MOVEFILE_WRITE_THROUGH, which
// returns only once the rename is on disk. Windows cannot sync a folder
// (FlushFileBuffers on a directory handle is refused), so this flag is its
// equivalent of the fsync of the folder done elsewhere.
// https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-movefileexw
func replaceDurably(tmp, path string) error {
	from, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return err
	}
	to, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	return windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
}
