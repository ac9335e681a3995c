package bench

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func bareTarget(t *testing.T) *HTTPTarget {
	t.Helper()
	bare, err := StartBare("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bare.Close() })
	target, err := NewHTTPTarget(bare.URL(), false, 4, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Close() })
	return target
}

// The report's JSON keeps the shape other tools read: config, one level
// per concurrency and rate with percentiles and a histogram, and the mean
// batch as null (n/a) for a server without statistics.
func TestBenchReportJSON(t *testing.T) {
	rep, err := Run(context.Background(), Options{Target: bareTarget(t), Model: "bare", Concurrency: []int{1, 2},
		Rates: []float64{200}, Arrivals: Uniform, Workers: 4, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := rep.WriteFiles(path, ChartPath(path)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tool   string                     `json:"tool"`
		Config map[string]json.RawMessage `json:"config"`
		Levels []map[string]any           `json:"levels"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"model", "protocol", "target", "batch", "inputs", "concurrency", "rates", "duration_s", "warmup_s"} {
		if _, ok := doc.Config[k]; !ok {
			t.Errorf("config lacks %q: %s", k, b)
		}
	}
	if len(doc.Levels) != 3 {
		t.Fatalf("%d levels, want 3 (c=1, c=2, r=200)", len(doc.Levels))
	}
	for _, l := range doc.Levels {
		for _, k := range []string{"mode", "label", "requests", "rows", "errors", "requests_per_s", "rows_per_s", "latency", "histogram", "server_mean_batch"} {
			if _, ok := l[k]; !ok {
				t.Errorf("level %v lacks %q", l["label"], k)
			}
		}
		lat, _ := l["latency"].(map[string]any)
		for _, k := range []string{"p50_ms", "p90_ms", "p99_ms", "p99_9_ms"} {
			if _, ok := lat[k]; !ok {
				t.Errorf("level %v latency lacks %q", l["label"], k)
			}
		}
		if l["errors"].(float64) != 0 || l["requests_per_s"].(float64) <= 0 {
			t.Errorf("level %v: %v errors (first: %v), %v requests/s", l["label"], l["errors"], l["first_error"], l["requests_per_s"])
		}
		if l["server_mean_batch"] != nil || !strings.HasPrefix(l["server_mean_batch_note"].(string), "n/a") {
			t.Errorf("level %v: mean batch %v (%v), want null and an n/a note", l["label"], l["server_mean_batch"], l["server_mean_batch_note"])
		}
	}
	if doc.Levels[2]["mode"] != "open" || doc.Levels[2]["sends"] == nil {
		t.Errorf("the rate level is %v, want open with its sends", doc.Levels[2])
	}
	svg, err := os.ReadFile(filepath.Join(dir, "r.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if n := svgElements(t, string(svg)); n["circle.p99"] != 3 {
		t.Errorf("chart has %d p99 points, want 3", n["circle.p99"])
	}
}

func TestBenchErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	v2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/models/odd":
			_, _ = w.Write([]byte(`{"inputs":[{"name":"z","datatype":"COMPLEX64","shape":[-1,2]}]}`))
		case "/v2/models/fixed":
			_, _ = w.Write([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[3,2]}]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"no such model"}`))
		}
	}))
	defer v2.Close()
	for _, c := range []struct {
		name, url, model string
		batch            int
		is               error
		says             string
	}{
		{"unreachable", closed, "m", 1, ErrUnreachable, closed},
		{"unknown model", v2.URL, "nope", 1, ErrUnknownModel, `"nope"`},
		{"unknown datatype", v2.URL, "odd", 1, nil, `input "z" has datatype "COMPLEX64"`},
		{"no batch axis", v2.URL, "fixed", 4, nil, "no batch axis"},
	} {
		target, err := NewHTTPTarget(c.url, false, 1, 2*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(context.Background(), Options{Target: target, Model: c.model, Batch: c.batch, Concurrency: []int{1}, Duration: time.Millisecond})
		target.Close()
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %v, want one wrapping %v and naming %s", c.name, err, c.is, c.says)
		}
	}
}

func TestBenchGRPCUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	target, err := NewGRPCTarget(addr, 1, 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if _, err := target.Metadata(context.Background(), "m"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("error %v, want ErrUnreachable", err)
	}
}

