package http

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/tiffin-ml/tiffin/runtime"
)

// streamAbove is the most output bytes an answer may hold and still be
// rendered whole before it is written. A larger answer is rendered as it
// is written, a piece at a time: in JSON an element grows several times
// (a BOOL's byte is "false,", an INT8's "-128,"), and one buffer for it,
// grown by appending, had taken a 60 MB binary request for a BOOL
// identity model, answered in JSON (360 MB), to 1.5 GB.
const streamAbove = 256 << 10

// outputBytes is how many bytes the answer's outputs hold.
func outputBytes(resp *runtime.InferResponse) int {
	n := 0
	for i := range resp.Outputs {
		n += binarySize(&resp.Outputs[i])
	}
	return n
}

// answerStream is a large answer's body: rendered once to count its bytes
// (so the response has its Content-Length and the binary extension's
// header length, as a whole one has), then again as fasthttp writes it,
// a piece at a time, each piece within the write timeout. It holds the
// response's outputs until it is closed.
type answerStream struct {
	resp    *runtime.InferResponse
	bin     []bool // which outputs go as binary data, in output order
	conn    interface{ SetWriteDeadline(time.Time) error }
	timeout time.Duration
	size    int64
	whole   []byte // the answer rendered whole, when something reads it rather than letting it write itself
	close   sync.Once
}

// newAnswerStream takes resp, which it recycles when closed; binary says
// which outputs go as binary data. It returns the stream, its size and the
// JSON's length (-1 when no output is binary).
func newAnswerStream(resp *runtime.InferResponse, binary func(string) bool) (a *answerStream, headerLen int) {
	a = &answerStream{resp: resp, bin: make([]bool, len(resp.Outputs))}
	for i := range resp.Outputs {
		a.bin[i] = binary(resp.Outputs[i].Name)
	}
	r := renderer{dst: make([]byte, 0, 2*answerPiece), spill: func([]byte) error { return nil }}
	headerLen = r.response(resp, a.binary)
	r.flush()
	a.size = r.n
	return a, headerLen
}

// binary answers for the outputs in order: response asks once per output,
// in order, for the JSON and again for the binary part.
func (a *answerStream) binary(name string) bool {
	for i := range a.resp.Outputs {
		if a.resp.Outputs[i].Name == name {
			return a.bin[i]
		}
	}
	return false
}

// SupportsBodyWriteTo lets fasthttp write the answer with WriteTo.
func (a *answerStream) SupportsBodyWriteTo() bool { return true }

// WriteTo renders the answer into w a piece at a time, moving the write
// deadline on for each piece: the timeout bounds a client that stops
// reading, not the whole answer.
func (a *answerStream) WriteTo(w io.Writer) (int64, error) {
	r := renderer{dst: make([]byte, 0, 2*answerPiece), spill: func(b []byte) error {
		if a.conn != nil && a.timeout > 0 {
			_ = a.conn.SetWriteDeadline(time.Now().Add(a.timeout))
		}
		_, err := w.Write(b)
		return err
	}}
	r.response(a.resp, a.binary)
	r.flush()
	if r.err == nil && r.n != a.size {
		r.err = errors.New("the answer rendered to another size than it was counted at")
	}
	return r.n, r.err
}

// Read serves a reader that does not use WriteTo: it renders the answer
// whole, once.
func (a *answerStream) Read(p []byte) (int, error) {
	if a.whole == nil {
		r := renderer{dst: make([]byte, 0, a.size)}
		r.response(a.resp, a.binary)
		a.whole = r.dst
	}
	if len(a.whole) == 0 {
		return 0, io.EOF
	}
	n := copy(p, a.whole)
	a.whole = a.whole[n:]
	return n, nil
}

// Close gives the outputs' buffers back, once.
func (a *answerStream) Close() error {
	a.close.Do(a.resp.Recycle)
	return nil
}
