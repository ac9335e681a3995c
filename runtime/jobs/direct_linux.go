//go:build linux

package jobs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// setDirect turns O_DIRECT on or off for f (direct.go). It fails where the
// file system does not do direct I/O.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			serr = err
			return
		}
		if on {
			flags |= unix.O_DIRECT
		} else {
			flags &^= unix.O_DIRECT
		}
		_, serr = unix.FcntlInt(fd, unix.F_SETFL, flags)
	}); err != nil {
		return err
	}
	return serr
}

// lockDir takes dir/LOCK for this process until the returned file is
// closed (or the process ends), writing its pid there; it fails, naming
// the holder, while another process holds it.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	if err := tryLock(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("--data-dir %s is in use by another process (pid %s); give each server its own", dir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("--data-dir: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// lockSpool marks a spool file as its process's own for as long as the
// file stays open: a server starting later leaves it alone (staleSpool).
func lockSpool(f *os.File) error { return tryLock(f) }

// staleSpool reports whether no process holds the spool file at path,
// which a killed process then left behind. It opens the file for writing
// (NFS takes an exclusive flock only on such a file), without following a
// link and without blocking (on a FIFO someone named like a spool).
func staleSpool(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close() // also lets the lock go
	return tryLock(f) == nil
}

// tryLock takes an exclusive flock on f without waiting; it is held until
// f is closed (or the process ends).
func tryLock(f *os.File) error {
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
}
