package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/jobs"
)

// These tests run tiffin (and nats-server) as processes, to kill them.

// buildTiffin builds the tiffin binary into a test folder.
func buildTiffin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tiffin")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build tiffin: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer collects a process's output for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type proc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	base string // http://host:port, for tiffin
}

// startProc runs a command until the test ends (or kill).
func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	return startCmd(t, exec.Command(bin, args...))
}

// startCmd starts a prepared command (its env, its folder) until the test
// ends (or kill); its output goes to the test's log if the test fails.
func startCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd, out: &lockedBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), p.out.String())
		}
	})
	return p
}

// kill sends SIGKILL and reaps the process.
func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// startTiffin runs `tiffin serve` on a free port and waits until it is ready.
func startTiffin(t *testing.T, bin, repo string, args ...string) *proc {
	t.Helper()
	port := freePort(t)
	args = append([]string{"serve", "--model-repository", repo, "--host", "127.0.0.1",
		"--http-port", strconv.Itoa(port), "--grpc-port", "0", "--ort-library", requireORT(t)}, args...)
	p := startProc(t, bin, args...)
	p.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r, err := http.Get(p.base + "/v2/health/ready"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tiffin not ready within 60s:\n%s", p.out.String())
		}
	}
}

// TestE2EJobsSharedExternalQueue runs two tiffin replicas on one external
// nats-server: a job submitted to one is split between both, and every row
// appears exactly once.
func TestE2EJobsSharedExternalQueue(t *testing.T) {
	natsBin, _ := filepath.Abs("../../bin/nats-server")
	if _, err := os.Stat(natsBin); err != nil {
		t.Skipf("%s not found: run `make nats-server` to build it from the pinned module", natsBin)
	}
	requireORT(t)
	port := freePort(t)
	startProc(t, natsBin, "-js", "-sd", t.TempDir(), "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	waitTCP(t, port)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	bin, repo := buildTiffin(t), demoRepo(t)
	flags := []string{"--queue-url", url, "--jobs-chunk-bytes", "10240", "--jobs-workers", "2"}
	a := startTiffin(t, bin, repo, flags...)
	b := startTiffin(t, bin, repo, flags...)

	const rows = 6000
	st := submitJob(t, a.base, "model=mlp-small", mlpNDJSON(rows, nil))
	st = waitJob(t, b.base, st.ID, 2*time.Minute) // the job store is shared: either replica answers
	if st.State != jobs.Succeeded || st.RowsDone != rows || st.RowsFailed != 0 || st.ChunksDone != st.Chunks {
		t.Fatalf("%+v", st)
	}
	if len(st.Replicas) != 2 {
		t.Fatalf("chunks by replica %v: want both replicas to have scored some", st.Replicas)
	}
	t.Logf("chunks scored by replica: %v", st.Replicas)
	checkMLPLines(t, jobResults(t, b.base, st.ID, rows), nil)
}

// TestE2EJobResumesAfterKill kills a replica with SIGKILL mid-job and starts
// it again on the same --data-dir: the job finishes with every row present
// exactly once. NDJSON and Parquet inputs.
func TestE2EJobResumesAfterKill(t *testing.T) {
	requireORT(t)
	t.Run("ndjson", func(t *testing.T) { resumeAfterKill(t, "20480", 60000, mlpNDJSON(60000, nil)) })
	t.Run("parquet", func(t *testing.T) { resumeAfterKill(t, "2048", 100000, mlpParquet(t, 100000, 30000)) })
}

func resumeAfterKill(t *testing.T, chunkBytes string, rows int, body []byte) {
	bin, repo, data := buildTiffin(t), demoRepo(t), t.TempDir()
	flags := []string{"--data-dir", data, "--jobs-workers", "1", "--jobs-chunk-bytes", chunkBytes, "--jobs-ack-wait", "2s"}
	first := startTiffin(t, bin, repo, flags...)
	st := submitJob(t, first.base, "model=mlp-small", body)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		st = getStatus(t, first.base, st.ID)
		if st.ChunksDone >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress: %+v", st)
		}
	}
	first.kill()
	if st.State.Finished() {
		t.Fatalf("the job finished before the kill; make it bigger: %+v", st)
	}
	t.Logf("killed at %d of %d rows", st.RowsDone, rows)

	second := startTiffin(t, bin, repo, flags...)
	st = waitJob(t, second.base, st.ID, 2*time.Minute)
	if st.State != jobs.Succeeded || st.RowsDone != int64(rows) || st.ChunksDone != st.Chunks || len(st.Replicas) != 2 {
		t.Fatalf("after the restart: %+v", st)
	}
	checkMLPLines(t, jobResults(t, second.base, st.ID, rows), nil)
}

func waitTCP(t *testing.T, port int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on port %d: %v", port, err)
		}
	}
}
