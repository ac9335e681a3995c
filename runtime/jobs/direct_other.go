//go:build !linux

package jobs

import (
	"errors"
	"os"
)

// setDirect: direct I/O is used on Linux only; elsewhere files are written
// through the cache (direct.go).
func setDirect(*os.File, bool) error { return errors.New("direct I/O is used on Linux only") }
