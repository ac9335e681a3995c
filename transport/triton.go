package transport

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// Models is what the front ends need of the runtime's model manager.
// *runtime.Manager implements it.
type Models interface {
	Infer(ctx context.Context, req *runtime.InferRequest) (*runtime.InferResponse, error)
	Version(name string, version int64) (*runtime.ModelVersion, error)
	Versions(name string) ([]int64, error)
	Index() []runtime.VersionStatus
	NotLoaded() []string
	Load(ctx context.Context, name string) error
	Unload(ctx context.Context, name string) error
	Readiness(strict bool) error // nil when ready, else why not
}

// ParseVersion reads a version as the wire carries it: "" is 0, the newest
// READY version.
func ParseVersion(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, runtime.Errorf(runtime.KindInvalidArgument, "invalid model version %q: versions are whole numbers >= 1", s)
	}
	return v, nil
}

// ReadyVersion finds a model version and fails with KindUnavailable when it
// is not READY, saying why.
func ReadyVersion(m Models, name string, version int64) (*runtime.ModelVersion, error) {
	v, err := m.Version(name, version)
	if err != nil {
		return nil, err
	}
	// A reload swaps the version out, then unloads the old one: a lookup
	// just before the swap finds the old one leaving. Its successor takes
	// the request, as the runtime's own later check does (Manager.Infer),
	// so a reload fails no request; a version leaving for good is reported.
	for tries := 0; !v.Ready() && tries < 3; tries++ {
		next, err := m.Version(name, version)
		if err != nil || next == v {
			break
		}
		v = next
	}
	if st := v.Status(); st.State != runtime.StateReady {
		return nil, runtime.Errorf(runtime.KindUnavailable, "model %s version %d is %s: %s", name, v.Version, st.State, st.Reason)
	}
	return v, nil
}

// ModelMetadata builds the V2 model metadata of a READY version.
func ModelMetadata(m Models, name string, version int64) (*pb.ModelMetadataResponse, error) {
	v, err := ReadyVersion(m, name, version)
	if err != nil {
		return nil, err
	}
	md := &pb.ModelMetadataResponse{Name: name, Platform: v.Platform,
		Inputs: tensorMetadata(v.Sig.Inputs), Outputs: tensorMetadata(v.Sig.Outputs)}
	versions := []int64{version}
	if version == 0 {
		versions, _ = m.Versions(name)
	}
	for _, n := range versions {
		md.Versions = append(md.Versions, strconv.FormatInt(n, 10))
	}
	return md, nil
}

func tensorMetadata(specs []backends.TensorSpec) []*pb.ModelMetadataResponse_TensorMetadata {
	out := make([]*pb.ModelMetadataResponse_TensorMetadata, len(specs))
	for i, s := range specs {
		out[i] = &pb.ModelMetadataResponse_TensorMetadata{Name: s.Name, Datatype: s.DataType.String(), Shape: s.Shape}
	}
	return out
}

// ModelConfig builds Triton's ModelConfig of a READY version from its
// resolved config and signature. With max_batch_size > 0 the dims leave out
// the batch axis, as Triton's do.
func ModelConfig(m Models, name string, version int64) (*pb.ModelConfig, error) {
	v, err := ReadyVersion(m, name, version)
	if err != nil {
		return nil, err
	}
	cfg := &pb.ModelConfig{
		Name:          v.Name,
		Platform:      v.Platform,
		Backend:       v.Backend,
		MaxBatchSize:  int32(v.Sig.MaxBatchSize),
		VersionPolicy: versionPolicy(v.Config.VersionPolicy),
		InstanceGroup: instanceGroups(v.Name, v.Config.InstanceGroups),
	}
	batched := v.Sig.MaxBatchSize > 0
	for _, s := range v.Sig.Inputs {
		cfg.Input = append(cfg.Input, &pb.ModelInput{Name: s.Name, DataType: ConfigDataType(s.DataType), Dims: dims(s.Shape, batched)})
	}
	for _, s := range v.Sig.Outputs {
		cfg.Output = append(cfg.Output, &pb.ModelOutput{Name: s.Name, DataType: ConfigDataType(s.DataType), Dims: dims(s.Shape, batched)})
	}
	if b := v.Config.Batching; batched && b.Mode != config.BatchOff {
		cfg.SchedulingChoice = &pb.ModelConfig_DynamicBatching{DynamicBatching: dynamicBatching(b)}
	}
	if v.Config.Triton != nil {
		return completeTriton(v, cfg), nil // tritonconfig.go
	}
	return cfg, nil
}

