// Package npy reads NumPy's .npy format: a header naming the dtype, the
// memory order and the shape, then the array's elements. The `tiffin
// infer` client reads whole files with Decode; bulk jobs read the header
// with ReadHeader and then stream the rows that follow it.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/tiffin-ml/tiffin/backends"
)

// Magic starts every .npy file.
const Magic = "\x93NUMPY"

// dtypes maps NumPy dtype descriptors to V2 datatypes. Multi-byte types
// must be little-endian ('<'), the byte order tensors travel in.
var dtypes = map[string]backends.DataType{
	"|b1": backends.Bool,
	"|u1": backends.Uint8, "<u2": backends.Uint16, "<u4": backends.Uint32, "<u8": backends.Uint64,
	"|i1": backends.Int8, "<i2": backends.Int16, "<i4": backends.Int32, "<i8": backends.Int64,
	"<f2": backends.FP16, "<f4": backends.FP32, "<f8": backends.FP64,
}

var (
	descrRe   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	fortranRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	shapeRe   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// Header is what a .npy header says of its array.
type Header struct {
	DataType backends.DataType
	Shape    []int64
	Len      int // bytes of the preamble and header; the data starts there
}

// DataBytes is the size of the array's data.
func (h *Header) DataBytes() int64 {
	return backends.NumElements(h.Shape) * int64(h.DataType.Size())
}

// ReadHeader reads a .npy preamble and header (format versions 1 to 3)
// from r, leaving r at the first byte of the data. Only numeric arrays in
// C order are accepted; any other names the problem.
func ReadHeader(r io.Reader) (Header, error) {
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:10]); err != nil || !bytes.Equal(pre[:6], []byte(Magic)) {
		return Header{}, errors.New("not a .npy file (no \\x93NUMPY magic)")
	}
	var hlen, start int
	switch pre[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		if _, err := io.ReadFull(r, pre[10:12]); err != nil {
			return Header{}, errors.New("truncated .npy header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(pre[8:12])), 12
	default:
		return Header{}, fmt.Errorf("unsupported .npy format version %d", pre[6])
	}
	if hlen > 1<<20 {
		return Header{}, fmt.Errorf(".npy header of %d bytes is implausibly long", hlen)
	}
	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return Header{}, errors.New("truncated .npy header")
	}
	h := Header{Len: start + hlen}
	return h, parseHeader(string(text), &h)
}

// Decode reads a whole .npy file held in b into a tensor named name; its
// data aliases b.
func Decode(name string, b []byte) (backends.Tensor, error) {
	t := backends.Tensor{Name: name}
	h, err := ReadHeader(bytes.NewReader(b))
	if err != nil {
		return t, err
	}
	t.DataType, t.Shape = h.DataType, h.Shape
	data := b[h.Len:]
	if want := h.DataBytes(); int64(len(data)) != want {
		return t, fmt.Errorf("shape %v of %s needs %d bytes of data, the file has %d", t.Shape, t.DataType, want, len(data))
	}
	t.Data = data
	return t, nil
}

func parseHeader(header string, h *Header) error {
	descr := descrRe.FindStringSubmatch(header)
	fortran := fortranRe.FindStringSubmatch(header)
	shape := shapeRe.FindStringSubmatch(header)
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
	dt, ok := dtypes[d]
	if !ok {
		return fmt.Errorf("unsupported .npy dtype %q: want a little-endian bool, int, uint or float (e.g. '<f4', '<i8', '|b1')", descr[1])
	}
	h.DataType = dt
	h.Shape = []int64{}
	for _, f := range strings.Split(shape[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("malformed .npy shape (%s)", shape[1])
		}
		h.Shape = append(h.Shape, n)
	}
	return nil
}

// AppendHeader appends a version 1 .npy preamble and header for a C-order
// array of dt (a numeric type) and shape; the data goes after it.
func AppendHeader(dst []byte, dt backends.DataType, shape []int64) []byte {
	descr := ""
	for d, t := range dtypes {
		if t == dt {
			descr = d
		}
	}
	dims := make([]string, len(shape))
	for i, n := range shape {
		dims[i] = strconv.FormatInt(n, 10)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n" // the data starts 64-byte aligned
	dst = append(dst, Magic...)
	dst = append(dst, 1, 0, byte(len(h)), byte(len(h)>>8))
	return append(dst, h...)
}
