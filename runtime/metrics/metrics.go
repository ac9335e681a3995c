package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tiffin-ml/tiffin/gpu"
	"github.com/tiffin-ml/tiffin/runtime"
)

// Models is what the collector reads of the runtime.
type Models interface {
	Index() []runtime.VersionStatus
	Version(name string, version int64) (*runtime.ModelVersion, error)
}

// GPUs gives the latest GPU telemetry; nil when the host has none.
type GPUs interface {
	Latest() []gpu.Sample
}

// Metrics is the registry and the request instruments.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	models   Models   // names the model label may carry
	series   sync.Map // seriesKey -> requestSeries
}

// latencyBuckets span 100µs to 10s.
var latencyBuckets = []float64{1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// New builds the registry with the Go and process collectors, the request
// instruments and the runtime collector.
func New(models Models, gpus GPUs) *Metrics {
	m := &Metrics{
		models: models,
		reg:    prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tiffin_requests_total",
			Help: "Inference requests by model, version, protocol and status code.",
		}, []string{"model", "version", "protocol", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tiffin_request_duration_seconds",
			Help:    "End-to-end inference latency as the server saw it, decode to encode.",
			Buckets: latencyBuckets,
		}, []string{"model", "version", "protocol"}),
	}
	m.reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&runtimeCollector{models: models, gpus: gpus})
	return m
}

// Register adds another component's collector (the job queue's, say).
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// ObserveRequest records one inference request. version is 0 when the
// request never reached a version (an unknown model); code is the wire
// status, such as "200" or "InvalidArgument".
//
// The model label carries only names the server has models for: a client
// chooses the name in the URL, and every name it sent (404s included)
// would otherwise be a new series for ever. Any other name is UnknownModel.
func (m *Metrics) ObserveRequest(model string, version int64, protocol, code string, d time.Duration) {
	// A request a version answered names a model the server has; only the
	// others are looked up, so a name the server lacks never becomes a
	// label.
	if version == 0 && runtime.KindOf(m.lookup(model)) == runtime.KindNotFound {
		model = UnknownModel
	}
	key := seriesKey{model, version, protocol, code}
	s, ok := m.series.Load(key)
	if !ok {
		v := ""
		if version > 0 {
			v = strconv.FormatInt(version, 10)
		}
		s, _ = m.series.LoadOrStore(key, requestSeries{
			count:   m.requests.WithLabelValues(model, v, protocol, code),
			latency: m.latency.WithLabelValues(model, v, protocol),
		})
	}
	rs := s.(requestSeries)
	rs.count.Inc()
	rs.latency.Observe(d.Seconds())
}

// seriesKey names one request series; requestSeries holds its children,
// resolved once, so a request costs no label hashing or formatting. The
// cache is as bounded as the labels are.
type seriesKey struct {
	model          string
	version        int64
	protocol, code string
}

type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// UnknownModel is the model label of requests for a model the server does
// not have.
const UnknownModel = "_unknown"

func (m *Metrics) lookup(model string) error {
	if m.models == nil {
		return nil
	}
	_, err := m.models.Version(model, 0)
	return err
}

// Handler serves the text exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gatherer exposes the registry for tests.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }
