package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestDownloadProgress: NDJSON results count their rows against the job's,
// Parquet's their bytes only; the last line says how long it took, and
// everything written reaches the destination.
func TestDownloadProgress(t *testing.T) {
	for _, c := range []struct {
		lines bool
		rows  int64
		want  string // the last line's start
	}{
		{true, 400, "results [==============================] 100.0% 400/400 rows, 10.0k bytes"},
		{false, 400, "results 10.0k bytes"},
		{true, 0, "results 10.0k bytes"}, // the job's rows not known
	} {
		var dst, out bytes.Buffer
		d := startDownload(&dst, c.lines, c.rows, &out, 5*time.Millisecond)
		line := strings.Repeat("x", 24) + "\n" // 25 bytes a row
		for range 400 {
			if _, err := d.Write([]byte(line)); err != nil {
				t.Fatal(err)
			}
			if dst.Len()%2500 == 0 {
				time.Sleep(8 * time.Millisecond)
			}
		}
		d.end()
		if dst.Len() != 10_000 {
			t.Fatalf("%d bytes reached the destination, want 10000", dst.Len())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		last := lines[len(lines)-1]
		if len(lines) < 3 || !strings.HasPrefix(last, c.want) || !strings.Contains(last, "bytes/s, took ") {
			t.Fatalf("lines=%v rows=%d: %q, want progress while writing and a last line starting %q", c.lines, c.rows, out.String(), c.want)
		}
		if c.lines && c.rows > 0 && !strings.Contains(out.String(), "ETA") {
			t.Errorf("no ETA while the rows came: %q", out.String())
		}
	}
}
