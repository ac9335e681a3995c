package metrics

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/batcher"
	"github.com/tiffin-ml/tiffin/runtime"
)

var (
	mvLabels     = []string{"model", "version", "device"}
	descQueue    = prometheus.NewDesc("tiffin_queue_depth", "Requests waiting in a model version's batcher.", mvLabels, nil)
	descBatch    = prometheus.NewDesc("tiffin_batch_size_items", "Items per batch run.", mvLabels, nil)
	descQWait    = prometheus.NewDesc("tiffin_queue_duration_seconds", "Queue delay of each batch's oldest item.", mvLabels, nil)
	descCompute  = prometheus.NewDesc("tiffin_compute_duration_seconds", "Backend time per batch.", mvLabels, nil)
	descReasons  = prometheus.NewDesc("tiffin_batch_dispatch_total", "Batches by why they were dispatched.", append(mvLabels, "reason"), nil)
	descRejected = prometheus.NewDesc("tiffin_queue_rejected_total", "Requests refused because the queue was full.", mvLabels, nil)
	descDropped  = prometheus.NewDesc("tiffin_queue_dropped_total", "Requests that left the queue on timeout or cancellation.", mvLabels, nil)
	descItems    = prometheus.NewDesc("tiffin_inference_items_total", "Items inferred (a request of batch k counts k).", mvLabels, nil)
	descFailures = prometheus.NewDesc("tiffin_inference_failures_total", "Requests that failed after reaching a model version.", mvLabels, nil)
	descWindow   = prometheus.NewDesc("tiffin_batch_window_seconds", "The batch window a device group uses now.", mvLabels, nil)
	descBulk     = prometheus.NewDesc("tiffin_bulk_share", "The share of a device group's compute capacity bulk job requests used lately (limit: --jobs-max-share while interactive requests arrive).", mvLabels, nil)
	descCPU      = prometheus.NewDesc("tiffin_instance_cpu_seconds_total", "CPU time of each instance's worker thread.", append(mvLabels, "instance", "cores"), nil)
	descState    = prometheus.NewDesc("tiffin_model_ready", "1 when the model version is READY.", []string{"model", "version"}, nil)
	descGPULimit = prometheus.NewDesc("tiffin_instance_gpu_memory_limit_bytes", "The bound on each GPU instance's memory arena (gpu_mem_limit).",
		[]string{"model", "version", "instance", "gpu"}, nil)

	gpuLabels  = []string{"gpu"}
	descGPUUse = prometheus.NewDesc("tiffin_gpu_utilization_ratio", "GPU utilization, 0 to 1.", gpuLabels, nil)
	descGPUMem = prometheus.NewDesc("tiffin_gpu_memory_used_bytes", "GPU memory in use.", gpuLabels, nil)
	descGPUT   = prometheus.NewDesc("tiffin_gpu_temperature_celsius", "GPU temperature.", gpuLabels, nil)
	descGPUW   = prometheus.NewDesc("tiffin_gpu_power_watts", "GPU power draw.", gpuLabels, nil)
	descGPUOwn = prometheus.NewDesc("tiffin_gpu_process_memory_used_bytes", "GPU memory this process holds (NVML's compute processes; 0 when NVML cannot see this PID).", gpuLabels, nil)
)

// runtimeCollector reads the runtime's counters at scrape time.
type runtimeCollector struct {
	models Models
	gpus   GPUs
}

func (c *runtimeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descBatch, descQWait, descCompute, descReasons, descRejected,
		descDropped, descItems, descFailures, descWindow, descBulk, descCPU, descState, descWarmup, descGPULimit, descGPUUse, descGPUMem, descGPUOwn, descGPUT, descGPUW} {
		ch <- d
	}
}

// eachVersion calls f with every loaded model version and its status.
func eachVersion(models Models, f func(*runtime.ModelVersion, runtime.VersionStatus)) {
	for _, st := range models.Index() {
		if st.Version == 0 {
			continue // a model that failed before any version loaded
		}
		if v, err := models.Version(st.Model, st.Version); err == nil {
			f(v, st)
		}
	}
}

