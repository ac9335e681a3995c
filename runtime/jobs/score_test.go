package jobs

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// sumModel takes rows of any length x (FP32) and a string tag, and
// answers each row's sum and its tag. A batch holding the value 999 fails
// whole, as a backend error would.
type sumModel struct {
	t        *testing.T
	maxBatch int // 0: the model does not batch
	largest  atomic.Int64
}

// BulkPause never pauses: no interactive requests here.
func (m *sumModel) BulkPause(time.Duration) time.Duration { return 0 }
func (m *sumModel) BulkWork() func()                      { return func() {} }

func (m *sumModel) Version(string, int64) (*runtime.ModelVersion, error) {
	sig := runtime.Signature{MaxBatchSize: m.maxBatch,
		Inputs:  []backends.TensorSpec{{Name: "x", DataType: backends.FP32, Shape: []int64{-1}}, {Name: "tag", DataType: backends.Bytes}},
		Outputs: []backends.TensorSpec{{Name: "sum", DataType: backends.FP32}, {Name: "tag", DataType: backends.Bytes}}}
	if m.maxBatch > 0 {
		for _, specs := range [][]backends.TensorSpec{sig.Inputs, sig.Outputs} {
			for i := range specs {
				specs[i].Shape = append([]int64{-1}, specs[i].Shape...)
			}
		}
	}
	return &runtime.ModelVersion{Name: "sum", Version: 1, Sig: sig}, nil
}

func (m *sumModel) Infer(_ context.Context, req *runtime.InferRequest) (*runtime.InferResponse, error) {
	x, tag := req.Inputs[0], req.Inputs[1]
	rows, width := int64(1), x.Shape[len(x.Shape)-1]
	if m.maxBatch > 0 {
		rows = x.Shape[0]
	}
	if rows > int64(max(m.maxBatch, 1)) || int64(len(x.Data)) != 4*rows*width || int64(len(tag.Strings)) != rows {
		m.t.Errorf("malformed request: x %v with %d bytes, %d tags", x.Shape, len(x.Data), len(tag.Strings))
	}
	if rows > m.largest.Load() {
		m.largest.Store(rows) // racy max, good enough for a test
	}
	sum := backends.Tensor{Name: "sum", DataType: backends.FP32, Shape: []int64{rows}}
	out := backends.Tensor{Name: "tag", DataType: backends.Bytes, Shape: []int64{rows}, Strings: tag.Strings}
	for r := range rows {
		s := float32(0)
		for k := range width {
			v := math.Float32frombits(binary.LittleEndian.Uint32(x.Data[4*(r*width+k):]))
			if v == 999 {
				return nil, runtime.Errorf(runtime.KindInternal, "poisoned")
			}
			s += v
		}
		sum.Data = binary.LittleEndian.AppendUint32(sum.Data, math.Float32bits(s))
	}
	if m.maxBatch == 0 {
		sum.Shape, out.Shape = nil, nil
	}
	return &runtime.InferResponse{Outputs: []backends.Tensor{sum, out}}, nil
}

// sumRows makes n rows of 2 or 3 values in runs, so batches split where
// the width changes, with some rows that must fail: not JSON, a missing
// input, a value the model fails on. want is each row's result line.
func sumRows(r *rand.Rand, first int64, n int) (data string, want []string) {
	var in strings.Builder
	width := 2
	for i := range n {
		row := first + int64(i)
		if r.IntN(4) == 0 {
			width = 5 - width
		}
		x, sum := make([]float32, width), float32(0)
		for k := range x {
			x[k] = float32(r.IntN(1000)) / 8
			sum += x[k]
		}
		tag := fmt.Sprintf("t%d", row)
		xs, _ := json.Marshal(x)
		line := fmt.Sprintf(`{"x":%s,"tag":%q}`, xs, tag)
		res := fmt.Sprintf(`{"row":%d,"outputs":{"sum":%v,"tag":%q}}`, row, sum, tag)
		switch r.IntN(20) {
		case 0:
			line, res = `{"x":`, fmt.Sprintf(`{"row":%d,"error":...}`, row)
		case 1:
			line, res = fmt.Sprintf(`{"x":%s}`, xs), fmt.Sprintf(`{"row":%d,"error":...}`, row)
		case 2:
			line, res = `{"tag":"p","x":[999,1]}`, fmt.Sprintf(`{"row":%d,"error":...}`, row)
		}
		in.WriteString(line + "\n")
		want = append(want, res)
	}
	return in.String(), want
}

// checkChunk compares a chunk's result lines with want; error lines match
// on their row alone.
func checkChunk(t *testing.T, res chunkResult, want []string) {
	t.Helper()
	sc := bufio.NewScanner(ndjsonOf(t, res))
	failed := int64(0)
	for i := 0; sc.Scan(); i++ {
		got := sc.Text()
		if i >= len(want) {
			t.Fatalf("extra line %s", got)
		}
		if prefix, ok := strings.CutSuffix(want[i], `"error":...}`); ok {
			if !strings.HasPrefix(got, prefix+`"error":"`) {
				t.Fatalf("line %d: %s, want an error for its row", i, got)
			}
			failed++
		} else if got != want[i] {
			t.Fatalf("line %d: %s, want %s", i, got, want[i])
		}
	}
	if res.failed != failed {
		t.Fatalf("%d rows failed, the result counts %d", failed, res.failed)
	}
}

