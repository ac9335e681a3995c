package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
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
