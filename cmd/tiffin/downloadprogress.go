package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// downloadProgress shows how much of a job's results has come while
// `tiffin jobs results` writes them to a file (--out) or to a redirected
// standard output: the results of a million rows are gigabytes. NDJSON
// results are a line a row, so their rows are counted against the job's;
// Parquet's only in bytes. Lines go to out as watchJob's do: redrawn in
// place on a terminal, else one every plainEvery.
type downloadProgress struct {
	w     io.Writer
	lines bool  // count rows by newlines (NDJSON)
	rows  int64 // the job's rows; 0: not known
	got   atomic.Int64
	seen  atomic.Int64 // newlines written
	start time.Time

	liveLine
	stop chan struct{}
	done sync.WaitGroup
}

// showDownload starts drawing the progress of what is written through it
// to w, to out; end stops it.
func showDownload(w io.Writer, lines bool, rows int64, out io.Writer) *downloadProgress {
	return startDownload(w, lines, rows, out, drawEvery(out))
}

func startDownload(w io.Writer, lines bool, rows int64, out io.Writer, every time.Duration) *downloadProgress {
	d := &downloadProgress{w: w, lines: lines, rows: rows, start: time.Now(), liveLine: liveLine{out, isTTY(out)}, stop: make(chan struct{})}
	d.done.Add(1)
	go func() {
		defer d.done.Done()
		ticking(every, d.stop, func() { d.print(d.line(false)) })
	}()
	return d
}

func (d *downloadProgress) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.got.Add(int64(n))
	if d.lines {
		d.seen.Add(int64(bytes.Count(p[:n], []byte{'\n'})))
	}
	return n, err
}

// end stops the drawing and prints the last line.
func (d *downloadProgress) end() {
	close(d.stop)
	d.done.Wait()
	d.print(d.line(true))
	d.newline()
}

// line renders, for instance:
//
//	results [=======>                      ] 25.3% 253.1k/1.00M rows, 1.12G bytes, 118.2M bytes/s, ETA 6s
func (d *downloadProgress) line(final bool) string {
	got, elapsed := d.got.Load(), time.Since(d.start)
	var b strings.Builder
	b.WriteString("results")
	frac := -1.0
	if d.lines && d.rows > 0 {
		seen := d.seen.Load()
		frac = min(float64(seen)/float64(d.rows), 1)
		fmt.Fprintf(&b, " %s %5.1f%% %s/%s rows,", bar(frac), 100*frac, human(float64(seen)), human(float64(d.rows)))
	}
	fmt.Fprintf(&b, " %s bytes", human(float64(got)))
	if s := elapsed.Seconds(); s > 0 && got > 0 {
		fmt.Fprintf(&b, ", %s bytes/s", human(float64(got)/s))
		switch {
		case final:
			fmt.Fprintf(&b, ", took %s", elapsed.Round(100*time.Millisecond))
		case frac > 0 && frac < 1:
			fmt.Fprintf(&b, ", ETA %s", time.Duration(float64(elapsed)*(1-frac)/frac).Round(time.Second))
		}
	}
	return b.String()
}
