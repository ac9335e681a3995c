package jobs

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tiffin-ml/tiffin/runtime/jobs/jobstest"
)

// BenchmarkSpoolSplitParquet is a Parquet upload's own work before any
// scoring, for mlp-small rows: spooled to a file (the upload as a plain
// stream), split into raw chunks of 2 MiB, each written to its chunk file
// as the embedded store does. One op is one upload of 64k rows; the bytes
// are the upload's.
func BenchmarkSpoolSplitParquet(b *testing.B) {
	const rows = 1 << 16
	in := jobstest.Parquet(b, rows, 1<<14, rowValues)
	dir := b.TempDir()
	files := &bodyFiles{root: dir}
	l := mlpLayout(b, Parquet)
	per := l.chunkRows(DefaultChunkBytes)
	p := &pacer{ctx: context.Background(), models: newRefModels(), since: time.Now()}
	emit := func(c chunkRef, data []byte) error {
		path := files.chunk("bench", c.index)
		if err := files.put(path, bytes.NewReader(data)); err != nil {
			return err
		}
		files.retire(path) // as once scored: its file is written over next
		return nil
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		f, done, err := spool(struct{ io.Reader }{bytes.NewReader(in)}, dir, p)
		if err != nil {
			b.Fatal(err)
		}
		n, _, err := splitParquet(context.Background(), "mlp-small", l, f, nil, per, memory.DefaultAllocator, nil, emit)
		done()
		if err != nil || n != rows {
			b.Fatalf("split %d rows of %d: %v", n, rows, err)
		}
	}
}
