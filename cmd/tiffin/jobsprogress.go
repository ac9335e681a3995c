package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/jobs"
)

// Progress display: on a terminal the line is redrawn in place every
// poll; elsewhere (a log, a pipe) a line is printed every plainEvery.
const (
	ttyPoll    = 500 * time.Millisecond
	plainPoll  = time.Second
	plainEvery = 5 * time.Second
	barWidth   = 30
)

// watchJob shows a job's progress until it finishes. It exits 0 when the
// job succeeded. Ctrl-C stops the watch, not the job, and says so.
func watchJob(c *jobClient, id string, stdout, stderr io.Writer) int {
	ll := liveLine{stdout, isTTY(stdout)}
	poll := plainPoll
	if ll.tty {
		poll = ttyPoll
	}
	interrupted, stop := interrupts()
	defer stop()
	sleep := func(d time.Duration) bool { // false: interrupted
		select {
		case <-interrupted:
			ll.newline()
			fmt.Fprintf(stderr, "tiffin jobs: stopped watching; job %s goes on on the server "+
				"(tiffin jobs status --watch %s follows it again, tiffin jobs cancel %s stops it)\n", id, id, id)
			return false
		case <-time.After(d):
			return true
		}
	}
	r := newRate()
	var printed, lost time.Time
	seen := false
	for {
		st, err := c.status(id)
		var ue *url.Error
		switch {
		case err != nil && seen && errors.As(err, &ue) && (lost.IsZero() || time.Since(lost) < watchOutage):
			// A server that answered before is restarting (a job
			// outlives it): keep asking. One never reached fails at once.
			if lost.IsZero() {
				lost = time.Now()
				fmt.Fprintf(stderr, "\ntiffin jobs: cannot reach the server (%v); retrying for %s\n", ue.Err, watchOutage)
			}
			if !sleep(poll) {
				return interruptedCode
			}
			continue
		case err != nil:
			ll.newline()
			return fail(stderr, "status", err)
		}
		lost, seen = time.Time{}, true
		now := time.Now()
		r.observe(st, now)
		line := progressLine(st, r)
		if ll.tty || st.State.Finished() || now.Sub(printed) >= plainEvery {
			ll.print(line)
			printed = now
		}
		if st.State.Finished() {
			ll.newline()
			return finishedCode(st, stderr)
		}
		if !sleep(poll) {
			return interruptedCode
		}
	}
}

// interruptedCode is a watch's exit code after Ctrl-C, a shell's 128+SIGINT.
const interruptedCode = 130

// interrupts delivers Ctrl-C (SIGINT) until stop is called; a test
// replaces it.
var interrupts = func() (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	return c, func() { signal.Stop(c) }
}

// watchOutage is how long --watch keeps asking a server it cannot reach:
// long enough for a restart, after which the job goes on.
var watchOutage = 2 * time.Minute

func finishedCode(st jobs.Status, stderr io.Writer) int {
	if st.State == jobs.Succeeded {
		return 0
	}
	fmt.Fprintf(stderr, "tiffin jobs: job %s %s: %s\n", st.ID, st.State, st.Error)
	return 1
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// rate estimates rows per second from this client's own observations, so
// the server's clock does not matter; with a single observation it falls
// back on the job's own timestamps.
type rate struct {
	t0  time.Time
	d0  int64
	rps float64
}

func newRate() *rate { return &rate{} }

func (r *rate) observe(st jobs.Status, now time.Time) {
	if r.t0.IsZero() || st.RowsDone < r.d0 {
		r.t0, r.d0 = now, st.RowsDone
		r.rps = serverRate(st, now)
		return
	}
	if dt := now.Sub(r.t0).Seconds(); dt > 0.2 && st.RowsDone > r.d0 {
		r.rps = float64(st.RowsDone-r.d0) / dt
	}
	if st.State.Finished() {
		r.rps = serverRate(st, now)
	}
}

// serverRate is rows done over the time the job has run, by its clock.
func serverRate(st jobs.Status, now time.Time) float64 {
	if st.StartedAt == nil {
		return 0
	}
	end := now
	if st.FinishedAt != nil {
		end = *st.FinishedAt
	}
	if d := end.Sub(*st.StartedAt).Seconds(); d > 0 {
		return float64(st.RowsDone) / d
	}
	return 0
}

// progressLine renders one status line:
//
//	0qSe… running [=========>          ] 45.0% 4500/10000 rows, 3 failed, 85.2k rows/s, ETA 6s
func progressLine(st jobs.Status, r *rate) string {
	frac := 0.0
	if st.RowsTotal > 0 {
		frac = float64(st.RowsDone) / float64(st.RowsTotal)
	}
	var b strings.Builder
	if st.RowsTotal == 0 && !st.State.Finished() { // its upload is still being read: no total yet
		fmt.Fprintf(&b, "%s %s %d rows done, more being queued", st.ID, st.State, st.RowsDone)
	} else {
		fmt.Fprintf(&b, "%s %s %s %5.1f%% %d/%d rows", st.ID, st.State, bar(frac), 100*frac, st.RowsDone, st.RowsTotal)
	}
	if st.RowsFailed > 0 {
		fmt.Fprintf(&b, ", %d failed", st.RowsFailed)
	}
	if r.rps > 0 {
		fmt.Fprintf(&b, ", %s rows/s", human(r.rps))
	}
	switch {
	case st.State.Finished() && st.StartedAt != nil && st.FinishedAt != nil:
		fmt.Fprintf(&b, ", took %s", st.FinishedAt.Sub(*st.StartedAt).Round(100*time.Millisecond))
	case r.rps > 0 && st.RowsTotal > st.RowsDone:
		eta := time.Duration(float64(st.RowsTotal-st.RowsDone) / r.rps * float64(time.Second))
		fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
	}
	return b.String()
}

// liveLine is where progress lines go: redrawn in place on a terminal,
// one after another elsewhere.
type liveLine struct {
	out io.Writer
	tty bool
}

func (l liveLine) print(line string) {
	if l.tty {
		fmt.Fprintf(l.out, "\r%s\x1b[K", line)
		return
	}
	fmt.Fprintln(l.out, line)
}

// drawEvery is how often progress lines to out are drawn.
func drawEvery(out io.Writer) time.Duration {
	if isTTY(out) {
		return ttyPoll
	}
	return plainEvery
}

// ticking calls tick every every until stop is closed.
func ticking(every time.Duration, stop <-chan struct{}, tick func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			tick()
		}
	}
}

// newline ends a line redrawn in place.
func (l liveLine) newline() {
	if l.tty {
		fmt.Fprintln(l.out)
	}
}

func bar(frac float64) string {
	n := min(int(frac*barWidth), barWidth)
	head := ""
	if n < barWidth {
		head = ">"
	}
	return "[" + strings.Repeat("=", n) + head + strings.Repeat(" ", max(barWidth-n-1, 0)) + "]"
}

func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
