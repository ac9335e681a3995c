package jobs

import (
	"strings"
	"testing"
)

type split struct {
	c    chunkRef
	data string
}

func runSplit(t *testing.T, sp splitter, in string) ([]split, int64, error) {
	t.Helper()
	var got []split
	rows, chunks, err := sp.split(strings.NewReader(in), func(c chunkRef, data []byte) error {
		got = append(got, split{c, string(data)})
		return nil
	})
	if err == nil && chunks != len(got) {
		t.Fatalf("%d chunks reported, %d emitted", chunks, len(got))
	}
	return got, rows, err
}

func TestSplitByRowsAndBytes(t *testing.T) {
	got, rows, err := runSplit(t, splitter{maxRows: 2, maxBytes: 1 << 10}, "a\n\n b \r\nc\nd\ne")
	if err != nil || rows != 5 || len(got) != 3 {
		t.Fatalf("%v %d %v", got, rows, err)
	}
	if got[0].data != "a\nb\n" || got[1].c.firstRow != 2 || got[2].data != "e\n" || got[2].c.index != 2 {
		t.Fatalf("%+v", got)
	}
	// Byte limit: "aaaa\n" is 5 bytes, two fit in 10, three do not.
	got, _, err = runSplit(t, splitter{maxRows: 100, maxBytes: 10}, "aaaa\nbbbb\ncccc\n")
	if err != nil || len(got) != 2 || got[0].c.rows != 2 || got[1].c.firstRow != 2 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestSplitRefusesOverlongRow(t *testing.T) {
	_, _, err := runSplit(t, splitter{maxRows: 100, maxBytes: 10}, "ok\n"+strings.Repeat("x", 100)+"\n")
	if err == nil || !strings.Contains(err.Error(), "row 1 is longer") {
		t.Fatalf("%v", err)
	}
	// Longer than the reader's buffer, too.
	_, _, err = runSplit(t, splitter{maxRows: 100, maxBytes: 100 << 10}, strings.Repeat("x", 200<<10))
	if err == nil || !strings.Contains(err.Error(), "row 0 is longer") {
		t.Fatalf("%v", err)
	}
	got, rows, err := runSplit(t, splitter{maxRows: 100, maxBytes: 200 << 10}, strings.Repeat("x", 100<<10)+"\ny")
	if err != nil || rows != 2 || len(got[0].data) != 100<<10+3 {
		t.Fatalf("%d %v", rows, err)
	}
}

func TestSplitSkipsHeaderOnlyFirst(t *testing.T) {
	isHeader := func(l []byte) bool { return l[0] == 'h' }
	got, rows, err := runSplit(t, splitter{maxRows: 10, maxBytes: 100, header: isHeader}, "\nh1\n1\nh2\n")
	if err != nil || rows != 2 || got[0].data != "1\nh2\n" {
		t.Fatalf("%+v %d %v", got, rows, err)
	}
}

// A UTF-8 byte order mark before the first line is dropped, so the first
// row decodes (NDJSON) or a header after it is still seen (CSV); one later
// in the input is left to the row's decoder.
func TestSplitDropsByteOrderMark(t *testing.T) {
	got, rows, err := runSplit(t, splitter{maxRows: 10, maxBytes: 100}, "\xef\xbb\xbf{\"a\":1}\n\xef\xbb\xbf{}\n")
	if err != nil || rows != 2 || got[0].data != "{\"a\":1}\n\xef\xbb\xbf{}\n" {
		t.Fatalf("%+v %d %v", got, rows, err)
	}
	isHeader := func(l []byte) bool { return l[0] == 'h' }
	got, rows, err = runSplit(t, splitter{maxRows: 10, maxBytes: 100, header: isHeader}, "\xef\xbb\xbfh1\n1\n")
	if err != nil || rows != 1 || got[0].data != "1\n" {
		t.Fatalf("%+v %d %v", got, rows, err)
	}
}

func TestRecordFinishesOnceEveryChunkIsDone(t *testing.T) {
	r := &record{Status: Status{State: Running, RowsTotal: 12, Chunks: 2}}
	one := progress{chunks: 1, rows: 10, failed: 2, firstErr: "boom", replicas: map[string]int{"a": 1}}
	if r.finishWith(one, timeNow()) {
		t.Fatal("finished before it was sealed")
	}
	r.Sealed = true
	if r.finishWith(one, timeNow()) || r.State != Running {
		t.Fatalf("finished with a chunk to go: %+v", r)
	}
	if s := r.withProgress(one); s.RowsDone != 10 || s.RowsFailed != 2 || s.ChunksDone != 1 || s.Replicas["a"] != 1 {
		t.Fatalf("%+v", s)
	}
	both := progress{chunks: 2, rows: 12, failed: 2, firstErr: "boom", replicas: map[string]int{"a": 2}}
	if !r.finishWith(both, timeNow()) || r.State != Succeeded || r.FinishedAt == nil || r.ChunksDone != 2 || r.RowsDone != 12 {
		t.Fatalf("%+v", r)
	}
	if r.finishWith(both, timeNow()) {
		t.Fatal("finished twice")
	}
	all := &record{Status: Status{State: Running, RowsTotal: 3, Chunks: 1}, Sealed: true}
	all.finishWith(progress{chunks: 1, rows: 3, failed: 3, firstErr: "bad row"}, timeNow())
	if all.State != Failed || !strings.Contains(all.Error, "bad row") {
		t.Fatalf("%+v", all)
	}
}

// While its upload is read a job's chunk total is not known: it never shows
// fewer chunks than it has done, whether read, cancelled or finished.
func TestUnsealedJobCountsItsChunksDone(t *testing.T) {
	r := &record{Status: Status{State: Running}}
	two := progress{chunks: 2, rows: 20}
	if s := r.withProgress(two); s.Chunks != 2 || s.ChunksDone != 2 || s.RowsDone != 20 {
		t.Fatalf("reading: %+v", s)
	}
	r.take(two, false)
	r.finish(Cancelled, timeNow())
	if r.Chunks != 2 || r.ChunksDone != 2 {
		t.Fatalf("cancelled: %+v", r.Status)
	}
	sealed := &record{Status: Status{State: Running, Chunks: 5}, Sealed: true}
	if s := sealed.withProgress(two); s.Chunks != 5 || s.ChunksDone != 2 {
		t.Fatalf("sealed: %+v", s)
	}
}
