package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/jobs"
	"github.com/tiffin-ml/tiffin/transport/v2client"
)

// jobClient talks to a server's /v2/jobs.
type jobClient struct {
	base string
	http *http.Client
	// quick makes the GETs of a small JSON answer (status, list): a
	// server that accepts and never answers is an error after
	// statusTimeout, not a hang. Uploads, cancels and deletes (which purge
	// a job's files) and results take as long as they take.
	quick *http.Client
	// encoding is the Content-Encoding of the bodies it sends: "gzip"
	// for a submitted .gz file.
	encoding string
}

// statusTimeout bounds a call that returns a small JSON answer.
const statusTimeout = 30 * time.Second

// jobServer is where a jobs command sends: --server, and the TLS files
// for an https:// one.
type jobServer struct {
	url string
	tls v2client.TLSFiles
}

// jobFlags makes a subcommand's flag set with --server and the TLS flags.
func jobFlags(name string, stderr io.Writer) (*flag.FlagSet, *jobServer) {
	fs := flag.NewFlagSet("jobs "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv("TIFFIN_SERVER")
	if def == "" {
		def = "http://localhost:8000"
	}
	s := &jobServer{}
	fs.StringVar(&s.url, "server", def, "tiffin server `URL` (https:// for a server serving TLS)")
	s.tls.Flags(fs, false)
	fs.Usage = func() { jobUsage(fs, name) }
	return fs, s
}

// jobUsage is a jobs command's -h: its synopsis and what it does, as the
// other commands' -h begin, then its flags.
func jobUsage(fs *flag.FlagSet, name string) {
	args := "[flags] ID"
	switch name {
	case "submit":
		args = "--model M --input FILE [flags]"
	case "list":
		args = "[flags]"
	}
	w := fs.Output()
	fmt.Fprintf(w, "Usage: tiffin jobs %s %s\n", name, args)
	for _, c := range jobCommands() {
		if c.name == name {
			fmt.Fprintf(w, "\n%s%s.\n", strings.ToUpper(c.summary[:1]), c.summary[1:])
		}
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.PrintDefaults()
}

// client is a client of the server, over TLS with the files given.
func (s *jobServer) client() (*jobClient, error) {
	cfg, err := s.tls.Config()
	if err != nil {
		return nil, err
	}
	if cfg != nil && !strings.HasPrefix(strings.ToLower(s.url), "https://") {
		return nil, fmt.Errorf("--server %s is plain text, but TLS files were given (--cacert, --cert): use https://", s.url)
	}
	return newJobClient(s.url, cfg), nil
}

// parseArgs parses flags wherever they stand among the positional
// arguments, and returns the positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

// newJobClient is a client of the server at URL server; tlsCfg, when not
// nil, is how an https:// one is reached (the system's roots otherwise).
func newJobClient(server string, tlsCfg *tls.Config) *jobClient {
	var rt http.RoundTripper // nil: http.DefaultTransport
	if tlsCfg != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsCfg
		rt = t
	}
	return &jobClient{base: strings.TrimSuffix(server, "/") + "/v2/jobs", http: &http.Client{Transport: rt},
		quick: &http.Client{Transport: rt, Timeout: statusTimeout}}
}

// do sends a request and decodes a JSON answer into out; a non-2xx answer
// is an error carrying the server's message.
func (c *jobClient) do(method, path string, body io.Reader, size int64, out any) error {
	cl := c.http
	if method == "GET" && body == nil { // a small JSON answer; an upload, a cancel's purge, take as long as they take
		cl = c.quick
	}
	resp, err := c.send(cl, method, path, body, size)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer: %w", method, c.base+path, err)
	}
	return nil
}

func (c *jobClient) send(cl *http.Client, method, path string, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		req.ContentLength = size
	}
	if body != nil && c.encoding != "" {
		req.Header.Set("Content-Encoding", c.encoding)
	}
	// A server started with a repository token wants it on every job route.
	if tok := os.Getenv(repositoryTokenEnv); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return nil, fmt.Errorf("%s (HTTP %d)", e.Error, resp.StatusCode)
	}
	return resp, nil
}

func (c *jobClient) status(id string) (jobs.Status, error) {
	var st jobs.Status
	err := c.do("GET", "/"+url.PathEscape(id), nil, -1, &st)
	return st, err
}

