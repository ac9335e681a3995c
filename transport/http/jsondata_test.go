package http

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func TestDecodeDataTypes(t *testing.T) {
	le := binary.LittleEndian
	tests := []struct {
		dt   backends.DataType
		raw  string
		n    int64
		want []byte
	}{
		{backends.FP32, "[1.5, -2]", 2, le.AppendUint32(le.AppendUint32(nil, math.Float32bits(1.5)), math.Float32bits(-2))},
		{backends.FP32, "[[1.5], [-2]]", 2, le.AppendUint32(le.AppendUint32(nil, math.Float32bits(1.5)), math.Float32bits(-2))},
		{backends.FP64, "[1e300]", 1, le.AppendUint64(nil, math.Float64bits(1e300))},
		{backends.FP16, "[1, -0.5]", 2, le.AppendUint16(le.AppendUint16(nil, 0x3c00), 0xb800)},
		{backends.BF16, "[1]", 1, le.AppendUint16(nil, 0x3f80)},
		{backends.Int8, "[-128, 127]", 2, []byte{0x80, 0x7f}},
		{backends.Int64, "[-1]", 1, le.AppendUint64(nil, math.MaxUint64)},
		{backends.Uint16, "[65535]", 1, []byte{0xff, 0xff}},
		{backends.Uint64, "[18446744073709551615]", 1, le.AppendUint64(nil, math.MaxUint64)},
		{backends.Bool, "[true,false]", 2, []byte{1, 0}},
	}
	for _, tt := range tests {
		got, _, err := decodeData([]byte(tt.raw), tt.dt, tt.n)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%s %s: got %x %v, want %x", tt.dt, tt.raw, got, err, tt.want)
		}
	}
	strs, _, err := decodeData([]byte(`["a", "\u00e9\n", ""]`), backends.Bytes, 3)
	if err != nil || strs != nil {
		t.Fatalf("bytes: %v", err)
	}
	_, s, err := decodeData([]byte(`["a", "\u00e9\n", ""]`), backends.Bytes, 3)
	if err != nil || string(s[1]) != "é\n" || len(s[2]) != 0 {
		t.Fatalf("bytes: %q %v", s, err)
	}
}

func TestDecodeDataErrors(t *testing.T) {
	tests := []struct {
		dt   backends.DataType
		raw  string
		n    int64
		want string
	}{
		{backends.FP32, "[1,2]", 3, "shape holds 3 elements but data has 2"},
		{backends.FP32, "[1,2,3]", 2, "more than the 2 elements"},
		{backends.FP32, "[1,x]", 2, `data element 1: invalid FP32 value "x"`},
		{backends.Int8, "[300]", 1, "invalid INT8 value"},
		{backends.Uint8, "[-1]", 1, "invalid UINT8 value"},
		{backends.Int32, "[1.5]", 1, "invalid INT32 value"},
		{backends.Bool, "[2]", 1, "invalid BOOL value"},
		{backends.FP32, "5", 1, "must be a JSON array"},
		{backends.FP32, "[[1]", 1, "unbalanced"},
		{backends.Bytes, "[1]", 1, "BYTES elements are JSON strings"},
		{backends.Bytes, `["abc]`, 1, "unterminated string"},
		{backends.FP32, "[1]", 1000, "shape holds 1000 elements but data has 1"},
		{backends.FP32, "[[1, 2.5, 3]]", 16, "shape holds 16 elements but data has 3"},
		{backends.Bytes, `["a", "b\"c"]`, 16, "shape holds 16 elements but data has 2"},
		{backends.Bytes, "[1,2,3,4,5]", 5, "shape holds 5 elements but data has at most 4"},
	}
	for _, tt := range tests {
		_, _, err := decodeData([]byte(tt.raw), tt.dt, tt.n)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s: err %v, want %q", tt.dt, tt.raw, err, tt.want)
		}
	}
}

