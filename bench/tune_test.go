package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime"
)

// cancelAfter cancels its context 50 ms after its nth line, within the
// next setting's measurement.
type cancelAfter struct {
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
	out    strings.Builder
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.Write(p)
	if c.n--; c.n == 0 {
		time.AfterFunc(50*time.Millisecond, c.cancel)
	}
	return len(p), nil
}

// An interrupted sweep returns the settings measured before it, and the
// setting it cut short is neither printed nor returned as a row of
// zeros; the error is the interrupt's, not a failed load of the next.
func TestTuneInterruptKeepsWhatWasMeasured(t *testing.T) {
	repo := t.TempDir()
	if err := backendtest.WriteModel(repo, "m", "max_batch_size: 8\n", 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress := &cancelAfter{n: 2, cancel: cancel} // after the as-configured row and the first swept one
	rows, _, err := Tune(ctx, TuneOptions{Repository: repo, Model: "m", Backends: backends.NewRegistry(backendtest.New(backendtest.Options{})),
		Inventory: runtime.Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Groups: []string{"cpu"},
		Sizes: []int{1, 4, 8}, Windows: []time.Duration{0}, Clients: 2, Duration: 100 * time.Millisecond,
		LatencyTarget: time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Progress: progress})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v; want the interrupt's", err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows; want the 2 measured before the interrupt", len(rows))
	}
	for _, r := range rows {
		if r.Result.RowsPerSec() == 0 {
			t.Errorf("a row of zeros: %+v", r)
		}
	}
	if lines := strings.Count(progress.out.String(), "\n"); lines != 2 {
		t.Errorf("%d progress lines; want 2:\n%s", lines, progress.out.String())
	}
}
