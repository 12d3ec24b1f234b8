//go:build !windows

package state

import (
	"os"
	"path/filepath"
)

// replaceDurably renames tmp over path, then syncs the folder so that the
// rename itself survives a power loss.
func replaceDurably(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
