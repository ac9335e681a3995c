package gpu

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestDiscoverHost runs discovery against this host's real NVML. Without
// a GPU it checks that exactly one line explains why, then skips.
func TestDiscoverHost(t *testing.T) {
	rec := &logRecorder{}
	inv := DiscoverHost(slog.New(rec))
	logs := rec.all()
	if len(logs) != 1 {
		t.Fatalf("DiscoverHost logged %d lines, want 1: %v", len(logs), logs)
	}
	if len(inv.Devices) == 0 {
		t.Skipf("no GPU visible on this host: %s (%s)", attr(logs[0], "reason"), attr(logs[0], "error"))
	}
	t.Logf("inventory: %+v", inv)
	if inv.Driver == "" {
		t.Error("driver version is empty")
	}
	for i, d := range inv.Devices {
		if d.Index != i {
			t.Errorf("device %d has Index %d", i, d.Index)
		}
		if !strings.HasPrefix(d.UUID, "GPU-") && !strings.HasPrefix(d.UUID, "MIG-") {
			t.Errorf("device %d UUID %q", i, d.UUID)
		}
		if d.Name == "" || d.MemoryTotal == 0 || d.MemoryFree > d.MemoryTotal || d.ComputeMajor == 0 {
			t.Errorf("device %d looks wrong: %+v", i, d)
		}
	}
	s := NewHostSampler(inv.Devices, SamplerConfig{Logger: slog.New(rec)})
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("sampler: %v", err)
	}
	defer s.Stop()
	got := s.Latest()
	if len(got) != len(inv.Devices) {
		t.Fatalf("sampled %d devices, want %d", len(got), len(inv.Devices))
	}
	for i, smp := range got {
		if smp.Index != i || smp.MemoryUsed == 0 {
			t.Errorf("sample %d looks wrong: %+v", i, smp)
		}
	}
}
