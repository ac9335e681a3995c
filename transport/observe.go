package transport

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiffin-ml/tiffin/runtime/tracing"
)

// Observer is told of every inference request a front end answered: the
// metrics package implements it.
type Observer interface {
	ObserveRequest(model string, version int64, protocol, code string, d time.Duration)
}

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) ObserveRequest(string, int64, string, string, time.Duration) {}

// noSpan is what StartInferSpan returns with tracing off.
var noSpan = trace.SpanFromContext(context.Background())

// StartInferSpan continues the caller's trace, from the W3C traceparent in
// carrier, with a server span for one inference. With tracing off it costs
// nothing: no span, no attributes, and the caller's trace context flows to
// the runtime only when the request carries one.
func StartInferSpan(ctx context.Context, carrier propagation.TextMapCarrier, protocol, model string) (context.Context, trace.Span) {
	if !tracing.Enabled() {
		if carrier.Get("traceparent") != "" {
			ctx = tracing.Propagator.Extract(ctx, carrier)
		}
		return ctx, noSpan
	}
	ctx = tracing.Propagator.Extract(ctx, carrier)
	return tracing.Tracer().Start(ctx, "infer "+model, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("tiffin.protocol", protocol), attribute.String("tiffin.model", model)))
}
