package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/npy"
	"github.com/tiffin-ml/tiffin/transport/v2client"
)

// inferUsage is printed by `tiffin infer -h`.
const inferUsage = `Usage: tiffin infer --model M (--http URL | --grpc ADDR) --input NAME=VALUE... [flags]

Sends one inference request and prints the outputs as JSON. VALUE is
@file.npy (a C-order NumPy array: its dtype and shape are used), @file.json,
or JSON such as '[[1,2,3]]' (FP32 unless --datatype says otherwise; the
shape is the nesting unless --shape says otherwise).

Examples:
  tiffin infer --model mlp-small --http localhost:8000 --input input=@x.npy
  tiffin infer --model multi-io --grpc localhost:8001 --input a='[[1,2,3,4]]' \
      --input b='[[1,2,3,4]]' --datatype b=INT32 --input c='[[1,2]]' --datatype c=FP64

Flags:
`

// inferArgs are the parsed flags of `tiffin infer`.
type inferArgs struct {
	model, version, id string
	httpURL, grpcAddr  string
	binary             bool
	token              string // bearer token for a server with --inference-token
	tls                v2client.TLSFiles
	timeout            time.Duration
	inputs             [][2]string // NAME, VALUE, in order
	datatypes, shapes  map[string]string
	outputs            []string
}

func inferFlags(a *inferArgs, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, inferUsage); fs.PrintDefaults() }
	fs.StringVar(&a.model, "model", "", "model `NAME` (required)")
	fs.StringVar(&a.version, "version", "", "model version (default: the newest READY one)")
	fs.StringVar(&a.id, "id", "", "request id, echoed in the response")
	fs.StringVar(&a.httpURL, "http", "", "server's HTTP `URL` or host:port, e.g. localhost:8000")
	fs.StringVar(&a.grpcAddr, "grpc", "", "server's gRPC `ADDR`, e.g. localhost:8001")
	fs.BoolVar(&a.binary, "binary", false, "HTTP: send and receive tensors in the binary extension, not JSON")
	fs.DurationVar(&a.timeout, "timeout", 30*time.Second, "how long to wait for the answer")
	fs.StringVar(&a.token, "token", "", "bearer `TOKEN` for a server with --inference-token (default: $"+inferenceTokenEnv+")")
	a.tls.Flags(fs, true)
	fs.Func("input", "input `NAME=VALUE` (repeatable): NAME=@file.npy, NAME=@file.json or NAME='[[1,2]]'",
		func(s string) error {
			name, value, ok := strings.Cut(s, "=")
			if !ok || name == "" {
				return fmt.Errorf("want NAME=VALUE, got %q", s)
			}
			a.inputs = append(a.inputs, [2]string{name, value})
			return nil
		})
	fs.Func("datatype", "`NAME=TYPE` of a JSON input, e.g. b=INT32 (default FP32)", keyValue(a.datatypes))
	fs.Func("shape", "`NAME=D1,D2` of a JSON input (default: its nesting)", keyValue(a.shapes))
	fs.Func("output", "output `NAME` to return (repeatable; default: all)",
		func(s string) error { a.outputs = append(a.outputs, s); return nil })
	return fs
}

func keyValue(m map[string]string) func(string) error {
	return func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want NAME=VALUE, got %q", s)
		}
		m[k] = v
		return nil
	}
}

