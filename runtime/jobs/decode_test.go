package jobs

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
)

func TestDecodeValueShapes(t *testing.T) {
	cases := []struct {
		raw   string
		spec  []int64
		dt    backends.DataType
		shape string // "" when an error is expected
		err   string
	}{
		{`[1, 2.5, -3]`, []int64{3}, backends.FP32, "[3]", ""},
		{`[[1,2],[3,4],[5,6]]`, []int64{-1, 2}, backends.Int32, "[3 2]", ""},
		{`[1,2,3,4,5,6]`, []int64{3, 2}, backends.Int64, "[3 2]", ""}, // flat fills a fixed shape
		{`7`, []int64{}, backends.FP64, "[]", ""},
		{`[true,false]`, []int64{2}, backends.Bool, "[2]", ""},
		{`["a","b\"c"]`, []int64{-1}, backends.Bytes, "[2]", ""},
		{`[[1,2],[3]]`, []int64{-1, 2}, backends.FP32, "", "ragged"},
		{`[[1,2],3]`, []int64{-1, 2}, backends.FP32, "", "ragged"},
		{`[1,2]`, []int64{3}, backends.FP32, "", "shape [2]"},
		{`[1,"x"]`, []int64{2}, backends.FP32, "", "invalid FP32"},
		{`[300]`, []int64{1}, backends.Int8, "", "invalid INT8"},
		{`[]`, []int64{-1}, backends.FP32, "", "empty"},
		{`[1,2] x`, []int64{2}, backends.FP32, "", "after the value"},
		{`[1 2]`, []int64{2}, backends.FP32, "", "want ','"},
		{`[01, 2]`, []int64{2}, backends.FP32, "", "invalid FP32"}, // JSON has no leading zeros
		{`[1_0]`, []int64{1}, backends.FP64, "", "invalid FP64"},
	}
	for _, c := range cases {
		got, err := decodeValue([]byte(c.raw), rowSpec{name: "x", dt: c.dt, shape: c.spec})
		if c.shape == "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.raw, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if fmt.Sprint(got.Shape) != c.shape {
			t.Errorf("%s: shape %v, want %s", c.raw, got.Shape, c.shape)
		}
		if err := got.Check(); err != nil {
			t.Errorf("%s: %v", c.raw, err)
		}
	}
}

func TestDecodeNDJSONNamesInputs(t *testing.T) {
	specs := []rowSpec{{name: "a", dt: backends.FP32, shape: []int64{2}}, {name: "b", dt: backends.Int32, shape: []int64{}}}
	for _, line := range []string{`{"b": 3, "a": [1, 2]}`, ` { "a":[1,2],"b":3 } `, `{"\u0061":[1,2],"b":3}`,
		// Fields that are no input are passed over, whatever they hold.
		`{"id":7,"a":[1,2],"b":3,"c":2}`, `{"id":"x}],\"{","a":[1,2],"meta":{"k":[1,{"z":null}],"s":"]"},"b":3,"ok":true}`,
		`{"a":[1,2],"b":3,"tail":[ [ ] , { } ] }`, `{"n":null,"a":[1,2],"b":3,"e":-1.5e3}`} {
		ts, err := decodeNDJSON([]byte(line), specs)
		if err != nil || ts[0].Name != "a" || ts[1].Name != "b" || len(ts[1].Data) != 4 || len(ts[0].Data) != 8 {
			t.Fatalf("%s: %+v %v", line, ts, err)
		}
	}
	for line, want := range map[string]string{
		`{"a":[1,2]}`:                           `missing input "b"`,
		`{"a":[1,2],"b":1,"c":tru}`:             `field "c": malformed JSON value "tru"`,
		`{"c":{"x":[1,2}],"a":[1,2],"b":1}`:     `field "c": malformed`,
		`{"c":"x,"a":[1,2],"b":1}`:              `want ','`,
		`{"a":[1,2],"b":1,"c":"x`:               `field "c": unterminated string`,
		`{"c":1,"a":[1,2]}`:                     `missing input "b"`,
		`{"c":` + strings.Repeat("[", 65) + `}`: "nested more than 64 deep",
		`[1,2]`:                                 "not a JSON object",
		`{"a":[1,2],"b":[1,2]}`:                 `input "b"`,
		`{"a":[1,2],"b":1} garbage`:             "after the JSON object",
		`{"a":[1,2],"a":[1,2]}`:                 `given twice`,
		`{"a":[1,2] "b":1}`:                     "want ','",
		`{"a" [1,2]}`:                           "want ':'",
		`{a:1}`:                                 "quoted input name",
		`{"a":[1,2],"b":1`:                      "want ','",
		`{"a":[1,2],"b":"x"}`:                   `input "b"`,
	} {
		if _, err := decodeNDJSON([]byte(line), specs); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", line, err, want)
		}
	}
}

