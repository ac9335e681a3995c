package jobs

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tiffin-ml/tiffin/runtime"
)

func TestJobScoresRowsInOrder(t *testing.T) {
	m := newRefModels()
	dir := t.TempDir()
	s := startService(t, m, dir, nil)
	ctx := context.Background()
	lines := strings.Split(ndjsonInput(95), "\n")
	lines[13] = `{"input": [1, 2]}`                             // wrong shape: fails alone
	lines[40] = `not json`                                      // fails alone
	lines[77] = strings.Replace(lines[77], "[", "[999,", 1)     // 17 values: decode error
	lines[80] = `{"input":[999,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}` // the backend fails its batch
	st, err := s.Submit(ctx, "mlp-small", 0, Input{Format: NDJSON}, strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != Pending && st.State != Running || st.RowsTotal != 95 || st.Chunks != 10 || st.Version != 1 {
		t.Fatalf("submitted: %+v", st)
	}
	st = waitFinished(t, s, st.ID, 30*time.Second)
	if st.State != Succeeded || st.RowsDone != 95 || st.RowsFailed != 4 || st.ChunksDone != 10 || st.StartedAt == nil {
		t.Fatalf("finished: %+v", st)
	}
	// Its status says why rows failed, without its results being read:
	// a job that succeeded with failed rows had said nothing of them.
	if st.FirstError == "" || st.Error != "" {
		t.Errorf("finished with 4 failed rows: first error %q, error %q; want the first row's error, no job error", st.FirstError, st.Error)
	}
	// Its chunk inputs were retired as they were scored, and the folder
	// that held them goes with the last (it had stayed until a purge).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "jobs", "chunks", st.ID)); errors.Is(err, fs.ErrNotExist) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the finished job's chunk folder: %v, want it gone", err)
		}
	}
	rc, _, err := s.Results(ctx, st.ID, ResultsNDJSON)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	checkResults(t, readResults(t, rc), 95, map[int]bool{13: true, 40: true, 77: true, 80: true})
	if m.maxRows.Load() != 8 {
		t.Fatalf("largest batch %d, want the model's max of 8", m.maxRows.Load())
	}
	redeliver(t, s, chunkRef{job: st.ID, index: 3, firstRow: 30, rows: 10}, lines[30:40])
	if again, _ := s.Get(ctx, st.ID); again.RowsDone != 95 || again.RowsFailed != 4 || again.Replicas["test"] != 10 {
		t.Fatalf("a redelivered chunk counted again: %+v", again)
	}
}

// redeliver queues a chunk again, as the queue does when an ack is lost,
// and waits until a worker has taken and acked it.
func redeliver(t *testing.T, s *Service, c chunkRef, lines []string) {
	t.Helper()
	ctx := context.Background()
	st := s.store.Load()
	m := nats.NewMsg(chunkSubject + "." + c.job)
	m.Header.Set(hdrJob, c.job)
	m.Header.Set(hdrChunk, strconv.Itoa(c.index))
	m.Header.Set(hdrRow, strconv.FormatInt(c.firstRow, 10))
	m.Header.Set(hdrRows, strconv.Itoa(c.rows))
	m.Data = []byte(strings.Join(lines, "\n"))
	if _, err := st.js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		info, err := st.chunks.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the redelivered chunk was not acked: %+v", info.State)
		}
	}
}

