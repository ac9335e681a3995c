package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
)

// warmTask is one warmup sample handed to a worker goroutine, which runs
// it on its own model (the only goroutine that may) before it serves.
type warmTask struct {
	inputs []backends.Tensor
	runs   int
	stop   <-chan struct{} // closed when shutdown begins (Manager.BeginShutdown): the rest of the runs are skipped
	done   chan error
}

// takeWarmups runs the warmup samples the loader hands the worker, until
// the loader says warmup is over. It runs on the worker goroutine, between
// load and serve.
func (w *worker) takeWarmups() {
	for t := range w.warm {
		var err error
		for i := 0; i < t.runs && err == nil; i++ {
			select {
			case <-t.stop:
				err = ErrShuttingDown
				continue
			default:
			}
			_, _, err = w.execute(t.inputs, false)
		}
		t.done <- err
	}
}

// endWarmup tells the worker warmup is over. Only the loading goroutine
// calls it (before serve, and in abort); warmEnded is the loader's alone.
func (w *worker) endWarmup() {
	if w.warm != nil && !w.warmEnded {
		close(w.warm)
		w.warmEnded = true
	}
}

// warmup runs the config's warmup samples on every instance, as Triton's
// model_warmup does, before the version turns READY: each sample Count
// times per instance, the instances in parallel. A sample that does not
// fit the model, or fails to run, fails the load with its name. It
// returns how long warmup took. Once stop is closed (shutdown began) the
// samples' remaining runs are skipped and the load fails with
// ErrShuttingDown: a warmup of minutes must not hold shutdown.
func warmup(v *ModelVersion, modelDir string, stop <-chan struct{}) (time.Duration, error) {
	defer func() {
		for _, w := range v.workers {
			w.endWarmup()
		}
	}()
	if len(v.Config.Warmup) == 0 {
		return 0, nil
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(uint64(v.Version), 0x7466)) // fixed seed: the same warmup every load
	for i, sample := range v.Config.Warmup {
		inputs, err := warmupInputs(v.Name, &v.Sig, sample, modelDir, rng)
		if err == nil {
			err = v.Sig.CheckShapes(v.Name, inputs)
		}
		if err != nil {
			field := "warmup" // config.yaml's name; config.pbtxt's is model_warmup
			if v.Config.Triton != nil {
				field = "model_warmup"
			}
			return 0, &config.FieldError{Field: fmt.Sprintf("%s[%d] (%s)", field, i, sample.Name), Msg: err.Error()}
		}
		tasks := make([]warmTask, len(v.workers))
		for j, w := range v.workers {
			tasks[j] = warmTask{inputs: inputs, runs: sample.Runs(), stop: stop, done: make(chan error, 1)}
			w.warm <- tasks[j]
		}
		for j, t := range tasks {
			if err := <-t.done; errors.Is(err, ErrShuttingDown) {
				return 0, err
			} else if err != nil {
				return 0, fmt.Errorf("warmup sample %q on instance %d: %w", sample.Name, j, err)
			}
		}
	}
	return time.Since(start), nil
}

// maxWarmupBytes bounds one warmup input's memory. A sample is built
// before the model runs it, so dims mistyped or hostile (a million
// million elements) are refused here, as a request's are by its body
// limit, instead of taking the server's memory or crashing it.
const maxWarmupBytes = 256 << 20

