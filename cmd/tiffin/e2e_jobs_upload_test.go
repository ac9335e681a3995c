package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TestE2EJobUploadStreamsPastBodyLimit submits a job input four times the
// server's request body limit: it streams into chunks instead of being
// refused, and every row is scored. Past --jobs-max-upload-bytes the
// upload gets 413.
func TestE2EJobUploadStreamsPastBodyLimit(t *testing.T) {
	const rows = 3000
	body := mlpNDJSON(rows, nil)
	jobsOn := withJobs(t, 2, 100<<10)
	ts := startServer(t, demoRepo(t), func(c *config.Server) {
		jobsOn(c)
		c.MaxBodyBytes = len(body) / 4
		c.Jobs.MaxUpload = int64(len(body)) + 1
	})
	st := submitJob(t, ts.base, "model=mlp-small", body)
	if st = waitJob(t, ts.base, st.ID, 60*time.Second); st.RowsDone != rows || st.RowsFailed != 0 {
		t.Fatalf("job finished with %+v", st)
	}
	checkMLPLines(t, jobResults(t, ts.base, st.ID, rows), nil)

	big := append(append([]byte(nil), body...), body[:200]...)
	resp, err := http.Post(ts.base+"/v2/jobs?model=mlp-small", "application/x-ndjson", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e v2Response
	decodeJSON(t, readAll(t, resp), &e)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(e.Error, "--jobs-max-upload-bytes") {
		t.Fatalf("an upload over the limit: %d %q", resp.StatusCode, e.Error)
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
