package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tiffin-ml/tiffin/backends"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// LoadTriton reads a Triton config.pbtxt (protobuf text of Triton's
// ModelConfig) and maps it onto tiffin's Model. A missing file gives the
// zero Model. Fields that tiffin does not act on but that are safe to pass
// over are listed in Model.Ignored; fields whose meaning tiffin cannot
// honour (sequence batching, ensembles, reshape, decoupled models...) are
// a *FieldError, so the model is UNAVAILABLE rather than served wrongly.
func LoadTriton(path string) (Model, error) {
	raw, err := readConfig(path)
	if errors.Is(err, os.ErrNotExist) {
		return Model{}, nil
	}
	if err != nil {
		return Model{}, err
	}
	pc := &pb.ModelConfig{}
	if err := prototext.Unmarshal(raw, pc); err != nil {
		// protobuf-go spells "proto:" with a space or a no-break space, at
		// random, to keep callers from matching its messages.
		msg := strings.ReplaceAll(err.Error(), "\u00a0", " ")
		return Model{}, &FieldError{File: path, Msg: strings.TrimPrefix(msg, "proto: ")}
	}
	m, err := FromTriton(pc)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.File = path
		}
		return m, err
	}
	m.File = path
	err = validateIn(&m, path)
	var fe *FieldError
	if errors.As(err, &fe) {
		fe.Field = TritonField(fe.Field)
	}
	return m, err
}

// tritonNames are config.yaml's names for fields, or their starts, and
// how config.pbtxt spells them.
var tritonNames = [][2]string{
	{"warmup[", "model_warmup["},
	{"instance_groups[", "instance_group["},
	{"batching.preferred_batch_sizes", "dynamic_batching.preferred_batch_size"},
	{"batching.max_queue_delay", "dynamic_batching.max_queue_delay_microseconds"},
}

// TritonField is a config.yaml field name as config.pbtxt spells it, for
// errors about a model configured by a config.pbtxt.
func TritonField(field string) string {
	for _, n := range tritonNames {
		if strings.HasPrefix(field, n[0]) {
			return n[1] + strings.TrimPrefix(field, n[0])
		}
	}
	return field
}

// FromTriton maps a parsed Triton ModelConfig onto tiffin's Model. Errors
// are *FieldError naming the Triton field; the caller fills in the file.
func FromTriton(pc *pb.ModelConfig) (Model, error) {
	m := Model{Triton: pc, ModelFile: pc.GetDefaultModelFilename()}
	t := &tritonReader{}
	m.Backend = pc.GetBackend()
	if m.Backend == "" {
		m.Backend = pc.GetPlatform()
	}
	if mbs := int(pc.GetMaxBatchSize()); mbs != 0 || len(pc.GetInput())+len(pc.GetOutput()) > 0 {
		// Without inputs and outputs the config leaves the model to be
		// completed from its file, as Triton's auto-complete does, and
		// an absent max_batch_size is inferred too.
		m.MaxBatchSize = &mbs
	}
	if f := m.ModelFile; f != "" && (filepath.Base(f) != f || f == "." || f == "..") {
		return m, t.bad("default_model_filename", "%q must be a file name in the version folder", f)
	}
	var err error
	if m.Inputs, err = t.inputs(pc.GetInput()); err != nil {
		return m, err
	}
	if m.Outputs, err = t.outputs(pc.GetOutput()); err != nil {
		return m, err
	}
	if err := t.scheduling(pc, &m); err != nil {
		return m, err
	}
	if m.InstanceGroups, err = t.groups(pc.GetInstanceGroup()); err != nil {
		return m, err
	}
	m.VersionPolicy = versionPolicyOf(pc.GetVersionPolicy())
	if m.Warmup, err = warmupOf(pc.GetModelWarmup()); err != nil {
		return m, err
	}
	if pc.GetModelTransactionPolicy().GetDecoupled() {
		return m, t.bad("model_transaction_policy.decoupled", "decoupled models (zero or many responses per request) are not supported")
	}
	if len(pc.GetBatchInput())+len(pc.GetBatchOutput()) > 0 {
		return m, t.bad("batch_input", "inputs computed from the batch (batch_input, batch_output) are not supported")
	}
	for _, k := range sortedKeys(pc.GetParameters()) {
		t.ignore("parameters." + k) // tiffin sets ONNX Runtime's threads from the instance's cores
	}
	t.ignoreTopLevel(pc)
	slices.Sort(t.ignored)
	m.Ignored = t.ignored
	return m, nil
}

// handledTopLevel are the ModelConfig fields FromTriton maps or checks
// itself; any other field that is set is listed as ignored.
var handledTopLevel = []string{"name", "platform", "backend", "max_batch_size", "input", "output",
	"dynamic_batching", "sequence_batching", "ensemble_scheduling", "instance_group", "version_policy",
	"default_model_filename", "model_warmup", "parameters", "model_transaction_policy", "batch_input", "batch_output"}

// TritonDefaultCPUCount is the instance count of a KIND_CPU group that
// gives none: Triton runs two for ONNX Runtime models.
const TritonDefaultCPUCount = 2

