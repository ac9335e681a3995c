package tracing

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestOTELEnvConfiguresTracing runs a real OTLP/HTTP receiver and points
// tiffin at it with the standard variables only.
func TestOTELEnvConfiguresTracing(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, path = append(got, b...), r.URL.Path
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "svc-from-env")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	shutdown, err := Setup(context.Background(), "", "tiffin", "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !Enabled() {
		t.Fatal("tracing is off with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	_, span := Tracer().Start(context.Background(), "span-from-test")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// OTLP protobuf carries strings as their bytes.
	if path != "/v1/traces" || !bytes.Contains(got, []byte("span-from-test")) || !bytes.Contains(got, []byte("svc-from-env")) {
		t.Fatalf("receiver got %d bytes at %q; want the span, with OTEL_SERVICE_NAME, at /v1/traces", len(got), path)
	}
}

func TestOTELEnvSwitchesOff(t *testing.T) {
	for _, env := range [][2]string{{"OTEL_SDK_DISABLED", "true"}, {"OTEL_TRACES_EXPORTER", "none"}} {
		t.Run(env[0], func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
			t.Setenv(env[0], env[1])
			if _, err := Setup(context.Background(), "", "tiffin", "test", slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			if Enabled() {
				t.Fatalf("%s=%s: tracing is on", env[0], env[1])
			}
		})
	}
}

// An --otlp-endpoint that is no URL is refused at start; a collector that
// is down is reported in the server's own log, not the standard logger's.
func TestOTLPEndpointErrors(t *testing.T) {
	if _, err := Setup(context.Background(), "not-a-url", "tiffin", "test", slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "want an http or https URL") {
		t.Fatalf("not-a-url: %v", err)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/v1/traces"
	srv.Close() // a collector that is down
	var logged bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logged}, nil))
	shutdown, err := Setup(context.Background(), url, "tiffin", "test", log)
	if err != nil {
		t.Fatal(err)
	}
	_, span := Tracer().Start(context.Background(), "lost")
	span.End()
	_ = shutdown(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), `"msg":"tracing"`) {
		t.Fatalf("log %q, want the export failure as a JSON line", logged.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
