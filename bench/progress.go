package bench

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Progress line timing: on a terminal the line is redrawn in place every
// ttyEvery; elsewhere (a log, a pipe) a new line is printed every
// plainEvery.
const (
	ttyEvery   = 500 * time.Millisecond
	plainEvery = 3 * time.Second
)

// IsTerminal reports whether w is a character device, such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress prints a live line for one level: elapsed of total, requests
// answered, the current rate and errors.
type progress struct {
	w      io.Writer
	tty    bool
	label  string
	total  time.Duration
	live   *Live
	start  time.Time
	stop   chan struct{}
	done   chan struct{}
	last   int64
	lastAt time.Time
}

// startProgress starts printing; the returned function stops it and
// finishes the line. With w nil it prints nothing.
func startProgress(w io.Writer, tty bool, label string, total time.Duration, live *Live) func() {
	if w == nil {
		return func() {}
	}
	now := time.Now()
	p := &progress{w: w, tty: tty, label: label, total: total, live: live, start: now,
		lastAt: now, stop: make(chan struct{}), done: make(chan struct{})}
	go p.loop()
	return func() {
		close(p.stop)
		<-p.done
	}
}

func (p *progress) loop() {
	defer close(p.done)
	every := plainEvery
	if p.tty {
		every = ttyEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			p.print()
		case <-p.stop:
			if p.tty {
				fmt.Fprint(p.w, "\r\x1b[K") // the level's summary replaces the line
			}
			return
		}
	}
}

func (p *progress) print() {
	now := time.Now()
	n, errs := p.live.Requests.Load(), p.live.Errors.Load()
	rate := float64(n-p.last) / now.Sub(p.lastAt).Seconds()
	p.last, p.lastAt = n, now
	elapsed := min(now.Sub(p.start), p.total).Round(100 * time.Millisecond)
	line := fmt.Sprintf("  %-10s %6s/%-6s %9d req %9.0f req/s %6d errors", p.label, elapsed, p.total, n, rate, errs)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}