func jobSubmitCmd(args []string, stdout, stderr io.Writer) int {
	fs, server := jobFlags("submit", stderr)
	model := fs.String("model", "", "model `NAME` (required)")
	version := fs.Int64("version", 0, "model version (0: the newest READY one)")
	input := fs.String("input", "", "input `FILE`: NDJSON, CSV, Parquet or .npy, or any of them gzipped as FILE.gz ('-': stdin)")
	format := fs.String("format", "", "ndjson, csv, parquet or npy (default: the server sniffs it from the content)")
	columns := fs.String("columns", "", "Parquet: the scalar feature `COLUMNS` (a,b,c) of a single input, in order")
	header := fs.String("header", "", "CSV: whether the first line is a header: auto (the default), yes or no")
	watch := fs.Bool("watch", false, "show the upload's progress, then the job's until it finishes")
	label := fs.String("label", "", "the job's `LABEL`: your own name for it, shown in its status (jobs list --label finds it)")
	if _, err := parseArgs(fs, args); err != nil {
		return parseExit(err)
	}
	if *model == "" || *input == "" {
		fmt.Fprintln(stderr, "tiffin jobs submit: --model and --input are required")
		return 2
	}
	body, size, err := openInput(*input)
	if err != nil {
		return fail(stderr, "submit", err)
	}
	defer body.Close()
	name, gzipped := strings.CutSuffix(strings.ToLower(*input), ".gz") // sent as it is, for the server to inflate
	if *format == "" && filepath.Ext(name) == ".csv" {
		*format = "csv"
	}
	q := url.Values{"model": {*model}}
	if *version > 0 {
		q.Set("version", strconv.FormatInt(*version, 10))
	}
	if *format != "" {
		q.Set("format", *format)
	}
	if *columns != "" {
		q.Set("columns", *columns)
	}
	if *header != "" {
		q.Set("header", *header)
	}
	if *watch && *label == "" { // to find the job while the server reads the upload
		*label = "tiffin-jobs-submit-" + randomTag()
	}
	if *label != "" {
		if err := jobs.CheckLabel(*label); err != nil {
			return fail(stderr, "submit", err)
		}
		q.Set("label", *label)
	}
	c, err := server.client()
	if err != nil {
		return fail(stderr, "submit", err)
	}
	if gzipped {
		c.encoding = "gzip"
	}
	var st jobs.Status
	var sending io.Reader = body
	var shown *uploadProgress
	if *watch {
		shown = showUpload(body, size, stdout, c.follower(*label))
		sending = shown
	}
	err = c.do("POST", "?"+q.Encode(), sending, size, &st)
	if shown != nil {
		shown.end()
	}
	if err != nil {
		return fail(stderr, "submit", err)
	}
	if !*watch {
		return printJSON(stdout, map[string]any{"id": st.ID, "status": st.State, "rows_total": st.RowsTotal})
	}
	fmt.Fprintf(stdout, "job %s submitted: %d rows\n", st.ID, st.RowsTotal)
	return watchJob(c, st.ID, stdout, stderr)
}

// openInput opens the input file, or stdin for "-", with its size when
// known (-1 otherwise).
func openInput(path string) (io.ReadCloser, int64, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), -1, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return f, -1, nil
	}
	return f, fi.Size(), nil
}

func jobStatusCmd(args []string, stdout, stderr io.Writer) int {
	fs, server := jobFlags("status", stderr)
	watch := fs.Bool("watch", false, "show progress until the job finishes")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	id, code := oneID(fs, args, stderr)
	if code >= 0 {
		return code
	}
	c, err := server.client()
	if err != nil {
		return fail(stderr, "status", err)
	}
	if *watch {
		return watchJob(c, id, stdout, stderr)
	}
	st, err := c.status(id)
	if err != nil {
		return fail(stderr, "status", err)
	}
	if *asJSON {
		return printJSON(stdout, st)
	}
	fmt.Fprintln(stdout, progressLine(st, newRate()))
	if st.Error != "" {
		fmt.Fprintf(stdout, "error: %s\n", st.Error) // why it failed, as --watch says
	} else if st.FirstError != "" {
		fmt.Fprintf(stdout, "first row error: %s\n", st.FirstError)
	}
	return 0
}

func jobResultsCmd(args []string, stdout, stderr io.Writer) int {
	fs, server := jobFlags("results", stderr)
	format := fs.String("format", "ndjson", "ndjson or parquet")
	out := fs.String("out", "", "write the results to `FILE`, whole or not at all (written aside, then renamed), showing progress on stderr")
	id, code := oneID(fs, args, stderr)
	if code >= 0 {
		return code
	}
	if *out == "" && *format == "parquet" && isTTY(stdout) {
		return fail(stderr, "results", errors.New("the Parquet results are binary: give --out FILE or redirect the output"))
	}
	jc, err := server.client()
	if err != nil {
		return fail(stderr, "results", err)
	}
	resp, err := jc.send(jc.http, "GET", "/"+url.PathEscape(id)+"/results?format="+url.QueryEscape(*format), nil, -1)
	if err != nil {
		return fail(stderr, "results", err)
	}
	defer resp.Body.Close()
	dst, commit := stdout, func() error { return nil }
	if *out != "" {
		f, keep, err := createAside(*out)
		if err != nil {
			return fail(stderr, "results", err)
		}
		defer func() { _ = keep(false) }() // after keep(true), nothing
		dst, commit = f, func() error { return keep(true) }
	}
	var shown *downloadProgress
	if *out != "" || (!isTTY(stdout) && isTTY(stderr)) { // progress where it does not mix with the results
		var rows int64
		if st, err := jc.status(id); err == nil {
			rows = st.RowsTotal
		}
		shown = showDownload(dst, *format == "ndjson", rows, stderr)
		dst = shown
	}
	_, err = io.Copy(dst, resp.Body)
	if shown != nil {
		shown.end()
	}
	if err == nil {
		err = commit()
	}
	if err != nil {
		return fail(stderr, "results", err)
	}
	return 0
}

