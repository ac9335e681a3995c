package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/transport/v2client"
)

// The three ways a test sends a V2 request, through tiffin infer's own
// clients, and turning their answers back into tensors: the conformance
// suite and the datatype round trips use them.

// wire is one way of sending a request.
type wire struct {
	name string
	args func(base, grpcAddr string) inferArgs
}

var wires = []wire{
	{"json", func(base, _ string) inferArgs { return inferArgs{httpURL: base} }},
	{"binary", func(base, _ string) inferArgs { return inferArgs{httpURL: base, binary: true} }},
	{"grpc", func(_, addr string) inferArgs { return inferArgs{grpcAddr: addr} }},
}

// inferWire sends inputs to model over w with tiffin infer's own client
// package, transport/v2client.
func inferWire(gs *grpcServer, model string, w wire, inputs []backends.Tensor) ([]backends.Tensor, error) {
	a := w.args(gs.base, gs.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req := v2client.Request{Model: model, Inputs: inputs, Binary: a.binary}
	var out *v2client.Response
	var err error
	if a.grpcAddr != "" {
		var c *v2client.GRPC
		if c, err = v2client.NewGRPC(a.grpcAddr, 1, nil); err != nil {
			return nil, err
		}
		defer c.Close()
		out, err = c.Infer(ctx, req)
	} else {
		var c *v2client.HTTP
		if c, err = v2client.NewHTTP(a.httpURL, 1, 2*time.Minute, nil); err != nil {
			return nil, err
		}
		defer c.Close()
		var call *v2client.HTTPCall
		if call, err = c.Prepare(req); err != nil {
			return nil, err
		}
		out, err = call.Infer(ctx)
	}
	if err != nil {
		return nil, err
	}
	tensors := make([]backends.Tensor, len(out.Outputs))
	for i, o := range out.Outputs {
		if tensors[i], err = outputTensorOf(o); err != nil {
			return nil, fmt.Errorf("output %q: %w", o.Name, err)
		}
	}
	return tensors, nil
}

// isServerError reports whether a client error is an HTTP 500 or a gRPC
// Internal or Unknown: the answers a server must never give a valid request.
func isServerError(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "HTTP 500") || strings.HasPrefix(s, "Internal:") || strings.HasPrefix(s, "Unknown:")
}

// outputTensorOf turns a printed output back into a tensor; JSON's null
// (NaN or an infinity, which JSON cannot hold) becomes NaN.
func outputTensorOf(o v2client.Output) (backends.Tensor, error) {
	dt, ok := backends.ParseDataType(o.Datatype)
	if !ok {
		return backends.Tensor{}, fmt.Errorf("datatype %q", o.Datatype)
	}
	t := backends.Tensor{Name: o.Name, DataType: dt, Shape: o.Shape}
	for i, v := range o.Data {
		if raw, ok := v.(json.RawMessage); ok {
			d := json.NewDecoder(strings.NewReader(string(raw)))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				return t, fmt.Errorf("element %d: %w", i, err)
			}
		}
		if v == nil {
			t.Data = append(t.Data, nanBytes(dt)...)
			continue
		}
		if err := appendLeaf(&t, v); err != nil {
			return t, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return t, t.Check()
}

// nanBytes is a NaN of a floating-point datatype, little-endian.
func nanBytes(dt backends.DataType) []byte {
	switch dt {
	case backends.FP16:
		return binary.LittleEndian.AppendUint16(nil, 0x7e00)
	case backends.BF16:
		return binary.LittleEndian.AppendUint16(nil, 0x7fc0)
	case backends.FP64:
		return binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN()))
	}
	return binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN())))
}
