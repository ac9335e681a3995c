package transport

import (
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/runtime"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// completeTriton answers ModelConfig for a model whose config is a Triton
// config.pbtxt: the config as read, completed the way Triton normalises it
// (name, platform and backend, the resolved max_batch_size, the tensors it
// left out, instance group names, counts and kinds, the version policy,
// preferred batch sizes, pinned-memory flags and the model file), so
// get_model_config shows what Triton would. Fields
// tiffin does not act on are shown as read. built is the config tiffin
// would answer without a config.pbtxt.
func completeTriton(v *runtime.ModelVersion, built *pb.ModelConfig) *pb.ModelConfig {
	cfg := proto.Clone(v.Config.Triton).(*pb.ModelConfig)
	cfg.Name, cfg.Platform, cfg.Backend = built.Name, built.Platform, built.Backend
	cfg.MaxBatchSize = built.MaxBatchSize
	for _, in := range built.Input {
		if !slices.ContainsFunc(cfg.Input, func(c *pb.ModelInput) bool { return c.GetName() == in.Name }) {
			cfg.Input = append(cfg.Input, in)
		}
	}
	for _, out := range built.Output {
		if !slices.ContainsFunc(cfg.Output, func(c *pb.ModelOutput) bool { return c.GetName() == out.Name }) {
			cfg.Output = append(cfg.Output, out)
		}
	}
	if cfg.VersionPolicy == nil {
		cfg.VersionPolicy = built.VersionPolicy
	}
	if cfg.SchedulingChoice == nil && cfg.MaxBatchSize > 0 {
		// The config named no scheduler, and tiffin batches the model (as
		// Triton's auto-complete adds dynamic_batching with the
		// max_batch_size it fills in): say so, or a client concludes that
		// it does not.
		cfg.SchedulingChoice = built.SchedulingChoice
	}
	if db := cfg.GetDynamicBatching(); db != nil && len(db.PreferredBatchSize) == 0 && cfg.MaxBatchSize > 0 {
		db.PreferredBatchSize = []int32{cfg.MaxBatchSize} // Triton's normal form; the same batches
	}
	if cfg.GetSequenceBatching() == nil && cfg.GetEnsembleScheduling() == nil {
		opt := cfg.Optimization
		if opt == nil {
			opt = &pb.ModelOptimizationPolicy{}
			cfg.Optimization = opt
		}
		// Triton shows pinned host buffers on unless the config turns them
		// off; tiffin's buffers are ordinary Go memory either way.
		if opt.InputPinnedMemory == nil {
			opt.InputPinnedMemory = &pb.ModelOptimizationPolicy_PinnedMemoryBuffer{Enable: true}
		}
		if opt.OutputPinnedMemory == nil {
			opt.OutputPinnedMemory = &pb.ModelOptimizationPolicy_PinnedMemoryBuffer{Enable: true}
		}
	}
	if cfg.DefaultModelFilename == "" {
		cfg.DefaultModelFilename = filepath.Base(v.Path)
	}
	if len(cfg.InstanceGroup) == 0 {
		cfg.InstanceGroup = built.InstanceGroup
		if len(cfg.InstanceGroup) == 1 {
			cfg.InstanceGroup[0].Name = cfg.Name // Triton names the group it adds after the model
		}
	}
	for i, g := range cfg.InstanceGroup {
		if i >= len(built.InstanceGroup) {
			break
		}
		r := built.InstanceGroup[i]
		if g.Name == "" {
			g.Name = r.Name
		}
		g.Count, g.Kind, g.Gpus = r.Count, r.Kind, r.Gpus
	}
	return cfg
}
