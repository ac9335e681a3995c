package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// slowReader gives n pieces of size bytes, pause apart.
type slowReader struct {
	n, size int
	pause   time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	r.n--
	return copy(p, make([]byte, min(len(p), r.size))), nil
}

// An upload's progress is drawn while it is read, with its share of the
// size when the size is known, and ends with what was sent and how long
// it took.
func TestUploadProgress(t *testing.T) {
	for _, c := range []struct {
		size int64
		want string // in the last line
	}{
		{10_000, "uploaded [==============================] 100.0% 10.0k/10.0k bytes"},
		{-1, "uploaded 10.0k bytes"}, // stdin: no size, no bar
	} {
		var out bytes.Buffer
		u := startUpload(&slowReader{n: 10, size: 1000, pause: 15 * time.Millisecond}, c.size, &out, 10*time.Millisecond, nil)
		if n, err := io.Copy(io.Discard, u); n != 10_000 || err != nil {
			t.Fatalf("read %d bytes through it: %v", n, err)
		}
		u.end()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[0], "uploading ") {
			t.Fatalf("size %d: no progress while reading: %q", c.size, out.String())
		}
		for _, l := range lines {
			if strings.Contains(l, "the server is reading it") && !strings.Contains(l, "10.0k bytes") && !strings.Contains(l, "10.0k/10.0k bytes") {
				t.Fatalf("size %d: %q while the input was still being sent", c.size, l)
			}
		}
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, c.want) || !strings.Contains(last, "bytes/s, took ") {
			t.Fatalf("size %d: last line %q, want it to start %q and say how long it took", c.size, last, c.want)
		}
	}
}

// Once the input is sent, a follower's lines (the job's progress while the
// server still reads the upload) take over from the upload's: the
// uploaded line comes once, first, and nothing redraws the upload after.
func TestUploadProgressFollowsTheJob(t *testing.T) {
	var out bytes.Buffer
	asked := make(chan struct{}, 1000)
	follow := func() string {
		select {
		case asked <- struct{}{}:
		default:
		}
		if len(asked) < 2 {
			return "" // not listed yet
		}
		return "job j running 42 rows done, more being queued"
	}
	u := startUpload(&slowReader{n: 3, size: 1000, pause: 15 * time.Millisecond}, 3000, &out, 5*time.Millisecond, follow)
	if _, err := io.Copy(io.Discard, u); err != nil {
		t.Fatal(err)
	}
	for len(asked) < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	u.end()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	uploaded := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "uploaded ") {
			if uploaded >= 0 {
				t.Fatalf("the uploaded line twice: %q", out.String())
			}
			uploaded = i
		}
	}
	if uploaded < 0 || uploaded == len(lines)-1 || lines[len(lines)-1] != "job j running 42 rows done, more being queued" {
		t.Fatalf("want the uploaded line, then the job's: %q", out.String())
	}
	for _, l := range lines[uploaded+1:] {
		if strings.HasPrefix(l, "upload") {
			t.Fatalf("the upload drawn after the job's lines began: %q", out.String())
		}
	}
}
