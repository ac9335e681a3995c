package grpc

import (
	"compress/zlib"
	"io"
	"sync"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // grpc-encoding gzip, which tritonclient's compression_algorithm="gzip" sends
)

// Triton's gRPC server (grpc-core) takes the message encodings gzip and
// deflate, and tritonclient's compression_algorithm names either. grpc-go
// has gzip only; deflate is registered here, in grpc-core's form: a zlib
// stream (RFC 1950), as HTTP's "deflate" is. grpc-go bounds what a message
// inflates to by --grpc-max-recv-bytes, as it does for gzip, and answers a
// compressed request in the same encoding.
func init() { encoding.RegisterCompressor(&deflate{}) }

type deflate struct {
	writers sync.Pool // of *deflateWriter, reused across messages
}

func (*deflate) Name() string { return "deflate" }

type deflateWriter struct {
	*zlib.Writer
	pool *sync.Pool
}

// Close finishes the stream and gives the writer back for the next message.
func (w *deflateWriter) Close() error {
	defer w.pool.Put(w)
	return w.Writer.Close()
}

func (d *deflate) Compress(w io.Writer) (io.WriteCloser, error) {
	if z, ok := d.writers.Get().(*deflateWriter); ok {
		z.Reset(w)
		return z, nil
	}
	return &deflateWriter{Writer: zlib.NewWriter(w), pool: &d.writers}, nil
}

func (*deflate) Decompress(r io.Reader) (io.Reader, error) {
	return zlib.NewReader(r)
}
