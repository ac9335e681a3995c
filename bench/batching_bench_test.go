package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/backends/onnx"
	"github.com/tiffin-ml/tiffin/backends/onnx/onnxtest"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

func ortOrSkip(tb testing.TB) *onnx.Backend {
	tb.Helper()
	return onnx.New(onnx.Options{LibraryPath: onnxtest.LibraryPath(tb)})
}

// hostInventory is every CPU this process may use, for in-process managers.
func hostInventory(tb testing.TB) runtime.Inventory {
	dev, err := runtime.DiscoverDevices(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return dev.Inventory()
}

// BenchmarkBatching drives mlp-large in-process through the runtime (no
// wire) with closed-loop clients of one row each, under each batching mode.
// One op is one request; items/s and p99 are reported as custom metrics,
// and every answer's row count is checked.
func BenchmarkBatching(b *testing.B) {
	ort := ortOrSkip(b)
	defer ort.Close()
	repo := b.TempDir()
	if err := modelgen.WriteRepository(repo); err != nil {
		b.Fatal(err)
	}
	inv := hostInventory(b)
	for _, mode := range []string{config.BatchOff, config.BatchStatic, config.BatchAdaptive} {
		for _, clients := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("model=mlp-large/mode=%s/clients=%d", mode, clients), func(b *testing.B) {
				m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(ort), Inventory: inv,
					Override: func(_ string, cfg *config.Model) error {
						cfg.Batching.Mode = mode
						cfg.Batching.MaxQueueSize = 4096
						return nil
					}})
				defer m.Close(context.Background())
				if err := m.Load(context.Background(), "mlp-large"); err != nil {
					b.Fatal(err)
				}
				v, _ := m.Version("mlp-large", 0)
				in := SyntheticInputs(v.Sig.Inputs, 1, 1)
				call := func(ctx context.Context, _ int) (int, error) {
					resp, err := m.Infer(ctx, &runtime.InferRequest{Model: "mlp-large", Inputs: append([]backends.Tensor(nil), in...)})
					if err != nil {
						return 0, err
					}
					if resp.Outputs[0].Shape[0] != 1 || len(resp.Outputs[0].Data) != 256*4 {
						return 0, fmt.Errorf("answer has shape %v", resp.Outputs[0].Shape)
					}
					return 1, nil
				}
				b.ReportAllocs()
				b.ResetTimer()
				res := ClosedLoop(context.Background(), clients, int64(b.N), 0, call)
				b.StopTimer()
				if res.Errors > 0 || res.Rows != int64(b.N) {
					b.Fatalf("%d of %d rows answered, %d errors (first: %v)", res.Rows, b.N, res.Errors, res.FirstErr)
				}
				b.ReportMetric(res.RowsPerSec(), "items/s")
				b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99_ms")
			})
		}
	}
}
