package jobs

import (
	"bytes"
	"context"
	"testing"
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
