package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tiffin-ml/tiffin/runtime"
)

// descWarmup is how long a version's warmup took before it turned READY.
var descWarmup = prometheus.NewDesc("tiffin_model_warmup_seconds",
	"How long the model version's warmup samples took before it was READY.", []string{"model", "version"}, nil)

// Triton's metric names (--metrics-compat triton), with its labels (model,
// version) and units, so dashboards and autoscalers built for Triton read
// tiffin unchanged. The values are the statistics extension's counters.
var (
	tritonLabels  = []string{"model", "version"}
	descNVSuccess = prometheus.NewDesc("nv_inference_request_success", "Number of successful inference requests, all batch sizes", tritonLabels, nil)
	descNVFailure = prometheus.NewDesc("nv_inference_request_failure", "Number of failed inference requests, all batch sizes", tritonLabels, nil)
	descNVCount   = prometheus.NewDesc("nv_inference_count", "Number of inferences performed (does not include cached requests)", tritonLabels, nil)
	descNVExec    = prometheus.NewDesc("nv_inference_exec_count", "Number of model executions performed (does not include cached requests)", tritonLabels, nil)
	descNVRequest = prometheus.NewDesc("nv_inference_request_duration_us", "Cumulative inference request duration in microseconds (includes cached requests)", tritonLabels, nil)
	descNVQueue   = prometheus.NewDesc("nv_inference_queue_duration_us", "Cumulative inference queuing duration in microseconds (includes cached requests)", tritonLabels, nil)
	descNVCompute = prometheus.NewDesc("nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds (does not include cached requests)", tritonLabels, nil)
	// Triton splits compute into input, infer and output; the runtime
	// measures it as one span, counted as infer. The other two are 0, as
	// in the statistics extension, so that dashboards adding the three
	// (a sum with a missing series is empty) keep working.
	descNVComputeInput  = prometheus.NewDesc("nv_inference_compute_input_duration_us", "Cumulative compute input duration in microseconds (0: tiffin counts all compute as infer)", tritonLabels, nil)
	descNVComputeOutput = prometheus.NewDesc("nv_inference_compute_output_duration_us", "Cumulative inference compute output duration in microseconds (0: tiffin counts all compute as infer)", tritonLabels, nil)
	// The gauge autoscalers read (KServe's examples scale Triton on it).
	descNVPending = prometheus.NewDesc("nv_inference_pending_request_count", "Instantaneous number of pending requests awaiting execution per-model.", tritonLabels, nil)
)

// tritonCollector exposes Triton's nv_inference_* counters.
type tritonCollector struct {
	models Models
}

// EnableTritonNames adds Triton's nv_inference_* metrics beside tiffin's
// own (--metrics-compat triton).
func (m *Metrics) EnableTritonNames() error {
	return m.reg.Register(&tritonCollector{models: m.models})
}

func (c *tritonCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNVSuccess, descNVFailure, descNVCount, descNVExec, descNVRequest, descNVQueue, descNVCompute, descNVComputeInput, descNVComputeOutput, descNVPending} {
		ch <- d
	}
}

func (c *tritonCollector) Collect(ch chan<- prometheus.Metric) {
	eachVersion(c.models, func(v *runtime.ModelVersion, _ runtime.VersionStatus) {
		s := v.Stats()
		l := []string{v.Name, strconv.FormatInt(v.Version, 10)}
		for _, m := range []struct {
			d *prometheus.Desc
			v uint64
		}{
			{descNVSuccess, s.Success.Count}, {descNVFailure, s.Fail.Count},
			{descNVCount, s.InferenceCount}, {descNVExec, s.ExecutionCount},
			{descNVRequest, micros(s.Success)}, {descNVQueue, micros(s.Queue)}, {descNVCompute, micros(s.Compute)},
			{descNVComputeInput, 0}, {descNVComputeOutput, 0},
		} {
			ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v), l...)
		}
		ch <- prometheus.MustNewConstMetric(descNVPending, prometheus.GaugeValue, float64(v.BatchStats().QueueDepth), l...)
	})
}

func micros(cs ...runtime.Counter) uint64 {
	var ns uint64
	for _, c := range cs {
		ns += c.Ns
	}
	return ns / 1000
}

// warmupMetric is the version's warmup time, when it had warmup samples.
func warmupMetric(ch chan<- prometheus.Metric, v *runtime.ModelVersion, ver string) {
	if v.Warmup > 0 {
		ch <- prometheus.MustNewConstMetric(descWarmup, prometheus.GaugeValue, v.Warmup.Seconds(), v.Name, ver)
	}
}
