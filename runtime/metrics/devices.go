package metrics

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tiffin-ml/tiffin/runtime"
)

var (
	descCPUs    = prometheus.NewDesc("tiffin_cpu_usable", "CPUs this process may use (affinity mask, cut to the cgroup quota).", nil, nil)
	descGPUInfo = prometheus.NewDesc("tiffin_gpu_info", "One per visible GPU; the labels describe it.",
		[]string{"gpu", "name", "uuid", "compute_capability", "mig"}, nil)
	descGPUMemTotal = prometheus.NewDesc("tiffin_gpu_memory_total_bytes", "GPU memory in all.", []string{"gpu"}, nil)
)

// devicesCollector exposes the device inventory read at start.
type devicesCollector struct{ dev *runtime.Devices }

// RegisterDevices exposes the host's inventory: usable CPUs and each GPU.
func (m *Metrics) RegisterDevices(dev *runtime.Devices) error {
	return m.reg.Register(devicesCollector{dev})
}

func (c devicesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCPUs
	ch <- descGPUInfo
	ch <- descGPUMemTotal
}

func (c devicesCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descCPUs, prometheus.GaugeValue, float64(c.dev.CPU.Usable()))
	for _, g := range c.dev.GPU.Devices {
		i := strconv.Itoa(g.Index)
		ch <- prometheus.MustNewConstMetric(descGPUInfo, prometheus.GaugeValue, 1, i, g.Name, g.UUID,
			fmt.Sprintf("%d.%d", g.ComputeMajor, g.ComputeMinor), strconv.FormatBool(g.MIGEnabled))
		ch <- prometheus.MustNewConstMetric(descGPUMemTotal, prometheus.GaugeValue, float64(g.MemoryTotal), i)
	}
}
