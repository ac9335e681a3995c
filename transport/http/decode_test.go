package http

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

func TestDecodeRequestBinaryAndParameters(t *testing.T) {
	header := `{"id":"7","parameters":{"timeout":2500,"priority":"bulk","binary_data_output":true},` +
		`"inputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},` +
		`{"name":"s","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":11}},` +
		`{"name":"b","datatype":"INT32","shape":[1],"data":[5]}],` +
		`"outputs":[{"name":"y","parameters":{"binary_data":true}}]}`
	bin := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1))
	bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(2))
	bin = binary.LittleEndian.AppendUint32(bin, 3)
	bin = append(bin, "abc"...)
	bin = binary.LittleEndian.AppendUint32(bin, 0)
	d, err := decodeRequest(append([]byte(header), bin...), len(header), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := d.req
	if r.ID != "7" || r.Timeout != 2500*time.Microsecond || r.Priority != runtime.PriorityBulk || !d.binaryAll || !d.binaryOutput["y"] {
		t.Fatalf("decoded %+v", d)
	}
	if len(r.Inputs) != 3 || len(r.Inputs[0].Data) != 8 || string(r.Inputs[1].Strings[0]) != "abc" || len(r.Inputs[1].Strings[1]) != 0 {
		t.Fatalf("inputs %+v", r.Inputs)
	}
	for i := range r.Inputs {
		if err := r.Inputs[i].Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// An output's own binary_data wins over binary_data_output, either way,
// as in Triton; an output that sets none follows binary_data_output.
func TestBinaryDataPerOutputWins(t *testing.T) {
	for _, c := range []struct {
		all, y, z    string // "" leaves the parameter out
		wantY, wantZ bool
	}{
		{"true", "false", "", false, true},
		{"false", "true", "", true, false},
		{"", "true", "false", true, false},
		{"true", "", "", true, true},
	} {
		param := func(k, v string) string {
			if v == "" {
				return ""
			}
			return `,"parameters":{"` + k + `":` + v + `}`
		}
		body := `{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]` + param("binary_data_output", c.all) +
			`,"outputs":[{"name":"y"` + param("binary_data", c.y) + `},{"name":"z"` + param("binary_data", c.z) + `}]}`
		d, err := decodeRequest([]byte(body), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.binary("y") != c.wantY || d.binary("z") != c.wantZ {
			t.Errorf("%s: y %v, z %v; want %v, %v", body, d.binary("y"), d.binary("z"), c.wantY, c.wantZ)
		}
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	tests := []struct {
		body      string
		headerLen int
		want      string
	}{
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1]}]}`, -1, `input "a" has no data`},
		{`{"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}`, -1, `an input has no name`},
		{`{"inputs":[{"name":"a","datatype":"FP32","data":[1]}]}`, -1, `invalid shape`},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[-1],"data":[1]}]}`, -1, `invalid shape [-1]: axis 0 is negative`},
		// 2^62 elements of 4 bytes: a byte size that wraps to 0 in an int64.
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4611686018427387904],"parameters":{"binary_data_size":0}}]}`, 111, `holds more than 2^59 elements`},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":9223372036854775807}}]}`, 109, `binary_data_size is 9223372036854775807 but only 0 bytes`},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":9223372036854775808}}]}`, 109, `is 9223372036854775808, more than the largest allowed, 9223372036854775807`},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":1e30}}]}`, 94, `more than the largest allowed`},
		{`{"parameters":{"timeout":-5},"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]}`, -1, `"timeout" must be a whole number`},
		{`{"parameters":{"priority":"urgent"},"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]}`, -1, `"priority" must be`},
		{`{"parameters":{"binary_data_output":"yes"},"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]}`, -1, `"binary_data_output" must be true or false, got yes`},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"y","parameters":{"binary_data":1}}]}`, -1, `output "y": parameter "binary_data" must be true or false, got 1`},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{}]}`, -1, `requested output has no name`},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]}xyz`, 66, `3 bytes of binary data that no input claims`},
	}
	for _, tt := range tests {
		_, err := decodeRequest([]byte(tt.body), tt.headerLen, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) || runtime.KindOf(err) != runtime.KindInvalidArgument {
			t.Errorf("%s: err %v, want invalid argument %q", tt.body, err, tt.want)
		}
	}
}

// Millions of empty inputs, outputs or parameters are refused at the
// first one past the bound, having cost the decoder little: "{}" is three
// bytes of body but hundreds of the decoder's.
func TestDecodeBoundsWhatARequestLists(t *testing.T) {
	many := func(n int, elem string) string { return strings.TrimSuffix(strings.Repeat(elem+",", n), ",") }
	in := `{"name":"a","datatype":"FP32","shape":[1],"data":[1]}`
	params := `{"parameters":{` + many(200, `"k":1`) + `},"inputs":[` + in + `]}`
	for _, c := range []struct{ body, want string }{
		{`{"inputs":[` + many(5<<20, `{}`) + `]}`, "more than 1024 inputs"},
		{`{"inputs":[` + in + `],"outputs":[` + many(5<<20, `{}`) + `]}`, "more than 1024 outputs"},
		{params, `"parameters": more than 128 parameters`},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1],"parameters":{` + many(200, `"k":1`) + `}}]}`, "more than 128 parameters"},
	} {
		body := []byte(c.body)
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		_, err := decodeRequest(body, -1, nil)
		goruntime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40s...: %v, want %q", c.body, err, c.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%.40s...: refusing it allocated %d bytes", c.body, n)
		}
	}
	if _, err := decodeRequest([]byte(`{"inputs":[`+many(maxTensors, in)+`]}`), -1, nil); err != nil {
		t.Fatalf("%d inputs: %v", maxTensors, err)
	}
}

