package http

import (
	"maps"
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

// get returns b as a string: the kept one, and true, when there is one.
func (c *pathCache) get(b []byte) (string, bool) {
	if m := c.paths.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok { // no allocation for the lookup
			return s, true
		}
	}
	return string(b), false
}

// keep adds path, which get did not find, to the set, while there is room.
func (c *pathCache) keep(path string) {
	if len(path) > maxPathLen {
		return
	}
	if m := c.paths.Load(); m != nil && len(*m) >= maxPaths {
		return // full: no lock taken
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[string]string{}
	if old := c.paths.Load(); old != nil {
		if _, ok := (*old)[path]; ok || len(*old) >= maxPaths {
			return // kept meanwhile, or full
		}
		next = maps.Clone(*old)
	}
	next[path] = path
	c.paths.Store(&next)
}
