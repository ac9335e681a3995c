//go:build cgo

package gpu

import (
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

func TestDiscoverCustomMocks(t *testing.T) {
	tests := []struct {
		name  string
		specs []gpuSpec
	}{
		{"no GPU", nil},
		{"1 GPU", []gpuSpec{specL4}},
		{"2 GPUs of different models", []gpuSpec{specT4, specL4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var devs []nvml.Device
			want := Inventory{Driver: "535.104.05", CUDAVersion: "12.2"}
			for i, s := range tt.specs {
				devs = append(devs, newMockGPU(s))
				want.Devices = append(want.Devices, wantDevice(s, i))
			}
			lib := newMockLib(devs...)
			got, err := Discover(lib)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Discover =\n%+v\nwant\n%+v", got, want)
			}
			assertBalanced(t, lib)
		})
	}
}

func TestDiscoverDGXA100(t *testing.T) {
	s := dgxa100.New()
	inv, err := Discover(s)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if inv.Driver != "550.54.15" || inv.CUDAVersion != "12.4" {
		t.Errorf("driver %q cuda %q, want 550.54.15 and 12.4", inv.Driver, inv.CUDAVersion)
	}
	if len(inv.Devices) != 8 {
		t.Fatalf("found %d devices, want 8", len(inv.Devices))
	}
	for i, d := range inv.Devices {
		m := s.Devices[i].(*server.Device)
		want := Device{
			Index: i, PhysicalIndex: i, UUID: m.UUID, Name: "Mock NVIDIA A100-SXM4-40GB",
			MemoryTotal: 40960 * mib, ComputeMajor: 8, ComputeMinor: 0,
		}
		if !reflect.DeepEqual(d, want) {
			t.Errorf("device %d =\n%+v\nwant\n%+v", i, d, want)
		}
		if !strings.HasPrefix(d.UUID, "GPU-") {
			t.Errorf("device %d UUID %q lacks GPU- prefix", i, d.UUID)
		}
	}
	assertBalanced(t, s)
}

// enableMIG puts device i of s in MIG mode with two MIG instances in slots
// 0 and 2 of 7.
func enableMIG(s *server.Server, i int) []MIGDevice {
	dev := s.Devices[i].(*server.Device)
	dev.MigMode = nvml.DEVICE_MIG_ENABLE
	migs := []MIGDevice{
		{UUID: "MIG-1a2b3c4d-0000-5e6f-8a9b-000000000001", Name: "NVIDIA A100-SXM4-40GB MIG 3g.20gb", MemoryTotal: 19968 * mib, MemoryFree: 19000 * mib},
		{UUID: "MIG-1a2b9999-0000-5e6f-8a9b-000000000002", Name: "NVIDIA A100-SXM4-40GB MIG 1g.5gb", MemoryTotal: 4864 * mib, MemoryFree: 4800 * mib},
	}
	slots := map[int]MIGDevice{0: migs[0], 2: migs[1]}
	dev.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 7, nvml.SUCCESS }
	dev.GetMigDeviceHandleByIndexFunc = func(n int) (nvml.Device, nvml.Return) {
		m, ok := slots[n]
		if !ok {
			return nil, nvml.ERROR_NOT_FOUND
		}
		return &mock.Device{
			GetUUIDFunc: func() (string, nvml.Return) { return m.UUID, nvml.SUCCESS },
			GetNameFunc: func() (string, nvml.Return) { return m.Name, nvml.SUCCESS },
			GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
				return nvml.Memory{Total: m.MemoryTotal, Free: m.MemoryFree}, nvml.SUCCESS
			},
		}, nvml.SUCCESS
	}
	return migs
}

func TestDiscoverMIG(t *testing.T) {
	s := dgxa100.New()
	migs := enableMIG(s, 3)
	inv, err := Discover(s)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	for i, d := range inv.Devices {
		if d.MIGEnabled != (i == 3) {
			t.Errorf("device %d MIGEnabled = %v", i, d.MIGEnabled)
		}
	}
	if got := inv.Devices[3].MIGDevices; !reflect.DeepEqual(got, migs) {
		t.Errorf("MIG devices =\n%+v\nwant\n%+v", got, migs)
	}

	// CUDA_VISIBLE_DEVICES on top: a MIG instance by UUID prefix, then GPU 5.
	vis, err := FilterVisible(inv.Devices, "MIG-1a2b9,5")
	if err != nil {
		t.Fatalf("FilterVisible: %v", err)
	}
	want := []Device{
		{Index: 0, PhysicalIndex: 3, UUID: migs[1].UUID, Name: migs[1].Name,
			MemoryTotal: migs[1].MemoryTotal, MemoryFree: migs[1].MemoryFree,
			ComputeMajor: 8, MIGEnabled: true, ParentUUID: inv.Devices[3].UUID},
		inv.Devices[5],
	}
	want[1].Index = 1
	if !reflect.DeepEqual(vis, want) {
		t.Errorf("visible =\n%+v\nwant\n%+v", vis, want)
	}
	assertBalanced(t, s)
}

func TestDiscoverVisibleOnDGX(t *testing.T) {
	s := dgxa100.New()
	inv, err := Discover(s)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	uuid6 := s.Devices[6].(*server.Device).UUID
	vis, err := FilterVisible(inv.Devices, "7, "+uuid6[:12]+",2")
	if err != nil {
		t.Fatalf("FilterVisible: %v", err)
	}
	wantPhys := []int{7, 6, 2}
	if len(vis) != len(wantPhys) {
		t.Fatalf("got %d visible devices, want %d", len(vis), len(wantPhys))
	}
	for i, d := range vis {
		if d.Index != i || d.PhysicalIndex != wantPhys[i] || d.UUID != inv.Devices[wantPhys[i]].UUID {
			t.Errorf("visible %d = index %d physical %d %s, want physical %d",
				i, d.Index, d.PhysicalIndex, d.UUID, wantPhys[i])
		}
	}
}

