package grpc_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"
	"testing"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// tritonclient's compression_algorithm sends grpc-encoding gzip or deflate,
// both of which Triton's server takes; each must reach the model, and the
// answer must come back in it.
func TestGRPCCompressedRequests(t *testing.T) {
	c, _ := serve(t, nil)
	for _, name := range []string{"gzip", "deflate"} {
		t.Run(name, func(t *testing.T) {
			resp, err := c.ModelInfer(context.Background(), inferRequest("m", []int64{1, 4}, 1, 2, 3, 4), ggrpc.UseCompressor(name))
			if err != nil || len(resp.RawOutputContents) != 1 || len(resp.RawOutputContents[0]) != 16 {
				t.Fatalf("infer with grpc-encoding %s: %v %v", name, resp, err)
			}
		})
	}
}

// grpc-core's deflate is a zlib stream (RFC 1950), HTTP's "deflate": what
// the registered compressor writes must be that, and it must read it.
func TestGRPCDeflateIsZlib(t *testing.T) {
	d := encoding.GetCompressor("deflate")
	if d == nil {
		t.Fatal("no deflate compressor registered")
	}
	msg := bytes.Repeat([]byte("tiffin "), 100)
	for range 2 { // the second round reuses the pooled writer
		var buf bytes.Buffer
		w, err := d.Compress(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(msg); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		zr, err := zlib.NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("not a zlib stream: %v", err)
		}
		if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("zlib reads back %d bytes, %v", len(got), err)
		}
		r, err := d.Decompress(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("Decompress reads back %d bytes, %v", len(got), err)
		}
	}
}