func TestBenchScenarioTablesMissingResults(t *testing.T) {
	md := ScenarioTables(map[string]*Report{})
	for _, want := range []string{"| tiffin, gRPC | – |", "Overhead per request", "Batching gain"} {
		if !strings.Contains(md, want) {
			t.Errorf("tables lack %q:\n%s", want, md)
		}
	}
}

// An interrupt (ctx cancelled) in the middle of a level ends the run: the
// levels not yet started are left out of the report, not added as empty
// rows of zeros, and the error says the run was cancelled.
func TestBenchInterruptLeavesOutLevelsNotStarted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	// The interrupt comes 100 ms into the second level, counted by the
	// statistics each level reads before it starts, not by the clock: a
	// slow machine had taken 314 ms over the first level alone.
	target := &interruptAtLevel{Target: bareTarget(t), level: 2, cancel: cancel}
	rep, err := Run(ctx, Options{Target: target, Model: "bare", Concurrency: []int{1, 2, 4},
		Rates: []float64{100}, Workers: 4, Arrivals: Uniform, Duration: 200 * time.Millisecond})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if rep == nil || len(rep.Levels) != 2 {
		t.Fatalf("report %+v, want the 2 levels started before the interrupt", rep)
	}
	for _, l := range rep.Levels {
		if l.Requests == 0 {
			t.Errorf("level %s has no requests: a level not started was reported", l.Label)
		}
	}
}

// interruptAtLevel cancels a run 100 ms after the given level starts: each
// level reads the server's statistics before it starts and after it ends.
type interruptAtLevel struct {
	Target
	level  int
	cancel context.CancelFunc
	reads  atomic.Int32
}

func (t *interruptAtLevel) Stats(ctx context.Context, model string) (ServerStats, error) {
	if int(t.reads.Add(1)) == 2*t.level-1 {
		time.AfterFunc(100*time.Millisecond, t.cancel)
	}
	return t.Target.Stats(ctx, model)
}

// Late sends with none dropped say the load generator fell behind, not
// that its pool saturated, which the dropped count would show.
func TestPrintTableLateSends(t *testing.T) {
	r := &Report{Levels: []Level{
		{Label: "r=200", Sends: &Sends{Scheduled: 1000, Late: 3, LateAfterMs: 1, MaxLagMs: 2.5}},
		{Label: "r=900", Sends: &Sends{Scheduled: 1000, Dropped: 40, Late: 9, LateAfterMs: 1, MaxLagMs: 30}},
	}}
	var b strings.Builder
	r.PrintTable(&b)
	out := b.String()
	if !strings.Contains(out, "r=200: 3 of 1000 requests were sent over 1ms late (max lag 2.5ms), none dropped") ||
		strings.Contains(out, "r=200: the sender pool saturated") || !strings.Contains(out, "r=900: the sender pool saturated: 40 of 1000") {
		t.Fatalf("table:\n%s", out)
	}
}

func TestScenarioFailuresNameEachScenario(t *testing.T) {
	clean := &Report{Levels: []Level{{Label: "c=1", Requests: 10}}}
	if err := scenarioFailures(map[string]*Report{"mlp-small-grpc": clean}); err != nil {
		t.Fatalf("no failed request, got %v", err)
	}
	res := map[string]*Report{
		"mlp-small-http-json": clean,
		"mlp-small-grpc": {Levels: []Level{
			{Label: "c=1", Requests: 10, Errors: 2, FirstError: "rpc error: code = Unavailable"},
			{Label: "c=8", Requests: 10, Errors: 3},
		}},
		"mlp-large-http-binary": {Levels: []Level{{Label: "c=64", Requests: 5, Errors: 5, FirstError: "HTTP 400: bad shape"}}},
	}
	err := scenarioFailures(res)
	if err == nil {
		t.Fatal("failed requests gave no error")
	}
	for _, want := range []string{"mlp-small-grpc: 5 requests failed (first: rpc error: code = Unavailable)",
		"mlp-large-http-binary: 5 requests failed (first: HTTP 400: bad shape)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "mlp-small-http-json") {
		t.Errorf("error %q names a scenario without failures", err)
	}
}