// A timeout past what a duration holds is the longest one, not a
// wrapped-around few nanoseconds.
func TestDecodeHugeTimeout(t *testing.T) {
	d, err := decodeRequest([]byte(`{"parameters":{"timeout":18446744073709552},"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]}`), -1, nil)
	if err != nil || d.req.Timeout < 100*365*24*time.Hour {
		t.Fatalf("timeout %v (%v), want the longest", d.req.Timeout, err)
	}
}

// FuzzDecodeRequest feeds arbitrary bodies to the decoder: it must never
// panic, and whatever it accepts must be self-consistent.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]}]}`), -1)
	f.Add([]byte(`{"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":5}}]}`+"\x01\x00\x00\x00z"), 88)
	f.Add([]byte(`{"inputs":[{"name":"a","datatype":"BOOL","shape":[1,1],"data":[[true]]}]}`), -1)
	f.Fuzz(func(t *testing.T, body []byte, headerLen int) {
		if headerLen < -1 {
			headerLen = -1
		}
		d, err := decodeRequest(body, headerLen, nil)
		if err != nil {
			return
		}
		for i := range d.req.Inputs {
			if err := d.req.Inputs[i].Check(); err != nil {
				t.Fatalf("accepted an inconsistent tensor: %v", err)
			}
		}
	})
}

func benchBody(batch int) []byte {
	x := make([]float32, batch*16)
	for i := range x {
		x[i] = float32(i%97) * 0.125
	}
	b, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "input", "datatype": "FP32", "shape": []int{batch, 16}, "data": x}}})
	return b
}

func benchBinaryBody(batch int) ([]byte, int) {
	h := fmt.Sprintf(`{"inputs":[{"name":"input","datatype":"FP32","shape":[%d,16],"parameters":{"binary_data_size":%d}}]}`, batch, batch*64)
	return append([]byte(h), make([]byte, batch*64)...), len(h)
}

// BenchmarkDecode measures the HTTP decode path, JSON and binary, per batch
// size; bytes/s is of the request body.
func BenchmarkDecode(b *testing.B) {
	for _, batch := range []int{1, 64} {
		for _, enc := range []string{"json", "binary"} {
			b.Run("enc="+enc+"/batch="+strconv.Itoa(batch), func(b *testing.B) {
				body, hl := benchBody(batch), -1
				if enc == "binary" {
					body, hl = benchBinaryBody(batch)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					d, err := decodeRequest(body, hl, nil)
					if err != nil || len(d.req.Inputs[0].Data) != batch*64 {
						b.Fatalf("decode: %v", err)
					}
				}
			})
		}
	}
}

// BenchmarkEncode measures writing a JSON response of a batch of outputs.
func BenchmarkEncode(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			out := backends.Tensor{Name: "output", DataType: backends.FP32, Shape: []int64{int64(batch), 4}, Data: make([]byte, batch*16)}
			resp := &runtime.InferResponse{Model: "mlp-small", Version: 1, Outputs: []backends.Tensor{out}}
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				body, _ := encodeResponse(buf[:0], resp, &decoded{})
				if len(body) == 0 {
					b.Fatal("empty body")
				}
			}
		})
	}
}

