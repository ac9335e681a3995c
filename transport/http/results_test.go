package http

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"
)

// dribble hands out data in reads of half what is asked, then ends with
// err.
func dribble(data []byte, err error) io.ReadCloser {
	return io.NopCloser(io.MultiReader(iotest.HalfReader(bytes.NewReader(data)), iotest.ErrReader(err)))
}

type writes struct {
	bytes.Buffer
	sizes []int
}

func (w *writes) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// TestLargeChunks: a results stream read in small pieces goes out in
// writes of resultChunk bytes, the last one shorter; a stream that fails
// returns its own error (io.ErrUnexpectedEOF included), so the download is
// cut rather than ended.
func TestLargeChunks(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), (2*resultChunk+500)/10)
	var w writes
	n, err := (&largeChunks{rc: dribble(data, io.EOF)}).WriteTo(&w)
	if err != nil || n != int64(len(data)) || !bytes.Equal(w.Bytes(), data) {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes, want the %d read", n, err, w.Len(), len(data))
	}
	if len(w.sizes) != 3 || w.sizes[0] != resultChunk || w.sizes[1] != resultChunk {
		t.Fatalf("writes of %v bytes, want two of %d and the rest", w.sizes, resultChunk)
	}
	for _, cause := range []error{io.ErrUnexpectedEOF, errors.New("result of chunk 8 is gone")} {
		_, err := (&largeChunks{rc: dribble(data[:5000], cause)}).WriteTo(io.Discard)
		if !errors.Is(err, cause) {
			t.Fatalf("a stream failing with %v: WriteTo says %v", cause, err)
		}
	}
}

// deadlines records the write deadlines set on a connection.
type deadlines struct{ at []time.Time }

func (d *deadlines) SetWriteDeadline(t time.Time) error { d.at = append(d.at, t); return nil }

// TestLargeChunksMoveTheDeadline: each piece of a results download moves
// the write deadline to the timeout from now, so a long download that
// keeps moving is not cut at --write-timeout (fasthttp sets the deadline
// once, for the whole response).
func TestLargeChunksMoveTheDeadline(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 3*resultChunk)
	var d deadlines
	start := time.Now()
	if _, err := (&largeChunks{rc: dribble(data, io.EOF), conn: &d, timeout: time.Minute}).WriteTo(io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(d.at) != 3 {
		t.Fatalf("%d deadlines set for 3 pieces", len(d.at))
	}
	for _, at := range d.at {
		if at.Before(start.Add(time.Minute)) || at.After(time.Now().Add(time.Minute)) {
			t.Fatalf("deadline %v, want a minute after the piece (start %v)", at, start)
		}
	}
}
