package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/jobs"
)

// withJobs turns the embedded job queue on, storing under a fresh folder.
func withJobs(t *testing.T, workers, chunkBytes int) func(*config.Server) {
	dir := t.TempDir()
	return func(c *config.Server) {
		c.Jobs = config.DefaultJobs()
		c.Jobs.DataDir, c.Jobs.Workers, c.Jobs.ChunkBytes, c.Jobs.AckWait = dir, workers, chunkBytes, 5*time.Second
	}
}

// jobRow is mlp-small's input for row i.
func jobRow(i int) []float32 { return seqInput(1, 16, float32(i)*0.01) }

// mlpNDJSON writes rows of mlp-small input; the rows in bad are broken.
func mlpNDJSON(rows int, bad map[int]string) []byte {
	var b bytes.Buffer
	for i := range rows {
		if line, ok := bad[i]; ok {
			b.WriteString(line + "\n")
			continue
		}
		v, _ := json.Marshal(map[string]any{"input": jobRow(i)})
		b.Write(append(v, '\n'))
	}
	return b.Bytes()
}

func submitJob(t *testing.T, base, query string, body []byte) jobs.Status {
	t.Helper()
	resp, err := http.Post(base+"/v2/jobs?"+query, "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st jobs.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusAccepted || st.ID == "" {
		t.Fatalf("submit %s: %d %+v %v", query, resp.StatusCode, st, err)
	}
	return st
}

func getStatus(t *testing.T, base, id string) jobs.Status {
	t.Helper()
	resp, err := http.Get(base + "/v2/jobs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st jobs.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status of %s: %d %v", id, resp.StatusCode, err)
	}
	return st
}

func waitJob(t *testing.T, base, id string, within time.Duration) jobs.Status {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		st := getStatus(t, base, id)
		if st.State.Finished() {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not finished within %s: %+v", id, within, st)
		}
	}
}

type jobLine struct {
	Row     int                        `json:"row"`
	Outputs map[string]json.RawMessage `json:"outputs"`
	Error   string                     `json:"error"`
}

// jobResults fetches a job's results and checks there is exactly one line
// per row, in input order.
func jobResults(t *testing.T, base, id string, rows int) []jobLine {
	t.Helper()
	resp, err := http.Get(base + "/v2/jobs/" + id + "/results")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("results of %s: %d", id, resp.StatusCode)
	}
	var out []jobLine
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l jobLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("result line %d %q: %v", len(out), sc.Text(), err)
		}
		if l.Row != len(out) {
			t.Fatalf("result line %d is row %d", len(out), l.Row)
		}
		out = append(out, l)
	}
	if sc.Err() != nil || len(out) != rows {
		t.Fatalf("%d result lines, want %d (%v)", len(out), rows, sc.Err())
	}
	return out
}

// checkMLPLines compares each row with modelgen's Go reference, within
// 1e-5; rows in bad must be errors.
func checkMLPLines(t *testing.T, lines []jobLine, bad map[int]string) {
	t.Helper()
	mlp := modelgen.MLPSmall()
	for i, l := range lines {
		if _, ok := bad[i]; ok {
			if l.Error == "" {
				t.Fatalf("row %d should have failed: %+v", i, l)
			}
			continue
		}
		var got []float64
		if err := json.Unmarshal(l.Outputs["output"], &got); err != nil || l.Error != "" {
			t.Fatalf("row %d: %+v %v", i, l, err)
		}
		want := mlp.Forward(jobRow(i), 1)
		for k := range want {
			if math.Abs(got[k]-float64(want[k])) > 1e-5 {
				t.Fatalf("row %d output[%d] = %v, want %v", i, k, got[k], want[k])
			}
		}
	}
}