// Nested data must be even and be the shape with its leading axes merged:
// ragged or misnested data is refused naming the problem, not read flat.
func TestDecodeDataNesting(t *testing.T) {
	ok := []struct {
		raw   string
		shape []int64
	}{
		{"[1,2,3,4,5,6]", []int64{2, 3}},
		{"[[1,2,3],[4,5,6]]", []int64{2, 3}},
		{"[[[1,2,3],[4,5,6]]]", []int64{1, 2, 3}},
		{"[[1,2,3],[4,5,6]]", []int64{1, 2, 3}},                 // leading axes merged: [1*2, 3]
		{"[[1,2,3,4,5,6]]", []int64{1, 2, 3}},                   // one flat array per item
		{"[[[1,2,3,4,5,6]]]", []int64{6}},                       // levels of one around it
		{"[[1,2,3],[4,5,6],[7,8,9],[0,1,2]]", []int64{2, 2, 3}}, // [2*2, 3]
		{"[[1,2],[3,4]]", []int64{2, 2, 1}},                     // a trailing axis of one
		{"[[1],[2]]", []int64{2, 1}},
		{"[[]]", []int64{1, 0}},
	}
	for _, c := range ok {
		n := backends.NumElements(c.shape)
		if _, _, err := decodeDataInto(nil, []byte(c.raw), backends.FP32, n, c.shape); err != nil {
			t.Errorf("%s as %v: %v", c.raw, c.shape, err)
		}
	}
	bad := []struct {
		raw   string
		shape []int64
		want  string
	}{
		{"[[1,2],[3,4,5,6]]", []int64{2, 3}, "data is ragged: an array 2 deep holds 4 items, an earlier one 2"},
		{"[[1,2],3,4,5,6]", []int64{2, 3}, "data nests unevenly: element 2 is 1 arrays deep, the first was 2"},
		{"[1,2,[3,4],5,6]", []int64{2, 3}, "data nests unevenly: an array beside elements at depth 1"},
		{"[[1,2],[3,4],[5,6]]", []int64{2, 3}, "data nested as [3 2] does not fit shape [2 3]"},
		{"[[1,2,3],[4,5,6]]", []int64{3, 2}, "data nested as [2 3] does not fit shape [3 2]"},
		{"[[1,2,3,4],[5,6,7,8],[9,0,1,2]]", []int64{2, 3, 2}, "data nested as [3 4] does not fit shape [2 3 2]"},
	}
	for _, c := range bad {
		n := backends.NumElements(c.shape)
		_, _, err := decodeDataInto(nil, []byte(c.raw), backends.FP32, n, c.shape)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s as %v: %v, want %q", c.raw, c.shape, err, c.want)
		}
	}
	if _, _, err := decodeDataInto(nil, []byte(`[["a","b"],["c"]]`), backends.Bytes, 3, []int64{3}); err == nil || !strings.Contains(err.Error(), "ragged") {
		t.Errorf("ragged BYTES: %v", err)
	}
}

func TestAppendDataRoundTrip(t *testing.T) {
	for _, dt := range []backends.DataType{backends.FP32, backends.FP64, backends.FP16, backends.BF16, backends.Int8,
		backends.Int16, backends.Int32, backends.Int64, backends.Uint8, backends.Uint16, backends.Uint32, backends.Uint64, backends.Bool} {
		raw := "[1,0,1,1]"
		if dt == backends.Bool {
			raw = "[true,false,true,true]"
		}
		data, _, err := decodeData([]byte(raw), dt, 4)
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		out := appendData(nil, &backends.Tensor{DataType: dt, Shape: []int64{4}, Data: data})
		if string(out) != raw {
			t.Errorf("%s: %s, want %s", dt, out, raw)
		}
	}
	out := appendData(nil, &backends.Tensor{DataType: backends.Bytes, Shape: []int64{2}, Strings: [][]byte{[]byte(`a"b`), {0xff}}})
	if string(out) != `["a\"b","\ufffd"]` {
		t.Errorf("bytes: %s", out)
	}
	nan := appendData(nil, &backends.Tensor{DataType: backends.FP32, Shape: []int64{1}, Data: binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN())))})
	if string(nan) != "[null]" {
		t.Errorf("NaN: %s", nan)
	}
}