func TestDiscoverNotSupportedFieldsStayZero(t *testing.T) {
	dev := newMockGPU(specL4)
	dev.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) { return nvml.Memory{}, nvml.ERROR_NOT_SUPPORTED }
	dev.GetMigModeFunc = func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED }
	lib := newMockLib(dev)
	lib.SystemGetCudaDriverVersionFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	inv, err := Discover(lib)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	want := wantDevice(specL4, 0)
	want.MemoryTotal, want.MemoryFree = 0, 0
	if len(inv.Devices) != 1 || !reflect.DeepEqual(inv.Devices[0], want) {
		t.Errorf("devices = %+v, want [%+v]", inv.Devices, want)
	}
	if inv.CUDAVersion != "" {
		t.Errorf("CUDAVersion = %q, want empty", inv.CUDAVersion)
	}
}

func TestDiscoverLeavesOutBrokenDevice(t *testing.T) {
	broken := newMockGPU(specT4)
	broken.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) { return nvml.Memory{}, nvml.ERROR_GPU_IS_LOST }
	lib := newMockLib(broken, newMockGPU(specL4))
	inv, err := Discover(lib)
	if !errors.Is(err, nvml.ERROR_GPU_IS_LOST) {
		t.Errorf("error = %v, want ERROR_GPU_IS_LOST", err)
	}
	if len(inv.Devices) != 1 || inv.Devices[0].UUID != specL4.uuid || inv.Devices[0].PhysicalIndex != 1 {
		t.Errorf("devices = %+v, want only the L4 at physical index 1", inv.Devices)
	}
	assertBalanced(t, lib)
}

func TestDiscoverInitFailure(t *testing.T) {
	for _, ret := range []nvml.Return{nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED} {
		t.Run(ret.Error(), func(t *testing.T) {
			lib := newMockLib(newMockGPU(specL4))
			lib.InitFunc = func() nvml.Return { return ret }
			inv, err := Discover(lib)
			if !errors.Is(err, ret) {
				t.Errorf("error = %v, want %v", err, ret)
			}
			if !reflect.DeepEqual(inv, Inventory{}) {
				t.Errorf("inventory = %+v, want empty", inv)
			}
			if n := len(lib.ShutdownCalls()); n != 0 {
				t.Errorf("Shutdown called %d times after a failed Init", n)
			}
		})
	}
}

func TestDiscoverHostWithoutNVML(t *testing.T) {
	tests := []struct {
		name   string
		lib    func() nvml.Interface
		level  slog.Level
		reason string
	}{
		{"library not found", failingInit(nvml.ERROR_LIBRARY_NOT_FOUND), slog.LevelInfo, "libnvidia-ml.so.1 could not be loaded"},
		{"driver not loaded", failingInit(nvml.ERROR_DRIVER_NOT_LOADED), slog.LevelInfo, "kernel driver is not loaded"},
		{"init panics", func() nvml.Interface { return &mock.Interface{} }, slog.LevelInfo, "panicked"},
		{"no permission", failingInit(nvml.ERROR_NO_PERMISSION), slog.LevelWarn, "NVML failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &logRecorder{}
			inv := discoverHost(slog.New(rec), tt.lib, noEnv)
			if !reflect.DeepEqual(inv, Inventory{}) {
				t.Errorf("inventory = %+v, want empty", inv)
			}
			logs := rec.all()
			if len(logs) != 1 {
				t.Fatalf("logged %d lines, want 1: %v", len(logs), logs)
			}
			if logs[0].Level != tt.level || !strings.Contains(attr(logs[0], "reason"), tt.reason) {
				t.Errorf("logged %v %q reason %q, want level %v and reason containing %q",
					logs[0].Level, logs[0].Message, attr(logs[0], "reason"), tt.level, tt.reason)
			}
		})
	}
}

func failingInit(ret nvml.Return) func() nvml.Interface {
	return func() nvml.Interface {
		lib := newMockLib()
		lib.InitFunc = func() nvml.Return { return ret }
		return lib
	}
}

func noEnv(string) (string, bool) { return "", false }

func TestDiscoverHostAppliesVisibleDevices(t *testing.T) {
	tests := []struct {
		env      string
		set      bool
		wantPhys []int
		wantWarn bool
	}{
		{set: false, wantPhys: []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{env: "", set: true, wantPhys: nil},
		{env: "4,1", set: true, wantPhys: []int{4, 1}},
		{env: "4,9,1", set: true, wantPhys: []int{4}, wantWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			s := dgxa100.New()
			rec := &logRecorder{}
			lookup := func(string) (string, bool) { return tt.env, tt.set }
			inv := discoverHost(slog.New(rec), func() nvml.Interface { return s }, lookup)
			var phys []int
			for i, d := range inv.Devices {
				phys = append(phys, d.PhysicalIndex)
				if d.Index != i {
					t.Errorf("device %d has Index %d", i, d.Index)
				}
			}
			if !reflect.DeepEqual(phys, tt.wantPhys) {
				t.Errorf("physical indexes %v, want %v", phys, tt.wantPhys)
			}
			warned := false
			for _, r := range rec.all() {
				warned = warned || r.Level == slog.LevelWarn
			}
			if warned != tt.wantWarn {
				t.Errorf("warned = %v, want %v", warned, tt.wantWarn)
			}
			assertBalanced(t, s)
		})
	}
}
