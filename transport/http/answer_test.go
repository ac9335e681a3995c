package http_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	stdhttp "net/http"
	goruntime "runtime"
	"strconv"
	"testing"

	httpt "github.com/tiffin-ml/tiffin/transport/http"
	"github.com/tiffin-ml/tiffin/transport/internal/transporttest"
)

// A large answer asked for in JSON is rendered as it is written: the
// server allocates far less than the answer's size, however many times an
// element grows in JSON (a float32 of 4 bytes here takes 15).
func TestLargeJSONAnswerIsNotHeldWhole(t *testing.T) {
	const rows = 1 << 17 // 2 MiB of FP32 in, about 7.5 MB of JSON out
	base := serveBig(t)
	hdr := fmt.Sprintf(`{"inputs":[{"name":"x","shape":[%d,4],"datatype":"FP32","parameters":{"binary_data_size":%d}}]}`, rows, rows*16)
	body := []byte(hdr)
	for range rows * 4 {
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(-1.2345679e-30))
	}
	post := func() (answer int64, alloc uint64) {
		req, err := stdhttp.NewRequest("POST", base+"/v2/models/big/infer", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Inference-Header-Content-Length", strconv.Itoa(len(hdr)))
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		resp, err := stdhttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 32<<10))
		if err != nil {
			t.Fatal(err)
		}
		goruntime.ReadMemStats(&after)
		if resp.ContentLength != n {
			t.Fatalf("Content-Length %d, body %d bytes", resp.ContentLength, n)
		}
		return n, after.TotalAlloc - before.TotalAlloc
	}
	answer, alloc := post() // the first: a whole answer would take a buffer of its own
	t.Logf("request %d bytes, answer %d bytes, allocated %d bytes", len(body), answer, alloc)
	if alloc > uint64(answer) {
		t.Errorf("a %d-byte JSON answer allocated %d bytes: it is held whole", answer, alloc)
	}
}

// A streamed answer carries what a whole one does: valid JSON, its values.
func TestLargeJSONAnswerReadsBack(t *testing.T) {
	const rows = 1 << 15
	base := serveBig(t)
	var data bytes.Buffer
	data.WriteString("[")
	for i := range rows * 4 {
		if i > 0 {
			data.WriteString(",")
		}
		data.WriteString(strconv.Itoa(i))
	}
	data.WriteString("]")
	code, got := call(t, "POST", base+"/v2/models/big/infer",
		fmt.Sprintf(`{"id":"big","inputs":[{"name":"x","shape":[%d,4],"datatype":"FP32","data":%s}]}`, rows, data.String()))
	if code != 200 {
		t.Fatalf("status %d: %.200s", code, got)
	}
	var resp struct {
		ID      string
		Outputs []struct {
			Name  string
			Shape []int64
			Data  []float64
		}
	}
	if err := json.Unmarshal([]byte(got), &resp); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	if resp.ID != "big" || len(resp.Outputs) != 1 || len(resp.Outputs[0].Data) != rows*4 {
		t.Fatalf("answer: id %q, %d outputs", resp.ID, len(resp.Outputs))
	}
	for i, v := range resp.Outputs[0].Data {
		if v != float64(i) {
			t.Fatalf("element %d is %v", i, v)
		}
	}
}

// serveBig starts a server whose model "big" takes batches of up to 2^20
// rows, with bodies of up to 8 MiB.
func serveBig(t *testing.T) string {
	m, _ := transporttest.Manager(t, map[string]string{"big": "max_batch_size: 1048576\n"})
	s := httpt.New(m, httpt.Options{Addr: "127.0.0.1:0", MaxBodyBytes: 8 << 20, Logger: quiet})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	transporttest.StopAtCleanup(t, "shutdown", s.Shutdown)
	return "http://" + s.Addr()
}
