package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The server-side figures of a level: the server's CPU time per request,
// read from its Prometheus process_cpu_seconds_total before and after, and
// compute inflation, its compute time per batch against the backend alone
// (a --baseline report) at the same batch sizes.

// CPUSeconds reads process_cpu_seconds_total from a Prometheus text
// endpoint (tiffin's /metrics, or the bare server's); tlsCfg, when not
// nil, is how an https:// one is reached.
func CPUSeconds(ctx context.Context, metricsURL string, tlsCfg *tls.Config) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return 0, err
	}
	client := http.DefaultClient
	if tlsCfg != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsCfg
		defer t.CloseIdleConnections()
		client = &http.Client{Transport: t}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: HTTP %d", metricsURL, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if rest, ok := bytes.CutPrefix(line, []byte("process_cpu_seconds_total ")); ok {
			return strconv.ParseFloat(strings.TrimSpace(string(rest)), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("GET %s: no process_cpu_seconds_total", metricsURL)
}

// Inflation is the server's compute time over what the backend alone took
// for the same batches: Σ served compute ÷ Σ (batches × the baseline's
// mean run time at that batch size, interpolated between the sizes it
// measured). ok is false when nothing ran or there is no baseline.
func Inflation(before, after ServerStats, base *Baseline) (float64, bool) {
	if base == nil || len(base.Rows) == 0 {
		return 0, false
	}
	var served, alone float64
	for size, a := range after.Batches {
		b := before.Batches[size]
		if a.Count <= b.Count || a.Ns < b.Ns {
			continue
		}
		served += float64(a.Ns - b.Ns)
		alone += float64(a.Count-b.Count) * baselineNs(base, size)
	}
	if alone <= 0 {
		return 0, false
	}
	return served / alone, true
}

// baselineNs is the baseline's mean run time at batch size n, linear
// between the sizes it measured and proportional beyond them.
func baselineNs(base *Baseline, n int) float64 {
	rows := append([]BaselineRow(nil), base.Rows...)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Batch < rows[j].Batch })
	at := func(r BaselineRow) float64 { return r.Latency.MeanMs * 1e6 }
	if n <= rows[0].Batch {
		return at(rows[0])
	}
	for i := 1; i < len(rows); i++ {
		if n <= rows[i].Batch {
			lo, hi := rows[i-1], rows[i]
			f := float64(n-lo.Batch) / float64(hi.Batch-lo.Batch)
			return at(lo) + f*(at(hi)-at(lo))
		}
	}
	last := rows[len(rows)-1]
	return at(last) * float64(n) / float64(last.Batch)
}

// ReadBaseline reads the baseline of a report written by
// `tiffin bench --baseline --out FILE.json`, which must be of model (when
// both name one): another model's compute compares with nothing.
func ReadBaseline(path, model string) (*Baseline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: not a tiffin bench report: %w", path, err)
	}
	if rep.Baseline == nil || len(rep.Baseline.Rows) == 0 {
		return nil, fmt.Errorf("%s: has no baseline (write one with tiffin bench --baseline --out FILE.json)", path)
	}
	if rep.Config.Model != "" && model != "" && rep.Config.Model != model {
		return nil, fmt.Errorf("%s: is a baseline of model %q, not of %q: its compute would make no comparison", path, rep.Config.Model, model)
	}
	return rep.Baseline, nil
}
