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
