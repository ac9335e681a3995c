package grpc

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/transport"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// decoded is a request ready for the runtime.
type decoded struct {
	req runtime.InferRequest
}

// decodeRequest turns a ModelInferRequest into a runtime request. It checks
// only what it needs to build tensors; the runtime validates the rest.
// check, when not nil, is given the inputs' names, datatypes and shapes
// before any data is decoded. d's slices are reused.
func decodeRequest(r *pb.ModelInferRequest, check func([]backends.Tensor) error, d *decoded) error {
	version, err := transport.ParseVersion(r.GetModelVersion())
	if err != nil {
		return err
	}
	inputs, outputs := d.req.Inputs[:0], d.req.Outputs[:0]
	*d = decoded{req: runtime.InferRequest{ID: r.GetId(), Model: r.GetModelName(), Version: version}}
	if err := decodeParameters(&d.req, r.GetParameters()); err != nil {
		return err
	}
	raw := r.GetRawInputContents()
	if len(r.GetInputs()) == 0 {
		return invalid("request has no inputs")
	}
	for _, in := range r.GetInputs() { // before the counts, which such an input throws off
		if _, ok := in.GetParameters()[transport.SharedMemoryParam]; ok {
			return transport.NoSharedMemory("input", in.GetName())
		}
	}
	if len(raw) > 0 && len(raw) != len(r.GetInputs()) {
		return invalid("request has %d inputs but %d raw_input_contents entries; give one per input, in input order",
			len(r.GetInputs()), len(raw))
	}
	typed := len(raw) == 0
	d.req.Inputs = slices.Grow(inputs, len(r.GetInputs()))[:len(r.GetInputs())]
	d.req.Outputs = outputs
	for i, in := range r.GetInputs() {
		if err := decodeHeader(in, &d.req.Inputs[i]); err != nil {
			return err
		}
	}
	if check != nil {
		if err := check(d.req.Inputs); err != nil {
			return err
		}
	}
	for i, in := range r.GetInputs() {
		var data []byte
		if !typed {
			data = raw[i]
		}
		if err := decodeInput(in, data, typed, &d.req.Inputs[i]); err != nil {
			return err
		}
		if p, ok := in.GetParameters()[transport.ContentTypeParam]; ok {
			if err := transport.DecodeContentType(&d.req.Inputs[i], p.GetStringParam()); err != nil {
				return err
			}
		}
	}
	for _, o := range r.GetOutputs() {
		if _, ok := o.GetParameters()["classification"]; ok {
			return invalid("output %q: the classification extension is not supported", o.GetName())
		}
		if _, ok := o.GetParameters()[transport.SharedMemoryParam]; ok {
			return transport.NoSharedMemory("output", o.GetName())
		}
		d.req.Outputs = append(d.req.Outputs, o.GetName())
	}
	return nil
}

// decodeParameters reads "timeout" (microseconds, as Triton's clients send
// it) and "priority"; other parameters are ignored.
func decodeParameters(req *runtime.InferRequest, params map[string]*pb.InferParameter) error {
	if p, ok := params["timeout"]; ok {
		us, ok := wholeNumber(p)
		if !ok {
			return invalid("parameter \"timeout\" must be a whole number of microseconds >= 0")
		}
		req.Timeout = transport.TimeoutMicros(us)
	}
	if p, ok := params["priority"]; ok {
		n, isNum := wholeNumber(p)
		switch {
		case p.GetStringParam() == "bulk" || (isNum && n == 2):
			req.Priority = runtime.PriorityBulk
		case p.GetStringParam() == "interactive" || (isNum && n <= 1):
		default:
			return invalid("parameter \"priority\" must be \"interactive\" (0, 1) or \"bulk\" (2)")
		}
	}
	return nil
}

func wholeNumber(p *pb.InferParameter) (uint64, bool) {
	switch v := p.GetParameterChoice().(type) {
	case *pb.InferParameter_Int64Param:
		return uint64(v.Int64Param), v.Int64Param >= 0
	case *pb.InferParameter_Uint64Param:
		return v.Uint64Param, true
	}
	return 0, false
}

// decodeHeader fills t's name, datatype and shape from one input.
func decodeHeader(in *pb.ModelInferRequest_InferInputTensor, t *backends.Tensor) error {
	if in.GetName() == "" {
		return invalid("an input has no name")
	}
	dt, ok := backends.ParseDataType(in.GetDatatype())
	if !ok {
		return invalid("input %q: unknown datatype %q", in.GetName(), in.GetDatatype())
	}
	if why := backends.ShapeProblem(in.GetShape()); why != "" {
		return invalid("input %q: invalid shape %v: %s", in.GetName(), in.GetShape(), why)
	}
	*t = backends.Tensor{Name: in.GetName(), DataType: dt, Shape: in.GetShape()}
	return nil
}

