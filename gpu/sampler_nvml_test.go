//go:build cgo

package gpu

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"reflect"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

func TestSamplerReadsMockTelemetry(t *testing.T) {
	lib := newMockLib(newMockGPU(specT4), newMockGPU(specL4))
	inv, err := Discover(lib)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSampler(lib, inv.Devices, SamplerConfig{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.Latest()
	s.Stop()
	want := []Sample{specT4.telemetry, specL4.telemetry}
	want[0].Index, want[1].Index = 0, 1
	if !reflect.DeepEqual(got, want) {
		t.Errorf("samples =\n%+v\nwant\n%+v", got, want)
	}
	assertBalanced(t, lib)
}

func TestSamplerVisibleDevicesOnDGX(t *testing.T) {
	s := newDGX()
	inv, err := Discover(s)
	if err != nil {
		t.Fatal(err)
	}
	vis, err := FilterVisible(inv.Devices, "5,2")
	if err != nil {
		t.Fatal(err)
	}
	smp := NewSampler(s, vis, SamplerConfig{})
	if err := smp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := smp.Latest()
	smp.Stop()
	want := []Sample{
		{Index: 0, UtilizationGPU: 50, UtilizationMemory: 5, TemperatureC: 35, PowerMilliwatts: 105000},
		{Index: 1, UtilizationGPU: 20, UtilizationMemory: 2, TemperatureC: 32, PowerMilliwatts: 102000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("samples =\n%+v\nwant\n%+v", got, want)
	}
	assertBalanced(t, s)
}

func TestSamplerNotSupportedIsZero(t *testing.T) {
	dev := newMockGPU(specL4)
	dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED }
	dev.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	dev.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.ERROR_NOT_SUPPORTED }
	lib := newMockLib(dev)
	rec := &logRecorder{}
	s := NewSampler(lib, []Device{wantDevice(specL4, 0)}, SamplerConfig{Logger: slog.New(rec)})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.Latest()
	s.Stop()
	want := []Sample{{Index: 0, MemoryUsed: specL4.telemetry.MemoryUsed}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("samples = %+v, want %+v", got, want)
	}
	if logs := rec.all(); len(logs) != 0 {
		t.Errorf("NOT_SUPPORTED was logged: %v", logs)
	}
}

func TestSamplerLogsAFailingQueryOnce(t *testing.T) {
	dev := newMockGPU(specL4)
	fail := nvml.ERROR_UNKNOWN
	dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, fail }
	rec := &logRecorder{}
	src := &nvmlSource{lib: newMockLib(dev), devices: []Device{wantDevice(specL4, 0)}, logger: slog.New(rec), pid: uint32(os.Getpid())}
	if err := src.open(); err != nil {
		t.Fatal(err)
	}
	defer src.close()
	for range 3 {
		if got := src.sample(); got[0].PowerMilliwatts != 0 || got[0].TemperatureC != specL4.telemetry.TemperatureC ||
			got[0].ProcessMemoryUsed != specL4.telemetry.ProcessMemoryUsed {
			t.Errorf("sample = %+v", got[0])
		}
	}
	fail = nvml.SUCCESS
	src.sample()
	fail = nvml.ERROR_GPU_IS_LOST
	src.sample()
	src.sample()
	if logs := rec.all(); len(logs) != 2 {
		t.Errorf("logged %d lines, want one per failure episode (2): %v", len(logs), logs)
	}
}

func TestSamplerStartFailures(t *testing.T) {
	t.Run("init", func(t *testing.T) {
		lib := newMockLib()
		lib.InitFunc = func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }
		err := NewSampler(lib, nil, SamplerConfig{}).Start(context.Background())
		if !errors.Is(err, nvml.ERROR_LIBRARY_NOT_FOUND) {
			t.Errorf("Start = %v, want ERROR_LIBRARY_NOT_FOUND", err)
		}
		if n := len(lib.ShutdownCalls()); n != 0 {
			t.Errorf("Shutdown called %d times after a failed Init", n)
		}
	})
	t.Run("unknown device", func(t *testing.T) {
		lib := newMockLib(newMockGPU(specL4))
		err := NewSampler(lib, []Device{{PhysicalIndex: 4}}, SamplerConfig{}).Start(context.Background())
		if !errors.Is(err, nvml.ERROR_INVALID_ARGUMENT) {
			t.Errorf("Start = %v, want ERROR_INVALID_ARGUMENT", err)
		}
		assertBalanced(t, lib)
	})
}
