package transport

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// TestCompleteTriton: the config.pbtxt as read, completed as Triton
// normalises it, and the read message itself left alone.
func TestCompleteTriton(t *testing.T) {
	read := &pb.ModelConfig{
		MaxBatchSize:     8,
		Input:            []*pb.ModelInput{{Name: "x", DataType: pb.DataType_TYPE_FP32, Dims: []int64{4}}},
		SchedulingChoice: &pb.ModelConfig_DynamicBatching{DynamicBatching: &pb.ModelDynamicBatching{MaxQueueDelayMicroseconds: 100}},
		Parameters:       map[string]*pb.ModelParameter{"intra_op_thread_count": {StringValue: "2"}},
	}
	before := proto.Clone(read)
	v := &runtime.ModelVersion{Name: "m", Path: "/repo/m/1/model.onnx", Config: config.Model{Triton: read}}
	built := &pb.ModelConfig{Name: "m", Platform: "onnxruntime_onnx", Backend: "onnxruntime", MaxBatchSize: 8,
		Input:         []*pb.ModelInput{{Name: "x", DataType: pb.DataType_TYPE_FP32, Dims: []int64{4}}},
		Output:        []*pb.ModelOutput{{Name: "y", DataType: pb.DataType_TYPE_FP32, Dims: []int64{4}}},
		VersionPolicy: versionPolicy(config.VersionPolicy{}),
		InstanceGroup: instanceGroups("m", []config.InstanceGroup{{Kind: config.KindCPU, Count: 1}})}
	got := completeTriton(v, built)
	switch {
	case got.Name != "m" || got.Platform != "onnxruntime_onnx" || got.Backend != "onnxruntime" || got.DefaultModelFilename != "model.onnx":
		t.Fatalf("identity: %v", got)
	case len(got.Input) != 1 || len(got.Output) != 1 || got.Output[0].Name != "y":
		t.Fatalf("tensors (the output it left out, added): %v %v", got.Input, got.Output)
	case len(got.InstanceGroup) != 1 || got.InstanceGroup[0].Name != "m" || got.InstanceGroup[0].Kind != pb.ModelInstanceGroup_KIND_CPU:
		t.Fatalf("the group Triton adds is named after the model: %v", got.InstanceGroup)
	case got.GetVersionPolicy().GetLatest().GetNumVersions() != 1:
		t.Fatalf("version policy %v", got.VersionPolicy)
	case len(got.GetDynamicBatching().PreferredBatchSize) != 1 || got.GetDynamicBatching().PreferredBatchSize[0] != 8:
		t.Fatalf("preferred sizes default to max_batch_size: %v", got.GetDynamicBatching())
	case !got.GetOptimization().GetInputPinnedMemory().GetEnable() || got.Parameters["intra_op_thread_count"].GetStringValue() != "2":
		t.Fatalf("pinned memory shown on, parameters as read: %v", got)
	}
	if !proto.Equal(read, before) {
		t.Fatal("completing the config changed the config as read")
	}
}

// A config.pbtxt that names no scheduler, for a model tiffin batches (its
// max_batch_size filled in from the model), shows dynamic_batching, as
// Triton's auto-complete does: a client reading it must not conclude
// that the model does not batch.
func TestCompleteTritonShowsBatching(t *testing.T) {
	read := &pb.ModelConfig{InstanceGroup: []*pb.ModelInstanceGroup{{Kind: pb.ModelInstanceGroup_KIND_CPU}}}
	v := &runtime.ModelVersion{Name: "m", Path: "/repo/m/1/model.onnx", Config: config.Model{Triton: read}}
	built := &pb.ModelConfig{Name: "m", MaxBatchSize: 64,
		SchedulingChoice: &pb.ModelConfig_DynamicBatching{DynamicBatching: &pb.ModelDynamicBatching{MaxQueueDelayMicroseconds: 2000}},
		InstanceGroup:    instanceGroups("m", []config.InstanceGroup{{Kind: config.KindCPU, Count: 1}})}
	got := completeTriton(v, built)
	if db := got.GetDynamicBatching(); db == nil || db.MaxQueueDelayMicroseconds != 2000 || len(db.PreferredBatchSize) != 1 || db.PreferredBatchSize[0] != 64 {
		t.Fatalf("dynamic_batching %v, want the one tiffin runs", got.GetDynamicBatching())
	}
	if read.SchedulingChoice != nil {
		t.Fatal("completing the config changed the config as read")
	}
}
