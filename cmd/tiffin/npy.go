package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tiffin-ml/tiffin/backends"
)

// npyDTypes maps NumPy dtype descriptors to V2 datatypes. Multi-byte types
// must be little-endian ('<'), the byte order tensors travel in.
var npyDTypes = map[string]backends.DataType{
	"|b1": backends.Bool,
	"|u1": backends.Uint8, "<u2": backends.Uint16, "<u4": backends.Uint32, "<u8": backends.Uint64,
	"|i1": backends.Int8, "<i2": backends.Int16, "<i4": backends.Int32, "<i8": backends.Int64,
	"<f2": backends.FP16, "<f4": backends.FP32, "<f8": backends.FP64,
}

var (
	npyDescrRe   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortranRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShapeRe   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// readNPY reads a .npy file (format versions 1 to 3) of a numeric dtype in
// C order into a tensor named name.
func readNPY(name string, b []byte) (backends.Tensor, error) {
	t := backends.Tensor{Name: name}
	if len(b) < 10 || !bytes.Equal(b[:6], []byte("\x93NUMPY")) {
		return t, fmt.Errorf("not a .npy file (no \\x93NUMPY magic)")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return t, fmt.Errorf("truncated .npy header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return t, fmt.Errorf("unsupported .npy format version %d", b[6])
	}
	if start+hlen > len(b) {
		return t, fmt.Errorf("truncated .npy header")
	}
	header, data := string(b[start:start+hlen]), b[start+hlen:]
	if err := parseNPYHeader(header, &t); err != nil {
		return t, err
	}
	want := t.NumElements() * int64(t.DataType.Size())
	if int64(len(data)) != want {
		return t, fmt.Errorf("shape %v of %s needs %d bytes of data, the file has %d", t.Shape, t.DataType, want, len(data))
	}
	t.Data = data
	return t, nil
}

func parseNPYHeader(header string, t *backends.Tensor) error {
	descr := npyDescrRe.FindStringSubmatch(header)
	fortran := npyFortranRe.FindStringSubmatch(header)
	shape := npyShapeRe.FindStringSubmatch(header)
	if descr == nil || fortran == nil || shape == nil {
		return fmt.Errorf("malformed .npy header %q", header)
	}
	if fortran[1] == "True" {
		return fmt.Errorf(".npy array is in Fortran order; save it in C order (numpy.ascontiguousarray)")
	}
	d := descr[1]
	if len(d) == 3 && d[0] == '=' {
		d = "<" + d[1:] // native order: little-endian wherever tiffin runs
	}
	if len(d) == 3 && d[2] == '1' {
		d = "|" + d[1:] // one-byte types have no byte order
	}
	dt, ok := npyDTypes[d]
	if !ok {
		return fmt.Errorf("unsupported .npy dtype %q: want a little-endian bool, int, uint or float (e.g. '<f4', '<i8', '|b1')", descr[1])
	}
	t.DataType = dt
	t.Shape = []int64{}
	for _, f := range strings.Split(shape[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("malformed .npy shape (%s)", shape[1])
		}
		t.Shape = append(t.Shape, n)
	}
	return nil
}