// FuzzDecodeChecked decodes JSON and binary requests (BYTES included)
// against a model's signature, as the server does: the shape check runs
// before any data is decoded, and nothing may panic. Run with `make fuzz`.
func FuzzDecodeChecked(f *testing.F) {
	f.Add([]byte(`{"inputs":[{"name":"s","datatype":"BYTES","shape":[1,2],"data":["a","b"]}]}`), -1)
	f.Add([]byte(`{"inputs":[{"name":"s","datatype":"BYTES","shape":[1,1],"parameters":{"binary_data_size":5}}]}`+"\x01\x00\x00\x00z"), 88)
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4]]}]}`), -1)
	sig := runtime.Signature{MaxBatchSize: 8, Inputs: []backends.TensorSpec{
		{Name: "s", DataType: backends.Bytes, Shape: []int64{-1, -1}},
	}}
	f.Fuzz(func(t *testing.T, body []byte, headerLen int) {
		if headerLen < -1 || headerLen > len(body) {
			headerLen = -1
		}
		d, err := decodeRequest(body, headerLen, func(in []backends.Tensor) error { return sig.CheckShapes("m", in) })
		if err == nil && len(d.req.Inputs) != 1 {
			t.Fatalf("a checked request has %d inputs", len(d.req.Inputs))
		}
	})
}

// TestDecodeStringInPlace: a BYTES element without escapes is its bytes in
// the body, not a copy (a copy through encoding/json cost ~130 bytes an
// element); escapes, invalid UTF-8 and control bytes read as encoding/json
// reads them.
func TestDecodeStringInPlace(t *testing.T) {
	for tok, want := range map[string]string{
		`"abc"`: "abc", `""`: "", `"héllo"`: "héllo", `"a\"b"`: `a"b`, `"\u00e9"`: "é", "\"\xff\"": "\uFFFD",
	} {
		got, err := decodeString([]byte(tok))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", tok, got, err, want)
		}
	}
	body := []byte(`"plain"`)
	got, _ := decodeString(body)
	if &got[0] != &body[1] || cap(got) != len(got) {
		t.Error("a plain string was copied, or may grow into the body")
	}
	if _, err := decodeString([]byte("\"a\x01b\"")); err == nil {
		t.Error("a raw control byte in a string was accepted")
	}
}

// A BYTES element that is not UTF-8 cannot go in a JSON string unchanged:
// the answer is refused naming the way to get it (binary data), rather
// than sent with its bytes replaced.
func TestJSONCannotCarryNonUTF8(t *testing.T) {
	resp := &runtime.InferResponse{Outputs: []backends.Tensor{
		{Name: "s", DataType: backends.Bytes, Shape: []int64{2}, Strings: [][]byte{[]byte("ünï"), {0xff, 0xfe}}},
	}}
	body := `{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]}`
	d, err := decodeRequest([]byte(body), -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = d.jsonCanCarry(resp)
	if runtime.KindOf(err) != runtime.KindInvalidArgument || !strings.Contains(err.Error(), `output "s": element 1 is not UTF-8`) ||
		!strings.Contains(err.Error(), "binary_data") {
		t.Fatalf("got %v, want a 400 naming the element and binary data", err)
	}
	asBinary := strings.Replace(body, `]}]}`, `]}],"outputs":[{"name":"s","parameters":{"binary_data":true}}]}`, 1)
	if d, err = decodeRequest([]byte(asBinary), -1, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.jsonCanCarry(resp); err != nil {
		t.Fatalf("as binary data: %v", err)
	}
	resp.Outputs[0].Strings[1] = []byte("ok")
	if d, _ = decodeRequest([]byte(body), -1, nil); d.jsonCanCarry(resp) != nil {
		t.Fatal("valid UTF-8 refused")
	}
}

// MLServer's base64 codec: BYTES elements sent as base64 text reach the
// model as the bytes they encode; text that is not base64, or base64 on
// another datatype, is refused naming it.
func TestContentTypeBase64(t *testing.T) {
	body := `{"inputs":[{"name":"s","datatype":"BYTES","shape":[2],"parameters":{"content_type":"base64"},"data":["aGVsbG8=","//4="]}]}`
	d, err := decodeRequest([]byte(body), -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := d.req.Inputs[0].Strings; string(s[0]) != "hello" || string(s[1]) != "\xff\xfe" {
		t.Fatalf("decoded %q", s)
	}
	if _, err := decodeRequest([]byte(strings.Replace(body, "//4=", "not base64!", 1)), -1, nil); err == nil ||
		!strings.Contains(err.Error(), `input "s": element 1 is not base64`) {
		t.Fatalf("bad base64: %v", err)
	}
	fp := `{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"parameters":{"content_type":"base64"},"data":[1]}]}`
	if _, err := decodeRequest([]byte(fp), -1, nil); err == nil || !strings.Contains(err.Error(), "content_type base64 is for BYTES inputs") {
		t.Fatalf("base64 on FP32: %v", err)
	}
	np := strings.Replace(fp, "base64", "np", 1) // the other codecs describe plain tensors
	if _, err := decodeRequest([]byte(np), -1, nil); err != nil {
		t.Fatal(err)
	}
}