// ConfigDataType maps a V2 datatype to the model config enum (BYTES is
// TYPE_STRING there).
func ConfigDataType(dt backends.DataType) pb.DataType {
	if dt == backends.Bytes {
		return pb.DataType_TYPE_STRING
	}
	v, ok := pb.DataType_value["TYPE_"+dt.String()]
	if !ok {
		return pb.DataType_TYPE_INVALID
	}
	return pb.DataType(v)
}

func dims(shape []int64, batched bool) []int64 {
	if batched && len(shape) > 0 {
		shape = shape[1:]
	}
	return append([]int64{}, shape...)
}

func versionPolicy(p config.VersionPolicy) *pb.ModelVersionPolicy {
	switch {
	case p.All:
		return &pb.ModelVersionPolicy{PolicyChoice: &pb.ModelVersionPolicy_All_{All: &pb.ModelVersionPolicy_All{}}}
	case len(p.Specific) > 0:
		return &pb.ModelVersionPolicy{PolicyChoice: &pb.ModelVersionPolicy_Specific_{
			Specific: &pb.ModelVersionPolicy_Specific{Versions: p.Specific}}}
	}
	return &pb.ModelVersionPolicy{PolicyChoice: &pb.ModelVersionPolicy_Latest_{
		Latest: &pb.ModelVersionPolicy_Latest{NumVersions: uint32(max(p.Latest, 1))}}}
}

func instanceGroups(model string, groups []config.InstanceGroup) []*pb.ModelInstanceGroup {
	out := make([]*pb.ModelInstanceGroup, len(groups))
	for i, g := range groups {
		kind := pb.ModelInstanceGroup_KIND_CPU
		if g.Kind == config.KindGPU {
			kind = pb.ModelInstanceGroup_KIND_GPU
		}
		ig := &pb.ModelInstanceGroup{Name: model + "_" + strconv.Itoa(i), Count: int32(max(g.Count, 1)), Kind: kind}
		for _, id := range g.GPUs {
			ig.Gpus = append(ig.Gpus, int32(id))
		}
		out[i] = ig
	}
	return out
}

func dynamicBatching(b config.Batching) *pb.ModelDynamicBatching {
	db := &pb.ModelDynamicBatching{
		MaxQueueDelayMicroseconds: uint64(b.MaxQueueDelay.D().Microseconds()),
		DefaultQueuePolicy: &pb.ModelQueuePolicy{
			DefaultTimeoutMicroseconds: uint64(b.Timeout.D().Microseconds()),
			AllowTimeoutOverride:       true,
			MaxQueueSize:               uint32(b.MaxQueueSize),
		},
	}
	for _, n := range b.PreferredBatchSizes {
		db.PreferredBatchSize = append(db.PreferredBatchSize, int32(n))
	}
	return db
}

