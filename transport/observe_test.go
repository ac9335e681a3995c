package transport

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
)

// BenchmarkStartInferSpanOff is a request's tracing cost with tracing off
// and no traceparent: none.
func BenchmarkStartInferSpanOff(b *testing.B) {
	carrier := propagation.MapCarrier{"content-type": "application/json"}
	b.ReportAllocs()
	for b.Loop() {
		_, span := StartInferSpan(context.Background(), carrier, "http", "mlp-small")
		span.End()
	}
}

func TestStartInferSpanOffKeepsTraceparent(t *testing.T) {
	carrier := propagation.MapCarrier{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	ctx, _ := StartInferSpan(context.Background(), carrier, "http", "m")
	out := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, out)
	if out["traceparent"] == "" {
		t.Fatal("with tracing off, the caller's trace context did not flow on")
	}
	if n := testing.AllocsPerRun(100, func() {
		StartInferSpan(context.Background(), propagation.MapCarrier{}, "http", "m")
	}); n > 1 {
		t.Fatalf("tracing off costs %v allocations per request", n)
	}
}
