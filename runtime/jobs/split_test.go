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

func TestRecordCountsAChunkOnce(t *testing.T) {
	r := &record{Status: Status{State: Pending}}
	c := chunkRef{index: 1, rows: 10}
	if !r.complete(c, 2, "boom", "a", timeNow()) || r.complete(c, 2, "boom", "b", timeNow()) {
		t.Fatal("a chunk completed twice")
	}
	if r.RowsDone != 10 || r.RowsFailed != 2 || r.State != Running || r.Replicas["a"] != 1 {
		t.Fatalf("%+v", r)
	}
	r.Sealed, r.Chunks, r.RowsTotal = true, 2, 12
	r.complete(chunkRef{index: 0, rows: 2}, 0, "", "a", timeNow())
	if r.State != Succeeded || r.FinishedAt == nil || r.status().ChunksDone != 2 {
		t.Fatalf("%+v", r)
	}
	all := &record{Status: Status{State: Running, RowsTotal: 3, Chunks: 1}, Sealed: true}
	all.complete(chunkRef{index: 0, rows: 3}, 3, "bad row", "a", timeNow())
	if all.State != Failed || !strings.Contains(all.Error, "bad row") {
		t.Fatalf("%+v", all)
	}
}
