package http

import (
	"slices"
	"strings"
	"testing"
)

// splitPath cuts a path as strings.Split does after trimming its slashes.
func TestSplitPath(t *testing.T) {
	for _, p := range []string{"", "/", "/v2", "/v2/", "v2/models/m/infer", "/v2//models/m", "/a/b/c/d/e/f/g/h/i/j/k"} {
		want := strings.Split(strings.Trim(p, "/"), "/")
		if got := splitPath(p, nil); !slices.Equal(got, want) {
			t.Errorf("splitPath(%q) = %q, want %q", p, got, want)
		}
	}
}

// Routing a V2 path allocates nothing for its segments.
func TestSplitPathAllocates(t *testing.T) {
	var buf [8]string
	if n := testing.AllocsPerRun(100, func() { _ = splitPath("/v2/models/m/versions/1/infer", buf[:0]) }); n != 0 {
		t.Fatalf("splitPath allocated %v times", n)
	}
}
