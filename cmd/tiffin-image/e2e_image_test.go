package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/backends/onnx/onnxtest"
)

// TestImageRunsIsolated builds the image as `make image` does, reads it
// back from the OCI layout, unpacks its layers into a root filesystem,
// and runs its entrypoint there, isolated (new mount, PID, UTS and IPC
// namespaces and the image as root, as the image's user, in its working
// folder, with exactly its environment), on loopback: it must get ready
// and answer an inference with the reference values.
func TestImageRunsIsolated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tiffin and a 100 MB image; skipped with -short")
	}
	lib := onnxtest.LibraryPath(t)
	bin := filepath.Join(t.TempDir(), "tiffin")
	if out, err := exec.Command("go", "build", "-o", bin, "../tiffin").CombinedOutput(); err != nil {
		t.Fatalf("go build tiffin: %v\n%s", err, out)
	}
	// The builder runs as `make image` runs it: a program of its own, built
	// without -race (compressing 100 MB under the race detector takes minutes).
	builder := filepath.Join(t.TempDir(), "tiffin-image")
	if out, err := exec.Command("go", "build", "-o", builder, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build tiffin-image: %v\n%s", err, out)
	}
	out := t.TempDir()
	log, err := exec.Command(builder, "--binary", bin, "--ort-dir", filepath.Dir(lib), "--out", out, "--tag", "tiffin:test").CombinedOutput()
	if err != nil {
		t.Fatalf("tiffin-image: %v\n%s", err, log)
	}
	t.Log(strings.TrimSpace(string(log)))

	img := readLayout(t, filepath.Join(out, "oci"))
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	checkTarball(t, filepath.Join(out, "tiffin.tar"), img)
	t.Run("docker load", func(t *testing.T) { dockerLoad(t, filepath.Join(out, "tiffin.tar")) })
	t.Run("skopeo", func(t *testing.T) { skopeoReads(t, out, cf.Config.Entrypoint) })
	if want := []string{binPath, "serve", "--model-repository", modelDir}; !equal(cf.Config.Entrypoint, want) {
		t.Fatalf("entrypoint %q, want %q", cf.Config.Entrypoint, want)
	}
	uid, gid := imageUser(t, cf.Config.User)
	if uid == 0 {
		t.Fatalf("the image runs as root (User %q)", cf.Config.User)
	}

	rootfs := t.TempDir()
	unpack(t, img, rootfs)
	checkPasswd(t, rootfs, uid)
	// deploy/Dockerfile copies what --rootfs writes: the same files as the image.
	dockerRoot := t.TempDir()
	if out, err := exec.Command(builder, "--binary", bin, "--ort-dir", filepath.Dir(lib), "--rootfs", dockerRoot).CombinedOutput(); err != nil {
		t.Fatalf("tiffin-image --rootfs: %v\n%s", err, out)
	}
	if a, b := listTree(t, rootfs), listTree(t, dockerRoot); a != b {
		t.Fatalf("--rootfs differs from the image's layers:\nimage:\n%s\n--rootfs:\n%s", a, b)
	}
	if err := os.Chmod(rootfs, 0o755); err != nil { // t.TempDir is 0700; an image's / is not
		t.Fatal(err)
	}
	if err := modelgen.WriteRepository(filepath.Join(rootfs, modelDir)); err != nil { // what `tiffin demo-models /models` writes
		t.Fatal(err)
	}

	httpPort, grpcPort := freePort(t), freePort(t)
	args := append(append(append([]string(nil), cf.Config.Entrypoint...), cf.Config.Cmd...),
		"--host", "127.0.0.1", "--http-port", strconv.Itoa(httpPort), "--grpc-port", strconv.Itoa(grpcPort))
	cmd, how := isolated(t, rootfs, cf.Config.WorkingDir, uid, gid, args)
	cmd.Env = cf.Config.Env
	logs := serverLog(filepath.Join(t.TempDir(), "server.log"))
	f, err := os.Create(string(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", how, err)
	}
	t.Logf("running the image %s", how)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stop(t, cmd, exited, logs)

	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	waitReady(t, base, exited, logs)
	x := []float32{0.5, -1, 2, 0.25, 3, -0.75, 1, 0, 1.5, -2, 0.125, 4, -3, 2.5, 0.0625, -0.5,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	got := inferFP32(t, base, "mlp-small", "input", []int{2, 16}, x)
	want := modelgen.MLPSmall().Forward(x, 2)
	if len(got) != len(want) {
		t.Fatalf("mlp-small: %d outputs, want %d", len(got), len(want))
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("mlp-small output[%d] = %v, want %v\n%s", i, got[i], want[i], logs.String())
		}
	}
	if os.Geteuid() == 0 { // the job queue's store, made by the server: owned by the image's user
		fi, err := os.Stat(filepath.Join(rootfs, cf.Config.WorkingDir, "data"))
		if err != nil {
			t.Fatalf("the server made no ./data in its working folder: %v", err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid {
			t.Fatalf("./data is owned by uid %d, want the image's %d: the server did not run as its user", st.Uid, uid)
		}
	}
}

// readLayout opens the one image of an OCI layout, checking its name.
func readLayout(t *testing.T, dir string) v1.Image {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "tiffin:test" {
		t.Fatalf("the layout's index: %+v", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// checkTarball reads the `docker load` tarball back: it names the tag and
// holds the same config and layers as the OCI layout.
func checkTarball(t *testing.T, path string, img v1.Image) {
	t.Helper()
	tag, err := name.NewTag("tiffin:test")
	if err != nil {
		t.Fatal(err)
	}
	timg, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("%s is not an image tarball docker load takes: %v", path, err)
	}
	for _, im := range []v1.Image{img, timg} {
		if _, err := im.ConfigName(); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := img.ConfigName()
	b, _ := timg.ConfigName()
	if a != b {
		t.Fatalf("tarball config %s, OCI layout config %s", b, a)
	}
}

// dockerLoad loads the tarball into a Docker daemon, when one answers,
// and checks the loaded image's entrypoint and user.
func dockerLoad(t *testing.T, path string) {
	requireDocker(t)
	out, err := exec.Command("docker", "load", "-i", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tiffin:test") {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	defer func() { _ = exec.Command("docker", "rmi", "tiffin:test").Run() }()
	out, err = exec.Command("docker", "image", "inspect", "--format", "{{json .Config.Entrypoint}} {{.Config.User}}", "tiffin:test").CombinedOutput()
	want := `["/usr/local/bin/tiffin","serve","--model-repository","/models"] 65532:65532`
	if err != nil || strings.TrimSpace(string(out)) != want {
		t.Fatalf("docker image inspect: %v: %s, want %s", err, out, want)
	}
}

// skopeoReads has containers/image (the library behind podman and
// skopeo, written apart from go-containerregistry) read both outputs:
// the tarball as `docker load` reads it, and the OCI layout, copying
// each so every blob's digest is checked.
func skopeoReads(t *testing.T, out string, entrypoint []string) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("no skopeo here (make test installs Debian's)")
	}
	archive := "docker-archive:" + filepath.Join(out, "tiffin.tar")
	b, err := exec.Command("skopeo", "inspect", "--config", archive).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect %s: %v\n%s", archive, err, b)
	}
	var cfg struct {
		Config struct{ Entrypoint []string }
	}
	if err := json.Unmarshal(b, &cfg); err != nil || !equal(cfg.Config.Entrypoint, entrypoint) {
		t.Fatalf("skopeo reads the tarball's entrypoint as %q (%v), want %q", cfg.Config.Entrypoint, err, entrypoint)
	}
	for _, src := range []string{archive, "oci:" + filepath.Join(out, "oci")} {
		if b, err := exec.Command("skopeo", "copy", "-q", src, "dir:"+t.TempDir()).CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy %s: %v\n%s", src, err, b)
		}
	}
}

// imageUser parses the numeric "uid:gid" the image runs as.
func imageUser(t *testing.T, user string) (int, int) {
	t.Helper()
	u, g, ok := strings.Cut(user, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("image User %q is not numeric uid:gid", user)
	}
	return uid, gid
}

func unpack(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		err = extractTar(rc, dir)
		rc.Close()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
	}
}

// listTree lists every path under dir with its type, permissions, owner,
// size and link target: what two root filesystems must agree on.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		target, _ := os.Readlink(p)
		size := fi.Size()
		if fi.IsDir() {
			size = 0
		}
		fmt.Fprintf(&b, "%s %v %d:%d %d %s\n", strings.TrimPrefix(p, dir), fi.Mode(), st.Uid, st.Gid, size, target)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func checkPasswd(t *testing.T, rootfs string, uid int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rootfs, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, ":"); len(f) == 7 && f[2] == strconv.Itoa(uid) {
			return
		}
	}
	t.Fatalf("/etc/passwd has no entry for uid %d:\n%s", uid, b)
}

