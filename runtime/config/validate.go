package config

import (
	"fmt"
	"math"
	"slices"

	"github.com/tiffin-ml/tiffin/batcher"
)

// Upper bounds on what a config may ask for. Each is far above any real
// model's need, and keeps a mistyped or hostile config from taking the
// server down with it: the queue's rings are made whole at load, every
// instance may hold an OS thread (Go ends the process past 10,000), and
// max_batch_size sizes counters by its powers of two.
const (
	MaxQueueSizeLimit = 1 << 16       // batching.max_queue_size: two rings of this many slots, ~6 MB a version
	MaxInstancesLimit = 256           // instance_groups[].count
	MaxBatchSizeLimit = math.MaxInt32 // max_batch_size: config.pbtxt's own bound
)

// Validate checks the values that can be checked without the model file.
// Errors are *FieldError naming the field; the caller fills in the file.
func (m *Model) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	// The backend name is checked by the runtime, against the backends
	// this process registered.
	if m.MaxBatchSize != nil && (*m.MaxBatchSize < 0 || *m.MaxBatchSize > MaxBatchSizeLimit) {
		return bad("max_batch_size", "must be 0 to %d, got %d", MaxBatchSizeLimit, *m.MaxBatchSize)
	}
	for _, l := range []struct {
		field string // config.pbtxt's: only it declares tensors
		list  []TensorConfig
	}{{"input", m.Inputs}, {"output", m.Outputs}} {
		first := make(map[string]int, len(l.list))
		for i, tc := range l.list {
			if j, ok := first[tc.Name]; ok {
				return bad(fmt.Sprintf("%s[%d].name", l.field, i), "%q is also %s[%d]", tc.Name, l.field, j)
			}
			first[tc.Name] = i
		}
	}
	for i, g := range m.InstanceGroups {
		if err := g.validate(fmt.Sprintf("instance_groups[%d]", i)); err != nil {
			return err
		}
	}
	if err := m.Batching.validate(); err != nil {
		return err
	}
	if err := validateWarmup(m.Warmup); err != nil {
		return err
	}
	return m.VersionPolicy.validate()
}

func (g InstanceGroup) validate(at string) error {
	switch g.Kind {
	case "", KindCPU, KindGPU, KindAuto:
	default:
		return &FieldError{Field: at + ".kind", Msg: fmt.Sprintf("unknown kind %q (want cpu, gpu or auto)", g.Kind)}
	}
	if g.Count < 0 || g.Count > MaxInstancesLimit {
		return &FieldError{Field: at + ".count", Msg: fmt.Sprintf("must be 1 to %d, got %d", MaxInstancesLimit, g.Count)}
	}
	for _, c := range g.Cores {
		if c < 0 {
			return &FieldError{Field: at + ".cores", Msg: fmt.Sprintf("negative CPU id %d", c)}
		}
	}
	for _, c := range g.GPUs {
		if c < 0 {
			return &FieldError{Field: at + ".gpus", Msg: fmt.Sprintf("negative GPU id %d", c)}
		}
	}
	if g.GPUMemLimit != 0 {
		if g.Kind != KindGPU && g.Kind != KindAuto {
			return &FieldError{Field: at + ".gpu_mem_limit", Msg: "is for kind gpu or auto only"}
		}
		if g.GPUMemLimit < MinGPUMemLimit {
			return &FieldError{Field: at + ".gpu_mem_limit", Msg: fmt.Sprintf("must be at least %v, got %v", MinGPUMemLimit, g.GPUMemLimit)}
		}
	}
	return nil
}

func (b Batching) validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: "batching." + field, Msg: fmt.Sprintf(format, args...)}
	}
	if b.Mode != "" {
		if _, err := batcher.ParseMode(b.Mode); err != nil {
			return bad("mode", "%v", err)
		}
	}
	if b.MaxQueueDelay.Duration < 0 {
		return bad("max_queue_delay", "must not be negative")
	}
	if b.MaxQueueSize < 0 || b.MaxQueueSize > MaxQueueSizeLimit {
		return bad("max_queue_size", "must be 1 to %d (0: the default), got %d", MaxQueueSizeLimit, b.MaxQueueSize)
	}
	if b.Timeout < 0 {
		return bad("timeout", "must not be negative")
	}
	if b.LatencyTarget < 0 {
		return bad("latency_target", "must not be negative")
	}
	for _, p := range b.PreferredBatchSizes {
		if p <= 0 {
			return bad("preferred_batch_sizes", "sizes must be >= 1, got %d", p)
		}
	}
	return nil
}

func (v VersionPolicy) validate() error {
	set := 0
	if v.Latest != 0 {
		set++
	}
	if v.All {
		set++
	}
	if len(v.Specific) > 0 {
		set++
	}
	if set > 1 {
		return &FieldError{Field: "version_policy", Msg: "set only one of latest, all, specific"}
	}
	if v.Latest < 0 {
		return &FieldError{Field: "version_policy.latest", Msg: fmt.Sprintf("must be >= 1, got %d", v.Latest)}
	}
	for _, s := range v.Specific {
		if s <= 0 {
			return &FieldError{Field: "version_policy.specific", Msg: fmt.Sprintf("versions are >= 1, got %d", s)}
		}
	}
	return nil
}

// Select returns the versions the policy serves, from the ones on disk
// (sorted ascending). The result is sorted ascending.
func (v VersionPolicy) Select(onDisk []int64) []int64 {
	switch {
	case v.All:
		return slices.Clone(onDisk)
	case len(v.Specific) > 0:
		var out []int64
		for _, s := range onDisk {
			if slices.Contains(v.Specific, s) {
				out = append(out, s)
			}
		}
		return out
	default:
		n := max(v.Latest, 1)
		if n > len(onDisk) {
			n = len(onDisk)
		}
		return slices.Clone(onDisk[len(onDisk)-n:])
	}
}

// WithDefaults fills the batching fields left out with their defaults.
func (b Batching) WithDefaults(batches bool) Batching {
	if b.Mode == "" {
		b.Mode = BatchOff
		if batches {
			b.Mode = BatchAdaptive
		}
	}
	if !b.MaxQueueDelay.Set {
		b.MaxQueueDelay = Opt(DefaultMaxQueueDelay)
	}
	if b.MaxQueueSize == 0 {
		b.MaxQueueSize = DefaultMaxQueueSize
	}
	if b.Timeout == 0 {
		b.Timeout = Duration(DefaultTimeout)
	}
	if b.LatencyTarget == 0 {
		b.LatencyTarget = Duration(DefaultLatencyTarget)
	}
	return b
}
