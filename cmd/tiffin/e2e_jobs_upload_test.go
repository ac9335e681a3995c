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

	// Announced over the limit with "Expect: 100-continue", as curl does
	// for large files: the same 413 and JSON error at once, nothing sent.
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "POST /v2/jobs?model=mlp-small HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(big))
	answer, _ := io.ReadAll(c)
	if a := string(answer); !strings.HasPrefix(a, "HTTP/1.1 413") || !strings.Contains(a, "--jobs-max-upload-bytes") {
		t.Fatalf("an upload announced over the limit with Expect: %.300q", a)
	}
}

// TestE2EJobUploadCut sends a job's NDJSON rows on a raw connection,
// half-closed after the last byte, as a chunked body and with a
// Content-Length. Whole, every row is scored. Cut short (between two
// chunks, before the last zero-length one; or at a row's end, before the
// bytes the Content-Length announced), the upload is refused with 400
// naming the cut, and the job it opened ends failed rather than scoring
// the rows that came as though they were all.
func TestE2EJobUploadCut(t *testing.T) {
	const rows = 2000
	body := mlpNDJSON(rows, nil)
	ts := startServer(t, demoRepo(t), withJobs(t, 2, 32<<10))
	send := func(req []byte) string {
		c, err := net.Dial("tcp", strings.TrimPrefix(ts.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		resp, _ := io.ReadAll(c)
		return string(resp)
	}
	const head = "POST /v2/jobs?model=mlp-small HTTP/1.1\r\nHost: t\r\n"
	chunked := func(last string) []byte {
		var req bytes.Buffer
		req.WriteString(head + "Transfer-Encoding: chunked\r\n\r\n")
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 10<<10)
			fmt.Fprintf(&req, "%x\r\n%s\r\n", n, rest[:n])
			rest = rest[n:]
		}
		req.WriteString(last)
		return req.Bytes()
	}
	withLength := func(sent []byte) []byte {
		return append([]byte(fmt.Sprintf(head+"Content-Length: %d\r\n\r\n", len(body))), sent...)
	}
	half := bytes.IndexByte(body[len(body)/2:], '\n') + len(body)/2 + 1 // a cut at a row's end

	whole := map[string]string{}
	for name, req := range map[string][]byte{"chunked": chunked("0\r\n\r\n"), "with a length": withLength(body)} {
		resp := send(req)
		if !strings.HasPrefix(resp, "HTTP/1.1 202") {
			t.Fatalf("a whole upload, %s: %.300s", name, resp)
		}
		var st jobs.Status
		decodeJSON(t, []byte(resp[strings.Index(resp, "\r\n\r\n")+4:]), &st)
		if st = waitJob(t, ts.base, st.ID, 60*time.Second); st.RowsDone != rows || st.RowsFailed != 0 {
			t.Fatalf("a whole upload's job, %s: %+v", name, st)
		}
		whole[st.ID] = name
	}
	for name, c := range map[string]struct {
		req  []byte
		says string
	}{
		"chunked":       {chunked(""), "ended between two chunks"},
		"with a length": {withLength(body[:half]), fmt.Sprintf("ended after %d of the %d bytes", half, len(body))},
	} {
		if resp := send(c.req); !strings.HasPrefix(resp, "HTTP/1.1 400") || !strings.Contains(resp, c.says) {
			t.Fatalf("an upload cut short, %s: %.300s; want 400 saying %q", name, resp, c.says)
		}
	}
	r := ts.do(t, "GET", "/v2/jobs", nil, nil)
	var list struct{ Jobs []jobs.Status }
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Jobs) != 4 {
		t.Fatalf("%d jobs listed, want two whole and two cut: %s", len(list.Jobs), r.body)
	}
	for _, j := range list.Jobs {
		if _, ok := whole[j.ID]; ok {
			continue
		}
		if j.State != jobs.Failed || !strings.Contains(j.Error, "the connection ended") {
			t.Fatalf("a cut upload's job: %+v; want it failed, naming the cut", j)
		}
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
