package runtime

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/batcher"
)

func TestTraceBatchRecordsQueueAndCompute(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	defer otel.SetTracerProvider(prev)
	ctx, root := tp.Tracer("test").Start(context.Background(), "infer")
	j := newInflight(2, 0, "a", "b")
	j.ctx, j.enqueued = ctx, time.Now().Add(-3*time.Millisecond)
	untraced := newInflight(1, 0, "c")
	start := time.Now()
	traceBatch(batcher.Batch[*inflight]{Parts: []part{{Req: j, Rows: 2}, {Req: untraced, Rows: 1}}, Rows: 3},
		backends.Device{Kind: backends.CPU}, start, time.Millisecond)
	root.End()
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want queue, compute and the root", len(spans))
	}
	q, c := spans[0], spans[1]
	if q.Name() != "queue" || c.Name() != "compute" || q.Parent().SpanID() != root.SpanContext().SpanID() {
		t.Fatalf("spans %s %s, parent %v", q.Name(), c.Name(), q.Parent().SpanID())
	}
	if !q.EndTime().Equal(start) || c.EndTime().Sub(c.StartTime()) != time.Millisecond {
		t.Fatalf("queue ends %v (want %v), compute lasts %v", q.EndTime(), start, c.EndTime().Sub(c.StartTime()))
	}
}
