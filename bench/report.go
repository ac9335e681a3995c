package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"
)

// Report is what `tiffin bench --out` writes: the configuration, one
// Level per concurrency or rate, and the in-process baseline when asked.
type Report struct {
	Tool     string    `json:"tool"`
	Version  string    `json:"version,omitempty"`
	Started  time.Time `json:"started"`
	Host     Host      `json:"host"`
	Config   Config    `json:"config"`
	Levels   []Level   `json:"levels"`
	Baseline *Baseline `json:"baseline,omitempty"`
}

// Host is the machine the load generator ran on.
type Host struct {
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

// Config is the run's configuration, as given or defaulted.
type Config struct {
	Model       string      `json:"model"`
	Protocol    string      `json:"protocol,omitempty"` // http-json | http-binary | grpc
	Target      string      `json:"target,omitempty"`
	Bare        bool        `json:"bare_http,omitempty"` // the target was the built-in bare fasthttp server
	Batch       int         `json:"batch"`
	Inputs      []InputSpec `json:"inputs,omitempty"`
	Concurrency []int       `json:"concurrency,omitempty"`
	Rates       []float64   `json:"rates,omitempty"`
	Arrivals    string      `json:"arrivals,omitempty"`
	Workers     int         `json:"workers,omitempty"`
	DurationS   float64     `json:"duration_s"`
	WarmupS     float64     `json:"warmup_s"`
}

// InputSpec is one synthetic input as sent.
type InputSpec struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// NewReport starts a report with the host filled in.
func NewReport(version string, cfg Config) *Report {
	return &Report{
		Tool: "tiffin bench", Version: version, Started: time.Now().UTC().Truncate(time.Second), Config: cfg,
		Host:   Host{OS: goruntime.GOOS, Arch: goruntime.GOARCH, NumCPU: goruntime.NumCPU(), GOMAXPROCS: goruntime.GOMAXPROCS(0)},
		Levels: []Level{},
	}
}

// ReadReport reads a report written by WriteFiles.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// ChartPath is where the chart goes by default: FILE.svg beside FILE.json.
func ChartPath(jsonPath string) string {
	return strings.TrimSuffix(jsonPath, filepath.Ext(jsonPath)) + ".svg"
}

// WriteFiles writes the JSON report to jsonPath (skipped when "") and the
// latency-throughput chart to svgPath (skipped when "" or when there are
// no levels to plot).
func (r *Report) WriteFiles(jsonPath, svgPath string) error {
	if jsonPath != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(jsonPath, append(b, '\n')); err != nil {
			return err
		}
	}
	if svgPath == "" || len(r.Levels) == 0 {
		return nil
	}
	var sb strings.Builder
	if err := WriteSVG(&sb, r.Chart()); err != nil {
		return err
	}
	return writeFile(svgPath, []byte(sb.String()))
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Chart is the report's levels as a latency-throughput chart.
func (r *Report) Chart() Chart {
	model := r.Config.Model
	if r.Config.Bare {
		model = "bare fasthttp handler"
	}
	c := Chart{
		Title:  fmt.Sprintf("%s over %s, batch %d", model, r.Config.Protocol, r.Config.Batch),
		XLabel: "throughput (requests/s)", YLabel: "latency (ms)",
	}
	if r.Config.Batch > 1 {
		c.XLabel = "throughput (rows/s)"
	}
	for _, l := range r.Levels {
		x := l.RequestsPerSec
		if r.Config.Batch > 1 {
			x = l.RowsPerSec
		}
		c.Points = append(c.Points, ChartPoint{Label: l.Label, X: x, P50: l.Latency.P50Ms, P99: l.Latency.P99Ms})
	}
	return c
}

// PrintTable writes the levels as an aligned text table.
func (r *Report) PrintTable(w io.Writer) {
	fmt.Fprintf(w, "%-8s %10s %10s %9s %9s %9s %9s %7s %10s %12s %10s\n",
		"LEVEL", "REQ/S", "ROWS/S", "P50 ms", "P90 ms", "P99 ms", "P99.9 ms", "ERRORS", "MEAN BATCH", "CPU µs/REQ", "INFLATION")
	for _, l := range r.Levels {
		fmt.Fprintf(w, "%-8s %10.0f %10.0f %9.3f %9.3f %9.3f %9.3f %7d %10s %12s %10s\n", l.Label, l.RequestsPerSec, l.RowsPerSec,
			l.Latency.P50Ms, l.Latency.P90Ms, l.Latency.P99Ms, l.Latency.P999Ms, l.Errors, meanBatchText(l),
			optText(l.ServerCPUUsPerReq, "%.1f"), optText(l.ComputeInflation, "%.2f×"))
	}
	for _, l := range r.Levels {
		if l.FirstError != "" {
			fmt.Fprintf(w, "%s: first error: %s\n", l.Label, l.FirstError)
		}
		switch s := l.Sends; {
		case s != nil && s.Dropped > 0:
			fmt.Fprintf(w, "%s: the sender pool saturated: %d of %d requests dropped, %d sent over %gms late (max lag %.1fms); "+
				"latencies count from the intended send time, dropped requests are not in them (raise --workers)\n",
				l.Label, s.Dropped, s.Scheduled, s.Late, s.LateAfterMs, s.MaxLagMs)
		case s != nil && s.Late > 0:
			fmt.Fprintf(w, "%s: %d of %d requests were sent over %gms late (max lag %.1fms), none dropped: the load generator "+
				"fell behind its schedule; latencies count from the intended send time (raise --workers, or give the load "+
				"generator a core of its own: --pin-client)\n",
				l.Label, s.Late, s.Scheduled, s.LateAfterMs, s.MaxLagMs)
		}
	}
}

// optText formats a figure that may not have been measured.
func optText(v *float64, format string) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf(format, *v)
}

func meanBatchText(l Level) string {
	if l.MeanBatch == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", *l.MeanBatch)
}
