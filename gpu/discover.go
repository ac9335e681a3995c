//go:build cgo

package gpu

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// errNVMLPanic marks an error made from a panic inside go-nvml.
var errNVMLPanic = errors.New("gpu: nvml panicked")

// Discover initialises lib, reads the driver and every device, and shuts
// lib down again. It works against any nvml.Interface: the real library
// (nvml.New()) or go-nvml's mocks.
//
// When Init or the device count fails it returns an empty Inventory and
// the error (errors.Is(err, nvml.ERROR_LIBRARY_NOT_FOUND) tells a host
// without NVIDIA drivers). A device that cannot be read is left out and
// its error joined into the returned one, so a non-nil error may come with
// the devices that could be read. Fields a device does not support
// (ERROR_NOT_SUPPORTED) are left zero. Device.Index is the NVML index.
func Discover(lib nvml.Interface) (inv Inventory, err error) {
	if err := initLib(lib); err != nil {
		return Inventory{}, err
	}
	defer func() {
		if ret := lib.Shutdown(); ret != nvml.SUCCESS {
			err = errors.Join(err, fmt.Errorf("gpu: nvml shutdown: %w", ret))
		}
	}()
	var errs []error
	inv.Driver, inv.CUDAVersion, errs = readSystem(lib)
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return Inventory{}, fmt.Errorf("gpu: nvml device count: %w", ret)
	}
	for i := range n {
		d, err := readDeviceAt(lib, i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		inv.Devices = append(inv.Devices, d)
	}
	return inv, errors.Join(errs...)
}

// initLib calls lib.Init, turning a failure or a panic into an error.
func initLib(lib nvml.Interface) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w in init: %v", errNVMLPanic, r)
		}
	}()
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return fmt.Errorf("gpu: nvml init: %w", ret)
	}
	return nil
}

// readSystem reads the driver and CUDA versions; either may be missing.
func readSystem(lib nvml.Interface) (driver, cuda string, errs []error) {
	driver, ret := lib.SystemGetDriverVersion()
	if err := check(ret, "gpu: driver version"); err != nil {
		errs = append(errs, err)
	}
	v, ret := lib.SystemGetCudaDriverVersion()
	if ret == nvml.SUCCESS {
		cuda = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	} else if err := check(ret, "gpu: cuda version"); err != nil {
		errs = append(errs, err)
	}
	return driver, cuda, errs
}

func readDeviceAt(lib nvml.Interface, i int) (Device, error) {
	h, ret := lib.DeviceGetHandleByIndex(i)
	if ret != nvml.SUCCESS {
		return Device{}, fmt.Errorf("gpu: device %d: handle: %w", i, ret)
	}
	d, err := readDevice(h)
	if err != nil {
		return Device{}, fmt.Errorf("gpu: device %d: %w", i, err)
	}
	d.Index, d.PhysicalIndex = i, i
	return d, nil
}

// readDevice reads one physical GPU. Its UUID is required; any other
// field may be unsupported.
func readDevice(h nvml.Device) (Device, error) {
	var d Device
	var ret nvml.Return
	if d.UUID, ret = h.GetUUID(); ret != nvml.SUCCESS {
		return Device{}, fmt.Errorf("uuid: %w", ret)
	}
	name, ret := h.GetName()
	errs := []error{check(ret, "name")}
	d.Name = name
	mem, ret := h.GetMemoryInfo()
	if errs = append(errs, check(ret, "memory")); ret == nvml.SUCCESS {
		d.MemoryTotal, d.MemoryFree = mem.Total, mem.Free
	}
	major, minor, ret := h.GetCudaComputeCapability()
	if errs = append(errs, check(ret, "compute capability")); ret == nvml.SUCCESS {
		d.ComputeMajor, d.ComputeMinor = major, minor
	}
	mode, _, ret := h.GetMigMode()
	errs = append(errs, check(ret, "mig mode"))
	if ret == nvml.SUCCESS && mode == nvml.DEVICE_MIG_ENABLE {
		d.MIGEnabled = true
		var err error
		d.MIGDevices, err = readMIG(h)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Device{}, err
	}
	return d, nil
}

