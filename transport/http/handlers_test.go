package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	stdhttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/jobs"
	"github.com/tiffin-ml/tiffin/transport"
	httpt "github.com/tiffin-ml/tiffin/transport/http"
	"github.com/tiffin-ml/tiffin/transport/internal/transporttest"
)

// These tests serve the fake backend through a real Manager and a real
// server on a free port; they need no native library (CGO_ENABLED=0).

var quiet = transporttest.Quiet

// serve starts a server over a repository holding "m" (ready) and
// "broken" (its load fails), with the options edit sets.
func serve(t *testing.T, edit func(*httpt.Options)) (string, *backendtest.Backend, *runtime.Manager) {
	t.Helper()
	m, fake := transporttest.Manager(t, map[string]string{
		"m": "batching: {max_queue_size: 1}\n", "broken": "max_batch_size: 99999999999999999999\n"})
	opts := httpt.Options{Addr: "127.0.0.1:0", MaxBodyBytes: 1 << 16, Logger: quiet,
		Access: transport.Access{Mode: config.ControlExplicit}}
	if edit != nil {
		edit(&opts)
	}
	s := httpt.New(m, opts)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	transporttest.StopAtCleanup(t, "shutdown", s.Shutdown)
	return "http://" + s.Addr(), fake, m
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := stdhttp.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := stdhttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const inferBody = `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`

func TestHandlers(t *testing.T) {
	base, fake, _ := serve(t, nil)
	cases := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"live", "GET", "/v2/health/live", "", 200, `{"live":true}`}, // KServe's client reads the body
		{"ready", "GET", "/v2/health/ready", "", 200, `{"ready":true}`},
		{"server metadata", "GET", "/v2", "", 200, `"name":"tiffin"`},
		{"model metadata", "GET", "/v2/models/m", "", 200, `"platform":"` + backendtest.Platform + `"`},
		{"model ready", "GET", "/v2/models/m/ready", "", 200, `{"ready":true}`},
		{"infer", "POST", "/v2/models/m/infer", inferBody, 200, `"name":"y"`},
		{"infer a version", "POST", "/v2/models/m/versions/1/infer", inferBody, 200, `"data":[1,2,3,4]`},
		{"unknown model", "POST", "/v2/models/nope/infer", inferBody, 404, `unknown model \"nope\"`},
		{"unknown version", "GET", "/v2/models/m/versions/7", "", 404, "unknown version 7"},
		{"unknown route", "GET", "/v3", "", 404, "no route"},
		{"infer with GET", "GET", "/v2/models/m/infer", "", 405, "GET /v2/models/m/infer: this route takes POST"},
		{"ready with POST", "POST", "/v2/health/ready", "", 405, "this route takes GET, HEAD"},
		{"metadata with DELETE", "DELETE", "/v2/models/m/versions/1", "", 405, "this route takes GET, HEAD"},
		{"load with GET", "GET", "/v2/repository/models/m/load", "", 405, "this route takes POST"},
		{"an unknown model route", "GET", "/v2/models/m/nothing", "", 404, "no route"},
		{"wrong shape", "POST", "/v2/models/m/infer", strings.Replace(inferBody, "[1,4]", "[1,3]", 1), 400, ""},
		{"malformed JSON", "POST", "/v2/models/m/infer", "{", 400, ""},
		{"unavailable", "POST", "/v2/models/broken/infer", inferBody, 503, "broken"},
		{"too large", "POST", "/v2/models/m/infer", strings.Repeat(" ", 1<<17), 413, "--max-body-bytes"},
		{"jobs off", "GET", "/v2/jobs", "", 404, "--jobs=false"},
		// Shared memory is refused, not ignored (an output would go to the
		// body while the caller reads a region nobody wrote).
		{"input in shared memory", "POST", "/v2/models/m/infer",
			`{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","parameters":{"shared_memory_region":"r","shared_memory_byte_size":16}}]}`,
			501, `input \"x\" names a shared-memory region`},
		{"output to shared memory", "POST", "/v2/models/m/infer",
			strings.Replace(inferBody, `]}]}`, `]}],"outputs":[{"name":"y","parameters":{"shared_memory_region":"r"}}]}`, 1),
			501, `output \"y\" names a shared-memory region`},
		{"shared memory register", "POST", "/v2/systemsharedmemory/region/r/register", `{"key":"/k","offset":0,"byte_size":16}`, 501, "/v2/systemsharedmemory: this server does not have"},
		{"CUDA shared memory status", "GET", "/v2/cudasharedmemory/status", "", 501, "/v2/cudasharedmemory"},
		{"trace settings", "GET", "/v2/trace/setting", "", 501, "/v2/trace"},
		{"log settings", "GET", "/v2/logging", "", 501, "/v2/logging"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := call(t, c.method, base+c.path, c.body)
			if status != c.status || !strings.Contains(body, c.contains) {
				t.Fatalf("%s %s: %d %s, want %d containing %q", c.method, c.path, status, body, c.status, c.contains)
			}
			if status >= 400 && !strings.HasPrefix(body, `{"error":`) {
				t.Fatalf("an error body must be {\"error\": ...}: %s", body)
			}
		})
	}
	t.Run("405 says what the route takes in Allow", func(t *testing.T) {
		resp, err := stdhttp.Get(base + "/v2/models/m/infer")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Fatalf("%d, Allow %q: want 405, POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
	t.Run("HEAD has no body", func(t *testing.T) {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, "HEAD /v2/health/ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
		resp, _ := io.ReadAll(c)
		if got := string(resp); !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, "\r\n\r\n") {
			t.Fatalf("HEAD answered %q: want 200 with headers only", got)
		}
	})
	t.Run("backend failure", func(t *testing.T) {
		fake.FailRuns(errors.New("device lost"))
		defer fake.FailRuns(nil)
		status, body := call(t, "POST", base+"/v2/models/m/infer", inferBody)
		if status != 500 || strings.Count(body, "device lost") != 1 {
			t.Fatalf("%d %s: want 500 naming the cause once", status, body)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		fake.SetLatency(200 * time.Millisecond)
		defer fake.SetLatency(0)
		body := strings.Replace(inferBody, `"inputs"`, `"parameters":{"timeout":20000},"inputs"`, 1)
		if status, b := call(t, "POST", base+"/v2/models/m/infer", body); status != 504 {
			t.Fatalf("%d %s, want 504", status, b)
		}
	})
}

func TestHandlersRepository(t *testing.T) {
	base, fake, _ := serve(t, nil)
	if status, body := call(t, "POST", base+"/v2/repository/models/m/unload", ""); status != 200 {
		t.Fatalf("unload: %d %s", status, body)
	}
	if fake.Open() != 0 {
		t.Fatalf("%d instances open after unload", fake.Open())
	}
	if status, _ := call(t, "POST", base+"/v2/models/m/infer", inferBody); status != 404 {
		t.Fatalf("infer after unload: %d, want 404", status)
	}
	// Unloading a model that is not loaded succeeds, as in Triton.
	for _, name := range []string{"m", "nope"} {
		if status, body := call(t, "POST", base+"/v2/repository/models/"+name+"/unload", ""); status != 200 {
			t.Fatalf("unload %s, not loaded: %d %s", name, status, body)
		}
	}
	if status, body := call(t, "POST", base+"/v2/repository/models/m/load", ""); status != 200 {
		t.Fatalf("load: %d %s", status, body)
	}
	if status, body := call(t, "POST", base+"/v2/models/m/infer", inferBody); status != 200 {
		t.Fatalf("infer after load: %d %s", status, body)
	}
	if status, body := call(t, "POST", base+"/v2/repository/index", ""); status != 200 || !strings.Contains(body, "broken") {
		t.Fatalf("index: %d %s", status, body)
	}

	off, _, _ := serve(t, func(o *httpt.Options) { o.Access.Mode = config.ControlNone })
	if status, _ := call(t, "POST", off+"/v2/repository/models/m/unload", ""); status != 403 {
		t.Fatalf("unload with control off: %d, want 403", status)
	}
	locked, _, _ := serve(t, func(o *httpt.Options) { o.Access.Token = "secret" })
	if status, _ := call(t, "POST", locked+"/v2/repository/models/m/unload", ""); status != 401 {
		t.Fatalf("unload without the token: %d, want 401", status)
	}
}

func TestHandlersQueueFull(t *testing.T) {
	base, fake, _ := serve(t, nil)
	fake.SetLatency(300 * time.Millisecond)
	// max_queue_size 1: one request runs, one waits, the next is refused.
	done := make(chan struct{}, 2)
	for range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			if resp, err := stdhttp.Post(base+"/v2/models/m/infer", "application/json", strings.NewReader(inferBody)); err == nil {
				resp.Body.Close()
			}
		}()
		time.Sleep(50 * time.Millisecond)
	}
	status, body := call(t, "POST", base+"/v2/models/m/infer", inferBody)
	<-done
	<-done
	if status != 429 || !strings.Contains(body, "queue is full") {
		t.Fatalf("%d %s, want 429", status, body)
	}
}

// conflictJobs answers every job request with a state conflict, as the
// job queue does for the results of an unfinished job.
type conflictJobs struct{ httpt.Jobs }

func (conflictJobs) Results(context.Context, string, jobs.ResultFormat) (io.ReadCloser, jobs.Status, error) {
	return nil, jobs.Status{}, &runtime.Error{Kind: runtime.KindConflict, Msg: "job j is running", Err: jobs.ErrConflict}
}

func TestHandlersJobConflict(t *testing.T) {
	base, _, _ := serve(t, func(o *httpt.Options) { o.Jobs = conflictJobs{} })
	if status, body := call(t, "GET", base+"/v2/jobs/j/results", ""); status != 409 || !strings.Contains(body, "running") {
		t.Fatalf("%d %s, want 409", status, body)
	}
	var e struct{ Error string }
	_, body := call(t, "GET", base+"/v2/jobs/j/results", "")
	if err := json.NewDecoder(bytes.NewReader([]byte(body))).Decode(&e); err != nil || e.Error == "" {
		t.Fatalf("%s: %v", body, err)
	}
}