func TestDecodeCSV(t *testing.T) {
	spec := rowSpec{name: "input", dt: backends.FP32, shape: []int64{3}}
	ts, err := decodeCSV([]byte(`1, 2.5 ,"3"`), spec)
	if err != nil || fmt.Sprint(ts[0].Shape) != "[3]" {
		t.Fatalf("%+v %v", ts, err)
	}
	if _, err := decodeCSV([]byte(`1,2`), spec); err == nil || !strings.Contains(err.Error(), "2 columns") {
		t.Fatalf("short row: %v", err)
	}
	if _, err := decodeCSV([]byte(`1,x,3`), spec); err == nil || !strings.Contains(err.Error(), "column 2") {
		t.Fatalf("bad value: %v", err)
	}
	// A row one column wider than the input, its first an integer, is
	// most likely pandas's df.to_csv() output with the DataFrame's index.
	index := "the first column looks like a pandas DataFrame's index, which df.to_csv() writes: write the file with index=False"
	for line, hint := range map[string]bool{"7,1,2,3": true, " 12 ,1,2,3": true, "0.5,1,2,3": false, "7,1,2,3,4": false, "1,2": false} {
		_, err := decodeCSV([]byte(line), spec)
		if err == nil || !strings.Contains(err.Error(), "columns do not fit") || strings.Contains(err.Error(), index) != hint {
			t.Errorf("%q: %v; want the pandas index named: %v", line, err, hint)
		}
	}
	// An empty field is most likely pandas's NaN; "nan" itself is read.
	nan := `pandas's df.to_csv() writes a missing value (NaN) as an empty field; fill the missing values, or write the file with na_rep="nan" to send NaN`
	if _, err := decodeCSV([]byte(`1,,3`), spec); err == nil || !strings.Contains(err.Error(), "column 2 is empty: "+nan) {
		t.Errorf("empty field: %v; want it named, with pandas's NaN", err)
	}
	if _, err := decodeCSV([]byte(`1,2,`), rowSpec{name: "input", dt: backends.Int64, shape: []int64{3}}); err == nil ||
		!strings.HasSuffix(err.Error(), "column 3 is empty") {
		t.Errorf("empty INT64 field: %v; want it named, without the NaN hint", err)
	}
	if ts, err := decodeCSV([]byte(`1,nan,3`), spec); err != nil || !math.IsNaN(float64(math.Float32frombits(binary.LittleEndian.Uint32(ts[0].Data[4:])))) {
		t.Errorf("na_rep=\"nan\": %v", err)
	}
	auto := csvHeader(spec, HeaderAuto)
	for line, want := range map[string]bool{
		"a,b,c": true, "1,2,3": false,
		"0,1,2":   true,  // pandas's names for unnamed columns
		"1,2,":    false, // a row missing a value fails as a row
		"x,,z":    false,
		"0,1,2.5": false,
		",a,b,c":  true, // pandas's df.to_csv() with its index
		",0,1,2":  true,
		",1,2,3":  false,
		",,b,c":   false,
	} {
		if got := auto([]byte(line)); got != want {
			t.Errorf("header %q: %v, want %v", line, got, want)
		}
	}
	if yes := csvHeader(spec, HeaderYes); !yes([]byte("1,2,3")) || csvHeader(spec, HeaderNo) != nil {
		t.Fatal("header=yes must skip the first line, header=no none")
	}
}

func TestAppendRowResultNests(t *testing.T) {
	out := backends.Tensor{Name: "y", DataType: backends.Int32, Shape: []int64{2, 2, 2}}
	for i := range 8 {
		out.Data = tensorjson.AppendInt(out.Data, uint64(i), 4)
	}
	got := string(appendRowResult(nil, 7, []backends.Tensor{out}, 1, true))
	if want := `{"row":7,"outputs":{"y":[[4,5],[6,7]]}}` + "\n"; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	got = string(appendRowError(nil, 3, `bad "row"`))
	if want := `{"row":3,"error":"bad \"row\""}` + "\n"; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

// decodeNDJSON decodes one NDJSON row as the scorer does, into a batch of
// its own, and returns its tensors.
func decodeNDJSON(line []byte, specs []rowSpec) ([]backends.Tensor, error) {
	return decodeRow(line, specs, NDJSON)
}

func decodeCSV(line []byte, spec rowSpec) ([]backends.Tensor, error) {
	return decodeRow(line, []rowSpec{spec}, CSV)
}

func decodeRow(line []byte, specs []rowSpec, f Format) ([]backends.Tensor, error) {
	d, b := newRowDecoder(specs, f), newBatch(len(specs))
	if err := d.decode(line, b); err != nil {
		return nil, err
	}
	b.add(0, d.shapes)
	return b.inputs(specs, 0, 1, false), nil
}

// TestDecodeDeepArrays: a row's arrays may nest maxDepth deep; deeper, the
// row fails naming the bound. One NDJSON line of four million '[' (8 MB,
// under the row limit) overflowed the 1 GB goroutine stack, which ends the
// process, and ended it again when its chunk was redelivered after a
// restart.
func TestDecodeDeepArrays(t *testing.T) {
	spec := rowSpec{name: "x", dt: backends.FP32, shape: []int64{-1}}
	nested := func(depth int) string { return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth) }
	deep := rowSpec{name: "x", dt: backends.FP32, shape: make([]int64, maxDepth)}
	for k := range deep.shape {
		deep.shape[k] = -1
	}
	if got, err := decodeValue([]byte(nested(maxDepth)), deep); err != nil || backends.NumElements(got.Shape) != 1 {
		t.Fatalf("%d deep: %v, %v; want one element", maxDepth, got.Shape, err)
	}
	for _, raw := range []string{nested(maxDepth + 1), strings.Repeat("[", 4_000_000) + strings.Repeat("]", 4_000_000)} {
		_, err := decodeValue([]byte(raw), spec)
		if err == nil || !strings.Contains(err.Error(), "nested more than 64 deep") {
			t.Fatalf("%d bytes of nesting: %v, want the depth named", len(raw), err)
		}
	}
	line := `{"x": ` + strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000) + `}`
	if _, err := decodeNDJSON([]byte(line), []rowSpec{spec}); err == nil || !strings.Contains(err.Error(), "deep") {
		t.Fatalf("a line of a million '[': %v, want the depth named", err)
	}
}