// warmupInputs builds one sample's tensors, in the signature's input order.
// Each input's shape is checked against the model before its data is made.
func warmupInputs(model string, sig *Signature, sample config.Warmup, modelDir string, rng *rand.Rand) ([]backends.Tensor, error) {
	for name := range sample.Inputs {
		if sig.inputIndex(name) < 0 {
			return nil, fmt.Errorf("the model has no input %q (its inputs: %s)", name, sig.inputNames())
		}
	}
	if sig.MaxBatchSize == 0 && sample.Items() != 1 {
		return nil, fmt.Errorf("batch_size is %d, but the model does not batch (max_batch_size 0): use 1", sample.Items())
	}
	if sample.Items() > max(sig.MaxBatchSize, 1) {
		return nil, fmt.Errorf("batch_size %d is over max_batch_size %d", sample.Items(), sig.MaxBatchSize)
	}
	out := make([]backends.Tensor, len(sig.Inputs))
	for i, spec := range sig.Inputs {
		in, ok := sample.Inputs[spec.Name]
		if !ok {
			return nil, fmt.Errorf("no data for input %q", spec.Name)
		}
		dt, ok := backends.ParseDataType(in.DataTypeName())
		if !ok || dt != spec.DataType {
			return nil, fmt.Errorf("input %q is %s, the sample gives %s", spec.Name, spec.DataType, in.DataType)
		}
		shape := slices.Clone(in.Dims)
		if sig.MaxBatchSize > 0 {
			shape = append([]int64{int64(sample.Items())}, shape...)
		}
		t := backends.Tensor{Name: spec.Name, DataType: dt, Shape: shape}
		if _, err := sig.checkShape(model, &spec, &t); err != nil {
			return nil, err
		}
		n := backends.NumElements(shape)
		each := max(int64(dt.Size()), 1)
		if dt == backends.Bytes {
			each = 32 // a string's slice header and its few bytes
		}
		if n < 0 || n > maxWarmupBytes/each {
			return nil, fmt.Errorf("input %q: dims %v make a sample over the %d MiB a warmup input may take", spec.Name, in.Dims, maxWarmupBytes>>20)
		}
		var err error
		switch {
		case in.File != "":
			err = readWarmupFile(&t, filepath.Join(modelDir, config.WarmupDir, in.File), n)
		case dt == backends.Bytes:
			t.Strings = make([][]byte, n)
			for j := range t.Strings {
				t.Strings[j] = []byte{}
				if in.Data == config.WarmupRandom {
					t.Strings[j] = fmt.Appendf(nil, "%08x", rng.Uint32())
				}
			}
		default:
			t.Data = make([]byte, n*int64(dt.Size()))
			if in.Data == config.WarmupRandom {
				fillRandom(t.Data, dt, rng)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", spec.Name, err)
		}
		out[i] = t
	}
	return out, nil
}

// fillRandom writes random elements: floats in [0, 1), integers in
// [0, 16) (small enough to index an embedding table), booleans 0 or 1.
func fillRandom(b []byte, dt backends.DataType, rng *rand.Rand) {
	size := dt.Size()
	for off := 0; off+size <= len(b); off += size {
		f := rng.Float32()
		e := b[off : off+size]
		switch dt {
		case backends.FP32:
			binary.LittleEndian.PutUint32(e, math.Float32bits(f))
		case backends.FP64:
			binary.LittleEndian.PutUint64(e, math.Float64bits(float64(f)))
		case backends.FP16:
			binary.LittleEndian.PutUint16(e, tensorjson.Float32ToHalf(f))
		case backends.BF16:
			binary.LittleEndian.PutUint16(e, tensorjson.Float32ToBF16(f))
		case backends.Bool:
			e[0] = byte(rng.IntN(2))
		default:
			e[0] = byte(rng.IntN(16)) // little-endian: the low byte; the rest stay 0
		}
	}
}

// readWarmupFile fills t from a raw file: row-major little-endian elements,
// or for BYTES a 4-byte little-endian length then the bytes, per element.
// Only a regular file is read, and no more of it than the sample may
// take: a FIFO, /dev/zero or a huge sparse file is refused unread.
func readWarmupFile(t *backends.Tensor, path string, n int64) error {
	raw, err := config.ReadRegularFile(path, maxWarmupBytes)
	switch {
	case errors.Is(err, config.ErrNotRegular):
		return fmt.Errorf("%s is not a regular file", filepath.Base(path))
	case errors.Is(err, config.ErrOverLimit):
		return fmt.Errorf("%s is over the %d MiB a warmup input may take", filepath.Base(path), maxWarmupBytes>>20)
	case err != nil:
		return err
	}
	if t.DataType != backends.Bytes {
		if want := n * int64(t.DataType.Size()); int64(len(raw)) != want {
			return fmt.Errorf("%s holds %d bytes, shape %v of %s needs %d", path, len(raw), t.Shape, t.DataType, want)
		}
		t.Data = raw
		return nil
	}
	for len(raw) >= 4 && int64(len(t.Strings)) < n {
		l := binary.LittleEndian.Uint32(raw)
		if uint64(len(raw)-4) < uint64(l) {
			break
		}
		t.Strings = append(t.Strings, raw[4:4+l])
		raw = raw[4+l:]
	}
	if int64(len(t.Strings)) != n || len(raw) != 0 {
		return fmt.Errorf("%s does not hold exactly %d length-prefixed BYTES elements", path, n)
	}
	return nil
}
