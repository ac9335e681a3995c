package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/jobs"
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

// TestE2EJobUploadChunkedCut sends a job's NDJSON rows as a chunked body
// on a raw connection, half-closed after the last byte. Whole, every row
// is scored. Cut between two chunks, before the last (zero-length) one, the
// upload is refused with 400 naming the cut, and the job it opened ends
// failed rather than scoring the rows that came as though they were all.
func TestE2EJobUploadChunkedCut(t *testing.T) {
	const rows = 2000
	body := mlpNDJSON(rows, nil)
	ts := startServer(t, demoRepo(t), withJobs(t, 2, 32<<10))
	upload := func(last string) string {
		c, err := net.Dial("tcp", strings.TrimPrefix(ts.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
		var req bytes.Buffer
		req.WriteString("POST /v2/jobs?model=mlp-small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 10<<10)
			fmt.Fprintf(&req, "%x\r\n%s\r\n", n, rest[:n])
			rest = rest[n:]
		}
		req.WriteString(last)
		if _, err := c.Write(req.Bytes()); err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		resp, _ := io.ReadAll(c)
		return string(resp)
	}

	whole := upload("0\r\n\r\n")
	if !strings.HasPrefix(whole, "HTTP/1.1 202") {
		t.Fatalf("a whole chunked upload: %.300s", whole)
	}
	var st jobs.Status
	decodeJSON(t, []byte(whole[strings.Index(whole, "\r\n\r\n")+4:]), &st)
	if st = waitJob(t, ts.base, st.ID, 60*time.Second); st.RowsDone != rows || st.RowsFailed != 0 {
		t.Fatalf("the whole upload's job finished with %+v", st)
	}

	cut := upload("")
	if !strings.HasPrefix(cut, "HTTP/1.1 400") || !strings.Contains(cut, "ended between two chunks") {
		t.Fatalf("an upload cut between chunks: %.300s; want 400 naming it", cut)
	}
	r := ts.do(t, "GET", "/v2/jobs", nil, nil)
	var list struct{ Jobs []jobs.Status }
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	for _, j := range list.Jobs {
		if j.ID == st.ID {
			continue
		}
		if j.State != jobs.Failed || !strings.Contains(j.Error, "ended between two chunks") {
			t.Fatalf("the cut upload's job: %+v; want it failed, naming the cut", j)
		}
	}
	if len(list.Jobs) != 2 {
		t.Fatalf("%d jobs listed, want the whole one and the cut one: %s", len(list.Jobs), r.body)
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
