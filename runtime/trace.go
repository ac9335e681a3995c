package runtime

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/batcher"
	"github.com/tiffin-ml/tiffin/runtime/tracing"
)

// traceBatch records, for each traced request in the batch, a queue span
// (from submit to the start of compute) and a compute span, as children
// of the request's span. Requests without a recording span cost one check.
func traceBatch(b batcher.Batch[*inflight], dev backends.Device, start time.Time, compute time.Duration) {
	for _, p := range b.Parts {
		if !trace.SpanFromContext(p.Req.ctx).IsRecording() {
			continue
		}
		tr := tracing.Tracer()
		_, q := tr.Start(p.Req.ctx, "queue", trace.WithTimestamp(p.Req.enqueued))
		q.End(trace.WithTimestamp(start))
		_, c := tr.Start(p.Req.ctx, "compute", trace.WithTimestamp(start), trace.WithAttributes(
			attribute.String("tiffin.device", dev.Kind.String()),
			attribute.Int("tiffin.batch_rows", b.Rows),
			attribute.Int("tiffin.part_rows", p.Rows),
			attribute.String("tiffin.dispatch_reason", b.Reason.String()),
		))
		c.End(trace.WithTimestamp(start.Add(compute)))
	}
}
