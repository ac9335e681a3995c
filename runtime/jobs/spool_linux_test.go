package jobs

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestStaleSpoolsCleared: a service starting on a shared spool directory
// removes the spool files a killed process left (unlocked, not written for
// a minute) and keeps one a live process holds, one just created, and
// what is not a spool: another file, one a person named like a spool, a
// FIFO (which it must not block on) and a link.
func TestStaleSpoolsCleared(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * staleAfter)
	spoolFile := func(age time.Time) *os.File {
		f, err := os.CreateTemp(dir, spoolPattern)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.Name(), age, age); err != nil {
			t.Fatal(err)
		}
		return f
	}
	live := spoolFile(old)
	defer live.Close()
	if err := lockSpool(live); err != nil {
		t.Fatal(err)
	}
	left := spoolFile(old)
	left.Close()
	fresh := spoolFile(time.Now())
	fresh.Close()
	keep := func(name string, make func(path string) error) string {
		path := filepath.Join(dir, name)
		if err := make(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	file := func(path string) error {
		if err := os.WriteFile(path, []byte("PAR1"), 0o600); err != nil {
			return err
		}
		return os.Chtimes(path, old, old)
	}
	other := keep("input.parquet", file)
	named := keep("tiffin-upload-batch1.parquet", file) // a person's file, not os.CreateTemp's name
	fifo := keep("tiffin-upload-7.parquet", func(path string) error {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			return err
		}
		return os.Chtimes(path, old, old)
	})
	link := keep("tiffin-upload-8.parquet", func(path string) error { return os.Symlink(left.Name(), path) })

	swept := make(chan int)
	go func() { swept <- clearStaleSpools(dir) }()
	select {
	case n := <-swept:
		if n != 1 {
			t.Errorf("removed %d files, want the one leftover", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("clearing the spool directory hangs (on the FIFO?)")
	}
	left2 := spoolFile(old) // another leftover, for the start to remove
	left2.Close()
	startService(t, newRefModels(), t.TempDir(), func(o *Options) { o.SpoolDir = dir })
	for path, want := range map[string]bool{live.Name(): true, left.Name(): false, left2.Name(): false, fresh.Name(): true,
		other: true, named: true, fifo: true, link: true} {
		if _, err := os.Lstat(path); (err == nil) != want {
			t.Errorf("%s: kept %v, want %v", filepath.Base(path), err == nil, want)
		}
	}
}
