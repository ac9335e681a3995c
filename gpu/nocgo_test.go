//go:build !cgo

package gpu

import (
	"context"
	"strings"
	"testing"
)

func TestHostSamplerWithoutCGO(t *testing.T) {
	s := NewHostSampler([]Device{{}}, SamplerConfig{})
	err := s.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), noCGOReason) {
		t.Errorf("Start = %v, want an error saying %q", err, noCGOReason)
	}
	s.Stop()
}