func TestScoreBatchesByShapeInOrder(t *testing.T) {
	for _, maxBatch := range []int{0, 1, 3, 8} {
		t.Run(fmt.Sprint("max_batch=", maxBatch), func(t *testing.T) {
			m := &sumModel{t: t, maxBatch: maxBatch}
			s := &scorer{models: m, retryFor: time.Second}
			job := &record{Status: Status{Model: "sum", Version: 1}, Format: NDJSON}
			var wg sync.WaitGroup
			for w := range 4 { // chunks at once, sharing the pools
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(maxBatch), uint64(w)))
					for c := range 10 {
						first := int64(1000*w + 100*c)
						data, want := sumRows(r, first, 1+r.IntN(60))
						res, err := s.score(context.Background(), job, chunkRef{firstRow: first, rows: len(want)}, []byte(data))
						if err != nil {
							t.Error(err)
							return
						}
						checkChunk(t, res, want)
						res.release()
					}
				})
			}
			wg.Wait()
			if got := m.largest.Load(); got != int64(max(maxBatch, 1)) {
				t.Fatalf("largest request %d rows, want %d", got, max(maxBatch, 1))
			}
		})
	}
}

// timesOutOnce is sumModel whose first request times out, as one that
// waited too long in a batcher does: the runtime may still be running it.
type timesOutOnce struct {
	sumModel
	mu   sync.Mutex
	reqs []*runtime.InferRequest
}

func (m *timesOutOnce) Infer(ctx context.Context, req *runtime.InferRequest) (*runtime.InferResponse, error) {
	m.mu.Lock()
	m.reqs = append(m.reqs, req)
	first := len(m.reqs) == 1
	m.mu.Unlock()
	if first {
		return nil, runtime.Errorf(runtime.KindDeadlineExceeded, "waited too long")
	}
	return m.sumModel.Infer(ctx, req)
}

// A try that failed may still be in the runtime, reading its request and
// the chunk's bytes: the retry is a request of its own, and the chunk's
// result says its input must not be reused, though every row succeeded.
func TestScoreRetryLeavesTheTriedRequestAlone(t *testing.T) {
	m := &timesOutOnce{sumModel: sumModel{t: t, maxBatch: 8}}
	s := &scorer{models: m, retryFor: 5 * time.Second}
	job := &record{Status: Status{Model: "sum", Version: 1}, Format: NDJSON}
	data, want := sumRows(rand.New(rand.NewPCG(1, 2)), 0, 8)
	data = strings.ReplaceAll(data, "999", "998") // no row makes the model fail
	res, err := s.score(context.Background(), job, chunkRef{rows: len(want)}, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	defer res.release()
	switch {
	case len(m.reqs) < 2:
		t.Fatalf("%d requests, want the timed-out one and its retry", len(m.reqs))
	case m.reqs[0] == m.reqs[1]:
		t.Error("the retry reused the request that timed out, which the runtime may still hold")
	case !res.leftBehind:
		t.Error("a chunk whose try timed out says its input may be reused")
	}
	ok, err := s.score(context.Background(), job, chunkRef{rows: len(want)}, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	defer ok.release()
	if ok.leftBehind {
		t.Error("a chunk whose every try was answered keeps its input")
	}
}

func TestScoreCSVAndEmptyChunks(t *testing.T) {
	s := &scorer{models: newRefModels(), retryFor: time.Second}
	job := &record{Status: Status{Model: "mlp-small", Version: 1}, Format: CSV}
	res, err := s.score(context.Background(), job, chunkRef{rows: 21}, []byte(csvInput(20, ", ")+"1,2,x"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(ndjsonOf(t, res))
	lines := readResults(t, strings.NewReader(string(b)))
	checkResults(t, lines, 21, map[int]bool{20: true})
	if res.failed != 1 || !strings.Contains(res.firstErr, "column 3") {
		t.Fatalf("failed %d, first error %q", res.failed, res.firstErr)
	}
	if res, err := s.score(context.Background(), job, chunkRef{}, nil); err != nil || len(res.segs) != 0 {
		t.Fatalf("empty chunk: %+v %v", res, err)
	}
}

// A chunk whose model is gone fails every one of its rows, whatever its
// format: a raw chunk's rows are counted by the chunk, never by the
// newline bytes its floats happen to hold.
func TestScoreMissingModelFailsEveryRow(t *testing.T) {
	s := &scorer{models: newRefModels(), retryFor: 10 * time.Millisecond}
	const rows, first = 5, 100
	data := []byte(strings.Repeat("\n", rows*16*4)) // every byte 0x0A
	for _, f := range []Format{NPY, Parquet, NDJSON} {
		job := &record{Status: Status{Model: "gone", Version: 1}, Format: f}
		in := data
		if !f.raw() {
			in = []byte(strings.Repeat(`{"input":[1]}`+"\n", rows))
		}
		res, err := s.score(context.Background(), job, chunkRef{firstRow: first, rows: rows}, in)
		if err != nil {
			t.Fatal(err)
		}
		lines := readResults(t, ndjsonOf(t, res))
		if len(lines) != rows || res.failed != rows {
			t.Fatalf("%s: %d lines, %d failed; want %d of each", f, len(lines), res.failed, rows)
		}
		for i, l := range lines {
			if l.Row != first+int64(i) || !strings.Contains(l.Error, `unknown model "gone"`) {
				t.Fatalf("%s: line %d is %+v, want row %d failing for the unknown model", f, i, l, first+i)
			}
		}
	}
}
