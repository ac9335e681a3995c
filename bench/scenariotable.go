package bench

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ReadScenarioResults reads every report RunScenarios wrote into dir.
func ReadScenarioResults(dir string) (map[string]*Report, error) {
	names := []string{"baseline-mlp-small", "baseline-mlp-large"}
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	out := map[string]*Report{}
	for _, n := range names {
		r, err := ReadReport(filepath.Join(dir, n+".json"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[n] = r
	}
	return out, nil
}

// ScenarioTables renders the suite's results as the markdown tables of
// bench/README.md "Server scenarios". Missing results read "–".
func ScenarioTables(res map[string]*Report) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(res)) {
		r := res[name]
		fmt.Fprintf(&b, "Measured %s by tiffin %s on %d CPUs (GOMAXPROCS %d, %s/%s); the load generator shares them with the server.\n\n",
			r.Started.Format("2006-01-02"), r.Version, r.Host.NumCPU, r.Host.GOMAXPROCS, r.Host.OS, r.Host.Arch)
		break
	}
	throughputTable(&b, res)
	overheadTable(&b, res)
	batchingTable(&b, res)
	openLoopTable(&b, res)
	return b.String()
}

func throughputTable(b *strings.Builder, res map[string]*Report) {
	fmt.Fprintln(b, "Most throughput, mlp-small, one row per request (best closed-loop level of 1, 8, 32, 64):")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| path | best level | requests/s | p50 ms | p99 ms | server mean batch | of the bare handler |")
	fmt.Fprintln(b, "|------|-----------:|-----------:|-------:|-------:|------------------:|--------------------:|")
	bare := bestLevel(res["bare-http"]).RequestsPerSec
	for _, p := range []struct{ name, label string }{
		{"bare-http", "ceiling: bare fasthttp handler, no model"},
		{"mlp-small-http-json", "tiffin, HTTP JSON"},
		{"mlp-small-http-binary", "tiffin, HTTP binary"},
		{"mlp-small-grpc", "tiffin, gRPC"},
	} {
		l := bestLevel(res[p.name])
		if res[p.name] == nil {
			fmt.Fprintf(b, "| %s | – | – | – | – | – | – |\n", p.label)
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.3f | %.3f | %s | %s |\n", p.label, l.Label, thousands(l.RequestsPerSec),
			l.Latency.P50Ms, l.Latency.P99Ms, meanBatchText(l), percent(l.RequestsPerSec, bare))
	}
	for _, batch := range []int{1, 64} {
		r := baselineRow(res["baseline-mlp-small"], batch)
		fmt.Fprintf(b, "| ceiling: backend alone, batch %d (rows/s) | – | %s | %s | %s | – | – |\n",
			batch, rowsText(r), p50Text(r), p99Text(r))
	}
	fmt.Fprintln(b)
}

func overheadTable(b *strings.Builder, res map[string]*Report) {
	fmt.Fprintln(b, "Overhead per request at concurrency 1, mlp-small: the server's p50 minus the backend's batch-1 p50 per run;")
	fmt.Fprintln(b, "the server's own means per request split it into time queued (the batch window) and in the backend:")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| path | p50 ms at c=1 | backend batch 1 p50 ms | overhead ms | server queue ms | server compute ms | rest ms |")
	fmt.Fprintln(b, "|------|--------------:|-----------------------:|------------:|----------------:|------------------:|--------:|")
	base := baselineRow(res["baseline-mlp-small"], 1)
	for _, p := range []struct{ name, label string }{
		{"bare-http", "bare fasthttp handler (no model)"},
		{"mlp-small-http-json", "HTTP JSON"},
		{"mlp-small-http-binary", "HTTP binary"},
		{"mlp-small-grpc", "gRPC"},
	} {
		l, ok := levelLabelled(res[p.name], "c=1")
		if !ok {
			fmt.Fprintf(b, "| %s | – | %s | – | – | – | – |\n", p.label, p50Text(base))
			continue
		}
		over, rest := "–", "–"
		if base != nil && p.name != "bare-http" {
			over = fmt.Sprintf("%.3f", l.Latency.P50Ms-base.Latency.P50Ms)
		}
		if l.ServerQueueMs != nil && l.ServerComputeMs != nil {
			rest = fmt.Sprintf("%.3f", l.Latency.P50Ms-*l.ServerQueueMs-*l.ServerComputeMs)
		}
		fmt.Fprintf(b, "| %s | %.3f | %s | %s | %s | %s | %s |\n", p.label, l.Latency.P50Ms, p50Text(base), over,
			msText(l.ServerQueueMs), msText(l.ServerComputeMs), rest)
	}
	fmt.Fprintln(b)
}

