package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/bench"
)

// TestBenchE2E runs `tiffin bench` in-process for about a second per
// protocol against a real tiffin serving mlp-small, and checks the report:
// no errors, some throughput, and the server's mean batch size read from
// its statistics. It asserts nothing about speed.
func TestBenchE2E(t *testing.T) {
	repo := demoRepo(t)
	gs := startGRPC(t, repo, nil)
	lib := requireORT(t)
	common := []string{"--model", "mlp-small", "--concurrency", "4", "--duration", "700ms", "--warmup", "200ms"}
	for _, c := range []struct {
		name   string
		args   []string
		levels int
	}{
		{"http-json", []string{"--http", gs.base, "--baseline", "--model-repository", repo, "--ort-library", lib, "--batch", "2"}, 1},
		{"http-binary", []string{"--http", gs.base, "--binary", "--rate", "200"}, 2},
		{"grpc", []string{"--grpc", gs.addr}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), c.name+".json")
			var stdout, stderr bytes.Buffer
			args := append(append(append([]string{}, common...), c.args...), "--out", out)
			if rc := benchCmd(args, &stdout, &stderr); rc != 0 {
				t.Fatalf("tiffin bench %s: exit %d\n%s%s", strings.Join(args, " "), rc, stdout.String(), stderr.String())
			}
			rep, err := bench.ReadReport(out)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Config.Protocol != c.name || len(rep.Levels) != c.levels {
				t.Fatalf("report of %s with %d levels, want %s with %d", rep.Config.Protocol, len(rep.Levels), c.name, c.levels)
			}
			for _, l := range rep.Levels {
				if l.Errors != 0 || l.RequestsPerSec <= 0 || l.RowsPerSec <= 0 {
					t.Errorf("%s: %d errors (first: %s), %.0f requests/s, %.0f rows/s", l.Label, l.Errors, l.FirstError, l.RequestsPerSec, l.RowsPerSec)
				}
				if l.MeanBatch == nil || *l.MeanBatch <= 0 {
					t.Errorf("%s: server mean batch %v (%s), want a positive number", l.Label, l.MeanBatch, l.MeanBatchNote)
				}
			}
			if _, err := os.Stat(bench.ChartPath(out)); err != nil {
				t.Errorf("no chart beside the report: %v", err)
			}
			if c.name == "http-json" && (rep.Baseline == nil || len(rep.Baseline.Rows) != 1 || rep.Baseline.Rows[0].RowsPerSec <= 0) {
				t.Errorf("baseline %+v, want one row for --batch 2 with some rows/s", rep.Baseline)
			}
		})
	}
}

// Usage mistakes exit 2 with a message; an unknown model exits 1 naming it.
func TestBenchCommandErrors(t *testing.T) {
	repo := demoRepo(t)
	ts := startServer(t, repo, nil)
	for _, c := range []struct {
		args []string
		rc   int
		says string
	}{
		{[]string{"--model", "m"}, 2, "give --http URL"},
		{[]string{"--model", "m", "--http", ts.base, "--grpc", "localhost:1"}, 2, "give one of"},
		{[]string{"--model", "m", "--baseline"}, 2, "--model-repository"},
		{[]string{"--model", "m", "--http", ts.base, "--rate", "fast"}, 2, "--rate"},
		{[]string{"--bare-http", "--tls"}, 2, "not --scenarios or the bare handler"},
		{[]string{"--model", "m", "--http", ts.base, "--cert", "client.pem"}, 2, "--cert and --key go together"},
		// Each bad number names its flag: a zero --timeout timed every
		// request out, and the errors blamed the server.
		{[]string{"--model", "m", "--http", ts.base, "--timeout", "0s"}, 2, "--timeout must be positive"},
		{[]string{"--model", "m", "--http", ts.base, "--batch", "0"}, 2, "--batch must be positive, got 0"},
		{[]string{"--model", "m", "--http", ts.base, "--warmup", "-1s"}, 2, "--warmup must not be negative"},
		{[]string{"--model", "m", "--http", ts.base, "--grpc-conns", "-1"}, 2, "--grpc-conns must not be negative"},
		{[]string{"--model", "no-such-model", "--http", ts.base, "--duration", "100ms"}, 1, `unknown model "no-such-model"`},
		// The test library has no CUDA provider, or this host no CUDA.
		{[]string{"--model", "mlp-small", "--baseline", "--model-repository", repo, "--ort-library", requireORT(t), "--baseline-gpu", "0", "--duration", "100ms"}, 1, "CUDA"},
	} {
		var stdout, stderr bytes.Buffer
		rc := benchCmd(c.args, &stdout, &stderr)
		if rc != c.rc || !strings.Contains(stderr.String(), c.says) {
			t.Errorf("tiffin bench %s: exit %d, %q; want exit %d saying %q", strings.Join(c.args, " "), rc, stderr.String(), c.rc, c.says)
		}
	}
}
