package jobs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// files lists the names in dir; none when it does not exist.
func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestJobBodies runs one job with its bodies as files (the embedded
// store's default) and one with them in the stream and the object store
// (as with an external cluster): the same results, and nothing left once
// the job is deleted.
func TestJobBodies(t *testing.T) {
	for _, inStream := range []bool{false, true} {
		t.Run(map[bool]string{false: "files", true: "stream"}[inStream], func(t *testing.T) {
			dir := t.TempDir()
			s := startService(t, newRefModels(), dir, func(o *Options) { o.streamBodies = inStream })
			ctx := context.Background()
			st, err := s.Submit(ctx, "mlp-small", 0, Input{Format: NDJSON}, strings.NewReader(ndjsonInput(30)))
			if err != nil {
				t.Fatal(err)
			}
			st = waitFinished(t, s, st.ID, 30*time.Second)
			if st.State != Succeeded || st.RowsDone != 30 || st.Chunks != 3 {
				t.Fatalf("finished: %+v", st)
			}
			rc, _, err := s.Results(ctx, st.ID, ResultsNDJSON)
			if err != nil {
				t.Fatal(err)
			}
			checkResults(t, readResults(t, rc), 30, nil)
			rc.Close()

			chunks, results := filepath.Join(dir, "jobs", "chunks", st.ID), filepath.Join(dir, "jobs", "results", st.ID)
			if got := files(t, chunks); len(got) != 0 {
				t.Fatalf("chunk inputs left after scoring: %v", got)
			}
			want := 3
			if inStream {
				want = 0
			}
			if got := files(t, results); len(got) != want {
				t.Fatalf("result files %v, want %d", got, want)
			}
			if _, err := s.Delete(ctx, st.ID); err != nil {
				t.Fatal(err)
			}
			if got := files(t, results); len(got) != 0 {
				t.Fatalf("result files left after delete: %v", got)
			}
			if inStream {
				if objs, err := s.store.Load().results.List(ctx); !errors.Is(err, jetstream.ErrNoObjectsFound) {
					t.Fatalf("objects left after delete: %v %v", objs, err)
				}
				// Nor the markers Delete leaves: they had grown without bound.
				info, err := s.store.Load().resultsStream.Info(ctx)
				if err != nil || info.State.Msgs != 0 {
					t.Fatalf("the result store's stream holds %d messages after delete (%v), want none", info.State.Msgs, err)
				}
			}
		})
	}
}

// TestChunkWithoutItsFileFailsItsRows: a chunk whose input file is gone
// is retried, then its rows fail with the reason, and the others score.
func TestChunkWithoutItsFileFailsItsRows(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := startService(t, newRefModels(), dir, func(o *Options) { o.Workers = 0 })
	st, err := s.Submit(ctx, "mlp-small", 0, Input{Format: NDJSON}, strings.NewReader(ndjsonInput(30)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "jobs", "chunks", st.ID, "1")); err != nil {
		t.Fatal(err)
	}
	s = startService(t, newRefModels(), dir, func(o *Options) { o.MaxRedeliveries = 1 })
	st = waitFinished(t, s, st.ID, 30*time.Second)
	if st.State != Succeeded || st.RowsDone != 30 || st.RowsFailed != 10 {
		t.Fatalf("finished: %+v", st)
	}
	rc, _, err := s.Results(ctx, st.ID, ResultsNDJSON)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	lines := readResults(t, strings.NewReader(string(b)))
	checkResults(t, lines, 30, map[int]bool{10: true, 11: true, 12: true, 13: true, 14: true, 15: true, 16: true, 17: true, 18: true, 19: true})
	if !strings.Contains(lines[10].Error, "input file of chunk 1") || !strings.Contains(lines[10].Error, "gone from the data directory") {
		t.Fatalf("row 10's error does not say why: %q", lines[10].Error)
	}
}

// TestBodyFilesSpares: a done chunk's input file is written over by the
// next put, which leaves exactly the new bytes (shorter or longer); the
// spares are bounded, and a new store clears what an old one left.
func TestBodyFilesSpares(t *testing.T) {
	b := &bodyFiles{root: t.TempDir()}
	long := bytes.Repeat([]byte("input row "), 1000)
	for i := range maxSpares + 2 {
		if err := b.put(b.chunk("job", i), bytes.NewReader(long)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range maxSpares + 2 {
		b.retire(b.chunk("job", i))
	}
	if n := len(b.spares); n != maxSpares {
		t.Fatalf("%d spares kept, want %d", n, maxSpares)
	}
	if left, _ := os.ReadDir(filepath.Join(b.root, "chunks", "job")); len(left) != 0 {
		t.Fatalf("retired chunk files left in place: %v", left)
	}
	short := []byte("result")
	res := b.result("job", 0)
	if err := b.put(res, &net.Buffers{short[:3], short[3:]}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(res); err != nil || !bytes.Equal(got, short) {
		t.Fatalf("a result written over a spare reads %q (%v), want %q", got, err, short)
	}
	longer := append(long, long...)
	if err := b.put(b.result("job", 1), bytes.NewReader(longer)); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(b.result("job", 1)); !bytes.Equal(got, longer) {
		t.Fatalf("a longer file over a spare reads %d bytes, want %d", len(got), len(longer))
	}
	if n := len(b.spares); n != maxSpares-2 {
		t.Fatalf("%d spares after two puts, want %d", n, maxSpares-2)
	}
	if err := (&bodyFiles{root: b.root}).clearSpares(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(b.root, "spare")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("spare/ after a new store cleared it: %v", err)
	}
	// The old store's list now names files that are gone: a put still works.
	if err := b.put(b.result("job", 2), bytes.NewReader(short)); err != nil {
		t.Fatalf("put after the spares were cleared: %v", err)
	}
}

// TestReadChunkWhileRetired: a chunk read while another worker finishes it
// (its file retired and written over with another chunk's bytes) either
// reads its own bytes whole or says the file is gone; it never hands back
// the other chunk's.
func TestReadChunkWhileRetired(t *testing.T) {
	b := &bodyFiles{root: t.TempDir()}
	own := bytes.Repeat([]byte{0xAA}, 1<<20)
	other := bytes.Repeat([]byte{0xBB}, 1<<20)
	read, gone := 0, 0
	for i := range 150 {
		if err := b.put(b.chunk("job", i), bytes.NewReader(own)); err != nil {
			t.Fatal(err)
		}
		type got struct {
			data []byte
			err  error
		}
		ch := make(chan got, 1)
		go func() {
			data, release, err := b.readChunk(chunkRef{job: "job", index: i})
			g := got{err: err}
			if err == nil {
				g.data = bytes.Clone(data)
				release()
			}
			ch <- g
		}()
		b.retire(b.chunk("job", i))
		if err := b.put(b.chunk("job", 1000+i), bytes.NewReader(other)); err != nil {
			t.Fatal(err)
		}
		g := <-ch
		switch {
		case g.err != nil && strings.Contains(g.err.Error(), "gone"):
			gone++
		case g.err != nil:
			t.Fatal(g.err)
		case !bytes.Equal(g.data, own):
			t.Fatalf("read %d: a retired chunk's read handed back %d bytes of another chunk's", i, bytes.Count(g.data, []byte{0xBB}))
		default:
			read++
		}
	}
	t.Logf("%d reads whole, %d found the file gone", read, gone)
}
