package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime/jobs"
	"github.com/tiffin-ml/tiffin/runtime/jobs/jobstest"
	"github.com/tiffin-ml/tiffin/runtime/npy"
)

// mlpParquet writes rows of mlp-small input with arrow's Parquet writer,
// groupRows rows per row group.
func mlpParquet(t *testing.T, rows, groupRows int) []byte {
	return jobstest.Parquet(t, rows, groupRows, jobRow)
}

func mlpNPY(rows int) []byte {
	b := npy.AppendHeader(nil, backends.FP32, []int64{int64(rows), 16})
	for i := range rows {
		b = append(b, f32Bytes(jobRow(i))...)
	}
	return b
}

// checkParquetResults reads results rendered as Parquet with arrow's
// reader: one row per input row, in order, each within 1e-5 of the
// reference.
func checkParquetResults(t *testing.T, data []byte, rows int) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	mlp := modelgen.MLPSmall()
	n := 0
	for rr.Next() {
		rec := rr.RecordBatch()
		if names := rec.Schema().Fields(); len(names) != 3 || names[0].Name != "row" || names[1].Name != "error" || names[2].Name != "output" {
			t.Fatalf("results schema %s", rec.Schema())
		}
		ids, errs := rec.Column(0).(*array.Int64), rec.Column(1).(*array.String)
		outs, ok := rec.Column(2).(*array.FixedSizeList)
		if !ok {
			t.Fatalf("output column is %s, want a fixed-size list", rec.Column(2).DataType())
		}
		vals := outs.ListValues().(*array.Float32)
		for i := range int(rec.NumRows()) {
			if ids.Value(i) != int64(n) || errs.IsValid(i) {
				t.Fatalf("result %d: row %d, error %q", n, ids.Value(i), errs.Value(i))
			}
			want := mlp.Forward(jobRow(n), 1)
			start, _ := outs.ValueOffsets(i)
			for k := range want {
				if got := vals.Value(int(start) + k); math.Abs(float64(got-want[k])) > 1e-5 {
					t.Fatalf("row %d output[%d] = %v, want %v", n, k, got, want[k])
				}
			}
			n++
		}
	}
	if rr.Err() != nil && rr.Err() != io.EOF || n != rows {
		t.Fatalf("%d result rows, want %d (%v)", n, rows, rr.Err())
	}
}

// TestE2EJobsParquetAndNPY scores Parquet (sniffed) and NPY (format=npy)
// uploads on the real server, and reads the results back as NDJSON and as
// Parquet.
func TestE2EJobsParquetAndNPY(t *testing.T) {
	ts := startServer(t, demoRepo(t), withJobs(t, 2, 4<<10))
	const rows = 3000
	for query, body := range map[string][]byte{"model=mlp-small": mlpParquet(t, rows, 1000), "model=mlp-small&format=npy": mlpNPY(rows)} {
		st := submitJob(t, ts.base, query, body)
		if st.RowsTotal != rows || st.Chunks != rows/64+1 {
			t.Fatalf("%s: submitted %+v", query, st)
		}
		st = waitJob(t, ts.base, st.ID, time.Minute)
		if st.State != jobs.Succeeded || st.RowsDone != rows || st.RowsFailed != 0 {
			t.Fatalf("%s: finished %+v", query, st)
		}
		checkMLPLines(t, jobResults(t, ts.base, st.ID, rows), nil)
		resp, err := http.Get(ts.base + "/v2/jobs/" + st.ID + "/results?format=parquet")
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.apache.parquet" {
			t.Fatalf("parquet results: %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
		}
		checkParquetResults(t, data, rows)
		// The CLI writes them to a file whole, with nothing else on stdout.
		dir := t.TempDir()
		pq, nd := filepath.Join(dir, "out.parquet"), filepath.Join(dir, "out.ndjson")
		if out := cli(t, 0, "jobs", "results", "--server", ts.base, st.ID, "--format", "parquet", "--out", pq); out != "" {
			t.Fatalf("results --out printed %q", out)
		}
		got, err := os.ReadFile(pq)
		if err != nil {
			t.Fatal(err)
		}
		checkParquetResults(t, got, rows)
		cli(t, 0, "jobs", "results", "--server", ts.base, st.ID, "--out", nd)
		if got, err := os.ReadFile(nd); err != nil || string(got) != cli(t, 0, "jobs", "results", "--server", ts.base, st.ID) {
			t.Fatalf("results --out %s differ from the results printed (%v)", nd, err)
		}
		cli(t, 1, "jobs", "results", "--server", ts.base, "nosuchjob", "--out", filepath.Join(dir, "none"))
		if left, _ := os.ReadDir(dir); len(left) != 2 {
			t.Fatalf("%d files in the output folder, want the 2 written (no partial ones): %v", len(left), left)
		}
	}
	// Malformed uploads are refused with the problem named.
	for query, c := range map[string]struct {
		body []byte
		want string
	}{
		"model=mlp-small":                    {[]byte("PAR1 truncated"), "not a readable Parquet file"},
		"model=mlp-small&columns=id":         {mlpParquet(t, 10, 10), "1 feature columns, but input \\\"input\\\" takes 16"},
		"model=mlp-small&format=npy":         {mlpNPY(10)[:200], "the .npy data ends within row"},
		"model=mlp-small&format=npy&label=a": {append(mlpNPY(10), make([]byte, 64)...), "the .npy data goes on past the 10 rows"},
		"model=mlp-small&format=feathers":    {nil, "unknown input format"},
	} {
		resp, err := http.Post(ts.base+"/v2/jobs?"+query, "application/octet-stream", bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(msg), c.want) {
			t.Errorf("%s: %d %s, want 400 naming %q", query, resp.StatusCode, msg, c.want)
		}
	}
}
