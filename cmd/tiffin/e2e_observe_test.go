package main

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

func TestE2EMetrics(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	x := seqInput(2, 16, 1)
	if r := ts.postJSON(t, "/v2/models/mlp-small/infer", map[string]any{"inputs": []map[string]any{
		{"name": "input", "datatype": "FP32", "shape": []int{2, 16}, "data": x}}}); r.status != 200 {
		t.Fatalf("infer: %d %s", r.status, r.body)
	}
	ts.postJSON(t, "/v2/models/nope/infer", map[string]any{"inputs": []map[string]any{
		{"name": "input", "datatype": "FP32", "shape": []int{2, 16}, "data": x}}})
	r := ts.do(t, "GET", "/metrics", nil, nil)
	if r.status != 200 {
		t.Fatalf("/metrics: %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`tiffin_requests_total{code="200",model="mlp-small",protocol="http",version="1"} 1`,
		`tiffin_requests_total{code="404",model="_unknown",protocol="http",version=""} 1`,
		`tiffin_request_duration_seconds_bucket{model="mlp-small",protocol="http",version="1",le="+Inf"} 1`,
		`tiffin_inference_items_total{device="cpu",model="mlp-small",version="1"} 2`,
		`tiffin_batch_size_items_count{device="cpu",model="mlp-small",version="1"} 1`,
		`tiffin_queue_depth{device="cpu",model="mlp-small",version="1"} 0`,
		`tiffin_model_ready{model="cnn",version="1"} 1`,
		`tiffin_instance_cpu_seconds_total{cores=`,
		`go_goroutines`,
		`tiffin_cpu_usable `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	stats := string(ts.do(t, "GET", "/v2/models/mlp-small/stats", nil, nil).body)
	for _, want := range []string{`"inference_count":2`, `"batcher":{`, `"dispatch_reasons":{"`, `"device_groups":[{"name":"cpu"`} {
		if !strings.Contains(stats, want) {
			t.Errorf("stats lack %s: %s", want, stats)
		}
	}
	var md struct {
		Devices struct {
			CPU struct {
				Usable int `json:"usable"`
			} `json:"cpu"`
		} `json:"devices"`
	}
	decodeJSON(t, ts.do(t, "GET", "/v2", nil, nil).body, &md)
	if md.Devices.CPU.Usable < 1 {
		t.Fatalf("server metadata has no devices")
	}
}

func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// otlpSink is a minimal OTLP/HTTP trace receiver on loopback.
type otlpSink struct {
	mu    sync.Mutex
	spans map[string][]string // trace id → span names
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var req collectorpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				id := hex.EncodeToString(sp.TraceId)
				s.spans[id] = append(s.spans[id], sp.Name)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// TestE2ETraceparentPropagates sends a request with a W3C traceparent and
// checks that the server's spans (infer, queue, compute) join that trace.
func TestE2ETraceparentPropagates(t *testing.T) {
	sink := &otlpSink{spans: map[string][]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	collector := &http.Server{Handler: sink}
	go func() { _ = collector.Serve(ln) }() // ErrServerClosed at Close
	defer collector.Close()
	ts := startServer(t, demoRepo(t), func(c *config.Server) {
		c.OTLPEndpoint = "http://" + ln.Addr().String() + "/v1/traces"
	})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	body := []byte(`{"inputs":[{"name":"input","datatype":"FP32","shape":[1,16],"data":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}`)
	r := ts.do(t, "POST", "/v2/models/mlp-small/infer", body, map[string]string{
		"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	ts.shutdown() // flushes the spans
	sink.mu.Lock()
	defer sink.mu.Unlock()
	got := strings.Join(sink.spans[traceID], ",")
	for _, want := range []string{"infer mlp-small", "queue", "compute"} {
		if !strings.Contains(got, want) {
			t.Fatalf("trace %s has spans [%s], want %q among them (all: %v)", traceID, got, want, sink.spans)
		}
	}
}
