package transport

import (
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/runtime"
	pb "github.com/tiffin-ml/tiffin/transport/grpc/inferencepb"
)

// completeTriton answers ModelConfig for a model whose config is a Triton
// config.pbtxt: the config as read, completed the way Triton completes it
// (name, platform and backend, the resolved max_batch_size, the tensors it
// left out, instance group names, counts and kinds, the version policy and
// the model file), so get_model_config shows what Triton would. Fields
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
	if cfg.DefaultModelFilename == "" {
		cfg.DefaultModelFilename = filepath.Base(v.Path)
	}
	if len(cfg.InstanceGroup) == 0 {
		cfg.InstanceGroup = built.InstanceGroup
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
