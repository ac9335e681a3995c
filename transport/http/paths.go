package http

import (
	"sync"
	"sync/atomic"
)

// The paths kept are bounded in number and length: many spellings reach
// one route (slashes are trimmed, versions parsed), so a client could
// otherwise grow the set without end. Filled, it only stops saving the
// allocation. A path names a model and a version, so 1,024 cover a few
// hundred models.
const (
	maxPaths   = 1024
	maxPathLen = 256
)

// pathCache keeps the request paths that were answered with 200, so that
// the next request on the same path finds its string here instead of
// allocating one: routing slices its segments (the model's name among
// them) from that string, and they outlive the request in metrics and
// traces, so they cannot point into fasthttp's buffer. Reads take no lock.
type pathCache struct {
	paths atomic.Pointer[map[string]string] // replaced whole, never changed
	mu    sync.Mutex                        // serialises keep
}

// get returns b as a string: the kept one when there is one.
func (c *pathCache) get(b []byte) string {
	if m := c.paths.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok { // no allocation for the lookup
			return s
		}
	}
	return string(b)
}

// keep adds path to the set, while there is room.
func (c *pathCache) keep(path string) {
	if len(path) > maxPathLen {
		return
	}
	if m := c.paths.Load(); m != nil {
		if _, ok := (*m)[path]; ok || len(*m) >= maxPaths {
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.paths.Load()
	next := make(map[string]string, 1+lenOf(old))
	if old != nil {
		if _, ok := (*old)[path]; ok || len(*old) >= maxPaths {
			return
		}
		for k, v := range *old {
			next[k] = v
		}
	}
	next[path] = path
	c.paths.Store(&next)
}

func lenOf(m *map[string]string) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
