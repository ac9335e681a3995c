package http

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// dribble hands out its bytes a few at a time, then ends with err.
type dribble struct {
	data []byte
	err  error
}

func (d *dribble) Read(p []byte) (int, error) {
	if len(d.data) == 0 {
		return 0, d.err
	}
	n := copy(p[:min(len(p), 1000)], d.data)
	d.data = d.data[n:]
	return n, nil
}

type writes struct {
	bytes.Buffer
	sizes []int
}

func (w *writes) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// TestLargeChunks: a results stream read a kilobyte at a time goes out in
// writes of resultChunk bytes, the last one shorter; a stream that fails
// returns its own error (io.ErrUnexpectedEOF included), so the download is
// cut rather than ended.
func TestLargeChunks(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), (2*resultChunk+500)/10)
	var w writes
	n, err := (&largeChunks{rc: io.NopCloser(&dribble{data: data, err: io.EOF})}).WriteTo(&w)
	if err != nil || n != int64(len(data)) || !bytes.Equal(w.Bytes(), data) {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes, want the %d read", n, err, w.Len(), len(data))
	}
	if len(w.sizes) != 3 || w.sizes[0] != resultChunk || w.sizes[1] != resultChunk {
		t.Fatalf("writes of %v bytes, want two of %d and the rest", w.sizes, resultChunk)
	}
	for _, cause := range []error{io.ErrUnexpectedEOF, errors.New("result of chunk 8 is gone")} {
		_, err := (&largeChunks{rc: io.NopCloser(&dribble{data: data[:5000], err: cause})}).WriteTo(io.Discard)
		if !errors.Is(err, cause) {
			t.Fatalf("a stream failing with %v: WriteTo says %v", cause, err)
		}
	}
}
