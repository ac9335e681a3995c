package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
)

// TestE2ESecondSignalStopsAtOnce sends SIGTERM while a model's long warmup
// holds the start: the first signal is taken (the rest of the repository
// would not be loaded), and a second one ends the process at once instead
// of waiting for the load.
func TestE2ESecondSignalStopsAtOnce(t *testing.T) {
	lib := requireORT(t)
	bin := buildTiffin(t)
	repo := t.TempDir()
	large := modelgen.MLPLarge()
	slow := modelgen.Spec{Name: large.Name, Metadata: large.Metadata(), Build: large.ONNX, Config: `backend: onnxruntime
max_batch_size: 4096
warmup:
  - name: long
    batch_size: 4096
    count: 1000
    inputs:
      input: {data_type: FP32, dims: [256], data: random}
`}
	if err := modelgen.WriteSpecs(repo, []modelgen.Spec{slow}); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, bin, "serve", "--model-repository", repo, "--host", "127.0.0.1",
		"--http-port", "0", "--grpc-port", "0", "--ort-library", lib)
	waitFor(t, p, "tiffin starting")
	time.Sleep(300 * time.Millisecond) // into the load
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, p, "a second SIGINT or SIGTERM stops at once")
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err == nil {
			t.Fatal("exited 0: want killed by the second SIGTERM")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after a second SIGTERM")
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("exit %v: want killed by the second SIGTERM", p.cmd.ProcessState)
	}
	if strings.Contains(p.out.String(), "model warmed up") {
		t.Skip("the warmup finished before the second signal: this machine is too fast for the test")
	}
}

// waitFor waits until the process has written s.
func waitFor(t *testing.T, p *proc, s string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.out.String(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 30s:\n%s", s, p.out.String())
		}
	}
}