func batchingTable(b *strings.Builder, res map[string]*Report) {
	fmt.Fprintln(b, "Batching gain, mlp-large over HTTP binary, one row per request:")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| level | rows/s | p50 ms | p99 ms | server mean batch |")
	fmt.Fprintln(b, "|-------|-------:|-------:|-------:|------------------:|")
	r := res["mlp-large-http-binary"]
	for _, c := range closedLevels {
		if l, ok := levelLabelled(r, fmt.Sprintf("c=%d", c)); ok {
			fmt.Fprintf(b, "| c=%d | %s | %.3f | %.3f | %s |\n", c, thousands(l.RowsPerSec), l.Latency.P50Ms, l.Latency.P99Ms, meanBatchText(l))
		}
	}
	for _, batch := range []int{1, 64} {
		row := baselineRow(res["baseline-mlp-large"], batch)
		fmt.Fprintf(b, "| backend alone, batch %d | %s | %s | %s | %d |\n", batch, rowsText(row), p50Text(row), p99Text(row), batch)
	}
	c1, ok1 := levelLabelled(r, "c=1")
	c64, ok64 := levelLabelled(r, "c=64")
	base := baselineRow(res["baseline-mlp-large"], 1)
	if ok1 && ok64 && c1.RowsPerSec > 0 {
		fmt.Fprintf(b, "\nGain: c=64 gives %.1f× the rows/s of c=1", c64.RowsPerSec/c1.RowsPerSec)
		if base != nil && base.RowsPerSec > 0 {
			fmt.Fprintf(b, ", and %.1f× the backend's batch-1 ceiling", c64.RowsPerSec/base.RowsPerSec)
		}
		fmt.Fprintln(b, ".")
	}
	fmt.Fprintln(b)
}

func openLoopTable(b *strings.Builder, res map[string]*Report) {
	r := res["mlp-small-open-loop"]
	if r == nil {
		return
	}
	fmt.Fprintln(b, "Open loop, mlp-small over HTTP binary, Poisson arrivals (latency from the intended send time):")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| rate asked | requests/s | p50 ms | p99 ms | p99.9 ms | dropped | late | server mean batch |")
	fmt.Fprintln(b, "|-----------:|-----------:|-------:|-------:|---------:|--------:|-----:|------------------:|")
	for _, l := range r.Levels {
		var dropped, late int64
		if l.Sends != nil {
			dropped, late = l.Sends.Dropped, l.Sends.Late
		}
		fmt.Fprintf(b, "| %s | %s | %.3f | %.3f | %.3f | %d | %d | %s |\n", thousands(l.Rate), thousands(l.RequestsPerSec),
			l.Latency.P50Ms, l.Latency.P99Ms, l.Latency.P999Ms, dropped, late, meanBatchText(l))
	}
	fmt.Fprintln(b)
}

func levelLabelled(r *Report, label string) (Level, bool) {
	if r != nil {
		for _, l := range r.Levels {
			if l.Label == label {
				return l, true
			}
		}
	}
	return Level{}, false
}

func baselineRow(r *Report, batch int) *BaselineRow {
	if r == nil || r.Baseline == nil {
		return nil
	}
	for i := range r.Baseline.Rows {
		if r.Baseline.Rows[i].Batch == batch {
			return &r.Baseline.Rows[i]
		}
	}
	return nil
}

func rowsText(r *BaselineRow) string {
	if r == nil {
		return "–"
	}
	return thousands(r.RowsPerSec)
}

func p50Text(r *BaselineRow) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.3f", r.Latency.P50Ms)
}

func p99Text(r *BaselineRow) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.3f", r.Latency.P99Ms)
}

func msText(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.3f", *v)
}

func percent(v, of float64) string {
	if of <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*v/of)
}

// thousands writes a rate rounded to a whole number with comma separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
