// Package tracing owns OpenTelemetry for tiffin: the tracer provider (an
// OTLP/HTTP exporter when an endpoint is given, off otherwise), the W3C
// trace-context propagator the transports use to continue a caller's
// trace, and the tracer the runtime records queue and compute spans with.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Name is the instrumentation scope of tiffin's spans.
const Name = "github.com/tiffin-ml/tiffin"

// Tracer is the tracer runtime and transports start spans with. Until
// Setup installs a provider it is OpenTelemetry's no-op, which costs a
// few nanoseconds per span.
func Tracer() trace.Tracer { return otel.Tracer(Name) }

// enabled is set by Setup when an exporter is installed.
var enabled atomic.Bool

// Enabled reports whether spans go anywhere. When they do not, the
// transports skip building server spans and their attributes, so tracing
// that is off costs nothing per request.
func Enabled() bool { return enabled.Load() }

// Propagator extracts and injects W3C traceparent and baggage.
var Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Setup installs the global tracer provider. Tracing is on when endpoint
// is given, or when the standard OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (env.go); endpoint wins over
// them. The exporter, the sampler, the batch processor and the resource
// also read the other OTEL_* variables (headers, timeouts,
// OTEL_TRACES_SAMPLER, OTEL_BSP_*, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES); OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none keep it off. Off, it installs the no-op
// provider, and traceparent still passes through. It returns the
// provider's shutdown, which flushes spans.
func Setup(ctx context.Context, endpoint, service, version string, log *slog.Logger) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(Propagator)
	on, why := fromEnv(endpoint, log)
	if !on {
		otel.SetTracerProvider(noop.NewTracerProvider())
		enabled.Store(false)
		return func(context.Context) error { return nil }, nil
	}
	var opts []otlptracehttp.Option
	if endpoint != "" {
		if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--otlp-endpoint %q: want an http or https URL, such as http://localhost:4318/v1/traces", endpoint)
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
	}
	// The exporter's failures (a collector down) go to the server's own
	// log, in its format, rather than to the standard logger's plain text.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "err", err) }))
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter for %s: %w", why, err)
	}
	// Later sources win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override tiffin's own service name.
	res, err := resource.New(ctx, resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(service), semconv.ServiceVersion(version)), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	enabled.Store(true)
	log.Info("tracing on", "otlp_endpoint", why)
	return tp.Shutdown, nil
}
