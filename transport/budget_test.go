package transport

import (
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// BYTES inputs are charged per element, never for more elements than the
// body could hold, and refused past MaxExpansion times the body; a request
// needing more than the whole budget is told it can never be served, one
// needing more than what is left to retry.
func TestBudgetChargesStrings(t *testing.T) {
	in := []backends.Tensor{
		{Name: "s", DataType: backends.Bytes, Shape: []int64{1, 1000}},
		{Name: "x", DataType: backends.FP32, Shape: []int64{1, 1000}},
	}
	b := NewBudget(1 << 30)
	if got, err := ChargeStrings(b, in, 1<<20, 0); err != nil || got != 1000*StringElementCost || b.Used() != got {
		t.Fatalf("1000 elements in 1 MiB: %d (%v), used %d; want %d", got, err, b.Used(), 1000*StringElementCost)
	}
	b.Release(b.Used())
	if got, err := ChargeStrings(b, in, 100, 0); err != nil || got != 50*StringElementCost {
		t.Fatalf("1000 elements claimed in 100 bytes: %d (%v), want the 50 they could be", got, err)
	}
	b.Release(b.Used())
	many := []backends.Tensor{{Name: "s", DataType: backends.Bytes, Shape: []int64{1, 4 << 20}}}
	if _, err := ChargeStrings(b, many, 16<<20, 0); runtime.KindOf(err) != runtime.KindInvalidArgument ||
		!strings.Contains(err.Error(), "holds 4194304 BYTES elements") || b.Used() != 0 {
		t.Fatalf("4M empty elements in 16 MiB: %v, used %d", err, b.Used())
	}
	small := NewBudget(1000)
	if err := small.Reserve(2000); runtime.KindOf(err) != runtime.KindTooLarge || !strings.Contains(err.Error(), "more than the whole in-flight budget") {
		t.Fatalf("over the whole budget: %v", err)
	}
	if err := small.Reserve(800); err != nil {
		t.Fatal(err)
	}
	if err := small.Reserve(300); err == nil || !strings.Contains(err.Error(), "retry later") {
		t.Fatalf("over what is left: %v", err)
	}
	// A request holding 800 for its body whose strings need 300 more can
	// never be served, though the strings alone would fit: 413, not 429.
	if err := small.ReserveMore(300, 800); runtime.KindOf(err) != runtime.KindTooLarge || !strings.Contains(err.Error(), "needs about 1100 bytes") {
		t.Fatalf("strings beside the request's own body, over the whole budget: %v", err)
	}
	if small.Used() != 800 {
		t.Fatalf("used %d after refusals, want the 800 still held", small.Used())
	}
}
