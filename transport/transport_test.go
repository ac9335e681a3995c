package transport

import (
	"encoding/json"
	"testing"

	"github.com/tiffin-ml/tiffin/runtime"
	pb "github.com/tiffin-ml/tiffin/transport/grpc/inferencepb"
)

func TestMarshalTritonJSON(t *testing.T) {
	cfg := &pb.ModelConfig{Name: "m", MaxBatchSize: 8,
		Input:            []*pb.ModelInput{{Name: "x", DataType: pb.DataType_TYPE_FP32, Dims: []int64{16}}},
		SchedulingChoice: &pb.ModelConfig_DynamicBatching{DynamicBatching: &pb.ModelDynamicBatching{MaxQueueDelayMicroseconds: 2000}}}
	var got map[string]any
	if err := json.Unmarshal(MarshalTritonJSON(cfg), &got); err != nil {
		t.Fatal(err)
	}
	in := got["input"].([]any)[0].(map[string]any)
	if got["max_batch_size"] != 8.0 || in["data_type"] != "TYPE_FP32" || in["dims"].([]any)[0] != 16.0 {
		t.Fatalf("%v", got)
	}
	if got["dynamic_batching"].(map[string]any)["max_queue_delay_microseconds"] != 2000.0 {
		t.Fatalf("64-bit integers must be JSON numbers: %v", got)
	}
	if _, ok := got["version_policy"]; ok {
		t.Fatalf("an unset message must be left out: %v", got)
	}
	if got["platform"] != "" || got["output"] == nil {
		t.Fatalf("unset scalars and lists must be written: %v", got)
	}
}

func TestRepositoryControlAuthorize(t *testing.T) {
	cases := []struct {
		c    RepositoryControl
		auth string
		want runtime.Kind
		ok   bool
	}{
		{RepositoryControl{Enabled: true}, "", 0, true},
		{RepositoryControl{Enabled: false}, "", runtime.KindPermissionDenied, false},
		{RepositoryControl{Enabled: true, Token: "t"}, "", runtime.KindUnauthenticated, false},
		{RepositoryControl{Enabled: true, Token: "t"}, "Bearer x", runtime.KindUnauthenticated, false},
		{RepositoryControl{Enabled: true, Token: "t"}, "Basic t", runtime.KindUnauthenticated, false},
		{RepositoryControl{Enabled: true, Token: "t"}, "bearer t", 0, true},
	}
	for _, c := range cases {
		err := c.c.Authorize(c.auth)
		if (err == nil) != c.ok || (err != nil && runtime.KindOf(err) != c.want) {
			t.Fatalf("%+v with %q: %v", c.c, c.auth, err)
		}
	}
	if HTTPStatus(runtime.Errorf(runtime.KindPermissionDenied, "x")) != 403 || HTTPStatus(runtime.Errorf(runtime.KindUnauthenticated, "x")) != 401 {
		t.Fatal("permission kinds map to 403 and 401")
	}
}
