package jobs

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime"
)

func timeNow() time.Time { return time.Now().UTC() }

// refModels serves mlp-small with modelgen's Go reference instead of a
// backend, so the job machinery is tested on real JetStream without ONNX
// Runtime. A row whose first value is 999 makes its whole batch fail, as a
// backend error would; delay slows every request.
type refModels struct {
	mlp      *modelgen.MLP
	maxBatch int
	delay    time.Duration
	calls    atomic.Int64
	maxRows  atomic.Int64 // the largest batch seen
}

func newRefModels() *refModels { return &refModels{mlp: modelgen.MLPSmall(), maxBatch: 8} }

// BulkPause never pauses: these tests send no interactive requests.
func (m *refModels) BulkPause(time.Duration) time.Duration { return 0 }
func (m *refModels) BulkWork() func()                      { return func() {} }

func (m *refModels) Version(name string, version int64) (*runtime.ModelVersion, error) {
	if name != m.mlp.Name || version > 1 {
		return nil, runtime.Errorf(runtime.KindNotFound, "unknown model %q", name)
	}
	meta := m.mlp.Metadata()
	return &runtime.ModelVersion{Name: name, Version: 1,
		Sig: runtime.Signature{Inputs: meta.Inputs, Outputs: meta.Outputs, MaxBatchSize: m.maxBatch}}, nil
}

func (m *refModels) Infer(ctx context.Context, req *runtime.InferRequest) (*runtime.InferResponse, error) {
	m.calls.Add(1)
	if req.Priority != runtime.PriorityBulk {
		return nil, fmt.Errorf("job request at priority %d, want bulk", req.Priority)
	}
	select {
	case <-time.After(m.delay):
	case <-ctx.Done():
		return nil, runtime.Errorf(runtime.KindCancelled, "cancelled")
	}
	in := req.Inputs[0]
	rows := int(in.Shape[0])
	if rows > m.maxBatch || len(in.Shape) != 2 || in.Shape[1] != 16 {
		return nil, runtime.Errorf(runtime.KindInvalidArgument, "bad shape %v", in.Shape)
	}
	if m.maxRows.Load() < int64(rows) {
		m.maxRows.Store(int64(rows))
	}
	x := f32s(in.Data)
	for r := range rows {
		if x[r*16] == 999 {
			return nil, runtime.Errorf(runtime.KindInternal, "backend failed on a poisoned row")
		}
		if x[r*16] == 777 {
			panic("scoring crashed on a poison row") // a chunk that crashes whoever scores it
		}
	}
	y := m.mlp.Forward(x, rows)
	out := backends.Tensor{Name: "output", DataType: backends.FP32, Shape: []int64{int64(rows), 4}, Data: f32Bytes(y)}
	return &runtime.InferResponse{Model: req.Model, Version: 1, Outputs: []backends.Tensor{out}}, nil
}

func f32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func f32Bytes(x []float32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// rowValues is row i of the test input: 16 deterministic floats.
func rowValues(i int) []float32 {
	x := make([]float32, 16)
	for k := range x {
		x[k] = float32(math.Sin(float64(i)*0.1 + float64(k)*0.37))
	}
	return x
}

func ndjsonInput(rows int) string {
	var b strings.Builder
	for i := range rows {
		v, _ := json.Marshal(map[string]any{"input": rowValues(i)})
		b.Write(v)
		b.WriteByte('\n')
	}
	return b.String()
}

// csvInput is rows of rowValues as CSV, fields joined by sep.
func csvInput(rows int, sep string) string {
	var b strings.Builder
	for i := range rows {
		for k, v := range rowValues(i) {
			if k > 0 {
				b.WriteString(sep)
			}
			fmt.Fprint(&b, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func startService(t *testing.T, m Models, dir string, edit func(*Options)) *Service {
	t.Helper()
	opts := Options{DataDir: dir, Workers: 2, ChunkRows: 10, AckWait: 2 * time.Second, RetryFor: time.Second,
		Logger: slog.New(slog.DiscardHandler), Replica: "test"}
	if edit != nil {
		edit(&opts)
	}
	s := New(m, opts)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func waitFinished(t *testing.T, s *Service, id string, within time.Duration) Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := s.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State.Finished() {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not finished within %s: %+v", id, within, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type resultLine struct {
	Row     int64                `json:"row"`
	Outputs map[string][]float64 `json:"outputs"`
	Error   string               `json:"error"`
}

func readResults(t *testing.T, r io.Reader) []resultLine {
	t.Helper()
	var out []resultLine
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l resultLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("result line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkResults asserts one line per row, in order, each equal to the
// reference within 1e-5, except the rows in bad, which must be errors.
func checkResults(t *testing.T, lines []resultLine, rows int, bad map[int]bool) {
	t.Helper()
	if len(lines) != rows {
		t.Fatalf("%d result lines, want %d", len(lines), rows)
	}
	mlp := modelgen.MLPSmall()
	for i, l := range lines {
		if l.Row != int64(i) {
			t.Fatalf("line %d is row %d", i, l.Row)
		}
		if bad[i] {
			if l.Error == "" {
				t.Fatalf("row %d: want an error, got %+v", i, l)
			}
			continue
		}
		want := mlp.Forward(rowValues(i), 1)
		got := l.Outputs["output"]
		if l.Error != "" || len(got) != len(want) {
			t.Fatalf("row %d: %+v", i, l)
		}
		for k := range want {
			if math.Abs(got[k]-float64(want[k])) > 1e-5 {
				t.Fatalf("row %d output[%d] = %v, want %v", i, k, got[k], want[k])
			}
		}
	}
}

// ndjsonOf renders a chunk's result records as the result lines a reader
// of the job gets.
func ndjsonOf(t *testing.T, res chunkResult) io.Reader {
	t.Helper()
	b, err := io.ReadAll(res.reader())
	if err != nil {
		t.Fatal(err)
	}
	out, err := appendNDJSON(nil, &recordReader{b: b})
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(out))
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
