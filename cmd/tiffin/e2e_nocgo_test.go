package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
)

// TestE2ECgoFreeBuildServesGorgonia builds tiffin with CGO_ENABLED=0 and
// serves the demo repository: models left to backend auto run on
// Gorgonia and match the Go reference; the model pinned to onnxruntime is
// UNAVAILABLE with the reason.
func TestE2ECgoFreeBuildServesGorgonia(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary; skipped in -short")
	}
	bin := filepath.Join(t.TempDir(), "tiffin-nocgo")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	repo := demoRepo(t)
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve", "--model-repository", repo, "--host", "127.0.0.1",
		"--http-port", fmt.Sprint(port), "--grpc-port", fmt.Sprint(freePort(t)), "--jobs=false",
		"--strict-readiness=false") // models gorgonia cannot run stay UNAVAILABLE
	var logs strings.Builder
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	ts := &testServer{base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r, err := httpGet(ts.base + "/v2/health/ready"); err == nil && r == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cgo-free server not ready:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cnn := modelgen.NewCNN(modelgen.CNNSeed)
	x := seqInput(3, 64, 1)
	if err := checkInferTol(ts, "cnn", "image", []int{3, 1, 8, 8}, x, cnn.Forward(x, 3), 1e-4); err != nil {
		t.Fatalf("cnn on gorgonia: %v\n%s", err, logs.String())
	}
	r := ts.do(t, "GET", "/v2/models/mlp-small/ready", nil, nil)
	if r.status != 503 || !strings.Contains(string(r.body), "without cgo") {
		t.Fatalf("mlp-small: %d %s", r.status, r.body)
	}
}