// RepositoryIndex lists every model version the manager knows and every
// model of the repository it has not loaded (UNAVAILABLE, "not loaded"),
// by name; or only the READY versions.
func RepositoryIndex(m Models, readyOnly bool) *pb.RepositoryIndexResponse {
	resp := &pb.RepositoryIndexResponse{}
	for _, s := range m.Index() {
		if readyOnly && s.State != runtime.StateReady {
			continue
		}
		e := &pb.RepositoryIndexResponse_ModelIndex{Name: s.Model, State: string(s.State), Reason: Public(s.Reason)}
		if s.Version > 0 {
			e.Version = strconv.FormatInt(s.Version, 10)
		}
		resp.Models = append(resp.Models, e)
	}
	if readyOnly {
		return resp
	}
	listed := len(resp.Models)
	for _, name := range m.NotLoaded() {
		// A model unloaded between the two looks is in both: once is enough.
		if !slices.ContainsFunc(resp.Models[:listed], func(e *pb.RepositoryIndexResponse_ModelIndex) bool { return e.Name == name }) {
			resp.Models = append(resp.Models, &pb.RepositoryIndexResponse_ModelIndex{Name: name, State: string(runtime.StateUnavailable), Reason: "not loaded"})
		}
	}
	// Index's order, by name then version, with the unloaded among them.
	slices.SortStableFunc(resp.Models, func(a, b *pb.RepositoryIndexResponse_ModelIndex) int { return strings.Compare(a.Name, b.Name) })
	return resp
}

// ModelStatistics reports Triton's statistics: of every loaded version when
// name is "", of every version of name when version is 0, else of one.
func ModelStatistics(m Models, name string, version int64) (*pb.ModelStatisticsResponse, error) {
	var targets []runtime.VersionStatus
	switch {
	case name == "" && version > 0:
		return nil, runtime.Errorf(runtime.KindInvalidArgument, "statistics of version %d need a model name", version)
	case name == "":
		targets = m.Index()
	case version > 0:
		targets = []runtime.VersionStatus{{Model: name, Version: version}}
	default:
		vs, err := m.Versions(name)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			targets = append(targets, runtime.VersionStatus{Model: name, Version: v})
		}
	}
	resp := &pb.ModelStatisticsResponse{}
	for _, t := range targets {
		if t.Version == 0 {
			continue // a model that failed before any version loaded
		}
		v, err := m.Version(t.Model, t.Version)
		if err != nil {
			if name == "" && runtime.KindOf(err) == runtime.KindNotFound {
				continue // unloaded since Index was read
			}
			return nil, err
		}
		resp.ModelStats = append(resp.ModelStats, modelStatistics(v.Stats()))
	}
	return resp, nil
}

// modelStatistics converts a runtime snapshot. The runtime measures compute
// as one span, so it is reported as compute_infer; compute_input and
// compute_output carry the same count with no time, so that clients that
// divide time by count see zero rather than a missing field.
func modelStatistics(s runtime.Stats) *pb.ModelStatistics {
	ms := &pb.ModelStatistics{
		Name: s.Model, Version: strconv.FormatInt(s.Version, 10),
		InferenceCount: s.InferenceCount, ExecutionCount: s.ExecutionCount,
		InferenceStats: &pb.InferStatistics{
			Success:       duration(s.Success),
			Fail:          duration(s.Fail),
			Queue:         duration(s.Queue),
			ComputeInput:  &pb.StatisticDuration{Count: s.Compute.Count},
			ComputeInfer:  duration(s.Compute),
			ComputeOutput: &pb.StatisticDuration{Count: s.Compute.Count},
			CacheHit:      &pb.StatisticDuration{},
			CacheMiss:     &pb.StatisticDuration{},
		},
		BatchStats: []*pb.InferBatchStatistics{},
	}
	if !s.LastInference.IsZero() {
		ms.LastInference = uint64(s.LastInference.UnixMilli())
	}
	for _, b := range s.Batches {
		ms.BatchStats = append(ms.BatchStats, &pb.InferBatchStatistics{
			BatchSize:     uint64(b.Size),
			ComputeInput:  &pb.StatisticDuration{Count: b.Compute.Count},
			ComputeInfer:  duration(b.Compute),
			ComputeOutput: &pb.StatisticDuration{Count: b.Compute.Count},
		})
	}
	return ms
}

func duration(c runtime.Counter) *pb.StatisticDuration {
	return &pb.StatisticDuration{Count: c.Count, Ns: c.Ns}
}