func TestE2EJobsNDJSONAndCSV(t *testing.T) {
	ts := startServer(t, demoRepo(t), withJobs(t, 2, 20<<10))
	bad := map[int]string{7: `{"input": [1, 2, 3]}`, 500: `not json`, 901: `{"wrong": 1}`}
	st := submitJob(t, ts.base, "model=mlp-small", mlpNDJSON(1000, bad))
	if st.RowsTotal != 1000 || st.Model != "mlp-small" || st.Version != 1 || st.Chunks < 5 {
		t.Fatalf("submitted: %+v", st)
	}
	st = waitJob(t, ts.base, st.ID, time.Minute)
	if st.State != jobs.Succeeded || st.RowsDone != 1000 || st.RowsFailed != 3 || st.StartedAt == nil || st.FinishedAt == nil {
		t.Fatalf("finished: %+v", st)
	}
	checkMLPLines(t, jobResults(t, ts.base, st.ID, 1000), bad)

	// CSV, with a header and a short row.
	var csv strings.Builder
	csv.WriteString("f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f11,f12,f13,f14,f15\n")
	for i := range 250 {
		vals := strings.Trim(fmt.Sprint(jobRow(i)), "[]")
		if i == 3 {
			vals = "1,2"
		}
		csv.WriteString(strings.ReplaceAll(vals, " ", ",") + "\n")
	}
	st = submitJob(t, ts.base, "model=mlp-small&version=1&format=csv", []byte(csv.String()))
	st = waitJob(t, ts.base, st.ID, time.Minute)
	if st.State != jobs.Succeeded || st.RowsTotal != 250 || st.RowsFailed != 1 {
		t.Fatalf("csv: %+v", st)
	}
	checkMLPLines(t, jobResults(t, ts.base, st.ID, 250), map[int]string{3: ""})

	// NDJSON compressed with gzip (curl -H 'Content-Encoding: gzip'
	// --data-binary @rows.ndjson.gz): scored as the plain file; one cut
	// short (below) is refused naming the encoding.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(mlpNDJSON(300, nil)); err != nil || zw.Close() != nil {
		t.Fatal(err)
	}
	r := ts.do(t, "POST", "/v2/jobs?model=mlp-small", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	if err := json.Unmarshal(r.body, &st); err != nil || r.status != 202 || st.RowsTotal != 300 {
		t.Fatalf("gzip NDJSON: %d %s", r.status, r.body)
	}
	st = waitJob(t, ts.base, st.ID, time.Minute)
	if st.State != jobs.Succeeded || st.RowsFailed != 0 {
		t.Fatalf("gzip NDJSON: %+v", st)
	}
	checkMLPLines(t, jobResults(t, ts.base, st.ID, 300), nil)
	// The client sends a .gz file as it is, saying so, and reads the
	// format from the name within (.csv).
	gz.Reset()
	zw.Reset(&gz)
	if _, err := zw.Write([]byte(csv.String())); err != nil || zw.Close() != nil {
		t.Fatal(err)
	}
	csvGz := filepath.Join(t.TempDir(), "Features.CSV.gz")
	writeFile(t, csvGz, gz.Bytes())
	var sub struct{ ID string }
	if out := cli(t, 0, "jobs", "submit", "--server", ts.base, "--model", "mlp-small", "--input", csvGz); json.Unmarshal([]byte(out), &sub) != nil {
		t.Fatalf("submit %s printed %q", csvGz, out)
	}
	st = waitJob(t, ts.base, sub.ID, time.Minute)
	if st.State != jobs.Succeeded || st.RowsTotal != 250 || st.RowsFailed != 1 {
		t.Fatalf("csv.gz through the client: %+v", st)
	}
	r = ts.do(t, "POST", "/v2/jobs?model=mlp-small", gz.Bytes()[:gz.Len()/2], map[string]string{"Content-Encoding": "gzip"})
	if r.status != 400 || !strings.Contains(string(r.body), "not valid gzip data") {
		t.Fatalf("gzip CSV cut in half: %d %s, want 400 naming gzip", r.status, r.body)
	}

	for _, c := range []struct {
		query string
		body  string
		code  int
	}{
		{"model=multi-io&format=csv", "1,2\n", 400},   // CSV needs a single-input model
		{"model=nope", "{}\n", 404},                   // unknown model
		{"model=mlp-small&format=xml", "{}\n", 400},   // unknown format
		{"model=mlp-small", "\n\n", 400},              // no rows
		{"version=1", "{}\n", 400},                    // no model
		{"model=mlp-small&version=9", "{}\n", 404},    // unknown version
		{"model=mlp-small&version=zero", "{}\n", 400}, // malformed version
	} {
		if r := ts.do(t, "POST", "/v2/jobs?"+c.query, []byte(c.body), nil); r.status != c.code || !strings.Contains(string(r.body), `"error"`) {
			t.Errorf("POST %s: %d %s, want %d", c.query, r.status, r.body, c.code)
		}
	}
	if r := ts.do(t, "GET", "/v2/jobs/nosuchjob/results", nil, nil); r.status != 404 {
		t.Fatalf("results of an unknown job: %d %s", r.status, r.body)
	}
}