// createAside creates a file beside path, to be renamed to path once it is
// whole: keep(true) closes it and renames it, keep(false) (after keep(true),
// a no-op) closes and removes it. A download cut short leaves no file that
// looks complete.
func createAside(path string) (*os.File, func(bool) error, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return nil, nil, err
	}
	if err := f.Chmod(0o644); err != nil { // as a shell's redirection makes it, not CreateTemp's 0600
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, nil, err
	}
	kept := false
	return f, func(ok bool) error {
		if kept {
			return nil
		}
		kept = true
		err := f.Close()
		if ok && err == nil {
			if err = os.Rename(f.Name(), path); err == nil {
				return nil
			}
		}
		_ = os.Remove(f.Name())
		return err
	}, nil
}

func jobCancelCmd(args []string, stdout, stderr io.Writer) int {
	return jobDelete(args, "cancel", "", stdout, stderr)
}

func jobDeleteCmd(args []string, stdout, stderr io.Writer) int {
	return jobDelete(args, "delete", "?purge=true", stdout, stderr)
}

func jobDelete(args []string, name, query string, stdout, stderr io.Writer) int {
	fs, server := jobFlags(name, stderr)
	id, code := oneID(fs, args, stderr)
	if code >= 0 {
		return code
	}
	c, err := server.client()
	if err != nil {
		return fail(stderr, name, err)
	}
	var st jobs.Status
	if err := c.do("DELETE", "/"+url.PathEscape(id)+query, nil, -1, &st); err != nil {
		return fail(stderr, name, err)
	}
	state := string(st.State)
	if name == "delete" {
		state = "deleted"
	}
	fmt.Fprintf(stdout, "job %s: %s\n", st.ID, state)
	return 0
}

func jobListCmd(args []string, stdout, stderr io.Writer) int {
	fs, server := jobFlags("list", stderr)
	asJSON := fs.Bool("json", false, "print the list as JSON")
	label := fs.String("label", "", "only the jobs labelled `LABEL` (jobs submit --label)")
	if _, err := parseArgs(fs, args); err != nil {
		return parseExit(err)
	}
	query := ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "label" {
			query = "?label=" + url.QueryEscape(*label)
		}
	})
	var list struct {
		Jobs []jobs.Status `json:"jobs"`
	}
	c, err := server.client()
	if err != nil {
		return fail(stderr, "list", err)
	}
	if err := c.do("GET", query, nil, -1, &list); err != nil {
		return fail(stderr, "list", err)
	}
	if *asJSON {
		return printJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMODEL\tSTATUS\tROWS\tDONE\tFAILED\tCREATED\tLABEL")
	for _, j := range list.Jobs {
		fmt.Fprintf(tw, "%s\t%s:%d\t%s\t%d\t%d\t%d\t%s\t%s\n", j.ID, j.Model, j.Version, j.State,
			j.RowsTotal, j.RowsDone, j.RowsFailed, j.CreatedAt.Local().Format(time.DateTime), j.Label)
	}
	if err := tw.Flush(); err != nil {
		return fail(stderr, "list", err)
	}
	return 0
}

// oneID parses a command that takes one job ID. When there is none to act
// on, it returns the exit code: 0 for -h, else 2.
func oneID(fs *flag.FlagSet, args []string, stderr io.Writer) (string, int) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", parseExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "Usage: tiffin %s [flags] ID\n", fs.Name())
		return "", 2
	}
	return pos[0], -1
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}

func fail(stderr io.Writer, cmd string, err error) int {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("cannot reach the server: %w (set --server or $TIFFIN_SERVER)", ue.Err)
	}
	fmt.Fprintf(stderr, "tiffin jobs %s: %v\n", cmd, err)
	return 1
}

// follower is the progress line of the job labelled label, for
// uploadProgress.follow: "" until it is listed, or when the server cannot
// say. Jobs that carry the label already, when follower is made (before
// the upload is sent), are not it: a label such as "nightly" is reused.
// Each look-up waits at most followTimeout, so that a server busy reading
// the upload holds back no line, nor the submit's answer, for long.
func (c *jobClient) follower(label string) func() string {
	fc := *c
	fc.quick = &http.Client{Transport: c.quick.Transport, Timeout: followTimeout}
	list := func() []jobs.Status {
		var l struct {
			Jobs []jobs.Status `json:"jobs"`
		}
		if fc.do("GET", "?label="+url.QueryEscape(label), nil, -1, &l) != nil {
			return nil
		}
		return l.Jobs
	}
	earlier := map[string]bool{}
	for _, st := range list() {
		earlier[st.ID] = true
	}
	r := newRate()
	return func() string {
		found := list()
		for i := len(found) - 1; i >= 0; i-- {
			if st := found[i]; !earlier[st.ID] {
				r.observe(st, time.Now())
				return progressLine(st, r)
			}
		}
		return ""
	}
}

// followTimeout bounds one look-up of the job an upload makes.
const followTimeout = 2 * time.Second

// randomTag is 12 random letters and digits.
func randomTag() string {
	const digits = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b)
}