// decodeInput fills t's data from one input's raw bytes (or its typed
// contents when typed); decodeHeader filled the rest.
func decodeInput(in *pb.ModelInferRequest_InferInputTensor, raw []byte, typed bool, t *backends.Tensor) error {
	dt, n := t.DataType, backends.NumElements(t.Shape)
	if typed {
		return fromContents(t, in.GetContents())
	}
	if contentsField(in.GetContents()) != "" {
		return invalid("input %q has typed contents but the request uses raw_input_contents; use one or the other for every input", t.Name)
	}
	if dt != backends.Bytes {
		t.Data = raw // the runtime checks its length against the shape
		return nil
	}
	strs, err := transport.SplitBytesElements(raw, n)
	if err != nil {
		return invalid("input %q: %v", t.Name, err)
	}
	t.Strings = strs
	return nil
}

// fromContents converts typed contents to little-endian tensor bytes. The
// field used must be the one the datatype names.
func fromContents(t *backends.Tensor, c *pb.InferTensorContents) error {
	want := contentsFieldFor(t.DataType)
	if want == "" {
		return invalid("input %q: %s has no typed contents field; send it in raw_input_contents", t.Name, t.DataType)
	}
	if got := contentsField(c); got != "" && got != want {
		return invalid("input %q: datatype %s takes %s, got %s", t.Name, t.DataType, want, got)
	}
	var err error
	switch t.DataType {
	case backends.Bool:
		t.Data = make([]byte, len(c.GetBoolContents()))
		for i, b := range c.GetBoolContents() {
			if b {
				t.Data[i] = 1
			}
		}
	case backends.Int8, backends.Int16, backends.Int32:
		t.Data, err = appendSigned(t, c.GetIntContents())
	case backends.Int64:
		t.Data, err = appendSigned(t, c.GetInt64Contents())
	case backends.Uint8, backends.Uint16, backends.Uint32:
		t.Data, err = appendUnsigned(t, c.GetUintContents())
	case backends.Uint64:
		t.Data, err = appendUnsigned(t, c.GetUint64Contents())
	case backends.FP32:
		for _, f := range c.GetFp32Contents() {
			t.Data = binary.LittleEndian.AppendUint32(t.Data, math.Float32bits(f))
		}
	case backends.FP64:
		for _, f := range c.GetFp64Contents() {
			t.Data = binary.LittleEndian.AppendUint64(t.Data, math.Float64bits(f))
		}
	case backends.Bytes:
		t.Strings = c.GetBytesContents()
	}
	return err
}

func appendSigned[T int32 | int64](t *backends.Tensor, vals []T) ([]byte, error) {
	size := t.DataType.Size()
	lim := int64(1) << (8*size - 1)
	out := make([]byte, 0, len(vals)*size)
	for i, v := range vals {
		if size < 8 && (int64(v) < -lim || int64(v) >= lim) {
			return nil, invalid("input %q: element %d (%d) does not fit %s", t.Name, i, v, t.DataType)
		}
		out = appendLE(out, uint64(v), size)
	}
	return out, nil
}

func appendUnsigned[T uint32 | uint64](t *backends.Tensor, vals []T) ([]byte, error) {
	size := t.DataType.Size()
	out := make([]byte, 0, len(vals)*size)
	for i, v := range vals {
		if size < 8 && uint64(v) >= uint64(1)<<(8*size) {
			return nil, invalid("input %q: element %d (%d) does not fit %s", t.Name, i, v, t.DataType)
		}
		out = appendLE(out, uint64(v), size)
	}
	return out, nil
}

func appendLE(dst []byte, v uint64, size int) []byte {
	switch size {
	case 1:
		return append(dst, byte(v))
	case 2:
		return binary.LittleEndian.AppendUint16(dst, uint16(v))
	case 4:
		return binary.LittleEndian.AppendUint32(dst, uint32(v))
	}
	return binary.LittleEndian.AppendUint64(dst, v)
}

// contentsFieldFor names the InferTensorContents field of a datatype; ""
// for FP16 and BF16, which have none.
func contentsFieldFor(dt backends.DataType) string {
	switch dt {
	case backends.Bool:
		return "bool_contents"
	case backends.Int8, backends.Int16, backends.Int32:
		return "int_contents"
	case backends.Int64:
		return "int64_contents"
	case backends.Uint8, backends.Uint16, backends.Uint32:
		return "uint_contents"
	case backends.Uint64:
		return "uint64_contents"
	case backends.FP32:
		return "fp32_contents"
	case backends.FP64:
		return "fp64_contents"
	case backends.Bytes:
		return "bytes_contents"
	}
	return ""
}

// contentsField names the first non-empty field of c; "" when all are.
func contentsField(c *pb.InferTensorContents) string {
	switch {
	case c == nil:
	case len(c.BoolContents) > 0:
		return "bool_contents"
	case len(c.IntContents) > 0:
		return "int_contents"
	case len(c.Int64Contents) > 0:
		return "int64_contents"
	case len(c.UintContents) > 0:
		return "uint_contents"
	case len(c.Uint64Contents) > 0:
		return "uint64_contents"
	case len(c.Fp32Contents) > 0:
		return "fp32_contents"
	case len(c.Fp64Contents) > 0:
		return "fp64_contents"
	case len(c.BytesContents) > 0:
		return "bytes_contents"
	}
	return ""
}

func invalid(format string, args ...any) error {
	return runtime.Errorf(runtime.KindInvalidArgument, format, args...)
}