func inferCmd(args []string, stdout, stderr io.Writer) int {
	a := &inferArgs{datatypes: map[string]string{}, shapes: map[string]string{}}
	fs := inferFlags(a, stderr)
	if err := parseFlags(fs, args); err != nil {
		return parseExit(err)
	}
	if a.token == "" {
		a.token = os.Getenv(inferenceTokenEnv) // not the flag's default: usage would print it
	}
	if err := a.check(); err != nil {
		fmt.Fprintf(stderr, "tiffin infer: %v\n", err)
		return 2
	}
	out, err := a.run()
	if err != nil {
		fmt.Fprintf(stderr, "tiffin infer: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "tiffin infer: %v\n", err)
		return 1
	}
	return 0
}

func (a *inferArgs) check() error {
	switch {
	case a.model == "":
		return fmt.Errorf("--model is required")
	case (a.httpURL == "") == (a.grpcAddr == ""):
		return fmt.Errorf("give exactly one of --http URL and --grpc ADDR")
	case len(a.inputs) == 0:
		return fmt.Errorf("give at least one --input NAME=VALUE")
	case a.binary && a.grpcAddr != "":
		return fmt.Errorf("--binary is for --http; gRPC always sends raw tensor bytes")
	case a.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, got %s (the request would time out at once)", a.timeout)
	}
	// --datatype and --shape must name an input that takes them: a typo
	// in a name would otherwise go unnoticed.
	values := map[string]string{}
	for _, in := range a.inputs {
		values[in[0]] = in[1]
	}
	for flagName, m := range map[string]map[string]string{"--datatype": a.datatypes, "--shape": a.shapes} {
		for name := range m {
			value, ok := values[name]
			switch {
			case !ok:
				return fmt.Errorf("%s %s: no --input names %q", flagName, name, name)
			case strings.HasPrefix(value, "@") && strings.HasSuffix(value, ".npy"):
				return fmt.Errorf("%s %s: a .npy input carries its own datatype and shape", flagName, name)
			}
		}
	}
	for name, dt := range a.datatypes {
		if _, ok := backends.ParseDataType(strings.ToUpper(dt)); !ok {
			return fmt.Errorf("--datatype %s=%s: unknown datatype", name, dt)
		}
	}
	for name := range a.shapes {
		if _, err := a.shape(name); err != nil {
			return err
		}
	}
	return nil
}

// shape is --shape NAME's dims, or nil when not given.
func (a *inferArgs) shape(name string) ([]int64, error) {
	s := a.shapes[name]
	if s == "" {
		return nil, nil
	}
	var shape []int64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--shape %s=%s: want whole numbers separated by commas", name, s)
		}
		shape = append(shape, n)
	}
	return shape, nil
}

// run sends the request through v2client and returns the decoded answer.
func (a *inferArgs) run() (*v2client.Response, error) {
	tensors, err := a.tensors()
	if err != nil {
		return nil, err
	}
	req := v2client.Request{Model: a.model, Version: a.version, ID: a.id, Inputs: tensors, Outputs: a.outputs, Binary: a.binary}
	tlsCfg, err := a.tls.Config()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	if a.grpcAddr != "" {
		c, err := v2client.NewGRPC(a.grpcAddr, 1, tlsCfg)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		c.SetToken(a.token)
		return c.Infer(ctx, req)
	}
	c, err := v2client.NewHTTP(a.httpURL, 1, a.timeout, tlsCfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetToken(a.token)
	call, err := c.Prepare(req)
	if err != nil {
		return nil, err
	}
	return call.Infer(ctx)
}

// tensors reads every --input.
func (a *inferArgs) tensors() ([]backends.Tensor, error) {
	out := make([]backends.Tensor, 0, len(a.inputs))
	for _, in := range a.inputs {
		name, value := in[0], in[1]
		t, err := a.tensor(name, value)
		if err != nil {
			return nil, fmt.Errorf("--input %s: %w", name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func (a *inferArgs) tensor(name, value string) (backends.Tensor, error) {
	raw := []byte(value)
	if path, ok := strings.CutPrefix(value, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return backends.Tensor{}, err
		}
		if strings.HasSuffix(path, ".npy") {
			return npy.Decode(name, b)
		}
		raw = b
	}
	dtName := a.datatypes[name]
	if dtName == "" {
		dtName = "FP32"
	}
	dt, ok := backends.ParseDataType(strings.ToUpper(dtName))
	if !ok {
		return backends.Tensor{}, fmt.Errorf("unknown datatype %q", dtName)
	}
	shape, err := a.shape(name)
	if err != nil {
		return backends.Tensor{}, err
	}
	return jsonTensor(name, dt, shape, raw)
}