type tritonReader struct {
	ignored []string
	seen    map[string]bool // the fields in ignored: a config may set many parameters
}

func (t *tritonReader) bad(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (t *tritonReader) ignore(field string) {
	if t.seen == nil {
		t.seen = map[string]bool{}
	}
	if !t.seen[field] {
		t.seen[field] = true
		t.ignored = append(t.ignored, field)
	}
}

func (t *tritonReader) ignoreTopLevel(pc *pb.ModelConfig) {
	pc.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if name := string(fd.Name()); !slices.Contains(handledTopLevel, name) {
			t.ignore(name)
		}
		return true
	})
}

func (t *tritonReader) tensor(at, name string, dt pb.DataType, dims []int64, reshape *pb.ModelTensorReshape) (TensorConfig, error) {
	if name == "" {
		return TensorConfig{}, t.bad(at+".name", "is required")
	}
	if dt == pb.DataType_TYPE_INVALID {
		return TensorConfig{}, t.bad(at+".data_type", "is required (TYPE_FP32, TYPE_INT64, ...)")
	}
	for _, d := range dims {
		if d < -1 || d == 0 {
			return TensorConfig{}, t.bad(at+".dims", "sizes are >= 1 or -1 (any), got %d", d)
		}
	}
	tc := TensorConfig{Name: name, DataType: WarmupInput{DataType: dt.String()}.DataTypeName(), Shape: slices.Clone(dims)}
	if reshape != nil && !slices.Equal(reshape.GetShape(), dims) {
		to := reshape.GetShape()
		if n := backends.NumElements(dims); !fixedSizes(dims) || !fixedSizes(to) || n < 0 || n != backends.NumElements(to) {
			return TensorConfig{}, t.bad(at+".reshape", "%q: dims %v and reshape %v must both be fixed sizes (no -1) holding as many elements: tiffin reshapes only by relabelling the axes of the same data", name, dims, to)
		}
		tc.Reshape, tc.Reshaped = slices.Clone(to), true
	}
	return tc, nil
}

// fixedSizes reports whether every size is 1 or more (no -1).
func fixedSizes(dims []int64) bool {
	return !slices.ContainsFunc(dims, func(d int64) bool { return d < 1 })
}

func (t *tritonReader) inputs(list []*pb.ModelInput) ([]TensorConfig, error) {
	var out []TensorConfig
	for i, in := range list {
		at := fmt.Sprintf("input[%d]", i)
		if in.GetIsShapeTensor() || in.GetAllowRaggedBatch() {
			return nil, t.bad(at, "shape tensors and ragged batches are not supported (input %q)", in.GetName())
		}
		if in.GetOptional() {
			t.ignore("input.optional") // every input is required
		}
		if in.GetIsNonLinearFormatIo() {
			t.ignore("input.is_non_linear_format_io")
		}
		tc, err := t.tensor(at, in.GetName(), in.GetDataType(), in.GetDims(), in.GetReshape())
		if err != nil {
			return nil, err
		}
		out = append(out, tc)
	}
	return out, nil
}

func (t *tritonReader) outputs(list []*pb.ModelOutput) ([]TensorConfig, error) {
	var out []TensorConfig
	for i, o := range list {
		at := fmt.Sprintf("output[%d]", i)
		if o.GetIsShapeTensor() {
			return nil, t.bad(at, "shape tensors are not supported (output %q)", o.GetName())
		}
		if o.GetLabelFilename() != "" {
			t.ignore("output.label_filename") // no classification extension
		}
		if o.GetIsNonLinearFormatIo() {
			t.ignore("output.is_non_linear_format_io")
		}
		tc, err := t.tensor(at, o.GetName(), o.GetDataType(), o.GetDims(), o.GetReshape())
		if err != nil {
			return nil, err
		}
		out = append(out, tc)
	}
	return out, nil
}

