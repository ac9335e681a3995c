package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Flags that would quietly switch a safeguard off are refused, naming the
// flag; the defaults pass.
func TestServerValidateRefusesUnsafeFlags(t *testing.T) {
	def := DefaultServer()
	def.ModelRepository = "/models"
	def.Jobs = DefaultJobs() // as serve starts from
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, c := range []struct {
		edit func(*Server)
		want string
	}{
		{func(s *Server) { s.ShutdownTimeout = -5 * time.Second }, "--shutdown-timeout: must not be negative, got -5s"},
		{func(s *Server) { s.Jobs.MaxUpload = 0 }, "--jobs-max-upload-bytes: must be >= 1, got 0"},
		{func(s *Server) { s.Jobs.MaxUpload = -1 }, "--jobs-max-upload-bytes: must be >= 1, got -1"},
	} {
		s := def
		c.edit(&s)
		err := s.Validate()
		if err == nil {
			err = s.Jobs.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// A device file is read up to MaxConfigBytes: --devices may name any file.
func TestDeviceFileBounded(t *testing.T) {
	p := filepath.Join(t.TempDir(), "devices.yaml")
	if err := os.WriteFile(p, []byte("#"+strings.Repeat("x", MaxConfigBytes)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDevices(p); err == nil || !strings.Contains(err.Error(), "the file is over 1024 KiB") {
		t.Fatalf("a device file over the bound: %v", err)
	}
}

// Server.Validate checks the job queue's flags too, so serve refuses a bad
// one before it starts anything, as it does every other flag ("tiffin
// serve: --jobs-workers: ...", exit 2), rather than failing later inside
// the component wiring, exit 1, with the wiring's own words around it.
func TestServerValidateChecksJobFlags(t *testing.T) {
	s := DefaultServer()
	s.ModelRepository = "/models"
	s.Jobs = DefaultJobs()
	s.Jobs.Workers = -1
	if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), "--jobs-workers: must be >= 0") {
		t.Fatalf("Validate with --jobs-workers -1: %v", err)
	}
	s.Jobs.Enabled = false // --jobs=false: the job flags are not used
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate with the job queue off: %v", err)
	}
}
