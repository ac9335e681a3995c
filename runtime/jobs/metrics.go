package jobs

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counts are what this replica's pool has done since it started; /metrics
// reads them (Collector). Replicas each count their own: sum them.
type counts struct {
	rowsScored, rowsFailed       atomic.Int64
	chunksScored, chunksPoisoned atomic.Int64 // recorded (poisoned included); failed whole
	redeliveries                 atomic.Int64 // chunks taken that an earlier delivery had not finished
}

// scored counts a chunk recorded by this replica, the first time it is.
// A nil counts (a pool made without a service, in tests) counts nothing.
func (c *counts) scored(rows int, failed int64) {
	if c == nil {
		return
	}
	c.rowsScored.Add(int64(rows) - failed)
	c.rowsFailed.Add(failed)
	c.chunksScored.Add(1)
}

// taken counts a chunk taken for the n-th time, poisoned when it will not
// be scored again.
func (c *counts) taken(n int, poisoned bool) {
	if c == nil {
		return
	}
	if n > 1 {
		c.redeliveries.Add(1)
	}
	if poisoned {
		c.chunksPoisoned.Add(1)
	}
}

var (
	descJobRows   = prometheus.NewDesc("tiffin_job_rows_total", "Job rows this replica finished, by outcome: scored, or failed (a bad row, a poison chunk, a model gone).", []string{"outcome"}, nil)
	descJobChunks = prometheus.NewDesc("tiffin_job_chunks_total", "Job chunks this replica finished and recorded, poisoned ones included.", nil, nil)
	descJobPoison = prometheus.NewDesc("tiffin_job_chunks_poisoned_total", "Job chunks this replica failed whole, as delivered more than --jobs-max-redeliveries times.", nil, nil)
	descJobRedel  = prometheus.NewDesc("tiffin_job_chunk_redeliveries_total", "Job chunks this replica took that an earlier delivery had not finished (a replica that stopped or crashed, a failure retried).", nil, nil)
	descJobQueued = prometheus.NewDesc("tiffin_job_chunks_queued", "Job chunks in the shared queue, waiting or being scored, across replicas (absent when the queue does not answer within a second).", nil, nil)
)

// Collector is the job queue's metrics, for the server's /metrics.
func (s *Service) Collector() prometheus.Collector { return serviceCollector{s} }

type serviceCollector struct{ s *Service }

func (c serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobRows, descJobChunks, descJobPoison, descJobRedel, descJobQueued} {
		ch <- d
	}
}

func (c serviceCollector) Collect(ch chan<- prometheus.Metric) {
	n := &c.s.counts
	counter := func(d *prometheus.Desc, v *atomic.Int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v.Load()), labels...)
	}
	counter(descJobRows, &n.rowsScored, "scored")
	counter(descJobRows, &n.rowsFailed, "failed")
	counter(descJobChunks, &n.chunksScored)
	counter(descJobPoison, &n.chunksPoisoned)
	counter(descJobRedel, &n.redeliveries)
	st := c.s.store.Load()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if info, err := st.chunks.Info(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(descJobQueued, prometheus.GaugeValue, float64(info.State.Msgs))
	}
}
