package runtime

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
)

// A reload that swaps a version out between a request's lookup and its
// queueing fails no request: Infer hands it to the new version. A version
// unloaded for good still refuses it, as unavailable.
func TestInferFollowsAReloadedVersion(t *testing.T) {
	repo := t.TempDir()
	if err := backendtest.WriteModel(repo, "m", "", 1); err != nil {
		t.Fatal(err)
	}
	m := NewManager(ManagerOptions{Repository: repo, Backends: backends.NewRegistry(backendtest.New(backendtest.Options{})),
		Inventory: Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close(context.Background())
	ctx := context.Background()
	if err := m.Load(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 16)
	for i := range 4 {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(i)))
	}
	req := func() *InferRequest {
		return &InferRequest{Model: "m", Inputs: []backends.Tensor{{Name: "x", DataType: backends.FP32, Shape: []int64{1, 4}, Data: data}}}
	}
	// stopped waits until v has left READY, as a replaced version does
	// in the background.
	stopped := func(v *ModelVersion) {
		for deadline := time.Now().Add(5 * time.Second); v.Ready(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the replaced version stayed READY")
			}
		}
	}

	// onLookup makes Infer's next lookup run action (a reload, an unload)
	// and wait for the version it found to stop; found tells which it was.
	onLookup := func(action func(context.Context, string) error) (found func() *ModelVersion) {
		var v0 *ModelVersion
		m.afterLookup = func(v *ModelVersion) {
			if v0 == nil {
				v0 = v
				if err := action(ctx, "m"); err != nil {
					t.Fatal(err)
				}
				stopped(v)
			}
		}
		return func() *ModelVersion { return v0 }
	}

	stale := onLookup(m.Load)
	resp, err := m.Infer(ctx, req())
	if err != nil || resp.Version != 1 {
		t.Fatalf("a request whose version was reloaded under it: %+v, %v", resp, err)
	}
	if now, _ := m.Version("m", 0); stale() == nil || now == stale() {
		t.Fatal("the hook did not replace the version")
	}
	onLookup(m.Unload)
	if _, err := m.Infer(ctx, req()); KindOf(err) != KindUnavailable {
		t.Fatalf("a request whose model was unloaded under it: %v, want unavailable", err)
	}
}
