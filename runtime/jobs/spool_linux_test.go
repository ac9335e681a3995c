package jobs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStaleSpoolsCleared: a service starting on a shared spool directory
// removes the spool files a killed process left (unlocked, not written for
// a minute) and keeps one a live process holds, one just created, and
// files that are not spools.
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
	other := filepath.Join(dir, "input.parquet")
	if err := os.WriteFile(other, []byte("PAR1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(other, old, old); err != nil {
		t.Fatal(err)
	}

	startService(t, newRefModels(), t.TempDir(), func(o *Options) { o.SpoolDir = dir })
	for path, want := range map[string]bool{live.Name(): true, left.Name(): false, fresh.Name(): true, other: true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s: kept %v, want %v", filepath.Base(path), err == nil, want)
		}
	}
}
