package tracing

import (
	"log/slog"
	"os"
	"strings"
)

// fromEnv decides whether tracing is on: with the --otlp-endpoint flag, or
// with OpenTelemetry's standard endpoint variables, unless the standard
// switches turn it off. why names where the endpoint came from.
func fromEnv(flagEndpoint string, log *slog.Logger) (on bool, why string) {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false, ""
	}
	if e := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); e != "" && e != "otlp" {
		if e != "none" {
			log.Warn("OTEL_TRACES_EXPORTER: only otlp (over HTTP) is supported; tracing stays off", "value", e)
		}
		return false, ""
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := os.Getenv(v); p != "" && p != "http/protobuf" {
			log.Warn(v+": tiffin exports over OTLP/HTTP (http/protobuf) only", "value", p)
			break
		}
	}
	if flagEndpoint != "" {
		return true, flagEndpoint
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if e := os.Getenv(v); e != "" {
			return true, v + "=" + e
		}
	}
	return false, ""
}
