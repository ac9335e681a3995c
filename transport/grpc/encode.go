package grpc

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/transport"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// encodeResponse fills out, reusing its slices and output messages:
// raw_output_contents, which Triton's clients read, unless the request
// used typed contents and every output has a typed field.
func encodeResponse(out *pb.ModelInferResponse, resp *runtime.InferResponse, typed bool) {
	tensors, raw := out.Outputs[:0], out.RawOutputContents[:0]
	*out = pb.ModelInferResponse{ModelName: resp.Model, ModelVersion: strconv.FormatInt(resp.Version, 10), Id: resp.ID}
	for i := range resp.Outputs {
		if contentsFieldFor(resp.Outputs[i].DataType) == "" {
			typed = false
		}
	}
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
		t := tensors[i]
		*t = pb.ModelInferResponse_InferOutputTensor{Name: o.Name, Datatype: o.DataType.String(), Shape: o.Shape}
		if typed {
			t.Contents = toContents(o)
		} else {
			raw = append(raw, rawBytes(o))
		}
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

// toContents converts little-endian tensor bytes to typed contents.
func toContents(t *backends.Tensor) *pb.InferTensorContents {
	c := &pb.InferTensorContents{}
	size := t.DataType.Size()
	n := 0
	if size > 0 {
		n = len(t.Data) / size
	}
	for i := 0; i < n; i++ {
		b := t.Data[i*size : (i+1)*size]
		switch t.DataType {
		case backends.Bool:
			c.BoolContents = append(c.BoolContents, b[0] != 0)
		case backends.Int8, backends.Int16, backends.Int32:
			c.IntContents = append(c.IntContents, int32(signExtend(b)))
		case backends.Int64:
			c.Int64Contents = append(c.Int64Contents, signExtend(b))
		case backends.Uint8, backends.Uint16, backends.Uint32:
			c.UintContents = append(c.UintContents, uint32(readLE(b)))
		case backends.Uint64:
			c.Uint64Contents = append(c.Uint64Contents, readLE(b))
		case backends.FP32:
			c.Fp32Contents = append(c.Fp32Contents, math.Float32frombits(binary.LittleEndian.Uint32(b)))
		case backends.FP64:
			c.Fp64Contents = append(c.Fp64Contents, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		}
	}
	if t.DataType == backends.Bytes {
		c.BytesContents = t.Strings
	}
	return c
}

func readLE(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func signExtend(b []byte) int64 {
	shift := 64 - 8*len(b)
	return int64(readLE(b)<<shift) >> shift
}
