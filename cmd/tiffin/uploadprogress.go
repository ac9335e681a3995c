package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// uploadProgress shows how much of a job's input has been sent while
// `tiffin jobs submit --watch` uploads it: a gigabyte over a slow link
// is minutes of sending. Once it is sent, and until the server has read
// all of it and answers with the job's id (a Parquet file's footer comes
// last), it shows the job's progress found by its label instead. Lines
// go to out as watchJob's do: redrawn in place on a terminal, else one
// every plainEvery.
type uploadProgress struct {
	r     io.Reader
	sent  atomic.Int64
	size  int64 // -1 when not known (stdin)
	start time.Time
	took  atomic.Int64 // nanoseconds from start to the input's end; 0 before

	liveLine
	every time.Duration // how often a line is drawn
	stop  chan struct{}
	done  sync.WaitGroup

	// follow, when set, is the job's progress line once the input has
	// been sent and while the server is still reading it ("" while the
	// job is not found yet): a large upload is queued a chunk at a time,
	// scoring as it goes, before the submit answers.
	follow    func() string
	following bool // the uploaded line is out; follow's lines are drawn
}

// showUpload starts drawing the progress of r, size bytes long (-1: not
// known), to out, then follow's lines once r is sent (nil: none); end
// stops it.
func showUpload(r io.Reader, size int64, out io.Writer, follow func() string) *uploadProgress {
	return startUpload(r, size, out, drawEvery(out), follow)
}

func startUpload(r io.Reader, size int64, out io.Writer, every time.Duration, follow func() string) *uploadProgress {
	u := &uploadProgress{r: r, size: size, start: time.Now(), liveLine: liveLine{out, isTTY(out)}, every: every,
		stop: make(chan struct{}), follow: follow}
	u.done.Add(1)
	go u.draw()
	return u
}

func (u *uploadProgress) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	u.sent.Add(int64(n))
	if err == io.EOF && u.took.Load() == 0 {
		u.took.Store(int64(max(time.Since(u.start), 1)))
	}
	return n, err
}

func (u *uploadProgress) draw() {
	defer u.done.Done()
	ticking(u.every, u.stop, func() {
		if u.follow == nil || u.took.Load() == 0 {
			u.print(u.line("uploading"))
			return
		}
		if !u.following {
			u.following = true
			u.printDone()
		}
		if line := u.follow(); line != "" {
			u.print(line)
		}
	})
}

// end stops the drawing and prints the last line: the bytes sent and how
// long that took, unless the job's lines followed it.
func (u *uploadProgress) end() {
	close(u.stop)
	u.done.Wait()
	if !u.following {
		u.printDone()
	} else {
		u.newline()
	}
}

// printDone prints the upload's last line.
func (u *uploadProgress) printDone() {
	u.print(u.line("uploaded"))
	u.newline()
}

// line renders, for instance:
//
//	uploading [=======>                      ] 25.3% 253.1M/1.00G bytes, 118.2M bytes/s, ETA 6s
func (u *uploadProgress) line(what string) string {
	sent := u.sent.Load()
	elapsed := time.Since(u.start)
	took := u.took.Load()
	if took > 0 {
		elapsed = time.Duration(took) // sent whole: the rate is the upload's
	}
	var b strings.Builder
	b.WriteString(what)
	if u.size > 0 {
		frac := min(float64(sent)/float64(u.size), 1)
		fmt.Fprintf(&b, " %s %5.1f%% %s/%s bytes", bar(frac), 100*frac, human(float64(sent)), human(float64(u.size)))
	} else {
		fmt.Fprintf(&b, " %s bytes", human(float64(sent)))
	}
	if s := elapsed.Seconds(); s > 0 && sent > 0 {
		rate := float64(sent) / s
		fmt.Fprintf(&b, ", %s bytes/s", human(rate))
		switch {
		case what == "uploaded":
			fmt.Fprintf(&b, ", took %s", elapsed.Round(100*time.Millisecond))
		case took > 0: // all sent: the server is still reading it
			b.WriteString(", the server is reading it")
		case u.size > sent:
			fmt.Fprintf(&b, ", ETA %s", time.Duration(float64(u.size-sent)/rate*float64(time.Second)).Round(time.Second))
		}
	}
	return b.String()
}
