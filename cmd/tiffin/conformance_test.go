//go:build conformance

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxtestdata"
)

// The conformance suite (issue 17), `make conformance`, which `make test`
// runs: every model of ONNX's backend test data served end to end through
// both backends, over JSON, binary and gRPC, and held against its expected
// outputs with ONNX's tolerances, beside what the pinned onnxruntime wheel
// alone does with each model in the same run. It is behind the conformance
// build tag so that the -race run of ./... does not serve the nine zoo CNNs
// (ResNet-50 and VGG-19 among them) through the pure-Go backend under the
// race detector, three times each; `make conformance` runs it without
// -race, and writes build/conformance.md. TIFFIN_CONFORMANCE_RUN=regexp
// keeps only the matching "suite/name" cases.

// conformanceBackends are the backends each model is served through, one
// server (one repository holding every model) per backend.
var conformanceBackends = []string{"onnxruntime", "gorgonia"}

// caseResult is what one backend did with one case.
type caseResult struct {
	ready  bool
	reason string // why it is not READY, or the first failure
	passed bool   // every wire answered within tolerance
	bad    string // an answer a server must not give: a 500 / Internal, or not 503 when UNAVAILABLE
}

func (r caseResult) cell() string {
	switch {
	case r.passed:
		return "pass"
	case !r.ready:
		return "UNAVAILABLE"
	}
	return "FAIL"
}

func TestConformance(t *testing.T) {
	lib := requireORT(t)
	dir, err := onnxtestdata.Dir()
	if errors.Is(err, onnxtestdata.ErrNotFound) {
		t.Skipf("skipping the conformance suite: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cases, err := onnxtestdata.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pattern := os.Getenv("TIFFIN_CONFORMANCE_RUN"); pattern != "" {
		cases = onlyMatching(t, cases, pattern)
	}
	alone := ortAlone(t, dir)

	results := map[string]map[string]caseResult{}
	for _, b := range conformanceBackends {
		results[b] = serveAll(t, lib, b, cases)
	}
	writeReport(t, cases, alone, results)

	for _, c := range cases {
		key := c.Suite + "/" + c.Name
		a, ok := alone[key]
		if !ok {
			t.Errorf("%s: onnxruntime alone has no result", key)
			continue
		}
		ortRes := results["onnxruntime"][key]
		switch {
		case a.OK && !ortRes.passed:
			t.Errorf("%s: onnxruntime alone runs it correctly, tiffin's onnxruntime backend does not: %s", key, ortRes.reason)
		case a.Stage == "load" && ortRes.ready:
			t.Errorf("%s: onnxruntime alone cannot load it (%s), yet tiffin says READY", key, a.Error)
		case a.Stage == "load" && !strings.Contains(ortRes.reason, ortMessage(a.Error)):
			t.Errorf("%s: UNAVAILABLE reason %q does not carry ONNX Runtime's %q", key, ortRes.reason, ortMessage(a.Error))
		}
		for _, b := range conformanceBackends {
			r := results[b][key]
			// ONNX Runtime failing to run a model it loaded (StringNormalizer
			// without its locale) is the engine failing: a 500 carrying
			// ONNX Runtime's own message. Any other 500 is a server bug.
			engineFailed := b == "onnxruntime" && a.Stage == "run" && strings.Contains(r.bad, ortMessage(a.Error))
			if r.bad != "" && !engineFailed {
				t.Errorf("%s via %s: %s", key, b, r.bad)
			}
			// ONNX Runtime's refusals are checked against its own message
			// above; the pure-Go backend's must name what it refused.
			if !r.ready && b == "gorgonia" && !refusalNamed(r.reason, c.Name) {
				t.Errorf("%s via %s: UNAVAILABLE, but the reason %q does not name the model and the node, input or output refused", key, b, r.reason)
			}
		}
	}
}

// onlyMatching keeps the cases whose "suite/name" matches pattern, for a
// quick run over a few (TIFFIN_CONFORMANCE_RUN=sequence make conformance).
func onlyMatching(t *testing.T, cases []onnxtestdata.Case, pattern string) []onnxtestdata.Case {
	t.Helper()
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("TIFFIN_CONFORMANCE_RUN: %v", err)
	}
	var kept []onnxtestdata.Case
	for _, c := range cases {
		if re.MatchString(c.Suite + "/" + c.Name) {
			kept = append(kept, c)
		}
	}
	t.Logf("TIFFIN_CONFORMANCE_RUN=%q: %d of %d cases", pattern, len(kept), len(cases))
	return kept
}

