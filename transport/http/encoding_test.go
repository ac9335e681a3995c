package http_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"io"
	"math"
	stdhttp "net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/runtime/jobs"
	httpt "github.com/tiffin-ml/tiffin/transport/http"
)

// compress is body as enc: tritonclient's gzip.compress and zlib.compress
// for "gzip" and "deflate", and a raw deflate stream, which some clients
// send as "deflate".
func compress(t *testing.T, enc string, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate":
		w = zlib.NewWriter(&b)
	case "raw deflate":
		w, _ = flate.NewWriter(&b, flate.DefaultCompression)
	default:
		t.Fatalf("no encoding %q", enc)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// post sends body with the given Content-Encoding and extra headers.
func post(t *testing.T, url, enc string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := stdhttp.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := stdhttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A request compressed as Triton's HTTP client compresses it (its
// request_compression_algorithm) is served as the plain one is, JSON and
// binary alike; the limit holds for the bytes it inflates to, and a body
// that is not what its Content-Encoding says is a 400 that names it.
func TestCompressedRequests(t *testing.T) {
	base, _, _ := serve(t, nil) // a 64 KiB body limit
	url := base + "/v2/models/m/infer"
	status, want := post(t, url, "", []byte(inferBody))
	if status != 200 {
		t.Fatalf("plain request: %d %s", status, want)
	}
	for _, enc := range []string{"gzip", "deflate", "raw deflate"} {
		header := enc
		if enc == "raw deflate" {
			header = "deflate"
		}
		if status, got := post(t, url, header, compress(t, enc, []byte(inferBody))); status != 200 || got != want {
			t.Errorf("JSON as %s: %d %s, want 200 %s", enc, status, got, want)
		}
	}
	if status, got := post(t, url, " X-GZIP ", compress(t, "gzip", []byte(inferBody))); status != 200 || got != want {
		t.Errorf("JSON as x-gzip: %d %s, want 200 %s", status, got, want)
	}

	// Binary data: the JSON header's length is of the body before it was
	// compressed, as tritonclient sends it.
	head := `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}]}`
	body := []byte(head)
	for _, v := range []float32{1, 2, 3, 4} {
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
	}
	if status, got := post(t, url, "gzip", compress(t, "gzip", body),
		"Inference-Header-Content-Length", strconv.Itoa(len(head))); status != 200 || got != want {
		t.Errorf("binary as gzip: %d %s, want 200 %s", status, got, want)
	}

	// 1 MiB of spaces before the JSON, a few KiB compressed: over the
	// limit once inflated.
	bomb := compress(t, "gzip", append(bytes.Repeat([]byte(" "), 1<<20), inferBody...))
	if len(bomb) > 1<<16 {
		t.Fatalf("the test's bomb is %d bytes compressed", len(bomb))
	}
	if status, got := post(t, url, "gzip", bomb); status != 413 || !strings.Contains(got, "--max-body-bytes, once decompressed") {
		t.Errorf("1 MiB once inflated against 64 KiB: %d %s, want 413 naming the limit", status, got)
	}

	z := compress(t, "gzip", []byte(inferBody))
	bad := []struct {
		name, enc string
		body      []byte
		want      string
	}{
		{"not gzip", "gzip", []byte(inferBody), "not valid gzip data (Content-Encoding: gzip)"},
		{"cut", "gzip", z[:len(z)-12], "not valid gzip data"},
		{"empty", "gzip", nil, "not valid gzip data"},
		{"not deflate", "deflate", []byte{0xff, 0xff, 0xff}, "not valid deflate data"},
		{"brotli", "br", []byte(inferBody), `Content-Encoding \"br\" is not supported`},
		{"two codings", "gzip, gzip", z, `Content-Encoding \"gzip, gzip\" is not supported`},
	}
	for _, c := range bad {
		if status, got := post(t, url, c.enc, c.body); status != 400 || !strings.Contains(got, c.want) {
			t.Errorf("%s: %d %s, want 400 with %q", c.name, status, got, c.want)
		}
	}
	// And the server goes on serving.
	if status, got := post(t, url, "gzip", z); status != 200 || got != want {
		t.Errorf("after the bad bodies: %d %s", status, got)
	}

	// The control routes read their bodies the same way.
	if status, got := post(t, base+"/v2/repository/index", "gzip", compress(t, "gzip", []byte(`{"ready":true}`))); status != 200 || !strings.Contains(got, `"m"`) {
		t.Errorf("repository index as gzip: %d %s", status, got)
	}
}

// readingJobs is a Jobs whose Submit reads the upload whole, keeps it, and
// answers with what reading it returned.
type readingJobs struct {
	httpt.Jobs
	got chan []byte
}

func (j readingJobs) Submit(_ context.Context, _ string, _ int64, _ jobs.Input, body io.Reader) (jobs.Status, error) {
	b, err := io.ReadAll(body)
	j.got <- b
	return jobs.Status{ID: "j", RowsTotal: int64(len(b))}, err
}

// A job's upload compressed with gzip reaches the job inflated, and the
// upload limit holds for what it inflates to: the job spools that.
func TestCompressedJobUpload(t *testing.T) {
	j := readingJobs{got: make(chan []byte, 1)}
	base, _, _ := serve(t, func(o *httpt.Options) { o.Jobs = j; o.MaxJobUpload = 1 << 20 })
	rows := bytes.Repeat([]byte(`{"x":[1,2,3,4]}`+"\n"), 1000)
	if status, body := post(t, base+"/v2/jobs?model=m", "gzip", compress(t, "gzip", rows)); status != 202 {
		t.Fatalf("gzip upload: %d %s", status, body)
	}
	if got := <-j.got; !bytes.Equal(got, rows) {
		t.Fatalf("the job read %d bytes, want the %d inflated", len(got), len(rows))
	}
	bomb := compress(t, "gzip", make([]byte, 4<<20)) // 4 MiB against 1 MiB, ~4 KiB on the wire
	status, body := post(t, base+"/v2/jobs?model=m", "gzip", bomb)
	<-j.got
	if status != 413 || !strings.Contains(body, "--jobs-max-upload-bytes") {
		t.Fatalf("4 MiB once inflated against 1 MiB: %d %s, want 413 naming the limit", status, body)
	}
	if status, body := post(t, base+"/v2/jobs?model=m", "zstd", rows); status != 400 || !strings.Contains(body, "zstd") {
		t.Fatalf("zstd upload: %d %s, want 400 naming it", status, body)
	}
}
