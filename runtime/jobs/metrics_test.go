package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The job metrics count what this replica finished: rows scored and
// failed, chunks, and the queue's backlog, which is empty once the job
// is done.
func TestJobMetrics(t *testing.T) {
	s := startService(t, newRefModels(), t.TempDir(), nil)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(s.Collector()); err != nil {
		t.Fatal(err)
	}
	in := ndjsonInput(29) + "\n{\"input\": \"not a row\"}\n"
	st, err := s.Submit(context.Background(), "mlp-small", 0, Input{Format: NDJSON}, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if st = waitFinished(t, s, st.ID, 30*time.Second); st.RowsDone != 30 || st.RowsFailed != 1 {
		t.Fatalf("finished: %+v", st)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.Metric {
			name := f.GetName()
			for _, l := range m.Label {
				name += "{" + l.GetValue() + "}"
			}
			got[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"tiffin_job_rows_total{scored}": 29, "tiffin_job_rows_total{failed}": 1,
		"tiffin_job_chunks_total": 3, "tiffin_job_chunks_poisoned_total": 0,
		"tiffin_job_chunk_redeliveries_total": 0, "tiffin_job_chunks_queued": 0,
	}
	for k, w := range want {
		if v, ok := got[k]; !ok || v != w {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, w)
		}
	}
}
