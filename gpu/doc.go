// Package gpu owns NVIDIA GPU discovery and telemetry through NVML.
//
// It answers two questions and nothing more: which GPUs this process can
// see (Discover, DiscoverHost, FilterVisible) and how busy they are
// (Sampler: utilisation, memory in all and this process's own, temperature,
// power). It never makes placement decisions: which worker runs on
// which device is decided by the callers that consume an Inventory.
//
// It is the only package of the module that imports go-nvml. go-nvml loads
// libnvidia-ml at run time, so a binary built with cgo still starts on a
// host without NVIDIA drivers: DiscoverHost then reports an empty
// Inventory and the host is treated as an ordinary CPU host. A build
// without cgo compiles a stub with the same host-level API (DiscoverHost,
// NewHostSampler) that always reports no GPUs.
//
// Device indexes follow CUDA: NVML enumerates GPUs in PCI bus order, which
// is the order CUDA uses when CUDA_DEVICE_ORDER=PCI_BUS_ID (CUDA's default,
// FASTEST_FIRST, may differ on hosts that mix GPU models).
// CUDA_VISIBLE_DEVICES is applied on top of discovery by FilterVisible.
package gpu
