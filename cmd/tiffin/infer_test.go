package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/npy"
)

// npyFile builds a version 1 .npy file.
func npyFile(descr string, fortran bool, shape string, data []byte) []byte {
	order := "False"
	if fortran {
		order = "True"
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr, order, shape)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	return append(append(b, h...), data...)
}

func TestReadNPY(t *testing.T) {
	f4 := f32Bytes([]float32{1, 2, 3, 4, 5, 6})
	cases := []struct {
		descr, shape string
		data         []byte
		dt           backends.DataType
		want         string
	}{
		{"<f4", "2, 3", f4, backends.FP32, "[2 3]"},
		{"<i8", "2,", make([]byte, 16), backends.Int64, "[2]"},
		{"|b1", "4,", []byte{1, 0, 1, 1}, backends.Bool, "[4]"},
		{"|u1", "", []byte{7}, backends.Uint8, "[]"},
		{"<f8", "1, 1", make([]byte, 8), backends.FP64, "[1 1]"},
		{"<i4", "3,", make([]byte, 12), backends.Int32, "[3]"},
	}
	for _, c := range cases {
		tn, err := npy.Decode("x", npyFile(c.descr, false, c.shape, c.data))
		if err != nil || tn.DataType != c.dt || fmt.Sprint(tn.Shape) != c.want || !bytes.Equal(tn.Data, c.data) {
			t.Fatalf("%s (%s): %v %v %v", c.descr, c.shape, tn.DataType, tn.Shape, err)
		}
	}
	for what, b := range map[string][]byte{
		"Fortran order": npyFile("<f4", true, "2, 3", f4),
		"big-endian":    npyFile(">f4", false, "2, 3", f4),
		"object dtype":  npyFile("|O", false, "1,", make([]byte, 8)),
		"short data":    npyFile("<f4", false, "2, 3", f4[:20]),
		"not npy":       []byte("hello world"),
	} {
		if _, err := npy.Decode("x", b); err == nil {
			t.Fatalf("%s: read without error", what)
		}
	}
}

func TestJSONTensor(t *testing.T) {
	tn, err := jsonTensor("b", backends.Int32, nil, []byte(`[[1,-2],[3,4]]`))
	if err != nil || fmt.Sprint(tn.Shape) != "[2 2]" || int32(binary.LittleEndian.Uint32(tn.Data[4:])) != -2 {
		t.Fatalf("%v %v", tn, err)
	}
	if _, err := jsonTensor("x", backends.FP32, nil, []byte(`[[1,2],[3]]`)); err == nil {
		t.Fatal("ragged array accepted")
	}
	if _, err := jsonTensor("x", backends.FP32, []int64{3}, []byte(`[1,2]`)); err == nil {
		t.Fatal("--shape holding more than the data accepted")
	}
	if _, err := jsonTensor("x", backends.FP32, nil, []byte(`[true]`)); err == nil {
		t.Fatal("a boolean taken as FP32")
	}
}

// TestE2EInferCommand runs `tiffin infer` against a real server over HTTP
// (JSON and binary) and gRPC, with a .npy input and a JSON input.
func TestE2EInferCommand(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	x := seqInput(2, 16, 4)
	npy := filepath.Join(t.TempDir(), "x.npy")
	if err := os.WriteFile(npy, npyFile("<f4", false, "2, 16", f32Bytes(x)), 0o644); err != nil {
		t.Fatal(err)
	}
	want := modelgen.MLPSmall().Forward(x, 2)
	for _, wire := range [][]string{{"--http", strings.TrimPrefix(gs.base, "http://")}, {"--http", gs.base, "--binary"}, {"--grpc", gs.addr}} {
		args := append([]string{"infer", "--model", "mlp-small", "--input", "input=@" + npy, "--id", "q"}, wire...)
		out := runInfer(t, args)
		if out.ID != "q" || out.Outputs[0].Name != "output" || fmt.Sprint(out.Outputs[0].Shape) != "[2 4]" {
			t.Fatalf("%v: %+v", wire, out)
		}
		assertClose(t, fmt.Sprint(wire), out.values(t, 0), want, 1e-5)
	}
	for _, wire := range [][]string{{"--http", gs.base}, {"--grpc", gs.addr}} {
		args := append([]string{"infer", "--model", "multi-io", "--output", "scaled",
			"--input", "a=[[1,-2,3,-4]]", "--input", "b=[1,2,3,-4]", "--datatype", "b=INT32", "--shape", "b=1,4",
			"--input", "c=[[0.5,1]]", "--datatype", "c=FP64"}, wire...)
		out := runInfer(t, args)
		if len(out.Outputs) != 1 || out.Outputs[0].Datatype != "INT64" || fmt.Sprint(out.values(t, 0)) != "[3 6 9 -12]" {
			t.Fatalf("%v: %+v", wire, out)
		}
	}
	var stderr bytes.Buffer
	code := run([]string{"infer", "--model", "nope", "--grpc", gs.addr, "--input", "x=[1]"}, &bytes.Buffer{}, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "NotFound") {
		t.Fatalf("unknown model: exit %d, %s", code, stderr.String())
	}
}

// TestE2EInferToken: against a server with --inference-token, `tiffin
// infer` is refused without the token and answered with it, from --token
// or $TIFFIN_INFERENCE_TOKEN, over HTTP and gRPC.
func TestE2EInferToken(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), func(c *config.Server) { c.Repository.InferenceToken = "inf" })
	for _, wire := range [][]string{{"--http", gs.base}, {"--http", gs.base, "--binary"}, {"--grpc", gs.addr}} {
		args := append([]string{"infer", "--model", "mlp-small", "--input", "input=[" + strings.Repeat("0.5,", 15) + "0.5]", "--shape", "input=1,16"}, wire...)
		t.Setenv(inferenceTokenEnv, "")
		var stderr bytes.Buffer
		if code := run(args, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "needs a bearer token") {
			t.Fatalf("%v without a token: exit %d, %s", wire, code, stderr.String())
		}
		stderr.Reset()
		if code := run(append(args, "--token", "wrong"), &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(strings.ToLower(stderr.String()), "token") {
			t.Fatalf("%v with a wrong token: exit %d, %s", wire, code, stderr.String())
		}
		if out := runInfer(t, append(args, "--token", "inf")); len(out.Outputs) != 1 {
			t.Fatalf("%v with --token: %+v", wire, out)
		}
		t.Setenv(inferenceTokenEnv, "inf")
		if out := runInfer(t, args); len(out.Outputs) != 1 {
			t.Fatalf("%v with $%s: %+v", wire, inferenceTokenEnv, out)
		}
	}
}

type inferJSON struct {
	ID      string `json:"id"`
	Outputs []struct {
		Name     string            `json:"name"`
		Datatype string            `json:"datatype"`
		Shape    []int64           `json:"shape"`
		Data     []json.RawMessage `json:"data"`
	} `json:"outputs"`
}

func (o *inferJSON) values(t *testing.T, i int) []float64 { return floats(t, o.Outputs[i].Data) }

func runInfer(t *testing.T, args []string) inferJSON {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
	}
	var out inferJSON
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stdout.String())
	}
	return out
}

// A --timeout that is not positive is a usage mistake naming the flag:
// before, the request timed out at once and the error blamed the server.
func TestInferTimeoutMustBePositive(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"infer", "--model", "m", "--http", "http://127.0.0.1:1", "--input", "x=[1]", "--timeout", "0s"}, &bytes.Buffer{}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--timeout must be positive") {
		t.Fatalf("exit %d: %q; want 2 naming --timeout", code, stderr.String())
	}
}
