package runtime

import (
	"context"
	"log/slog"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

// fixedModel answers every run with the same outputs, allocating nothing,
// so that what a run allocates is the worker's own.
type fixedModel struct{ out []backends.Tensor }

func (m fixedModel) Metadata() backends.Metadata { return backends.Metadata{} }
func (m fixedModel) Run(context.Context, []backends.Tensor) ([]backends.Tensor, error) {
	return m.out, nil
}
func (m fixedModel) Close() error { return nil }

// An interactive batch's run allocates nothing in the worker: before, the
// closure that can carry a bulk call to a low thread, and what it
// captured, were made for every batch (3 allocations).
func TestExecuteInPlaceAllocatesNothing(t *testing.T) {
	out := []backends.Tensor{{Name: "y", DataType: backends.FP32, Shape: []int64{1, 1}, Data: make([]byte, 4)}}
	w := &worker{model: fixedModel{out: out}, log: slog.New(slog.DiscardHandler)}
	in := []backends.Tensor{{Name: "x", DataType: backends.FP32, Shape: []int64{1, 1}, Data: make([]byte, 4)}}
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := w.execute(in, false); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("an interactive batch's execute allocated %v times", n)
	}
}
