package main

import (
	"strconv"
	"testing"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TestE2EPprof serves Go's profiles on --pprof-addr, a bare port meaning
// loopback, and not on the API's port.
func TestE2EPprof(t *testing.T) {
	port := freePort(t)
	ts := startServer(t, demoRepo(t), func(c *config.Server) { c.PprofAddr = strconv.Itoa(port) })
	code, err := httpGet("http://127.0.0.1:" + strconv.Itoa(port) + "/debug/pprof/goroutine?debug=1")
	if err != nil || code != 200 {
		t.Fatalf("pprof goroutine profile: %d %v", code, err)
	}
	if code, _ := httpGet(ts.base + "/debug/pprof/"); code != 404 {
		t.Fatalf("the API port answered /debug/pprof/ with %d, want 404", code)
	}
}

func TestPprofListenAddr(t *testing.T) {
	for in, want := range map[string]string{"6060": "127.0.0.1:6060", ":6060": "127.0.0.1:6060", "0.0.0.0:6060": "0.0.0.0:6060"} {
		if got := pprofListenAddr(in); got != want {
			t.Errorf("pprofListenAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
