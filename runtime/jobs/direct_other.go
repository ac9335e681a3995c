//go:build !linux

package jobs

import (
	"errors"
	"os"
	"path/filepath"
)

// setDirect: direct I/O is used on Linux only; elsewhere files are written
// through the cache (direct.go).
func setDirect(*os.File, bool) error { return errors.New("direct I/O is used on Linux only") }

// lockDir: data directories are locked on Linux only.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
}

// lockSpool: spool files are locked on Linux only.
func lockSpool(*os.File) error { return nil }

// staleSpool: without locks no spool file can be told to be left behind,
// so none is removed.
func staleSpool(string) bool { return false }
