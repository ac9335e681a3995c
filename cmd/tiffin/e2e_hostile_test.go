package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// Issue 12: hostile clients can't hurt it. Each test reproduces a finding.

// peakRSS reads a process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// bytesJSON is a JSON request whose one BYTES input holds n empty strings:
// the body that used to cost a 24-byte slice header per body byte.
func bytesJSON(n int, shape string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"inputs":[{"name":"input","datatype":"BYTES","shape":%s,"data":[`, shape)
	b.WriteString(strings.Repeat(`"",`, n-1))
	b.WriteString(`""]}]}`)
	return b.Bytes()
}

// fp32JSON is a JSON FP32 request of about size bytes for mlp-small with a
// shape the model does not take.
func fp32JSON(size int) []byte {
	n := size / 2
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"inputs":[{"name":"input","datatype":"FP32","shape":[%d,16],"data":[`, n/16)
	b.WriteString(strings.Repeat("1,", n-1))
	b.WriteString("1]}]}")
	return b.Bytes()
}

// TestE2EHostileMemory reproduces finding 1: 16 MiB to a missing model
// peaked at 431 MiB; four 60 MiB JSON requests at 5.7 GiB. Now 20
// concurrent 60 MiB requests, valid in form or hostile, keep the server
// under 1 GiB peak RSS with the default budget, each gets a 4xx, and the
// server still serves.
func TestE2EHostileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 1.2 GB over loopback; skipped with -short")
	}
	bin := buildTiffin(t)
	p := startTiffin(t, bin, demoRepo(t), "--jobs=false")
	pid := p.cmd.Process.Pid
	idle := peakRSS(t, pid)
	const size = 60 << 20
	bodies := []struct {
		path string
		body []byte
	}{
		{"/v2/models/missing/infer", bytesJSON(size/3, fmt.Sprint("[", size/3, "]"))},
		{"/v2/models/mlp-small/infer", bytesJSON(size/3, fmt.Sprint("[", size/3, "]"))},
		{"/v2/models/mlp-small/infer", fp32JSON(size)},
		{"/v2/models/mlp-small/infer", bytesJSON(size/3, "[1,16]")},
	}
	var wg sync.WaitGroup
	codes := make(chan string, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := bodies[i%len(bodies)]
			resp, err := http.Post(p.base+b.path, "application/json", bytes.NewReader(b.body))
			if err != nil {
				codes <- "conn: " + err.Error()
				return
			}
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			codes <- strconv.Itoa(resp.StatusCode)
		}()
	}
	wg.Wait()
	close(codes)
	seen := map[string]int{}
	for c := range codes {
		seen[c]++
		if n, err := strconv.Atoi(c); err == nil && (n < 400 || n >= 500) {
			t.Errorf("a hostile request got %s", c)
		}
	}
	peak := peakRSS(t, pid)
	t.Logf("idle peak RSS %d MiB; after 20 x 60 MiB: %d MiB; answers %v", idle>>20, peak>>20, seen)
	if peak > 1<<30 {
		t.Fatalf("peak RSS %d MiB, want under 1024 MiB", peak>>20)
	}
	if err := checkInfer(&testServer{base: p.base}, "mlp-small", "input", []int{1, 16}, seqInput(1, 16, 1), nil); err != nil && !strings.Contains(err.Error(), "unexpected outputs") {
		t.Fatalf("the server stopped serving: %v", err)
	}
}

// TestE2EHostileMissingModelIsCheap: a request for a missing model is
// answered 404 before its body is read.
func TestE2EHostileMissingModelIsCheap(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	r := ts.do(t, "POST", "/v2/models/missing/infer", bytesJSON(1<<20, "[1048576]"), nil)
	if r.status != 404 {
		t.Fatalf("missing model: %d %s", r.status, r.body)
	}
}

// TestE2EHostileBudget: a request needing more of the in-flight budget
// than there is at all is answered 413 at once, naming the budget (one
// needing more than is left gets 429: TestBudgetChargesStrings).
func TestE2EHostileBudget(t *testing.T) {
	ts := startServer(t, demoRepo(t), func(c *config.Server) { c.MaxBodyBytes, c.MaxInflightBytes = 1<<20, 1<<20 })
	body, _ := jsonBody(seqInput(64, 16, 1), []int{64, 16})
	// 3 x the body fits the 1 MiB budget; a 400 KiB body does not.
	if r := ts.do(t, "POST", "/v2/models/mlp-small/infer", body, nil); r.status != 200 {
		t.Fatalf("small request: %d %s", r.status, r.body)
	}
	big := append(body, bytes.Repeat([]byte(" "), 400<<10)...)
	r := ts.do(t, "POST", "/v2/models/mlp-small/infer", big, nil)
	if r.status != 413 || !bytes.Contains(r.body, []byte("--max-inflight-bytes")) {
		t.Fatalf("over budget: %d %s", r.status, r.body)
	}
}

