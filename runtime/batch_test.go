package runtime

import (
	"bytes"
	"context"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func rowsTensor(name string, rows int64, width int64, fill byte) backends.Tensor {
	t := fp32(name, rows, width)
	for i := range t.Data {
		t.Data[i] = fill + byte(i/int(4*width))
	}
	return t
}

func newInflight(rows int64, fill byte, words ...string) *inflight {
	s := backends.Tensor{Name: "s", DataType: backends.Bytes, Shape: []int64{rows}}
	for _, w := range words {
		s.Strings = append(s.Strings, []byte(w))
	}
	return &inflight{ctx: context.Background(), rows: rows, done: make(chan struct{}),
		req: &InferRequest{Inputs: []backends.Tensor{rowsTensor("x", rows, 3, fill), s}}}
}

// TestSplitJobRoundTrip runs an identity "model" over batches that split
// one request across two batches, and checks every request gets back exactly its
// own rows.
func TestSplitJobRoundTrip(t *testing.T) {
	a, b, c := newInflight(2, 10, "a", "b"), newInflight(3, 20, "c", "d", "e"), newInflight(1, 30, "f")
	batches := [][]part{
		{{Req: a, Offset: 0, Rows: 2}, {Req: b, Offset: 0, Rows: 1}}, // b is split...
		{{Req: b, Offset: 1, Rows: 2}, {Req: c, Offset: 0, Rows: 1}}, // ...across two batches
	}
	for _, parts := range batches {
		in := concatParts(parts)
		rows := int64(0)
		for _, p := range parts {
			rows += int64(p.Rows)
		}
		if in[0].Shape[0] != rows || len(in[1].Strings) != int(rows) {
			t.Fatalf("concat: shape %v, %d strings, want %d rows", in[0].Shape, len(in[1].Strings), rows)
		}
		if err := in[0].Check(); err != nil {
			t.Fatal(err)
		}
		if err := checkBatchAxis(rows, in); err != nil {
			t.Fatal(err)
		}
		deliver(parts, in) // identity: outputs are the inputs
	}
	for _, j := range []*inflight{a, b, c} {
		<-j.done
		r := j.result
		if r.err != nil {
			t.Fatal(r.err)
		}
		for i, want := range j.req.Inputs {
			got := r.outputs[i]
			if got.Shape[0] != want.Shape[0] || !bytes.Equal(got.Data, want.Data) || len(got.Strings) != len(want.Strings) {
				t.Fatalf("request of %d rows, output %d: shape %v data %v, want %v %v", j.rows, i, got.Shape, got.Data, want.Shape, want.Data)
			}
			for s := range got.Strings {
				if !bytes.Equal(got.Strings[s], want.Strings[s]) {
					t.Fatalf("string %d: %q != %q", s, got.Strings[s], want.Strings[s])
				}
			}
		}
	}
	if err := checkBatchAxis(6, []backends.Tensor{fp32("y", 5, 1)}); err == nil {
		t.Fatal("an output with the wrong row count passed")
	}
}

func TestJobFinishesOnce(t *testing.T) {
	j := newInflight(1, 0, "x")
	j.finish(nil, context.Canceled)
	j.finish(nil, nil) // a late part after a drop is ignored
	<-j.done
	if r := j.result; r.err != context.Canceled {
		t.Fatalf("got %v", r.err)
	}
}

func TestShapeKey(t *testing.T) {
	k := func(ts ...backends.Tensor) uint64 { return shapeKey(ts) }
	if k(fp32("x", 1, 4)) != k(fp32("x", 7, 4)) {
		t.Fatal("the batch axis changed the key")
	}
	if k(fp32("x", 1, 4)) == k(fp32("x", 1, 5)) {
		t.Fatal("a different inner dimension kept the key")
	}
}

// A request's outputs are its own to recycle when its batch was the whole
// request, or when they were assembled from its parts; pieces of a batch
// that other requests share are not.
func TestOutputsOwned(t *testing.T) {
	out := func(rows int64) []backends.Tensor {
		return []backends.Tensor{rowsTensor("x", rows, 3, 1), {Name: "s", DataType: backends.Bytes, Shape: []int64{rows}, Strings: make([][]byte, rows)}}
	}
	alone := newInflight(2, 0, "a", "b")
	deliver([]part{{Req: alone, Offset: 0, Rows: 2}}, out(2))
	a, b := newInflight(1, 0, "a"), newInflight(1, 0, "b")
	deliver([]part{{Req: a, Offset: 0, Rows: 1}, {Req: b, Offset: 0, Rows: 1}}, out(2))
	split := newInflight(3, 0, "a", "b", "c")
	deliver([]part{{Req: split, Offset: 0, Rows: 2}}, out(2))
	deliver([]part{{Req: split, Offset: 2, Rows: 1}}, out(1))
	for _, c := range []struct {
		name string
		j    *inflight
		want bool
	}{{"a whole batch", alone, true}, {"sharing a batch", a, false}, {"sharing a batch", b, false}, {"assembled from parts", split, true}} {
		<-c.j.done
		if c.j.result.err != nil || c.j.result.owned != c.want {
			t.Errorf("%s: owned %v (err %v), want %v", c.name, c.j.result.owned, c.j.result.err, c.want)
		}
	}
}
