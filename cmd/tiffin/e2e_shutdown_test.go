package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TestE2EShutdownFinishesInFlight stops the server (as SIGTERM does) once
// every request has been accepted (it is in a handler, or answered): every
// one gets its answer, and serve returns without error.
func TestE2EShutdownFinishesInFlight(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	large := modelgen.MLPLarge()
	const clients = 16
	var wg sync.WaitGroup
	var answered atomic.Int64
	errs := make(chan error, clients)
	for c := range clients {
		x := seqInput(64, 256, float32(c))
		want := large.Forward(x, 64)
		body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{
			{"name": "input", "datatype": "FP32", "shape": []int{64, 256}, "data": x}}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(ts.base+"/v2/models/mlp-large/infer", "application/json", bytes.NewReader(body))
			answered.Add(1)
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", c, err)
				return
			}
			defer resp.Body.Close()
			var r v2Response
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
				errs <- fmt.Errorf("client %d: status %d %v %s", c, resp.StatusCode, err, r.Error)
				return
			}
			for i, raw := range r.Outputs[0].Data {
				var f float64
				if json.Unmarshal(raw, &f) != nil || abs(f-float64(want[i])) > 1e-5 {
					errs <- fmt.Errorf("client %d element %d: %s, want %v", c, i, raw, want[i])
					return
				}
			}
		}()
	}
	for ts.srv.InFlight()+answered.Load() < clients {
		time.Sleep(time.Millisecond)
	}
	ts.shutdown()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// TestE2EShutdownDelay stops the server with --shutdown-delay: for the
// delay it serves on, new connections and keep-alive ones alike, while
// readiness (HTTP and gRPC health) says it is shutting down and each
// answer closes its connection; then it stops as without one.
func TestE2EShutdownDelay(t *testing.T) {
	const delay = 1500 * time.Millisecond
	gs := startGRPC(t, demoRepo(t), func(c *config.Server) { c.ShutdownDelay = delay })
	infer := []byte(`{"inputs":[{"name":"input","datatype":"FP32","shape":[1,16],"data":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}]}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	post := func() (status int, closes bool) {
		t.Helper()
		resp, err := client.Post(gs.base+"/v2/models/mlp-small/infer", "application/json", bytes.NewReader(infer))
		if err != nil {
			t.Fatalf("inference while draining: %v", err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Close
	}
	if status, closes := post(); status != 200 || closes { // a keep-alive connection, now idle
		t.Fatalf("before the stop: %d, close %v", status, closes)
	}
	stopped := make(chan struct{})
	start := time.Now()
	stop := gs.stop
	gs.stop = nil // stopped here, not at cleanup
	go func() { stop(); close(stopped) }()
	t.Cleanup(func() { <-stopped })
	for {
		r, err := http.Get(gs.base + "/v2/health/ready")
		if err != nil {
			t.Fatalf("readiness while draining: %v", err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode == 503 && strings.Contains(string(b), "shutting down") {
			break
		}
		if time.Since(start) > delay/2 {
			t.Fatalf("readiness %d %s %v after the stop; want 503 shutting down", r.StatusCode, b, time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The idle keep-alive connection is served, and told to close.
	if status, closes := post(); status != 200 || !closes {
		t.Fatalf("while draining: %d, close %v; want 200 and Connection: close", status, closes)
	}
	for {
		hc, err := healthpb.NewHealthClient(gs.conn).Check(ctxT(t), &healthpb.HealthCheckRequest{})
		if err == nil && hc.Status == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
		if time.Since(start) > delay {
			t.Fatalf("gRPC health %v %v after the stop; want NOT_SERVING while draining", hc, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-stopped
	if took := time.Since(start); took < delay {
		t.Fatalf("stopped %v after the signal, within the %v delay", took, delay)
	}
}
