package http

import (
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// A kept path comes back as the same string, without an allocation; any
// other comes back as a copy that does not point into the caller's bytes.
func TestPathCacheKeepsAnsweredPaths(t *testing.T) {
	var c pathCache
	b := []byte("/v2/models/m/infer")
	if got, found := c.get(b); got != string(b) || unsafe.StringData(got) == &b[0] || found {
		t.Fatalf("get before keep = %q (found %v), want a copy of the bytes", got, found)
	}
	c.keep("/v2/models/m/infer")
	kept, found := c.get(b)
	if !found {
		t.Fatal("get did not find a kept path")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.get(b) }); n != 0 {
		t.Fatalf("get of a kept path allocated %v times", n)
	}
	if again, _ := c.get(b); unsafe.StringData(again) != unsafe.StringData(kept) {
		t.Fatal("a kept path came back as a new string")
	}
	b[1] = 'x' // the caller's buffer is reused: what get returned must not change
	if kept != "/v2/models/m/infer" {
		t.Fatalf("kept path changed with the request buffer: %q", kept)
	}
}

// The set stops growing at maxPaths: slashes make endless spellings of one
// route.
func TestPathCacheIsBounded(t *testing.T) {
	var c pathCache
	for i := range maxPaths + 50 {
		c.keep("/v2/models/m" + strconv.Itoa(i) + "/infer")
	}
	if n := len(*c.paths.Load()); n != maxPaths {
		t.Fatalf("kept %d paths, want %d", n, maxPaths)
	}
	c.keep("/v2/models/m0/infer") // already there: nothing changes
	if n := len(*c.paths.Load()); n != maxPaths {
		t.Fatalf("kept %d paths after a repeat, want %d", n, maxPaths)
	}
	var d pathCache
	long := "/v2/models/" + strings.Repeat("m", maxPathLen) + "/infer"
	if d.keep(long); d.paths.Load() != nil {
		t.Fatalf("kept a path of %d bytes, over the %d limit", len(long), maxPathLen)
	}
}

// The server keeps the paths it answered with 200, and only those: a
// request for a model that is not there leaves nothing behind.
func TestServerKeepsOnlyAnsweredPaths(t *testing.T) {
	s := startFake(t)
	post := func(path string) int {
		var req fasthttp.Request
		var resp fasthttp.Response
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://" + s.Addr() + path)
		req.SetBodyString(`{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`)
		if err := fasthttp.Do(&req, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode()
	}
	if code := post("/v2/models/absent/infer"); code != fasthttp.StatusNotFound {
		t.Fatalf("unknown model: %d, want 404", code)
	}
	if code := post("/v2/models/m/infer"); code != fasthttp.StatusOK {
		t.Fatalf("model m: %d, want 200", code)
	}
	kept := loaded(s.paths.paths.Load())
	if _, ok := kept["/v2/models/m/infer"]; !ok || len(kept) != 1 {
		t.Fatalf("kept %v, want only /v2/models/m/infer", kept)
	}
}

func loaded(m *map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	return *m
}