func TestE2EJobsMultiIO(t *testing.T) {
	ts := startServer(t, demoRepo(t), withJobs(t, 2, 4<<10))
	const rows = 50
	in := modelgen.MultiIOInputs{}
	var body bytes.Buffer
	for i := range rows {
		a := []float32{float32(i) - 25, 0.5, -1.25, float32(i) / 3}
		b := []int32{int32(i), -int32(i), 7, int32(i * i)}
		c := []float64{float64(i) * 1e-3, -float64(i)}
		in.A, in.B, in.C = append(in.A, a...), append(in.B, b...), append(in.C, c...)
		line, _ := json.Marshal(map[string]any{"a": a, "b": b, "c": c})
		body.Write(append(line, '\n'))
	}
	want := modelgen.NewMultiIO().Forward(in, rows)
	st := waitJob(t, ts.base, submitJob(t, ts.base, "model=multi-io", body.Bytes()).ID, time.Minute)
	if st.State != jobs.Succeeded || st.RowsFailed != 0 {
		t.Fatalf("%+v", st)
	}
	for i, l := range jobResults(t, ts.base, st.ID, rows) {
		var got struct {
			Sum      []float32 `json:"sum"`
			Scaled   []int64   `json:"scaled"`
			Positive []bool    `json:"positive"`
			CDouble  []float64 `json:"c_double"`
		}
		raw, _ := json.Marshal(l.Outputs)
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("row %d: %s: %v", i, raw, err)
		}
		for k := range 4 {
			if got.Sum[k] != want.Sum[4*i+k] || got.Scaled[k] != want.Scaled[4*i+k] || got.Positive[k] != want.Positive[4*i+k] {
				t.Fatalf("row %d: %s", i, raw)
			}
		}
		if got.CDouble[0] != want.CDouble[2*i] || got.CDouble[1] != want.CDouble[2*i+1] {
			t.Fatalf("row %d c_double: %v", i, got.CDouble)
		}
	}
}

