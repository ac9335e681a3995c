package http

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/transport"
)

// The V2 JSON request, as sent. Data stays raw until its datatype and shape
// are known, so it is parsed once, straight into tensor bytes.
type requestJSON struct {
	ID         string          `json:"id"`
	Parameters parameters      `json:"parameters"`
	Inputs     []inputJSON     `json:"inputs"`
	Outputs    []outputRequest `json:"outputs"`
}

type inputJSON struct {
	Name       string     `json:"name"`
	Shape      []int64    `json:"shape"`
	Datatype   string     `json:"datatype"`
	Parameters parameters `json:"parameters"`
	Data       rawRef     `json:"data"`

	spare inputSpare // memory kept from a pooled request's earlier use
}

// inputSpare is what an input's fields may reuse when its request is
// pooled: the backing arrays of its shape and of its data decoded from
// JSON, and its name, which the next request on the same model sends
// again. (Its parameters keep their array in place: absent and empty are
// the same.)
type inputSpare struct {
	shape []int64
	data  []byte
	name  string
}

// rawRef is a JSON value kept as a slice of the request body, which the
// request owns (see scan.go).
type rawRef []byte

type outputRequest struct {
	Name       string     `json:"name"`
	Parameters parameters `json:"parameters"`
}

// decoded is a request ready for the runtime, plus how its outputs are to
// be encoded. It also holds the request's body and parsed JSON, which its
// tensors point into, so that a whole request's memory can be pooled
// (pool.go).
type decoded struct {
	req          runtime.InferRequest
	binaryAll    bool            // binary_data_output on the request
	binaryOutput map[string]bool // binary_data per requested output that sets it, over binaryAll

	body []byte      // the request body, when the server read it into this request's memory
	rj   requestJSON // the body's JSON, parsed
	wait wait        // the request's registration while it waits
	ctx  callContext // the request's context while it waits
}

// decodeRequest parses a V2 request body into fresh memory; see decode.
func decodeRequest(body []byte, headerLen int, check func([]backends.Tensor) error) (*decoded, error) {
	d := &decoded{}
	if err := d.decode(body, headerLen, check); err != nil {
		return nil, err
	}
	return d, nil
}

// decode parses a V2 request body, which the request owns (the binary part
// is used in place), reusing what d holds from an earlier request.
// headerLen is the value of Inference-Header-Content-Length (-1 when
// absent): the JSON is that many bytes and the binary tensor data follows
// it. check, when not nil, is given the inputs' names, datatypes and
// shapes before any data is decoded, so no element count the model does
// not take is allocated for.
func (d *decoded) decode(body []byte, headerLen int, check func([]backends.Tensor) error) error {
	jsonPart, binPart := body, []byte(nil)
	if headerLen >= 0 {
		if headerLen > len(body) {
			return invalid("Inference-Header-Content-Length is %d but the body has only %d bytes", headerLen, len(body))
		}
		jsonPart, binPart = body[:headerLen], body[headerLen:]
	}
	rj := &d.rj
	if err := parseRequestInto(jsonPart, rj); err != nil {
		return invalid("malformed JSON request: %v", err)
	}
	d.req = runtime.InferRequest{ID: rj.ID, Inputs: d.req.Inputs[:0], Outputs: d.req.Outputs[:0]}
	d.binaryAll = false
	clear(d.binaryOutput)
	if err := d.decodeParameters(rj.Parameters); err != nil {
		return err
	}
	if len(rj.Inputs) == 0 {
		return invalid("request has no inputs")
	}
	d.req.Inputs = slices.Grow(d.req.Inputs, len(rj.Inputs))[:len(rj.Inputs)]
	for i := range rj.Inputs {
		if err := decodeHeader(&rj.Inputs[i], &d.req.Inputs[i]); err != nil {
			return err
		}
	}
	if check != nil {
		if err := check(d.req.Inputs); err != nil {
			return err
		}
	}
	for i := range rj.Inputs {
		rest, err := decodeInput(&rj.Inputs[i], &d.req.Inputs[i], binPart)
		if err != nil {
			return err
		}
		binPart = rest
	}
	if len(binPart) > 0 {
		return invalid("body has %d bytes of binary data that no input claims", len(binPart))
	}
	for _, o := range rj.Outputs {
		if o.Name == "" {
			return invalid("requested output has no name")
		}
		d.req.Outputs = append(d.req.Outputs, o.Name)
		bin, err := o.Parameters.flag("binary_data")
		if err != nil {
			return invalid("output %q: %v", o.Name, err)
		}
		if o.Parameters.has("binary_data") { // either way, it wins over binary_data_output (Triton)
			if d.binaryOutput == nil {
				d.binaryOutput = map[string]bool{}
			}
			d.binaryOutput[o.Name] = bin
		}
		if o.Parameters.has("classification") {
			return invalid("output %q: the classification extension is not supported", o.Name)
		}
		if o.Parameters.has(transport.SharedMemoryParam) {
			return transport.NoSharedMemory("output", o.Name)
		}
	}
	return nil
}

