package grpc

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// A ModelInferRequest as Triton's clients send it (names, datatypes,
// shapes, the outputs asked for, raw_input_contents) is read here straight
// from the message's bytes into a reused request: its raw contents are
// slices of those bytes, not copies, and its strings are the previous
// request's when they are equal (the same model, inputs and outputs, call
// after call). proto.Unmarshal copies every raw tensor and allocates every
// message and string.
//
// The fast path is a strict subset of proto's: on anything else
// (parameters, typed contents, unknown fields, malformed bytes) it gives up
// and the caller unmarshals with proto, which also produces proto's errors.
// FuzzWireDecode checks that whatever it accepts, proto reads the same.

// pooledShape bounds the dimensions a reused input keeps room for.
const pooledShape = 16

// pooledInputs bounds how many inputs and outputs a reused request keeps
// room for.
const pooledInputs = 16

// wireRequest is a reusable ModelInferRequest and the messages it points to.
type wireRequest struct {
	req     pb.ModelInferRequest
	inputs  []*pb.ModelInferRequest_InferInputTensor           // reused; req.Inputs is a prefix
	outputs []*pb.ModelInferRequest_InferRequestedOutputTensor // reused; req.Outputs is a prefix
}

// decode reads b into w.req, and reports false where it cannot (w.req is
// then unspecified). The request's raw contents alias b.
func (w *wireRequest) decode(b []byte) bool {
	r := &w.req
	name, version, id := r.ModelName, r.ModelVersion, r.Id
	raw := r.RawInputContents[:0]
	clear(r.RawInputContents)
	*r = pb.ModelInferRequest{RawInputContents: raw}
	nin, nout := 0, 0
	for len(b) > 0 {
		num, v, rest, ok := nextBytesField(b)
		if !ok {
			return false
		}
		b = rest
		switch num {
		case 1:
			r.ModelName, ok = wireString(v, name)
		case 2:
			r.ModelVersion, ok = wireString(v, version)
		case 3:
			r.Id, ok = wireString(v, id)
		case 5:
			ok = decodeWireInput(v, w.input(nin))
			nin++
		case 6:
			ok = decodeWireOutput(v, w.output(nout))
			nout++
		case 7:
			r.RawInputContents = append(r.RawInputContents, v[:len(v):len(v)])
		default: // 4 (parameters) and unknown fields
			return false
		}
		if !ok {
			return false
		}
	}
	if nin > 0 {
		r.Inputs = w.inputs[:nin]
	}
	if nout > 0 {
		r.Outputs = w.outputs[:nout]
	}
	if len(r.RawInputContents) == 0 {
		r.RawInputContents = nil
	}
	return true
}

// input returns the i-th reused input message, allocating it the first time.
func (w *wireRequest) input(i int) *pb.ModelInferRequest_InferInputTensor {
	if i == len(w.inputs) {
		w.inputs = append(w.inputs, new(pb.ModelInferRequest_InferInputTensor))
	}
	return w.inputs[i]
}

func (w *wireRequest) output(i int) *pb.ModelInferRequest_InferRequestedOutputTensor {
	if i == len(w.outputs) {
		w.outputs = append(w.outputs, new(pb.ModelInferRequest_InferRequestedOutputTensor))
	}
	return w.outputs[i]
}

// release drops what w refers to of the last request, keeping its reused
// messages (up to pooledInputs of each) and their strings.
func (w *wireRequest) release() {
	clear(w.req.RawInputContents)
	w.req.RawInputContents = w.req.RawInputContents[:0]
	w.req.Inputs, w.req.Outputs = nil, nil
	if len(w.inputs) > pooledInputs {
		w.inputs = w.inputs[:pooledInputs]
	}
	if len(w.outputs) > pooledInputs {
		w.outputs = w.outputs[:pooledInputs]
	}
}

// decodeWireInput reads one InferInputTensor: name, datatype and shape
// (packed or not); parameters and typed contents give up.
func decodeWireInput(b []byte, t *pb.ModelInferRequest_InferInputTensor) bool {
	name, datatype, shape := t.Name, t.Datatype, t.Shape[:0]
	if cap(shape) > pooledShape {
		shape = nil
	}
	*t = pb.ModelInferRequest_InferInputTensor{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch {
		case num == 3 && typ == protowire.VarintType:
			d, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return false
			}
			shape = append(shape, int64(d))
			b = b[m:]
			continue
		case typ != protowire.BytesType:
			return false
		}
		v, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return false
		}
		b = b[m:]
		ok := true
		switch num {
		case 1:
			t.Name, ok = wireString(v, name)
		case 2:
			t.Datatype, ok = wireString(v, datatype)
		case 3:
			for len(v) > 0 && ok {
				d, k := protowire.ConsumeVarint(v)
				ok = k >= 0
				if ok {
					shape = append(shape, int64(d))
					v = v[k:]
				}
			}
		default: // 4 (parameters), 5 (contents) and unknown fields
			return false
		}
		if !ok {
			return false
		}
	}
	if len(shape) > 0 { // proto leaves an absent shape nil
		t.Shape = shape
	}
	return true
}

// decodeWireOutput reads one InferRequestedOutputTensor's name;
// parameters give up.
func decodeWireOutput(b []byte, o *pb.ModelInferRequest_InferRequestedOutputTensor) bool {
	name := o.Name
	*o = pb.ModelInferRequest_InferRequestedOutputTensor{}
	for len(b) > 0 {
		num, v, rest, ok := nextBytesField(b)
		if !ok || num != 1 {
			return false
		}
		b = rest
		if o.Name, ok = wireString(v, name); !ok {
			return false
		}
	}
	return true
}

// nextBytesField reads the length-delimited field at the start of b: its
// number, its bytes and what follows. It reports false for any other wire
// type or malformed bytes.
func nextBytesField(b []byte) (protowire.Number, []byte, []byte, bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || typ != protowire.BytesType {
		return 0, nil, nil, false
	}
	v, m := protowire.ConsumeBytes(b[n:])
	if m < 0 {
		return 0, nil, nil, false
	}
	return num, v, b[n+m:], true
}

// wireString is v as a string: last when they are equal, so a request like
// the previous one allocates none. It reports false for invalid UTF-8,
// which proto refuses in a string field.
func wireString(v []byte, last string) (string, bool) {
	if string(v) == last {
		return last, true
	}
	if !utf8.Valid(v) {
		return "", false
	}
	return string(v), true
}