// TestE2EJobsCancelListAndCLI runs a replica that takes jobs but scores
// none, so the jobs stay pending, and drives it with the tiffin jobs client.
func TestE2EJobsCancelListAndCLI(t *testing.T) {
	ts := startServer(t, demoRepo(t), withJobs(t, 0, 20<<10))
	input := filepath.Join(t.TempDir(), "rows.ndjson")
	writeFile(t, input, mlpNDJSON(300, nil))
	out := cli(t, 0, "jobs", "submit", "--server", ts.base, "--model", "mlp-small", "--input", input)
	var sub struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &sub); err != nil || sub.Status != "pending" {
		t.Fatalf("submit printed %q: %v", out, err)
	}
	if out := cli(t, 0, "jobs", "status", sub.ID, "--server", ts.base); !strings.Contains(out, "pending") || !strings.Contains(out, "0/300 rows") {
		t.Fatalf("status printed %q", out)
	}
	if r := ts.do(t, "GET", "/v2/jobs/"+sub.ID+"/results", nil, nil); r.status != 409 || !strings.Contains(string(r.body), "pending") {
		t.Fatalf("results of a pending job: %d %s", r.status, r.body)
	}
	other := submitJob(t, ts.base, "model=mlp-small&label=nightly+7", mlpNDJSON(5, nil))
	if out := cli(t, 0, "jobs", "list", "--server", ts.base); !strings.Contains(out, sub.ID) || !strings.Contains(out, other.ID) || !strings.Contains(out, "nightly 7") {
		t.Fatalf("list printed %q", out)
	}
	// What submit --watch draws while the server still reads an upload: the
	// newest job of its label that was not there before the upload.
	c := newJobClient(ts.base, nil)
	follow := c.follower("nightly 7")
	if line := follow(); line != "" {
		t.Fatalf("following a label before its upload shows an earlier job: %q", line)
	}
	labelled := cli(t, 0, "jobs", "submit", "--server", ts.base, "--model", "mlp-small", "--input", input, "--label", "nightly 7")
	var only struct{ Jobs []jobs.Status }
	if err := json.Unmarshal([]byte(cli(t, 0, "jobs", "list", "--server", ts.base, "--label", "nightly 7", "--json")), &only); err != nil ||
		len(only.Jobs) != 2 || only.Jobs[0].ID != other.ID || !strings.Contains(labelled, only.Jobs[1].ID) || only.Jobs[1].Label != "nightly 7" {
		t.Fatalf("the jobs labelled %q: %+v %v (submitted %s)", "nightly 7", only.Jobs, err, labelled)
	}
	if r := ts.do(t, "GET", "/v2/jobs?label=nobody", nil, nil); r.status != 200 || !strings.Contains(string(r.body), `"jobs":[]`) {
		t.Fatalf("no job labelled so: %d %s", r.status, r.body)
	}
	if line := follow(); !strings.HasPrefix(line, only.Jobs[1].ID+" pending ") || !strings.Contains(line, "0/300 rows") {
		t.Fatalf("following the label: %q", line)
	}
	if line := c.follower("nobody")(); line != "" {
		t.Fatalf("following a label no job has: %q", line)
	}
	if r := ts.do(t, "POST", "/v2/jobs?model=mlp-small&label=a%0Ab", []byte(mlpNDJSON(1, nil)), nil); r.status != 400 || !strings.Contains(string(r.body), "label") {
		t.Fatalf("a label with a newline: %d %s", r.status, r.body)
	}
	if out := cli(t, 0, "jobs", "cancel", "--server", ts.base, sub.ID); !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel printed %q", out)
	}
	if st := getStatus(t, ts.base, sub.ID); st.State != jobs.Cancelled || st.FinishedAt == nil {
		t.Fatalf("%+v", st)
	}
	cli(t, 1, "jobs", "results", "--server", ts.base, sub.ID)  // 409: cancelled
	cli(t, 0, "jobs", "cancel", "--server", ts.base, sub.ID)   // again: a no-op
	cli(t, 1, "jobs", "delete", "--server", ts.base, other.ID) // still pending
	cli(t, 0, "jobs", "delete", "--server", ts.base, sub.ID)
	if r := ts.do(t, "GET", "/v2/jobs/"+sub.ID, nil, nil); r.status != 404 {
		t.Fatalf("deleted job: %d %s", r.status, r.body)
	}
}

// cli runs the tiffin command in process and checks its exit code.
func cli(t *testing.T, code int, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if got := run(args, &out, &errb); got != code {
		t.Fatalf("tiffin %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out.String(), errb.String())
	}
	return out.String()
}

func TestJobsDisabled(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	if r := ts.do(t, "GET", "/v2/jobs", nil, nil); r.status != 404 || !strings.Contains(string(r.body), "--jobs=false") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if _, err := os.Stat("data"); err == nil {
		t.Fatal("a server without jobs created ./data")
	}
}
