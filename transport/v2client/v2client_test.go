package v2client

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

func fp32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func testRequest(bin bool) Request {
	return Request{Model: "m", ID: "q", Outputs: []string{"y"}, Binary: bin, Inputs: []backends.Tensor{
		{Name: "x", DataType: backends.FP32, Shape: []int64{1, 2}, Data: fp32(0.5, -2)},
		{Name: "s", DataType: backends.Bytes, Shape: []int64{2}, Strings: [][]byte{[]byte("a\"b"), []byte("c")}},
	}}
}

func TestEncodeHTTPJSON(t *testing.T) {
	body, headerLen, err := EncodeHTTP(testRequest(false))
	if err != nil || headerLen != -1 {
		t.Fatalf("headerLen %d, err %v", headerLen, err)
	}
	want := `{"id":"q","inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[0.5,-2]},` +
		`{"name":"s","datatype":"BYTES","shape":[2],"data":["a\"b","c"]}],` +
		`"outputs":[{"name":"y","parameters":{"binary_data":false}}]}`
	if string(body) != want {
		t.Fatalf("body\n%s\nwant\n%s", body, want)
	}
}

func TestEncodeHTTPBinary(t *testing.T) {
	body, headerLen, err := EncodeHTTP(testRequest(true))
	if err != nil || headerLen <= 0 {
		t.Fatalf("headerLen %d, err %v", headerLen, err)
	}
	var h struct {
		Inputs []struct {
			Parameters map[string]int `json:"parameters"`
		} `json:"inputs"`
		Parameters map[string]bool `json:"parameters"`
	}
	if err := json.Unmarshal(body[:headerLen], &h); err != nil {
		t.Fatal(err)
	}
	wantTail := append(fp32(0.5, -2), 3, 0, 0, 0, 'a', '"', 'b', 1, 0, 0, 0, 'c')
	if h.Inputs[0].Parameters["binary_data_size"] != 8 || h.Inputs[1].Parameters["binary_data_size"] != 12 ||
		!h.Parameters["binary_data_output"] || string(body[headerLen:]) != string(wantTail) {
		t.Fatalf("header %+v, tail %v", h, body[headerLen:])
	}
}

func TestEncodeHTTPRefusesShortData(t *testing.T) {
	r := Request{Model: "m", Inputs: []backends.Tensor{{Name: "x", DataType: backends.FP32, Shape: []int64{1}, Data: []byte{1, 2}}}}
	if _, _, err := EncodeHTTP(r); err == nil || !strings.Contains(err.Error(), `input "x": 2 bytes of FP32`) {
		t.Fatalf("err %v", err)
	}
}

func TestGRPCRequest(t *testing.T) {
	req := GRPCRequest(testRequest(false))
	if req.ModelName != "m" || req.Id != "q" || len(req.Inputs) != 2 || len(req.RawInputContents) != 2 ||
		len(req.Outputs) != 1 || len(req.RawInputContents[1]) != 12 {
		t.Fatalf("%v", req)
	}
}

func TestDecodeHTTP(t *testing.T) {
	header := `{"model_name":"m","model_version":"2","outputs":[` +
		`{"name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},` +
		`{"name":"z","datatype":"INT64","shape":[1],"data":[7]}]}`
	r, err := decodeHTTP(200, strconv.Itoa(len(header)), append([]byte(header), fp32(1.5, float32(math.NaN()))...))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(r); string(got) != `{"model_name":"m","model_version":"2","outputs":[`+
		`{"name":"y","datatype":"FP32","shape":[2],"data":[1.5,null]},{"name":"z","datatype":"INT64","shape":[1],"data":[7]}]}` {
		t.Fatalf("%s", got)
	}
	for _, c := range []struct {
		code      int
		headerLen string
		body      string
		want      string
	}{
		{404, "", `{"error":"no model m"}`, "HTTP 404: no model m"},
		{502, "", `<html>`, "HTTP 502: response is not JSON"},
		{200, "99", `{}`, `bad Inference-Header-Content-Length "99"`},
		{200, "", `{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}`, "runs past the body"},
	} {
		if _, err := decodeHTTP(c.code, c.headerLen, []byte(c.body)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d %s: err %v, want %q", c.code, c.body, err, c.want)
		}
	}
}

func TestDecodeGRPC(t *testing.T) {
	resp := &pb.ModelInferResponse{ModelName: "m", Outputs: []*pb.ModelInferResponse_InferOutputTensor{
		{Name: "s", Datatype: "BYTES", Shape: []int64{1}}, {Name: "b", Datatype: "BOOL", Shape: []int64{2}}},
		RawOutputContents: [][]byte{{2, 0, 0, 0, 'h', 'i'}, {1, 0}}}
	r, err := decodeGRPC(resp)
	if err != nil || fmt.Sprint(r.Outputs[0].Data) != "[hi]" || fmt.Sprintf("%s", r.Outputs[1].Data) != "[true false]" {
		t.Fatalf("%+v %v", r, err)
	}
	resp.RawOutputContents[0] = []byte{9, 0, 0, 0}
	if _, err := decodeGRPC(resp); err == nil || !strings.Contains(err.Error(), "output s") {
		t.Fatalf("short BYTES: err %v", err)
	}
}

// TestHTTPCall sends a prepared request twice to a real server: Send
// checks only the status, Infer decodes the answer.
func TestHTTPCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v2/models/m/versions/3/infer" || r.Header.Get("Inference-Header-Content-Length") == "" || len(b) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, `{"error":"bad request to %s"}`, r.URL.Path)
			return
		}
		_, _ = io.WriteString(w, `{"model_name":"m","model_version":"3","outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[2]}]}`)
	}))
	defer srv.Close()
	c, err := NewHTTP(srv.URL, 2, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := testRequest(true)
	req.Version = "3"
	call, err := c.Prepare(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Send(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := call.Infer(context.Background())
	if err != nil || r.ModelVersion != "3" || fmt.Sprintf("%s", r.Outputs[0].Data) != "[2]" {
		t.Fatalf("%+v %v", r, err)
	}
	req.Binary = false
	if call, err = c.Prepare(req); err != nil {
		t.Fatal(err)
	}
	if err := call.Send(context.Background()); err == nil || !strings.Contains(err.Error(), "HTTP 400: bad request") {
		t.Fatalf("JSON to a binary-only server: %v", err)
	}
	if _, err := NewHTTP("ftp://x", 1, time.Second, nil); err == nil {
		t.Fatal("ftp URL accepted")
	}
}