// ortResult is one case as ort_alone.py saw it.
type ortResult struct {
	OK    bool   `json:"ok"`
	Stage string `json:"stage"`
	Error string `json:"error"`
}

// ortAlone runs backends/onnxtestdata/ort_alone.py with the venv's
// onnxruntime, in this run, and returns its verdict per "suite/name".
func ortAlone(t *testing.T, dir string) map[string]ortResult {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	python := filepath.Join(root, onnxtestdata.VenvDir, "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Skipf("skipping the conformance suite: no %s to run onnxruntime alone (run `make conformance-venv`)", python)
	}
	out := filepath.Join(t.TempDir(), "ort.json")
	cmd := exec.Command(python, filepath.Join(root, "backends", "onnxtestdata", "ort_alone.py"), dir, out)
	cmd.Env = append(os.Environ(), "ORT_LOGGING_LEVEL=3")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ort_alone.py: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]ortResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// ortPrefix is how Python's onnxruntime wraps the C library's message.
var ortPrefix = regexp.MustCompile(`^\w+: \[ONNXRuntimeError\] : \d+ : \w+ : `)

// ortMessage is the part of ONNX Runtime's own message that tiffin's reason
// must carry: its last words, after any file path (tiffin shortens paths).
func ortMessage(pyErr string) string {
	msg := strings.TrimSpace(ortPrefix.ReplaceAllString(pyErr, ""))
	if len(msg) > 40 {
		msg = msg[len(msg)-40:]
	}
	return msg
}

// refusalNamed reports whether an UNAVAILABLE reason names the model and
// what in it was refused: a node (with its op), an input or an output.
var refusedPart = regexp.MustCompile(`node \d+|[Ii]nput "|[Oo]utput "|op \w+`)

func refusalNamed(reason, model string) bool {
	return strings.Contains(reason, `"`+model+`"`) && refusedPart.MatchString(reason)
}

// serveAll writes one repository holding every case for backend, serves
// it, and runs each case.
func serveAll(t *testing.T, lib, backend string, cases []onnxtestdata.Case) map[string]caseResult {
	t.Helper()
	repo := t.TempDir()
	for _, c := range cases {
		model, err := os.ReadFile(c.Model)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(repo, c.Name, "1", "model.onnx"), model)
		writeFile(t, filepath.Join(repo, c.Name, "config.yaml"), []byte("backend: "+backend+"\n"))
	}
	start := time.Now()
	gs := startGRPC(t, repo, nil)
	t.Logf("%s: %d models loaded in %v", backend, len(cases), time.Since(start).Round(time.Millisecond))
	res := map[string]caseResult{}
	for _, c := range cases {
		res[c.Suite+"/"+c.Name] = serveCase(t, gs, c)
	}
	gs.shutdown()
	return res
}

// serveCase checks one model's state and, when READY, its answers over
// every wire; when not, that its reason is in the repository index, that
// ready and metadata answer 503 with it, and that inference is refused
// with 503 / Unavailable.
func serveCase(t *testing.T, gs *grpcServer, c onnxtestdata.Case) caseResult {
	t.Helper()
	inputs, want, err := c.Load()
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	r := gs.do(t, "GET", "/v2/models/"+c.Name+"/ready", nil, nil)
	if r.status != 200 {
		res := caseResult{reason: modelReason(t, gs, c.Name)}
		for _, route := range []string{"/ready", ""} {
			if r := gs.do(t, "GET", "/v2/models/"+c.Name+route, nil, nil); !carriesReason(r, res.reason) {
				res.bad = fmt.Sprintf("GET %s answered %d %s, want 503 with the index's reason", route, r.status, r.body)
			}
		}
		for _, w := range wires {
			if _, err := inferWire(gs, c.Name, w, inputs); err == nil || !isUnavailable(err) {
				res.bad = fmt.Sprintf("%s infer on an UNAVAILABLE model answered %v, want 503 / Unavailable", w.name, err)
			}
		}
		return res
	}
	res := caseResult{ready: true, passed: true}
	for _, w := range wires {
		got, err := inferWire(gs, c.Name, w, inputs)
		if err == nil {
			err = compareOutputs(got, want, c.RTol, c.ATol)
		}
		if err != nil {
			if res.passed {
				res.reason = w.name + ": " + err.Error()
			}
			res.passed = false
			if isServerError(err) && res.bad == "" {
				res.bad = w.name + ": " + err.Error()
			}
		}
	}
	return res
}

// isUnavailable reports whether a client error is HTTP 503 or gRPC
// Unavailable.
func isUnavailable(err error) bool {
	return strings.HasPrefix(err.Error(), "HTTP 503") || strings.HasPrefix(err.Error(), "Unavailable:")
}

