package jobs

import (
	"context"
	"io"
	"time"

	"github.com/tiffin-ml/tiffin/runtime"
)

// pacer keeps a job's own work (reading its upload, decoding it, queueing
// its chunks) within the fair share while interactive requests arrive: the
// batcher holds back bulk batches, but this work runs in no batcher. After
// each piece of work it sleeps as long as Models.BulkPause says.
type pacer struct {
	ctx    context.Context
	models Models
	since  time.Time // when the current piece of work began
	// cancelled, when set, says why the upload should stop (its job was
	// cancelled); copy asks it after each piece.
	cancelled func() error
}

func (s *Service) pacer(ctx context.Context) *pacer {
	return &pacer{ctx: ctx, models: s.models, since: time.Now()}
}

// pace ends a piece of work: it sleeps if the share asks for it, and
// starts the next piece.
func (p *pacer) pace() {
	if d := p.models.BulkPause(time.Since(p.since)); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
		}
	}
	p.since = time.Now()
}

// spoolPiece is how much of an upload is copied between two paces; a
// spool's writer (directWriter) reads a directPiece, the same size.
const spoolPiece = directPiece

// copy copies src to dst a piece at a time, pacing after each, and stops
// when the upload's job was cancelled. Each piece is read whole before it
// is written: a request body hands out a few kilobytes a read, and
// writing those one by one (as io.Copy to an *os.File does, whatever
// buffer it is given) cost a spooled mlp-small job an eighth of its CPU
// in write system calls. A directWriter (the spool) is read into in
// place, without a buffer between.
func (p *pacer) copy(dst io.Writer, src io.Reader) error {
	var read func() error
	if w, ok := dst.(*directWriter); ok {
		read = func() error { return w.readPiece(src) }
	} else {
		buf := make([]byte, spoolPiece)
		read = func() error {
			n, err := runtime.ReadFill(src, buf) // a cut body's own error, not a short last piece
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return werr
				}
			}
			return err
		}
	}
	for {
		err := read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if p.cancelled != nil {
			if err := p.cancelled(); err != nil {
				return err
			}
		}
		p.pace()
	}
}