// isolated returns the command that runs args in rootfs, as uid:gid, in
// dir: with unshare's namespaces when they can be made here (as root, or
// in a user namespace), else, as root, with a plain chroot. It skips the
// test, with the reasons, when neither works.
func isolated(t *testing.T, rootfs, dir string, uid, gid int, args []string) (*exec.Cmd, string) {
	t.Helper()
	ns := []string{"--fork", "--kill-child=SIGKILL", "--pid", "--mount", "--uts", "--ipc", "--mount-proc=/proc"}
	if os.Geteuid() == 0 {
		ns = append(ns, "--setgid="+strconv.Itoa(gid), "--setuid="+strconv.Itoa(uid))
	} else {
		ns = append(ns, "--map-user="+strconv.Itoa(uid), "--map-group="+strconv.Itoa(gid))
	}
	var why []string
	if path, err := exec.LookPath("unshare"); err != nil {
		why = append(why, "no unshare command")
	} else {
		probe := exec.Command(path, append(ns[:len(ns)-2:len(ns)-2], "true")...)
		if os.Geteuid() != 0 {
			probe = exec.Command(path, append([]string{"--user", "--map-root-user"}, append(ns[:len(ns)-2:len(ns)-2], "true")...)...)
		}
		if out, err := probe.CombinedOutput(); err != nil {
			why = append(why, fmt.Sprintf("unshare: %v: %s", err, bytes.TrimSpace(out)))
		} else {
			if err := os.MkdirAll(filepath.Join(rootfs, "proc"), 0o555); err != nil {
				t.Fatal(err)
			}
			full := append(append(ns, "--root="+rootfs, "--wd="+dir, "--"), args...)
			cmd := exec.Command(path, full...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			return cmd, "under unshare (mount, PID, UTS, IPC namespaces; /proc mounted; chroot)"
		}
	}
	if os.Geteuid() == 0 {
		cmd := &exec.Cmd{Path: args[0], Args: args, Dir: dir, SysProcAttr: &syscall.SysProcAttr{
			Chroot: rootfs, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Setpgid: true}}
		return cmd, "in a plain chroot (" + strings.Join(why, "; ") + ")"
	}
	t.Skipf("cannot isolate the image here: %s; and a plain chroot needs root", strings.Join(why, "; "))
	return nil, ""
}

// stop sends SIGTERM to the command's process group, then SIGKILL.
func stop(t *testing.T, cmd *exec.Cmd, exited <-chan error, logs serverLog) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-exited:
		t.Logf("server exited after SIGTERM: %v", err)
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Logf("server exited after SIGKILL: %v", <-exited)
		t.Errorf("the image's server did not stop within 20s of SIGTERM")
	}
	if t.Failed() {
		t.Logf("server output:\n%s", logs.String())
	}
}

// waitReady waits for 200 on /v2/health/ready; a server that exits
// fails the test at once.
func waitReady(t *testing.T, base string, exited chan error, logs serverLog) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if r, err := http.Get(base + "/v2/health/ready"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-exited:
			exited <- err // for stop
			t.Fatalf("the image's server exited (%v) before it was ready:\n%s", err, logs.String())
		default:
		}
		if ctx.Err() != nil {
			t.Fatalf("the image's server did not get ready within 60s:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// inferFP32 posts one FP32 input and returns the first output's data.
func inferFP32(t *testing.T, base, model, input string, shape []int, x []float32) []float32 {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{
		{"name": input, "datatype": "FP32", "shape": shape, "data": x}}})
	resp, err := http.Post(base+"/v2/models/"+model+"/infer", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("infer %s: %d %s", model, resp.StatusCode, b)
	}
	var r struct {
		Outputs []struct {
			Data []float32 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Outputs) == 0 {
		t.Fatalf("infer %s: %v: %s", model, err, b)
	}
	return r.Outputs[0].Data
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

// serverLog is the file the server writes its output to.
type serverLog string

func (l serverLog) String() string {
	b, _ := os.ReadFile(string(l))
	return string(b)
}