// modelReason reads a model's reason from the repository index.
func modelReason(t *testing.T, gs *grpcServer, name string) string {
	t.Helper()
	r := gs.postJSON(t, "/v2/repository/index", map[string]any{})
	var index []struct{ Name, State, Reason string }
	if err := json.Unmarshal(r.body, &index); err != nil {
		t.Fatalf("repository index: %v: %s", err, r.body)
	}
	for _, m := range index {
		if m.Name == name {
			if m.State != "UNAVAILABLE" {
				return fmt.Sprintf("not ready, yet the index says %s", m.State)
			}
			return m.Reason
		}
	}
	return "not in the repository index"
}

// carriesReason reports whether an answer is a 503 whose V2 error carries
// reason.
func carriesReason(r httpResult, reason string) bool {
	var body struct{ Error string }
	return r.status == 503 && json.Unmarshal(r.body, &body) == nil && strings.Contains(body.Error, reason)
}

// compareOutputs holds every expected output against the answer of the
// same name.
func compareOutputs(got, want []backends.Tensor, rtol, atol float64) error {
	byName := map[string]backends.Tensor{}
	for _, g := range got {
		byName[g.Name] = g
	}
	for _, w := range want {
		g, ok := byName[w.Name]
		if !ok {
			return fmt.Errorf("no output %q in the answer", w.Name)
		}
		if err := onnxtestdata.Close(g, w, rtol, atol); err != nil {
			return err
		}
	}
	return nil
}

// writeReport writes build/conformance.md (the summary, then a row per
// model: what ONNX Runtime alone, tiffin's onnxruntime backend and its
// pure-Go backend did, and the reason for any refusal or failure) and logs it.
func writeReport(t *testing.T, cases []onnxtestdata.Case, alone map[string]ortResult, results map[string]map[string]caseResult) {
	t.Helper()
	var rows strings.Builder
	type tally struct{ alone, ort, gorgonia, ortOfAlone, goOfAlone, n int }
	sums := map[bool]*tally{false: {}, true: {}} // keyed by "is a light model"
	for _, c := range cases {
		key := c.Suite + "/" + c.Name
		a, o, g := alone[key], results["onnxruntime"][key], results["gorgonia"][key]
		s := sums[c.Suite == "light"]
		s.n++
		count := func(b bool) int {
			if b {
				return 1
			}
			return 0
		}
		s.alone += count(a.OK)
		s.ort += count(o.passed)
		s.gorgonia += count(g.passed)
		s.ortOfAlone += count(a.OK && o.passed)
		s.goOfAlone += count(a.OK && g.passed)
		aloneCell := "pass"
		if !a.OK {
			aloneCell = "fails at " + a.Stage
		}
		var why []string
		if !o.passed {
			why = append(why, "onnxruntime: "+o.reason)
		}
		if !g.passed {
			why = append(why, "gorgonia: "+g.reason)
		}
		fmt.Fprintf(&rows, "| %s | %s | %s | %s | %s | %s |\n", c.Name, c.Suite, aloneCell, o.cell(), g.cell(), cellText(strings.Join(why, "; ")))
	}
	var b strings.Builder
	b.WriteString("# Conformance on ONNX's backend test models\n\n")
	b.WriteString("Written by `make conformance` (cmd/tiffin/conformance_test.go). Pass: the answer over JSON, binary and gRPC matches the expected outputs within ONNX's tolerances.\n\n")
	b.WriteString("| models | onnxruntime alone | tiffin onnxruntime | tiffin gorgonia (pure Go) | gorgonia, of those ORT alone passes |\n|---|---|---|---|---|\n")
	for _, light := range []bool{false, true} {
		s := sums[light]
		what := fmt.Sprintf("%d small graphs (pytorch-converted, pytorch-operator, simple)", s.n)
		if light {
			what = fmt.Sprintf("%d zoo CNNs (light)", s.n)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d of %d |\n", what, s.alone, s.ort, s.gorgonia, s.goOfAlone, s.alone)
	}
	b.WriteString("\n| model | suite | onnxruntime alone | tiffin onnxruntime | tiffin gorgonia | reason |\n|---|---|---|---|---|---|\n")
	b.WriteString(rows.String())
	t.Log("\n" + b.String())
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "build", "conformance.md")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("report written to %s", path)
}

// cellText makes a reason fit a table cell: one line, no pipes, bounded.
func cellText(s string) string {
	s = strings.NewReplacer("\n", " ", "|", "\\|").Replace(s)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
