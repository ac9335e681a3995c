package http

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/jobs"
	"github.com/tiffin-ml/tiffin/transport"
	"github.com/tiffin-ml/tiffin/transport/internal/transporttest"
)

// bigResults is a Jobs whose every job has 16 MiB of results.
type bigResults struct{}

func (bigResults) Submit(context.Context, string, int64, jobs.Input, io.Reader) (jobs.Status, error) {
	return jobs.Status{}, errors.New("not here")
}
func (bigResults) Get(context.Context, string) (jobs.Status, error) { return jobs.Status{}, nil }
func (bigResults) List(context.Context, ...string) ([]jobs.Status, error) {
	return nil, nil
}
func (bigResults) Cancel(context.Context, string) (jobs.Status, error) { return jobs.Status{}, nil }
func (bigResults) Delete(context.Context, string) (jobs.Status, error) { return jobs.Status{}, nil }
func (bigResults) Results(context.Context, string, jobs.ResultFormat) (io.ReadCloser, jobs.Status, error) {
	return io.NopCloser(bytes.NewReader(make([]byte, 16<<20))), jobs.Status{RowsTotal: 1}, nil
}

// TestDownloadsAtOnce: with MaxDownloads 2, two downloads whose clients do
// not read hold their places, a third is answered 429 naming the flag, and
// a place comes back once a client goes away.
func TestDownloadsAtOnce(t *testing.T) {
	m, _ := transporttest.Manager(t, map[string]string{"m": ""})
	s := New(m, Options{Addr: "127.0.0.1:0", Logger: transporttest.Quiet, Jobs: bigResults{}, MaxDownloads: 2,
		Access: transport.Access{Mode: config.ControlExplicit}})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	transporttest.StopAtCleanup(t, "shutdown", s.Shutdown)
	get := func() (string, func()) {
		c := dialFake(t, s)
		_ = c.SetReadBuffer(4 << 10)
		fmt.Fprintf(c, "GET /v2/jobs/abc/results HTTP/1.1\r\nHost: t\r\n\r\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line, func() { c.Close() }
	}
	first, closeFirst := get()
	second, closeSecond := get()
	defer closeSecond()
	if !strings.HasPrefix(first, "HTTP/1.1 200") || !strings.HasPrefix(second, "HTTP/1.1 200") {
		t.Fatalf("two downloads: %q, %q; want both served", first, second)
	}
	third, closeThird := get()
	closeThird()
	if !strings.HasPrefix(third, "HTTP/1.1 429") {
		t.Fatalf("a third download while two are not read: %q, want 429", third)
	}
	closeFirst()
	deadline := time.Now().Add(5 * time.Second)
	for {
		again, closeAgain := get()
		closeAgain()
		if strings.HasPrefix(again, "HTTP/1.1 200") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a client went away: %q, want its place given to the next download", again)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