func (c *runtimeCollector) Collect(ch chan<- prometheus.Metric) {
	eachVersion(c.models, func(v *runtime.ModelVersion, st runtime.VersionStatus) { c.collectVersion(ch, v, st) })
	if c.gpus != nil {
		for _, s := range c.gpus.Latest() {
			g := strconv.Itoa(s.Index)
			ch <- prometheus.MustNewConstMetric(descGPUUse, prometheus.GaugeValue, float64(s.UtilizationGPU)/100, g)
			ch <- prometheus.MustNewConstMetric(descGPUMem, prometheus.GaugeValue, float64(s.MemoryUsed), g)
			ch <- prometheus.MustNewConstMetric(descGPUOwn, prometheus.GaugeValue, float64(s.ProcessMemoryUsed), g)
			ch <- prometheus.MustNewConstMetric(descGPUT, prometheus.GaugeValue, float64(s.TemperatureC), g)
			ch <- prometheus.MustNewConstMetric(descGPUW, prometheus.GaugeValue, float64(s.PowerMilliwatts)/1000, g)
		}
	}
}

func (c *runtimeCollector) collectVersion(ch chan<- prometheus.Metric, v *runtime.ModelVersion, st runtime.VersionStatus) {
	ver := strconv.FormatInt(v.Version, 10)
	ready := 0.0
	if st.State == runtime.StateReady {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, ready, v.Name, ver)
	warmupMetric(ch, v, ver) // triton.go
	bs := v.BatchStats()
	device := deviceLabel(bs.Groups)
	l := []string{v.Name, ver, device}
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(bs.QueueDepth), l...)
	ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(bs.Rejected), l...)
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(bs.Dropped), l...)
	for _, h := range []struct {
		d *prometheus.Desc
		h batcher.Histogram
	}{{descBatch, bs.Size}, {descQWait, bs.QueueDelay}, {descCompute, bs.Compute}} {
		if len(h.h.Bounds) > 0 {
			ch <- constHistogram(h.d, h.h, l)
		}
	}
	for reason, n := range bs.Reasons {
		ch <- prometheus.MustNewConstMetric(descReasons, prometheus.CounterValue, float64(n), v.Name, ver, device, reason.String())
	}
	for _, g := range bs.Groups {
		ch <- prometheus.MustNewConstMetric(descWindow, prometheus.GaugeValue, g.Window.Seconds(), v.Name, ver, g.Name)
		ch <- prometheus.MustNewConstMetric(descBulk, prometheus.GaugeValue, g.BulkShare, v.Name, ver, g.Name)
	}
	rs := v.Stats()
	ch <- prometheus.MustNewConstMetric(descItems, prometheus.CounterValue, float64(rs.InferenceCount), l...)
	ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(rs.Fail.Count), l...)
	for _, in := range v.Instances() {
		if in.Device.Kind == backends.GPU && in.GPUMemLimit > 0 {
			ch <- prometheus.MustNewConstMetric(descGPULimit, prometheus.GaugeValue, float64(in.GPUMemLimit), v.Name, ver,
				strconv.Itoa(in.Instance), strconv.Itoa(in.Device.GPU))
		}
		if secs, ok := threadCPUSeconds(in.ThreadID); ok {
			ch <- prometheus.MustNewConstMetric(descCPU, prometheus.CounterValue, secs, v.Name, ver,
				in.Device.Kind.String(), strconv.Itoa(in.Instance), cpuList(in.Device.Cores))
		}
	}
}

// constHistogram turns the batcher's per-bucket counts into Prometheus's
// cumulative buckets.
func constHistogram(d *prometheus.Desc, h batcher.Histogram, labels []string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets, labels...)
}

func deviceLabel(groups []batcher.GroupStats) string {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	return strings.Join(names, "+")
}

func cpuList(cores []int) string {
	s := make([]string, len(cores))
	for i, c := range cores {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

// threadCPUSeconds reads a thread's user+system time from /proc. The
// kernel reports it in USER_HZ, which is 100 on Linux.
func threadCPUSeconds(tid int) (float64, bool) {
	if tid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces: fields
	// count from after its closing parenthesis; utime and stime are the
	// 14th and 15th fields of the whole line.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return float64(u+s) / 100, true
}
