package http

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// A streamed answer is byte for byte what the whole one is, with the same
// JSON length, whether it is written (WriteTo) or read.
func TestAnswerStreamIsTheWholeAnswer(t *testing.T) {
	n := 3 * answerPiece
	data := make([]byte, 4*n)
	for i := range data {
		data[i] = byte(i * 7)
	}
	strs := [][]byte{[]byte(strings.Repeat("é\"x", answerPiece)), nil, []byte("a")}
	for range n {
		strs = append(strs, []byte("word"))
	}
	outputs := []backends.Tensor{
		{Name: "f", DataType: backends.FP32, Shape: []int64{int64(n)}, Data: data},
		{Name: "b", DataType: backends.Bool, Shape: []int64{int64(len(data))}, Data: bytes.Repeat([]byte{0, 1}, len(data)/2)},
		{Name: "s", DataType: backends.Bytes, Shape: []int64{int64(len(strs))}, Strings: strs},
	}
	for _, bin := range []map[string]bool{{}, {"f": true}, {"s": true}, {"f": true, "b": true, "s": true}} {
		d := &decoded{binaryOutput: bin}
		resp := &runtime.InferResponse{Model: "m", Version: 1, ID: "x", Outputs: outputs}
		whole, wholeLen := encodeResponse(nil, resp, d)
		a, streamLen := newAnswerStream(resp, d.binary)
		var w bytes.Buffer
		if _, err := a.WriteTo(&w); err != nil {
			t.Fatal(err)
		}
		if a.size != int64(len(whole)) || streamLen != wholeLen || !bytes.Equal(w.Bytes(), whole) {
			t.Errorf("binary %v: streamed %d bytes (counted %d, JSON %d), whole %d (JSON %d), equal %v",
				bin, w.Len(), a.size, streamLen, len(whole), wholeLen, bytes.Equal(w.Bytes(), whole))
		}
		read, err := io.ReadAll(a)
		if err != nil || !bytes.Equal(read, whole) {
			t.Errorf("binary %v: read %d bytes (%v), want the whole %d", bin, len(read), err, len(whole))
		}
	}
}
