package runtime

import "io"

// ReadFill reads r until buf is full or r fails, and returns r's own error
// as it is. io.ReadFull would turn an io.EOF after part of buf into
// io.ErrUnexpectedEOF, and pass a body's own io.ErrUnexpectedEOF (a
// chunked request body cut within a chunk) through looking the same: the
// front ends and the job service read request bodies, where the two mean
// different things (a proper end, a cut body).
func ReadFill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