func (d *decoded) decodeParameters(p parameters) error {
	all, err := p.flag("binary_data_output")
	if err != nil {
		return invalid("%v", err)
	}
	d.binaryAll = all
	us, ok, err := p.int("timeout") // microseconds, as Triton's clients send it
	if err != nil {
		return invalid("%v", err)
	}
	if ok {
		d.req.Timeout = transport.TimeoutMicros(uint64(us))
	}
	if raw, ok := p.get("priority"); ok {
		pr, ok := priorityOf(raw)
		if !ok {
			return invalid(`parameter "priority" must be "interactive" or "bulk", got %s`, shown(raw))
		}
		d.req.Priority = pr
	}
	return nil
}

// priorityOf reads a priority parameter: "interactive" or "bulk", or the
// numbers 0 and 1 (interactive) or 2 (bulk).
func priorityOf(raw []byte) (runtime.Priority, bool) {
	var name string
	switch {
	case len(raw) > 0 && raw[0] == '"':
		if json.Unmarshal(raw, &name) != nil {
			return 0, false
		}
	default:
		switch f, err := number(raw); {
		case err != nil:
			return 0, false
		case f == 0 || f == 1:
			name = "interactive"
		case f == 2:
			name = "bulk"
		}
	}
	switch name {
	case "interactive":
		return runtime.PriorityInteractive, true
	case "bulk":
		return runtime.PriorityBulk, true
	}
	return 0, false
}

// decodeHeader fills t's name, datatype and shape from one JSON input.
func decodeHeader(in *inputJSON, t *backends.Tensor) error {
	if in.Name == "" {
		return invalid("an input has no name")
	}
	if in.Parameters.has(transport.SharedMemoryParam) {
		return transport.NoSharedMemory("input", in.Name)
	}
	dt, ok := backends.ParseDataType(in.Datatype)
	if !ok {
		return invalid("input %q: unknown datatype %q", in.Name, in.Datatype)
	}
	if in.Shape == nil {
		return invalid("input %q: invalid shape: it has none", in.Name)
	}
	if why := backends.ShapeProblem(in.Shape); why != "" {
		return invalid("input %q: invalid shape %v: %s", in.Name, in.Shape, why)
	}
	*t = backends.Tensor{Name: in.Name, DataType: dt, Shape: in.Shape}
	return nil
}

// decodeInput fills t's data from one JSON input whose header decodeHeader
// read, taking its bytes from the front of bin when the input says
// binary_data_size, and applies its content_type (MLServer's base64). It
// returns the rest of bin.
func decodeInput(in *inputJSON, t *backends.Tensor, bin []byte) ([]byte, error) {
	rest, err := decodeInputData(in, t, bin)
	if err != nil {
		return nil, err
	}
	if raw, ok := in.Parameters.get(transport.ContentTypeParam); ok {
		var ct string
		if json.Unmarshal(raw, &ct) != nil {
			return nil, invalid("input %q: parameter %q must be a string, got %s", in.Name, transport.ContentTypeParam, shown(raw))
		}
		if err := transport.DecodeContentType(t, ct); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// decodeInputData is decodeInput before any content_type is applied.
func decodeInputData(in *inputJSON, t *backends.Tensor, bin []byte) ([]byte, error) {
	dt, n := t.DataType, backends.NumElements(t.Shape)
	size, isBinary, err := in.Parameters.int("binary_data_size")
	if err != nil {
		return nil, invalid("input %q: %v", in.Name, err)
	}
	if isBinary {
		if len(in.Data) > 0 {
			return nil, invalid("input %q has both binary_data_size and data", in.Name)
		}
		return decodeBinary(t, bin, size, n)
	}
	if len(in.Data) == 0 {
		return nil, invalid("input %q has no data", in.Name)
	}
	if t.Data, t.Strings, err = decodeDataInto(in.spare.data, in.Data, dt, n, t.Shape); err != nil {
		return nil, invalid("input %q: %v", in.Name, err)
	}
	if t.Data != nil {
		in.spare.data = t.Data
	}
	return bin, nil
}

// decodeBinary takes size bytes from bin for t, checking them against the
// shape before anything is allocated.
func decodeBinary(t *backends.Tensor, bin []byte, size, n int64) ([]byte, error) {
	if size > int64(len(bin)) {
		return nil, invalid("input %q: binary_data_size is %d but only %d bytes of binary data remain (truncated body?)", t.Name, size, len(bin))
	}
	raw := bin[:size:size]
	if t.DataType != backends.Bytes {
		if want := n * int64(t.DataType.Size()); want != size {
			return nil, invalid("input %q: shape %v of %s needs %d bytes, binary_data_size is %d", t.Name, t.Shape, t.DataType, want, size)
		}
		t.Data = raw
		return bin[size:], nil
	}
	strs, err := transport.SplitBytesElements(raw, n)
	if err != nil {
		return nil, invalid("input %q: %v", t.Name, err)
	}
	t.Strings = strs
	return bin[size:], nil
}

func invalid(format string, args ...any) error {
	return runtime.Errorf(runtime.KindInvalidArgument, format, args...)
}

// parseHeaderLen reads Inference-Header-Content-Length; -1 when absent.
func parseHeaderLen(v []byte) (int, error) {
	if len(v) == 0 {
		return -1, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return 0, invalid("Inference-Header-Content-Length must be a byte count, got %q", v)
	}
	return n, nil
}