func TestJobSurvivesAbandonedChunks(t *testing.T) {
	dir := t.TempDir()
	m := newRefModels()
	m.delay = 20 * time.Millisecond
	s := New(m, Options{DataDir: dir, Workers: 2, ChunkRows: 10, AckWait: 2 * time.Second, Replica: "first",
		Logger: slog.New(slog.DiscardHandler)})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := s.Submit(context.Background(), "mlp-small", 1, Input{Format: NDJSON}, strings.NewReader(ndjsonInput(200)))
	if err != nil {
		t.Fatal(err)
	}
	for {
		cur, _ := s.Get(context.Background(), st.ID)
		if cur.ChunksDone >= 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A stop whose deadline has passed abandons the chunks in flight.
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.Stop(expired)

	m.delay = 0
	s2 := startService(t, m, dir, func(o *Options) { o.Replica = "second" })
	done := waitFinished(t, s2, st.ID, 30*time.Second)
	if done.State != Succeeded || done.RowsDone != 200 || done.RowsFailed != 0 || done.Replicas["first"] < 2 || done.Replicas["second"] == 0 {
		t.Fatalf("%+v", done)
	}
	rc, _, err := s2.Results(context.Background(), st.ID, ResultsNDJSON)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	checkResults(t, readResults(t, rc), 200, nil)
}

func TestJobCancelListAndConflicts(t *testing.T) {
	s := startService(t, newRefModels(), t.TempDir(), func(o *Options) { o.Workers = 0 })
	ctx := context.Background()
	a, err := s.Submit(ctx, "mlp-small", 0, Input{Format: CSV}, strings.NewReader("f0,f1\n"+strings.Repeat("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n", 25)))
	if err != nil {
		t.Fatal(err)
	}
	if a.RowsTotal != 25 || a.State != Pending {
		t.Fatalf("%+v", a)
	}
	if _, _, err := s.Results(ctx, a.ID, ResultsNDJSON); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("results of a pending job: %v", err)
	}
	c, err := s.Cancel(ctx, a.ID)
	if err != nil || c.State != Cancelled || c.FinishedAt == nil {
		t.Fatalf("%+v %v", c, err)
	}
	if _, _, err := s.Results(ctx, a.ID, ResultsNDJSON); !errors.Is(err, ErrConflict) {
		t.Fatalf("results of a cancelled job: %v", err)
	}
	b, err := s.Submit(ctx, "mlp-small", 0, Input{Format: NDJSON}, strings.NewReader(ndjsonInput(3)))
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("%+v %v", list, err)
	}
	for _, bad := range []struct {
		model, format string
		body          string
		kind          runtime.Kind
	}{
		{"nope", "ndjson", "{}", runtime.KindNotFound},
		{"mlp-small", "ndjson", "\n\n", runtime.KindInvalidArgument},
	} {
		f, _ := ParseFormat(bad.format)
		if _, err := s.Submit(ctx, bad.model, 0, Input{Format: f}, strings.NewReader(bad.body)); runtime.KindOf(err) != bad.kind {
			t.Errorf("%s %q: %v, want %s", bad.model, bad.body, err, bad.kind)
		}
	}
	if _, err := s.Get(ctx, "no-such*job"); runtime.KindOf(err) != runtime.KindNotFound {
		t.Fatalf("%v", err)
	}
	for _, label := range []string{strings.Repeat("x", MaxLabel+1), "a\nb", "bad \xff utf-8", "csi \u009b2J", "bidi \u202eevil"} {
		if _, err := s.Submit(ctx, "mlp-small", 0, Input{Format: NDJSON, Label: label}, strings.NewReader(ndjsonInput(1))); runtime.KindOf(err) != runtime.KindInvalidArgument || !strings.Contains(err.Error(), "label") {
			t.Errorf("label %q: %v, want an invalid argument naming the label", label, err)
		}
	}
	labelled, err := s.Submit(ctx, "mlp-small", 0, Input{Format: NDJSON, Label: "nightly run 7 — ünïcode \ufffd"}, strings.NewReader(ndjsonInput(2)))
	if err != nil || labelled.Label != "nightly run 7 — ünïcode \ufffd" {
		t.Fatalf("a labelled job: %+v %v", labelled, err)
	}
	if st, err := s.Get(ctx, labelled.ID); err != nil || st.Label != labelled.Label {
		t.Fatalf("the label in the job's status: %+v %v", st, err)
	}
}