// readMIG lists the MIG instances of a MIG-enabled GPU.
func readMIG(h nvml.Device) ([]MIGDevice, error) {
	n, ret := h.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return nil, check(ret, "mig device count")
	}
	var out []MIGDevice
	for i := range n {
		m, ret := h.GetMigDeviceHandleByIndex(i)
		if ret == nvml.ERROR_NOT_FOUND {
			continue // an empty slot
		}
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("mig device %d: %w", i, ret)
		}
		md, err := readMIGDevice(m)
		if err != nil {
			return nil, fmt.Errorf("mig device %d: %w", i, err)
		}
		out = append(out, md)
	}
	return out, nil
}

func readMIGDevice(h nvml.Device) (MIGDevice, error) {
	var md MIGDevice
	var ret nvml.Return
	if md.UUID, ret = h.GetUUID(); ret != nvml.SUCCESS {
		return MIGDevice{}, fmt.Errorf("uuid: %w", ret)
	}
	name, ret := h.GetName()
	if err := check(ret, "name"); err != nil {
		return MIGDevice{}, err
	}
	md.Name = name
	mem, ret := h.GetMemoryInfo()
	if err := check(ret, "memory"); err != nil {
		return MIGDevice{}, err
	}
	md.MemoryTotal, md.MemoryFree = mem.Total, mem.Free
	return md, nil
}

// check turns an NVML return into an error. ERROR_NOT_SUPPORTED is not an
// error: the field it was for stays zero.
func check(ret nvml.Return, what string) error {
	if ret == nvml.SUCCESS || ret == nvml.ERROR_NOT_SUPPORTED {
		return nil
	}
	return fmt.Errorf("%s: %w", what, ret)
}

// DiscoverHost discovers the GPUs of this host through the real NVML
// library and applies CUDA_VISIBLE_DEVICES. On a host without NVIDIA
// drivers it returns an empty Inventory and logs one info line saying the
// host runs as a CPU host, and why. It never fails: problems are logged to
// logger (nil means slog.Default()).
func DiscoverHost(logger *slog.Logger) Inventory {
	newLib := func() nvml.Interface { return nvml.New() }
	return discoverHost(orDefault(logger), newLib, os.LookupEnv)
}

func discoverHost(logger *slog.Logger, newLib func() nvml.Interface, lookup func(string) (string, bool)) Inventory {
	inv, err := discoverSafely(newLib)
	if len(inv.Devices) == 0 && err != nil {
		logNoGPU(logger, err)
		return Inventory{}
	}
	if err != nil {
		logger.Warn("gpu discovery: some devices could not be read and are left out", "error", err)
	}
	devs, err := FilterVisibleEnv(inv.Devices, lookup)
	if err != nil {
		logger.Warn("gpu discovery: "+VisibleDevicesEnv+" is partly invalid", "error", err)
	}
	inv.Devices = devs
	logger.Info("gpu inventory", "inventory", inv)
	return inv
}

// discoverSafely runs Discover on a fresh library, turning a panic (for
// instance from a broken libnvidia-ml) into an error.
func discoverSafely(newLib func() nvml.Interface) (inv Inventory, err error) {
	defer func() {
		if r := recover(); r != nil {
			inv, err = Inventory{}, fmt.Errorf("%w: %v", errNVMLPanic, r)
		}
	}()
	return Discover(newLib())
}

// logNoGPU logs the one line that says why this host has no usable GPU.
func logNoGPU(logger *slog.Logger, err error) {
	const msg = "no NVIDIA GPU available; running as a CPU host"
	switch {
	case errors.Is(err, nvml.ERROR_LIBRARY_NOT_FOUND):
		logger.Info(msg, "reason", "libnvidia-ml.so.1 could not be loaded: no NVIDIA driver on this host, or it is not mounted into the container", "error", err)
	case errors.Is(err, errNVMLPanic):
		logger.Info(msg, "reason", "go-nvml panicked while loading or querying libnvidia-ml", "error", err)
	case errors.Is(err, nvml.ERROR_DRIVER_NOT_LOADED):
		logger.Info(msg, "reason", "libnvidia-ml is installed but the NVIDIA kernel driver is not loaded", "error", err)
	default:
		logger.Warn(msg, "reason", "NVML failed", "error", err)
	}
}