// scheduling maps dynamic_batching onto static batching (Triton's dynamic
// batcher: a window, preferred sizes, a bounded queue). A model with a
// max_batch_size but no dynamic_batching runs each request alone, as in
// Triton; a config that leaves max_batch_size to the model file gets
// tiffin's default batching, as Triton's auto-complete adds a dynamic
// batcher.
func (t *tritonReader) scheduling(pc *pb.ModelConfig, m *Model) error {
	switch {
	case pc.GetSequenceBatching() != nil:
		return t.bad("sequence_batching", "stateful models are not supported")
	case pc.GetEnsembleScheduling() != nil:
		return t.bad("ensemble_scheduling", "ensembles are not supported")
	}
	db := pc.GetDynamicBatching()
	if db == nil {
		if m.MaxBatchSize != nil {
			m.Batching.Mode = BatchOff
		}
		return nil
	}
	m.Batching.Mode = BatchStatic
	m.Batching.MaxQueueDelay = Opt(time.Duration(db.GetMaxQueueDelayMicroseconds()) * time.Microsecond)
	for _, p := range db.GetPreferredBatchSize() {
		m.Batching.PreferredBatchSizes = append(m.Batching.PreferredBatchSizes, int(p))
	}
	if db.GetPreserveOrdering() {
		t.ignore("dynamic_batching.preserve_ordering")
	}
	if db.GetPriorityLevels() > 0 || db.GetDefaultPriorityLevel() > 0 || len(db.GetPriorityQueuePolicy()) > 0 {
		t.ignore("dynamic_batching.priority_levels") // one interactive level (and the bulk jobs' below it)
	}
	if q := db.GetDefaultQueuePolicy(); q != nil {
		// 0 is "no bound" and "no timeout" to Triton; tiffin keeps its
		// defaults (1024 requests, 5s) rather than none.
		m.Batching.MaxQueueSize = int(q.GetMaxQueueSize())
		if m.Batching.MaxQueueSize > MaxQueueSizeLimit {
			return t.bad("dynamic_batching.default_queue_policy.max_queue_size", "must be at most %d (the queue is made whole at load), got %d",
				MaxQueueSizeLimit, m.Batching.MaxQueueSize)
		}
		m.Batching.Timeout = Duration(time.Duration(q.GetDefaultTimeoutMicroseconds()) * time.Microsecond)
		if q.GetTimeoutAction() == pb.ModelQueuePolicy_DELAY {
			t.ignore("dynamic_batching.default_queue_policy.timeout_action") // a timed-out request is always rejected
		}
		if !q.GetAllowTimeoutOverride() && q.GetDefaultTimeoutMicroseconds() > 0 {
			t.ignore("dynamic_batching.default_queue_policy.allow_timeout_override") // a request's timeout always applies
		}
	}
	return nil
}

func (t *tritonReader) groups(list []*pb.ModelInstanceGroup) ([]InstanceGroup, error) {
	var out []InstanceGroup
	for i, g := range list {
		at := fmt.Sprintf("instance_group[%d]", i)
		ig := InstanceGroup{Count: int(g.GetCount())}
		switch g.GetKind() {
		case pb.ModelInstanceGroup_KIND_CPU:
			ig.Kind = KindCPU
		case pb.ModelInstanceGroup_KIND_GPU:
			ig.Kind = KindGPU
		case pb.ModelInstanceGroup_KIND_AUTO:
			ig.Kind = KindAuto
		default:
			return nil, t.bad(at+".kind", "%s is not supported (KIND_CPU, KIND_GPU or KIND_AUTO)", g.GetKind())
		}
		if ig.Count < 0 || ig.Count > MaxInstancesLimit {
			return nil, t.bad(at+".count", "must be 1 to %d, got %d", MaxInstancesLimit, ig.Count)
		}
		if ig.Count == 0 && ig.Kind == KindCPU {
			ig.Count = TritonDefaultCPUCount
		}
		for _, id := range g.GetGpus() {
			ig.GPUs = append(ig.GPUs, int(id))
		}
		if len(ig.GPUs) > 0 && ig.Kind == KindCPU {
			return nil, t.bad(at+".gpus", "a KIND_CPU group lists GPUs %v", ig.GPUs)
		}
		for name, set := range map[string]bool{
			"instance_group.profile": len(g.GetProfile()) > 0, "instance_group.rate_limiter": g.GetRateLimiter() != nil,
			"instance_group.passive": g.GetPassive(), "instance_group.secondary_devices": len(g.GetSecondaryDevices()) > 0,
			"instance_group.host_policy": g.GetHostPolicy() != "",
		} {
			if set {
				t.ignore(name)
			}
		}
		out = append(out, ig)
	}
	return out, nil
}

func versionPolicyOf(vp *pb.ModelVersionPolicy) VersionPolicy {
	switch {
	case vp.GetAll() != nil:
		return VersionPolicy{All: true}
	case vp.GetSpecific() != nil:
		return VersionPolicy{Specific: slices.Clone(vp.GetSpecific().GetVersions())}
	case vp.GetLatest() != nil:
		return VersionPolicy{Latest: int(vp.GetLatest().GetNumVersions())}
	}
	return VersionPolicy{}
}

func warmupOf(list []*pb.ModelWarmup) ([]Warmup, error) {
	var out []Warmup
	for i, w := range list {
		ws := Warmup{Name: w.GetName(), BatchSize: int(w.GetBatchSize()), Count: int(w.GetCount()), Inputs: map[string]WarmupInput{}}
		for _, name := range sortedKeys(w.GetInputs()) {
			in := w.GetInputs()[name]
			wi := WarmupInput{DataType: in.GetDataType().String(), Dims: slices.Clone(in.GetDims()), File: in.GetInputDataFile()}
			switch {
			case in.GetZeroData():
				wi.Data = WarmupZero
			case in.GetRandomData():
				wi.Data = WarmupRandom
			case wi.File == "":
				return nil, &FieldError{Field: fmt.Sprintf("model_warmup[%d].inputs.%s", i, name),
					Msg: "set zero_data, random_data or input_data_file"}
			}
			if in.GetDataType() == pb.DataType_TYPE_INVALID {
				wi.DataType = ""
			}
			ws.Inputs[name] = wi
		}
		out = append(out, ws)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
