package main

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/backends/onnx"
	"github.com/tiffin-ml/tiffin/backends/onnx/onnxtest"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/jobs"
)

// BenchmarkJobs scores b.N rows of mlp-small as one job, through the
// server's real wiring (model manager, embedded JetStream, workers), minus
// HTTP. The input is generated as it is read, never held whole. It reports
// rows/s for the job (upload included, as the two overlap) and, measured in
// the same run, the ONNX backend's own rows/s at batch 64 on one thread,
// and their ratio. Scale with -benchtime, e.g. -benchtime=1000000x.
func BenchmarkJobs(b *testing.B) {
	lib := onnxtest.LibraryPath(b)
	repo := b.TempDir()
	if err := modelgen.WriteRepository(repo); err != nil {
		b.Fatal(err)
	}
	backendRPS := backendRowsPerSec(b, lib, filepath.Join(repo, "mlp-small", "1", "model.onnx"))
	svc, _ := startJobsBench(b, repo, lib, config.DefaultJobsWorkers)

	b.ResetTimer()
	start := time.Now()
	st, err := svc.Submit(context.Background(), "mlp-small", 0, jobs.Input{Format: jobs.NDJSON}, &rowGen{rows: b.N})
	if err != nil {
		b.Fatal(err)
	}
	for !st.State.Finished() {
		time.Sleep(5 * time.Millisecond)
		if st, err = svc.Get(context.Background(), st.ID); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if st.State != jobs.Succeeded || st.RowsDone != int64(b.N) || st.RowsFailed != 0 {
		b.Fatalf("%+v", st)
	}
	rps := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rps, "rows/s")
	b.ReportMetric(backendRPS, "backend-rows/s")
	b.ReportMetric(rps/backendRPS, "ratio")
}

// BenchmarkJobsInteractiveP99 measures single-row interactive requests to
// mlp-small: their p99 latency on an idle server, then while a job of b.N
// rows of the same model runs at bulk priority, with 1 and with 4 job
// workers (--jobs-workers).
func BenchmarkJobsInteractiveP99(b *testing.B) {
	lib := onnxtest.LibraryPath(b)
	repo := b.TempDir()
	if err := modelgen.WriteRepository(repo); err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 4} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			svc, m := startJobsBench(b, repo, lib, workers)
			idle := interactiveP99(b, m, func(n int) bool { return n < 1000 })
			b.ResetTimer()
			st, err := svc.Submit(context.Background(), "mlp-small", 0, jobs.Input{Format: jobs.NDJSON}, &rowGen{rows: b.N})
			if err != nil {
				b.Fatal(err)
			}
			busy := interactiveP99(b, m, func(int) bool {
				cur, err := svc.Get(context.Background(), st.ID)
				return err == nil && !cur.State.Finished()
			})
			b.StopTimer()
			b.ReportMetric(float64(idle.Microseconds()), "p99-idle-µs")
			b.ReportMetric(float64(busy.Microseconds()), "p99-during-job-µs")
		})
	}
}

// interactiveP99 sends one-row requests, one at a time, while more(n)
// holds after n of them, and returns their p99 latency.
func interactiveP99(b *testing.B, m *runtime.Manager, more func(n int) bool) time.Duration {
	x := make([]byte, 0, 64)
	for i := range 16 {
		x = binary.LittleEndian.AppendUint32(x, math.Float32bits(float32(i)/16))
	}
	var lat []time.Duration
	for len(lat) < 10 || more(len(lat)) {
		req := &runtime.InferRequest{Model: "mlp-small",
			Inputs: []backends.Tensor{{Name: "input", DataType: backends.FP32, Shape: []int64{1, 16}, Data: x}}}
		t := time.Now()
		if _, err := m.Infer(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

// startJobsBench builds the server's components as `tiffin serve` does,
// with the job queue embedded in a test folder, and starts them.
func startJobsBench(b *testing.B, repo, lib string, workers int) (*jobs.Service, *runtime.Manager) {
	cfg := config.DefaultServer()
	cfg.ModelRepository, cfg.ORTLibrary, cfg.Host, cfg.HTTPPort, cfg.GRPCPort = repo, lib, "127.0.0.1", 0, 0
	cfg.Jobs = config.DefaultJobs()
	cfg.Jobs.DataDir, cfg.Jobs.Workers = b.TempDir(), workers
	log := slog.New(slog.DiscardHandler)
	c, err := newContainer(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	var lc *lifecycle
	var svc *jobs.Service
	var m *runtime.Manager
	if err := c.Invoke(func(l *lifecycle, s *jobs.Service, rm *runtime.Manager) { lc, svc, m = l, s, rm }); err != nil {
		b.Fatal(err)
	}
	if err := lc.start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := lc.stop(context.Background()); err != nil {
			b.Error(err)
		}
	})
	return svc, m
}

// backendRowsPerSec runs mlp-small on the backend directly, batches of 64
// on one thread, for about a second.
func backendRowsPerSec(b *testing.B, lib, model string) float64 {
	be := onnx.New(onnx.Options{LibraryPath: lib, Logger: slog.New(slog.DiscardHandler)})
	defer be.Close()
	m, err := be.Load(context.Background(), backends.LoadSpec{Model: "mlp-small", Version: 1, Path: model, Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	const batch = 64
	x := make([]byte, 0, 4*16*batch)
	for i := range 16 * batch {
		x = binary.LittleEndian.AppendUint32(x, math.Float32bits(float32(math.Sin(float64(i)))))
	}
	in := []backends.Tensor{{Name: "input", DataType: backends.FP32, Shape: []int64{batch, 16}, Data: x}}
	runs, start := 0, time.Now()
	for time.Since(start) < time.Second {
		if _, err := m.Run(context.Background(), in); err != nil {
			b.Fatal(err)
		}
		runs++
	}
	return float64(runs*batch) / time.Since(start).Seconds()
}

// rowGen is an io.Reader of NDJSON mlp-small rows, made as they are read.
type rowGen struct {
	rows, next int
	buf        []byte
}

func (g *rowGen) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.next < g.rows {
		g.buf = append(g.buf, `{"input":[`...)
		for k := range 16 {
			if k > 0 {
				g.buf = append(g.buf, ',')
			}
			v := math.Sin(float64(g.next)*0.01 + float64(k)*0.37)
			g.buf = strconv.AppendFloat(g.buf, v, 'g', 8, 32)
		}
		g.buf = append(g.buf, "]}\n"...)
		g.next++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}
