package gorgonia

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/tiffin-ml/tiffin/backends"
)

// BackendName is the name model configurations use for this backend.
const BackendName = "gorgonia"

// DefaultMaxShapes is how many compiled graphs (one per set of input shapes,
// in practice per batch size) an instance keeps by default.
const DefaultMaxShapes = 8

// Options configures the backend.
type Options struct {
	// MaxShapes bounds the compiled graphs each instance keeps, least
	// recently used evicted first; 0 means DefaultMaxShapes.
	MaxShapes int
	// Logger receives load-time notes; nil means slog.Default().
	Logger *slog.Logger
}

// Backend is the pure-Go ONNX backend. It holds no state of its own beyond
// its options, so it is safe for concurrent use.
type Backend struct {
	maxShapes int
	logger    *slog.Logger
}

var _ backends.Backend = (*Backend)(nil)

// New returns the backend.
func New(opts Options) *Backend {
	b := &Backend{maxShapes: opts.MaxShapes, logger: opts.Logger}
	if b.maxShapes <= 0 {
		b.maxShapes = DefaultMaxShapes
	}
	if b.logger == nil {
		b.logger = slog.Default()
	}
	return b
}

// Name returns "gorgonia".
func (b *Backend) Name() string { return BackendName }

// Describe says that the backend loads model.onnx and comes after ONNX
// Runtime in auto order: it is the fallback that always loads.
func (b *Backend) Describe() backends.Description {
	return backends.Description{ModelFiles: []string{"model.onnx"}, AutoOrder: 20}
}

// Available returns nil: the backend is pure Go and needs nothing at run
// time.
func (b *Backend) Available() error { return nil }

// Load reads the ONNX model at spec.Path, checks that every op, input and
// output is supported, and builds the graph for batch 1 (every dynamic axis
// 1), so that shape errors surface now rather than at the first request.
// A model with integer inputs is built at its first request instead: their
// values are part of the graph.
func (b *Backend) Load(ctx context.Context, spec backends.LoadSpec) (backends.Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("model %q: %w", spec.Model, err)
	}
	if spec.Device.Kind != backends.CPU {
		return nil, fmt.Errorf("model %q: the gorgonia backend runs on the CPU only, not on %s", spec.Model, spec.Device.Kind)
	}
	data, err := os.ReadFile(spec.Path)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", spec.Model, err)
	}
	p, err := parseProgram(spec.Model, data)
	if err != nil {
		return nil, err
	}
	logger := spec.Logger
	if logger == nil {
		logger = b.logger
	}
	m := &Model{prog: p, cache: &machineCache{max: b.maxShapes}}
	if name, ok := p.intInput(); ok {
		logger.Info("gorgonia: the model has integer inputs, whose values are part of its graphs; building on first run",
			"model", spec.Model, "input", name)
	} else {
		probe, onlyBatch := probeInputs(p.meta.Inputs)
		mach, err := buildGraph(p, probe)
		switch {
		case err == nil:
			mach.key = string(shapeKey(nil, probe))
			m.cache.put(mach)
		case onlyBatch:
			return nil, err
		default:
			// Another dynamic axis may make 1 an invalid size; the first run
			// will build the graph for the shapes it brings.
			logger.Warn("gorgonia: could not build the graph for dynamic axes of size 1; building on first run",
				"model", spec.Model, "error", err)
		}
	}
	if spec.Threads > 1 {
		logger.Debug("gorgonia: the thread count is not honoured; gorgonia and gonum size their parallelism from GOMAXPROCS",
			"model", spec.Model, "threads", spec.Threads)
	}
	return m, nil
}

// probeInputs are data-less inputs of the metadata's shapes with every
// dynamic axis 1, and whether the only dynamic axes were leading (batch)
// ones.
func probeInputs(specs []backends.TensorSpec) ([]backends.Tensor, bool) {
	onlyBatch := true
	ts := make([]backends.Tensor, len(specs))
	for i, s := range specs {
		ts[i] = backends.Tensor{Name: s.Name, DataType: s.DataType, Shape: make([]int64, len(s.Shape))}
		for j, d := range s.Shape {
			ts[i].Shape[j] = d
			if d < 0 {
				ts[i].Shape[j] = 1
				onlyBatch = onlyBatch && j == 0
			}
		}
	}
	return ts, onlyBatch
}
