package jobs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"
)

// pausingModels asks for a pause after every piece of work and counts the
// asks.
type pausingModels struct {
	Models
	asks  int
	pause time.Duration
}

func (m *pausingModels) BulkPause(work time.Duration) time.Duration {
	m.asks++
	if work < 0 {
		panic("negative work")
	}
	return m.pause
}

func (m *pausingModels) BulkWork() func() { return func() {} }

// TestPacerCopy: a spooled upload is copied whole, with a pace after every
// full piece, each sleeping what BulkPause said.
func TestPacerCopy(t *testing.T) {
	m := &pausingModels{pause: time.Millisecond}
	p := &pacer{ctx: context.Background(), models: m, since: time.Now()}
	src := bytes.Repeat([]byte("parquet!"), (3*spoolPiece+spoolPiece/2)/8)
	var dst bytes.Buffer
	start := time.Now()
	if err := p.copy(&dst, bytes.NewReader(src)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst.Bytes(), src) {
		t.Fatalf("copied %d bytes, want the %d of the source", dst.Len(), len(src))
	}
	if m.asks != 3 {
		t.Errorf("paced %d times for 3.5 pieces, want 3", m.asks)
	}
	if slept := time.Since(start); slept < 3*m.pause {
		t.Errorf("copy took %v, less than the 3 pauses of %v asked", slept, m.pause)
	}
}

// TestPacerCopyToSpool: a spool's writer is read into in place, its pieces
// written while the next is read, with a pace after every full piece.
func TestPacerCopyToSpool(t *testing.T) {
	m := &pausingModels{}
	p := &pacer{ctx: context.Background(), models: m, since: time.Now()}
	src := bytes.Repeat([]byte("parquet!"), (3*spoolPiece+spoolPiece/2)/8)
	w, f := spoolWriter(t)
	if err := p.copy(w, iotest.HalfReader(bytes.NewReader(src))); err != nil {
		t.Fatal(err)
	}
	if n, err := w.finish(); err != nil || n != int64(len(src)) {
		t.Fatalf("finish: %d bytes, %v; want %d", n, err, len(src))
	}
	if back, _ := os.ReadFile(f.Name()); !bytes.Equal(back, src) {
		t.Fatalf("spooled %d bytes that differ from the %d of the source", len(back), len(src))
	}
	if m.asks != 3 {
		t.Errorf("paced %d times for 3.5 pieces, want 3", m.asks)
	}
}

// TestPacerCancel: a cancelled job does not sit out its pause.
func TestPacerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &pausingModels{pause: time.Hour}
	p := &pacer{ctx: ctx, models: m, since: time.Now()}
	p.pace() // returns: the context is done
	if m.asks != 1 {
		t.Fatalf("asked %d times, want 1", m.asks)
	}
}

// TestPacerCopyCut: a body that ends early fails the copy, even with the
// io.ErrUnexpectedEOF that io.ReadFull uses for a short read, and what came
// before is written in pieces of the reader's few kilobytes gathered whole.
func TestPacerCopyCut(t *testing.T) {
	m := &pausingModels{}
	p := &pacer{ctx: context.Background(), models: m, since: time.Now()}
	var dst countingWriter
	// In reads of half what is asked, then cut.
	src := io.MultiReader(iotest.HalfReader(bytes.NewReader(bytes.Repeat([]byte("x"), spoolPiece+100))), iotest.ErrReader(io.ErrUnexpectedEOF))
	if err := p.copy(&dst, src); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("copy of a cut body: %v, want io.ErrUnexpectedEOF", err)
	}
	if dst.n != spoolPiece+100 || dst.writes != 2 {
		t.Errorf("wrote %d bytes in %d writes, want %d in 2", dst.n, dst.writes, spoolPiece+100)
	}
}

type countingWriter struct{ n, writes int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.writes++
	return len(p), nil
}

// TestPacerCopyToSpoolCut: an upload cut short while it is read into a
// spool's writer comes back as its own error, not as a write's, and what
// came before the cut was taken whole.
func TestPacerCopyToSpoolCut(t *testing.T) {
	p := &pacer{ctx: context.Background(), models: &pausingModels{}, since: time.Now()}
	sent := bytes.Repeat([]byte("parquet!"), (2*spoolPiece+spoolPiece/2)/8)
	w, _ := spoolWriter(t)
	err := p.copy(w, io.MultiReader(bytes.NewReader(sent), iotest.ErrReader(io.ErrUnexpectedEOF)))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a cut upload: %v, want unexpected EOF", err)
	}
	var we *writeError
	if errors.As(err, &we) {
		t.Fatalf("a cut upload taken for a failed write: %v", err)
	}
	if got := w.written + int64(w.n); got != int64(len(sent)) {
		t.Fatalf("took %d bytes before the cut, want the %d sent", got, len(sent))
	}
}

// spoolWriter is a spool's writer, as spool makes it, on a new file that
// the test closes.
func spoolWriter(t *testing.T) (*directWriter, *os.File) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	w := writeDirect(f)
	w.overlapping()
	t.Cleanup(func() { w.done(); f.Close() })
	return w, f
}
