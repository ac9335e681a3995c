package backends_test

import (
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
)

func TestRegistryByNameAndPlatform(t *testing.T) {
	late := backendtest.New(backendtest.Options{Name: "late", AutoOrder: 50})
	early := backendtest.New(backendtest.Options{Name: "early", AutoOrder: 5})
	never := backendtest.New(backendtest.Options{Name: "never", AutoOrder: -1})
	r := backends.NewRegistry(late, never, early)
	if b, err := r.Get("early"); err != nil || b != early {
		t.Fatalf("Get(early) = %v, %v", b, err)
	}
	if b, err := r.Get(backendtest.Platform); err != nil || b.Describe().Platform(b.Name()) != backendtest.Platform {
		t.Fatalf("Get by platform = %v, %v", b, err)
	}
	if _, err := r.Get("nope"); err == nil || !strings.Contains(err.Error(), "early late never") {
		t.Fatalf("Get(nope) = %v, want an error listing the backends", err)
	}
	auto := r.Auto()
	if len(auto) != 2 || auto[0] != early || auto[1] != late {
		t.Fatalf("Auto() = %v, want early then late, never left out", auto)
	}
	if got := (backends.Description{}).Platform("x"); got != "x" {
		t.Fatalf("a backend without platforms reports %q, want its name", got)
	}
}
