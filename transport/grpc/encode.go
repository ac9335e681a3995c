package grpc

import (
	"strconv"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/transport"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// encodeResponse fills out, reusing its slices and output messages. Every
// output is answered in raw_output_contents, whatever form the request's
// inputs took, as Triton's server answers: Triton's clients (tritonclient,
// its Java and Go examples, which send typed contents) read the raw bytes
// only.
func encodeResponse(out *pb.ModelInferResponse, resp *runtime.InferResponse) {
	tensors, raw := out.Outputs[:0], out.RawOutputContents[:0]
	*out = pb.ModelInferResponse{ModelName: resp.Model, ModelVersion: strconv.FormatInt(resp.Version, 10), Id: resp.ID}
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		if i < cap(tensors) {
			tensors = tensors[:i+1]
		} else {
			tensors = append(tensors, nil)
		}
		if tensors[i] == nil {
			tensors[i] = new(pb.ModelInferResponse_InferOutputTensor)
		}
		*tensors[i] = pb.ModelInferResponse_InferOutputTensor{Name: o.Name, Datatype: o.DataType.String(), Shape: o.Shape}
		raw = append(raw, rawBytes(o))
	}
	out.Outputs = tensors
	if len(raw) > 0 {
		out.RawOutputContents = raw
	}
}

func rawBytes(t *backends.Tensor) []byte {
	if t.DataType != backends.Bytes {
		return t.Data
	}
	return transport.AppendBytesElements(nil, t.Strings)
}
