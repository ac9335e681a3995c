package jobs

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// benchChunk is a chunk of mlp-small rows as BenchmarkJobs writes them:
// 16 floats of 8 significant digits each.
func benchChunk(rows int) []byte {
	var b []byte
	for i := range rows {
		b = append(b, `{"input":[`...)
		for k := range 16 {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, math.Sin(float64(i)*0.01+float64(k)*0.37), 'g', 8, 32)
		}
		b = append(b, "]}\n"...)
	}
	return b
}

// BenchmarkDecodeRows decodes mlp-small rows into batches of 64, the
// per-row parsing cost of a job. One op is one row.
func BenchmarkDecodeRows(b *testing.B) {
	data := benchChunk(1024)
	v, _ := newRefModels().Version("mlp-small", 1)
	specs := rowSpecs(&v.Sig)
	d := newRowDecoder(specs, NDJSON)
	bt := newBatch(len(specs))
	b.SetBytes(int64(len(data) / 1024))
	b.ResetTimer()
	for i := 0; i < b.N; {
		eachLine(data, func(line []byte) {
			if i >= b.N {
				return
			}
			if err := d.decode(line, bt); err != nil {
				b.Fatal(err)
			}
			if bt.add(int64(i), d.shapes); bt.rows == 64 {
				bt.release()
				bt = newBatch(len(specs))
			}
			i++
		})
	}
}

// zeroModels answers every mlp-small request at once with zeros: what is
// left of a chunk's scoring is the jobs package's own work.
type zeroModels struct{ refModels }

func (m *zeroModels) Infer(_ context.Context, req *runtime.InferRequest) (*runtime.InferResponse, error) {
	rows := req.Inputs[0].Shape[0]
	out := backends.Tensor{Name: "output", DataType: backends.FP32, Shape: []int64{rows, 4}, Data: make([]byte, 16*rows)}
	for i := range out.Data {
		out.Data[i] = byte(i * 37) // varied floats to format
	}
	return &runtime.InferResponse{Outputs: []backends.Tensor{out}}, nil
}

// BenchmarkScoreChunk scores 1024-row chunks of mlp-small against a model
// that costs nothing: decoding, batching and result lines. One op is one
// row.
func BenchmarkScoreChunk(b *testing.B) {
	data := benchChunk(1024)
	m := &zeroModels{refModels: refModels{maxBatch: 64}}
	m.mlp = newRefModels().mlp
	s := &scorer{models: m, retryFor: time.Second}
	job := &record{Status: Status{Model: "mlp-small", Version: 1}, Format: NDJSON}
	b.SetBytes(int64(len(data) / 1024))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += 1024 {
		res, err := s.score(context.Background(), job, chunkRef{rows: 1024}, data)
		if err != nil || res.failed != 0 {
			b.Fatal(err, res.firstErr)
		}
		res.release()
	}
}