// A job whose upload a stop cut short (never sealed) fails when the
// embedded store starts again, naming why, instead of running for good;
// a sealed one is left to finish.
func TestRestartFailsCutUploads(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := startService(t, newRefModels(), dir, func(o *Options) { o.Workers = 0 })
	cut := &record{Status: Status{ID: newID(), Model: "mlp-small", Version: 1, State: Pending, CreatedAt: time.Now().UTC()}, Format: NDJSON}
	if err := s.store.Load().create(ctx, cut); err != nil {
		t.Fatal(err)
	}
	whole, err := s.Submit(ctx, "mlp-small", 0, Input{}, strings.NewReader(ndjsonInput(5)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s = startService(t, newRefModels(), dir, nil)
	st, err := s.Get(ctx, cut.ID)
	if err != nil || st.State != Failed || !strings.Contains(st.Error, "the server stopped before the upload was complete") {
		t.Fatalf("cut upload after a restart: %+v %v", st, err)
	}
	if st := waitFinished(t, s, whole.ID, 30*time.Second); st.State != Succeeded || st.RowsDone != 5 {
		t.Fatalf("sealed job after a restart: %+v", st)
	}
}

// A CSV file as pandas writes it (a BOM from Excel, then the names 0..15
// of unnamed columns) keeps every data row; header=no scores the first
// line too, and a first row missing a value fails as a row.
func TestCSVHeaders(t *testing.T) {
	s := startService(t, newRefModels(), t.TempDir(), nil)
	ctx := context.Background()
	rows := csvInput(5, ",")
	names := make([]string, 16)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	pandas := "\xef\xbb\xbf" + strings.Join(names, ",") + "\n" + rows
	missing := strings.Repeat("1,", 15) + "\n" + rows
	for _, c := range []struct {
		in             string
		header         Header
		total, failing int64
	}{
		{pandas, HeaderAuto, 5, 0},
		{pandas, HeaderNo, 6, 0},
		{rows, HeaderYes, 4, 0},
		{missing, HeaderAuto, 6, 1},
	} {
		st, err := s.Submit(ctx, "mlp-small", 0, Input{Format: CSV, Header: c.header}, strings.NewReader(c.in))
		if err != nil {
			t.Fatal(err)
		}
		st = waitFinished(t, s, st.ID, 30*time.Second)
		if st.RowsTotal != c.total || st.RowsFailed != c.failing {
			t.Errorf("header %q on %.30q: %d rows, %d failed; want %d, %d", c.header, c.in, st.RowsTotal, st.RowsFailed, c.total, c.failing)
		}
	}
}

// A job cancelled while its input uploads stops taking it, NDJSON as it
// is split and Parquet as it is spooled: the upload ends with a conflict
// naming the cancel, and the job stays cancelled.
func TestCancelDuringUpload(t *testing.T) {
	s := startService(t, newRefModels(), t.TempDir(), func(o *Options) { o.Workers = 0 })
	ctx := context.Background()
	pq := parquetFile(t, 40000, 4096, false) // 2.5 MB: spooled a megabyte at a time
	for _, c := range []struct {
		format      Format
		first, rest []byte
	}{
		{NDJSON, []byte(ndjsonInput(15)), []byte(ndjsonInput(1000))}, // a chunk of 10 goes out first
		{Parquet, pq[:100<<10], pq[100<<10:]},
	} {
		pr, pw := io.Pipe()
		type result struct {
			st  Status
			err error
		}
		done := make(chan result, 1)
		go func() {
			st, err := s.Submit(ctx, "mlp-small", 0, Input{Format: c.format}, pr)
			_ = pr.CloseWithError(errors.New("submit returned"))
			done <- result{st, err}
		}()
		if _, err := pw.Write(c.first); err != nil {
			t.Fatal(err)
		}
		var id string
		for id == "" {
			list, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range list {
				if st.State == Pending {
					id = st.ID
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := s.Cancel(ctx, id); err != nil {
			t.Fatal(err)
		}
		sent := make(chan error, 1)
		go func() { // the client goes on sending until the server stops reading
			_, err := pw.Write(c.rest)
			_ = pw.Close()
			sent <- err
		}()
		r := <-done
		if !errors.Is(r.err, ErrConflict) || !strings.Contains(r.err.Error(), "cancelled during its upload") {
			t.Fatalf("%s: upload of a cancelled job: %+v %v", c.format, r.st, r.err)
		}
		if st, err := s.Get(ctx, id); err != nil || st.State != Cancelled {
			t.Fatalf("%s: after the upload: %+v %v; want cancelled", c.format, st, err)
		}
		if err := <-sent; err == nil {
			t.Fatalf("%s: the server read the whole upload of a cancelled job", c.format)
		}
	}
}

// TestDataDirLocked: a second service on a data dir in use is refused,
// naming the holder, and leaves the first one's spool alone; once the
// first stops the directory can be used again.
func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	first := startService(t, newRefModels(), dir, nil)
	spooled := filepath.Join(dir, "spool", "tiffin-upload-inflight.parquet")
	if err := os.WriteFile(spooled, []byte("PAR1"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := New(newRefModels(), Options{DataDir: dir, Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	err := second.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "in use by another process") || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Fatalf("a second start on a data dir in use: %v", err)
	}
	if _, err := os.Stat(spooled); err != nil {
		t.Fatalf("the refused start touched the first one's spool: %v", err)
	}
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	third := New(newRefModels(), Options{DataDir: dir, Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	if err := third.Start(context.Background()); err != nil {
		t.Fatalf("a start once the first stopped: %v", err)
	}
	_ = third.Stop(context.Background())
}

// TestChunkScoredAfterPurge: a worker that stores a chunk's result after
// its job was cancelled and purged (it was scoring meanwhile) removes what
// it stored: the result file, the folder made again for it, and its
// completion key. They had stayed for good, the job being gone.
func TestChunkScoredAfterPurge(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, newRefModels(), dir, func(o *Options) { o.Workers = 0 })
	ctx := context.Background()
	st, err := s.Submit(ctx, "mlp-small", 1, Input{Format: NDJSON}, strings.NewReader(ndjsonInput(30)))
	if err != nil {
		t.Fatal(err)
	}
	store, err := s.started()
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := store.get(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	worker := &pool{store: store, replica: "test", log: slog.New(slog.DiscardHandler)}
	if _, err := s.Cancel(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	c := chunkRef{job: st.ID, index: 0, firstRow: 0, rows: 10}
	if _, err := worker.record(rec, c, chunkResult{}); err != nil {
		t.Fatalf("a chunk stored after its job's purge: %v, want it cleaned up quietly", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jobs", "results", st.ID)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the purged job's results folder: %v, want it gone", err)
	}
	if n, err := store.doneCount(ctx, st.ID); err != nil || n != 0 {
		t.Fatalf("completion keys of the purged job: %d, %v; want none", n, err)
	}
}

// TestRemoveAllBesideAWriter: removing a job's folder while a worker
// still writes files into it (a result being stored as the job is
// cancelled) ends with the folder gone, not "directory not empty".
func TestRemoveAllBesideAWriter(t *testing.T) {
	for round := range 5 {
		dir := filepath.Join(t.TempDir(), "job")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			_ = os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), nil, 0o600)
		}
		done := make(chan struct{})
		go func() { // a worker's last few files, as RemoveAll runs
			defer close(done)
			for i := range 20 {
				_ = os.WriteFile(filepath.Join(dir, "late"+strconv.Itoa(i)), nil, 0o600)
			}
		}()
		err := removeAll(dir)
		<-done
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		_ = os.RemoveAll(dir) // what the writer made after the removal
	}
}

// slowCut hands out its data, then, after a pause in which workers score
// the chunks queued so far, fails as a cut connection would.
type slowCut struct {
	r      io.Reader
	paused bool
}

func (s *slowCut) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		if !s.paused {
			s.paused = true
			time.Sleep(300 * time.Millisecond)
		}
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// TestFailedUploadLeavesNoResults: the chunks scored before an upload
// failed can never be read, so their result files and folders go with the
// failure, as a cancel's do; they had stayed until someone purged the job.
func TestFailedUploadLeavesNoResults(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, newRefModels(), dir, nil)
	ctx := context.Background()
	if _, err := s.Submit(ctx, "mlp-small", 1, Input{Format: NDJSON}, &slowCut{r: strings.NewReader(ndjsonInput(200))}); err == nil {
		t.Fatal("a cut upload was accepted")
	}
	all, err := s.List(ctx)
	if err != nil || len(all) != 1 || all[0].State != Failed {
		t.Fatalf("jobs after a cut upload: %+v, %v; want one failed", all, err)
	}
	id := all[0].ID
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, errR := os.Stat(filepath.Join(dir, "jobs", "results", id))
		_, errC := os.Stat(filepath.Join(dir, "jobs", "chunks", id))
		if errors.Is(errR, fs.ErrNotExist) && errors.Is(errC, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed upload's folders are still there: results %v, chunks %v", errR, errC)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// columns= picks Parquet feature columns only. Given with another format
// it is refused, not ignored: a CSV's columns would otherwise feed the
// model in file order, whatever columns= asked for, and the job succeed.
func TestColumnsRefusedForOtherFormats(t *testing.T) {
	s := startService(t, newRefModels(), t.TempDir(), nil)
	ctx := context.Background()
	for _, c := range []struct {
		f    Format
		body string
	}{
		{CSV, csvInput(3, ",")},
		{"", csvInput(3, ",")}, // sniffed
		{NDJSON, ndjsonInput(3)},
		{NPY, string(npyFile(3))},
	} {
		_, err := s.Submit(ctx, "mlp-small", 0, Input{Format: c.f, Columns: []string{"f1", "f0"}}, strings.NewReader(c.body))
		if runtime.KindOf(err) != runtime.KindInvalidArgument || !strings.Contains(err.Error(), "columns=") {
			t.Errorf("format %q with columns=: %v; want a 400 naming columns=", c.f, err)
		}
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 0 {
		t.Errorf("refused uploads left jobs behind: %v, %v", list, err)
	}
}

// An upload that is not in the format it would be read as is refused at
// once, naming what it is: read as text, each of its newline-separated
// pieces had failed as a row, and the job with them, with errors that
// never said what the file was.
func TestUploadOfAnotherKindIsRefused(t *testing.T) {
	s := startService(t, newRefModels(), t.TempDir(), nil)
	ctx := context.Background()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(csvInput(50, ",")))
	_ = zw.Close()
	pq := parquetFile(t, 20, 10, false)
	for _, c := range []struct {
		f    Format
		body []byte
		want string
	}{
		{"", gz.Bytes(), "gzip"},
		{CSV, gz.Bytes(), "gzip"},
		{"", []byte("PK\x03\x04\x14\x00\x00\x00\x00\x00\nx\n1,2\n"), "zip"},
		{"", []byte("ARROW1\x00\x00\xff\xff\xff\xff\n\n"), "Arrow IPC"},
		{CSV, npyFile(40), "format=csv"},
		{NDJSON, npyFile(40), "format=ndjson"},
		{CSV, pq, "parquet file"},
		{"", []byte(`[{"input": [1]}, {"input": [2]}]`), "JSON array"},
		{NDJSON, []byte("\n [{\"input\": [1]}]"), "JSON array"},
		{NDJSON, []byte(csvInput(5, ",")), "format=ndjson was given, but the upload does not start with a JSON object"},
	} {
		_, err := s.Submit(ctx, "mlp-small", 0, Input{Format: c.f}, bytes.NewReader(c.body))
		if runtime.KindOf(err) != runtime.KindInvalidArgument || !strings.Contains(err.Error(), c.want) {
			t.Errorf("format %q, body %.12q: %v; want a 400 naming %q", c.f, c.body, err, c.want)
		}
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("refused uploads left jobs behind: %v, %v", list, err)
	}
	// What the formats themselves look like still goes through.
	for _, c := range []struct {
		f    Format
		body string
	}{{"", csvInput(3, ",")}, {CSV, csvInput(3, ",")}, {"", ndjsonInput(3)}, {NDJSON, "\xef\xbb\xbf\n " + ndjsonInput(3)}, {"", string(npyFile(3))}, {Parquet, string(pq)}} {
		if _, err := s.Submit(ctx, "mlp-small", 0, Input{Format: c.f}, strings.NewReader(c.body)); err != nil {
			t.Errorf("format %q, body %.12q: %v", c.f, c.body, err)
		}
	}
}

// An upload the disk cannot take is refused as insufficient storage (507),
// naming the full disk, and the job is failed: not an internal error, as
// though the server were at fault. The body here fails as a full disk's
// write does, wherever the spool meets it.
func TestUploadOnAFullDiskIsInsufficientStorage(t *testing.T) {
	s := startService(t, newRefModels(), t.TempDir(), nil)
	full := &os.PathError{Op: "write", Path: "spool", Err: syscall.ENOSPC}
	body := io.MultiReader(strings.NewReader(ndjsonInput(50)), iotest.ErrReader(full))
	_, err := s.Submit(context.Background(), "mlp-small", 0, Input{Format: NDJSON}, body)
	if runtime.KindOf(err) != runtime.KindInsufficientStorage || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("got %v (kind %v), want insufficient storage naming the full disk", err, runtime.KindOf(err))
	}
	list, err := s.List(context.Background())
	if err != nil || len(list) != 1 || list[0].State != Failed {
		t.Fatalf("jobs %+v, %v: want the one job failed", list, err)
	}
}