// TestE2EHostile413WhileStreaming reproduces finding 2's control half and
// the chunked case: every route refuses an oversized body with 413.
func TestE2EHostile413WhileStreaming(t *testing.T) {
	ts := startServer(t, demoRepo(t), func(c *config.Server) { explicitControl(c); c.MaxBodyBytes = 1 << 20 })
	big := bytes.Repeat([]byte(" "), 2<<20)
	for _, path := range []string{"/v2/models/mlp-small/infer", "/v2/repository/index", "/v2/repository/models/cnn/load", "/v2/repository/models/cnn/unload"} {
		// io.MultiReader hides the length: the body goes chunked.
		req, _ := http.NewRequest("POST", ts.base+path, io.MultiReader(bytes.NewReader(big)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("chunked %s: %d, want 413", path, resp.StatusCode)
		}
	}
}

// TestE2EHostileSlowClients reproduces finding 6: a body that stalls is
// answered 408 at the body timeout; a client that sends nothing after its
// headers over the limit gets an answer within about a second.
func TestE2EHostileSlowClients(t *testing.T) {
	ts := startServer(t, demoRepo(t), func(c *config.Server) {
		c.BodyReadTimeout, c.HeaderReadTimeout = 300*time.Millisecond, 300*time.Millisecond
	})
	addr := strings.TrimPrefix(ts.base, "http://")
	send := func(req string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(c)
		return string(b)
	}
	start := time.Now()
	if got := send("POST /v2/models/mlp-small/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat(" ", 20000)); !strings.HasPrefix(got, "HTTP/1.1 408") {
		t.Fatalf("stalled body: %q", got)
	}
	if got := send("POST /v2/models/mlp-small/infer HTTP/1.1\r\nHost: x\r\n"); !strings.HasPrefix(got, "HTTP/1.1 408") {
		t.Fatalf("stalled headers: %q", got)
	}
	if got := send("POST /v2/models/mlp-small/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 4") {
		t.Fatalf("stalled oversized body: %q", got)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("slow clients took %s to answer", d)
	}
}

// TestE2EHostileMetricLabels reproduces finding 3: names of missing models
// no longer become series of their own.
func TestE2EHostileMetricLabels(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	for i := range 5 {
		ts.do(t, "POST", fmt.Sprintf("/v2/models/nope-%d/infer", i), []byte("{}"), nil)
	}
	r := ts.do(t, "GET", "/metrics", nil, nil)
	if bytes.Contains(r.body, []byte("nope-")) || !bytes.Contains(r.body, []byte(`model="_unknown"`)) {
		t.Fatalf("metrics carry client-chosen names:\n%s", grepLines(r.body, "tiffin_requests_total"))
	}
}

func grepLines(b []byte, s string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// jsonBody is an FP32 request for mlp-small's input.
func jsonBody(x []float32, shape []int) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"inputs":[{"name":"input","datatype":"FP32","shape":[%d,%d],"data":[`, shape[0], shape[1])
	for i, v := range x {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
	}
	b.WriteString("]}]}")
	return b.Bytes(), nil
}

// TestE2EHostileHangupDropped reproduces finding 7: an HTTP request whose
// client hung up while it waited in the queue is dropped before compute,
// and the drop shows in the statistics.
func TestE2EHostileHangupDropped(t *testing.T) {
	repo := demoRepo(t)
	writeFile(t, repo+"/mlp-small/config.yaml", []byte("max_batch_size: 64\nbatching: {mode: static, max_queue_delay: 3s, timeout: 10s}\n"))
	ts := startServer(t, repo, nil)
	body, _ := jsonBody(seqInput(1, 16, 1), []int{1, 16})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST /v2/models/mlp-small/infer HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	time.Sleep(300 * time.Millisecond) // queued, waiting out the 3 s window
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := ts.do(t, "GET", "/v2/models/mlp-small/stats", nil, nil)
		if bytes.Contains(r.body, []byte(`"dropped":1`)) {
			if !bytes.Contains(r.body, []byte(`"inference_count":"0"`)) && !bytes.Contains(r.body, []byte(`"inference_count":0`)) {
				t.Fatalf("the dropped request was computed: %s", r.body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the request of a client that hung up was not dropped: %s", r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2EHostileShutdownNonReader reproduces finding 6's shutdown half: a
// client that pipelines requests and never reads its answers used to hold
// shutdown for its whole budget, then unloads failed and the exit code was
// 1. Now its connection is closed at the deadline and serve returns nil
// (the exit code 0), with the models unloaded.
func TestE2EHostileShutdownNonReader(t *testing.T) {
	ts := startServer(t, demoRepo(t), func(c *config.Server) { c.ShutdownTimeout = time.Second })
	x := seqInput(64, 256, 1)
	body, _ := jsonBody(x, []int{64, 256})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4 << 10) //nolint:errcheck
	go func() {
		for range 400 {
			if _, err := fmt.Fprintf(c, "POST /v2/models/mlp-large/infer HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
				return
			}
		}
	}()
	time.Sleep(2 * time.Second) // the answers fill the socket buffers
	start := time.Now()
	ts.shutdown() // fails the test if serve returns an error
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("shutdown took %s", d)
	}
}

// rowsReader yields the same NDJSON rows again and again, n bytes in all.
type rowsReader struct {
	rows []byte
	off  int
	left int64
}

func (r *rowsReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		c := copy(p[n:min(len(p), n+int(min(r.left, int64(len(p)))))], r.rows[r.off:])
		r.off = (r.off + c) % len(r.rows)
		n += c
		r.left -= int64(c)
	}
	return n, nil
}

// TestE2EHostileJobUploadStreams reproduces finding 2: a 1 GiB chunked
// job upload against a 256 MiB limit peaked at 4.1 GiB before its 413.
// Now the upload streams: the server's peak RSS stays within 64 MiB of
// what it was before, and the answer is 413.
func TestE2EHostileJobUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB into the job queue; skipped with -short")
	}
	bin := buildTiffin(t)
	p := startTiffin(t, bin, demoRepo(t), "--data-dir", t.TempDir(), "--jobs-workers", "0",
		"--jobs-max-upload-bytes", strconv.Itoa(256<<20))
	pid := p.cmd.Process.Pid
	// Warm up: one small job, so what the queue holds at rest is counted.
	submitJob(t, p.base, "model=mlp-small", mlpNDJSON(10, nil))
	idle := peakRSS(t, pid)
	req, _ := http.NewRequest("POST", p.base+"/v2/jobs?model=mlp-small", &rowsReader{rows: mlpNDJSON(100, nil), left: 1 << 30})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	peak := peakRSS(t, pid)
	t.Logf("peak RSS before %d MiB, after a 1 GiB upload: %d MiB; answer %d %s", idle>>20, peak>>20, resp.StatusCode, b)
	if resp.StatusCode != 413 {
		t.Fatalf("1 GiB over a 256 MiB limit: %d %s", resp.StatusCode, b)
	}
	if peak-idle > 64<<20 {
		t.Fatalf("peak RSS grew by %d MiB during the upload, want at most 64", (peak-idle)>>20)
	}
}

// TestE2EHostileTinyStrings: millions of empty BYTES elements (four bytes
// each in binary, three in JSON) took ~37-70 times their size in memory;
// such a request is now refused before any element is decoded, over
// every wire, while real strings are served and a NUL byte fails alone.
func TestE2EHostileTinyStrings(t *testing.T) {
	repo := t.TempDir()
	model, err := modelgen.Identity(backends.Bytes, true, -1)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, "id-bytes", "1", "model.onnx"), model)
	gs := startGRPC(t, repo, nil)
	const n = 4 << 20
	empty := backends.Tensor{Name: "x", DataType: backends.Bytes, Shape: []int64{1, n}, Strings: make([][]byte, n)}
	words := backends.Tensor{Name: "x", DataType: backends.Bytes, Shape: []int64{1, 1000}, Strings: make([][]byte, 1000)}
	for i := range words.Strings {
		words.Strings[i] = []byte(fmt.Sprintf("word %d of a sentence", i))
	}
	nul := backends.Tensor{Name: "x", DataType: backends.Bytes, Shape: []int64{1, 2}, Strings: [][]byte{[]byte("ok"), []byte("a\x00b")}}
	for _, w := range wires {
		if _, err := inferWire(gs, "id-bytes", w, []backends.Tensor{empty}); err == nil || !strings.Contains(err.Error(), "BYTES elements, which would take about") {
			t.Errorf("%s: 4M empty elements: %v, want refused for their decoded size", w.name, err)
		}
		if got, err := inferWire(gs, "id-bytes", w, []backends.Tensor{words}); err != nil {
			t.Errorf("%s: 1000 words: %v", w.name, err)
		} else if err := sameTensor(got, words); err != nil {
			t.Errorf("%s: 1000 words: %v", w.name, err)
		}
		if _, err := inferWire(gs, "id-bytes", w, []backends.Tensor{nul}); err == nil || !strings.Contains(err.Error(), "element 1 holds a NUL byte") {
			t.Errorf("%s: a NUL byte: %v, want it named", w.name, err)
		}
	}
}
