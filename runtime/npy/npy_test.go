package npy

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func TestHeaderRoundTrip(t *testing.T) {
	for _, shape := range [][]int64{{5}, {3, 4}, {2, 3, 4}, {0, 7}} {
		b := AppendHeader(nil, backends.FP32, shape)
		if len(b)%64 != 0 {
			t.Errorf("shape %v: header of %d bytes is not 64-byte aligned", shape, len(b))
		}
		r := bytes.NewReader(append(b, 1, 2, 3))
		h, err := ReadHeader(r)
		if err != nil {
			t.Fatalf("shape %v: %v", shape, err)
		}
		if h.DataType != backends.FP32 || len(h.Shape) != len(shape) || h.Len != len(b) || r.Len() != 3 {
			t.Errorf("shape %v: read %+v, %d bytes left", shape, h, r.Len())
		}
		for i := range shape {
			if h.Shape[i] != shape[i] {
				t.Errorf("shape %v: read %v", shape, h.Shape)
			}
		}
	}
}

func TestReadHeaderErrors(t *testing.T) {
	good := AppendHeader(nil, backends.Int64, []int64{2, 2})
	cases := map[string][]byte{
		"no \\x93NUMPY magic":    []byte("PAR1 not numpy at all"),
		"format version 9":       append([]byte(Magic+"\x09\x00"), good[8:]...),
		"truncated .npy header":  good[:20],
		"Fortran order":          []byte(strings.Replace(string(good), "False", "True ", 1)),
		"unsupported .npy dtype": []byte(strings.Replace(string(good), "<i8", ">i8", 1)),
	}
	for want, b := range cases {
		_, err := ReadHeader(bytes.NewReader(b))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error naming %q, got %v", want, err)
		}
	}
}
