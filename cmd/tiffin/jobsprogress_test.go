package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/jobs"
)

// --watch rides out a restart of a server that answered before (the job
// outlives it), and fails at once for a server it never reached.
func TestWatchRidesOutARestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	serve := func(ln net.Listener, st jobs.State) *http.Server {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_ = json.NewEncoder(w).Encode(jobs.Status{ID: "j", State: st, RowsTotal: 10})
		})}
		go func() { _ = srv.Serve(ln) }()
		return srv
	}
	first := serve(ln, jobs.Running)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = first.Close() // the server stops...
		time.Sleep(1500 * time.Millisecond)
		ln, err := net.Listen("tcp", addr) // ...and comes back, the job done
		if err != nil {
			t.Error(err)
			return
		}
		second := serve(ln, jobs.Succeeded)
		t.Cleanup(func() { _ = second.Close() })
	}()
	var stdout, stderr bytes.Buffer
	if code := watchJob(newJobClient("http://"+addr, nil), "j", &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "retrying") {
		t.Fatalf("exit %d; stdout %q; stderr %q", code, stdout.String(), stderr.String())
	}
	stderr.Reset()
	if code := watchJob(newJobClient("http://127.0.0.1:1", nil), "j", &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "cannot reach the server") {
		t.Fatalf("a server never reached: exit %d, stderr %q", code, stderr.String())
	}
}

// jobs status (without --watch) of a failed job says why it failed, as
// --watch does.
func TestJobsStatusShowsTheError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jobs.Status{ID: "j", State: jobs.Failed, Error: "upload failed: the connection ended"})
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	var stdout, stderr bytes.Buffer
	if code := run([]string{"jobs", "status", "--server", "http://" + ln.Addr().String(), "j"}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "upload failed: the connection ended") {
		t.Fatalf("exit %d; stdout %q; stderr %q", code, stdout.String(), stderr.String())
	}
}

// Ctrl-C during --watch stops the watch, not the job, and says how to
// follow or stop the job: before, the process died with the progress line
// half drawn and no word that the job went on.
func TestWatchInterruptSaysTheJobGoesOn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jobs.Status{ID: "j", State: jobs.Running, RowsTotal: 10, RowsDone: 3})
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	sig := make(chan os.Signal, 1)
	saved := interrupts
	interrupts = func() (<-chan os.Signal, func()) { return sig, func() {} }
	t.Cleanup(func() { interrupts = saved })
	sig <- os.Interrupt
	var stdout, stderr bytes.Buffer
	code := run([]string{"jobs", "status", "--watch", "--server", "http://" + ln.Addr().String(), "j"}, &stdout, &stderr)
	if code != interruptedCode || !strings.Contains(stderr.String(), "job j goes on on the server") ||
		!strings.Contains(stderr.String(), "tiffin jobs cancel j") {
		t.Fatalf("exit %d; stdout %q; stderr %q", code, stdout.String(), stderr.String())
	}
}
