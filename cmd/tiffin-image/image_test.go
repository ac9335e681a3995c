package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends/onnx/onnxtest"
)

// TestElfDepsMatchesLdd checks the closure against the host's own ldd,
// for ONNX Runtime (libstdc++, libgcc_s, libm, libc, ld-linux...) and
// a system program.
func TestElfDepsMatchesLdd(t *testing.T) {
	ldd, err := exec.LookPath("ldd")
	if err != nil {
		t.Skip("no ldd on this host to compare with")
	}
	roots := []string{"/bin/sh"}
	if lib, ok := onnxtest.Find(); ok {
		roots = append(roots, lib)
	}
	for _, root := range roots {
		got, err := elfDeps([]string{root}, loaderDirs())
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(ldd, root).Output()
		if err != nil {
			t.Fatalf("ldd %s: %v", root, err)
		}
		// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
		re := regexp.MustCompile(`(?m)^\s*(?:\S+ => )?(/\S+) \(0x`)
		var want []string
		for _, m := range re.FindAllStringSubmatch(string(out), -1) {
			want = append(want, m[1])
		}
		if strings.Join(realpaths(t, got), " ") != strings.Join(realpaths(t, want), " ") {
			t.Fatalf("%s: resolved %v\nldd says %v", root, got, want)
		}
	}
}

// realpaths is the sorted set of files ps name (a library given alone
// finds ld-linux by search, where ldd shows the interpreter's path).
func realpaths(t *testing.T, ps []string) []string {
	t.Helper()
	set := map[string]bool{}
	for _, p := range ps {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Fatal(err)
		}
		set[r] = true
	}
	var out []string
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func TestElfDepsNamesAMissingLibrary(t *testing.T) {
	_, err := findLibrary("libnot-there.so.9", 2, 62, []string{t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not found in") {
		t.Fatalf("got %v, want not found naming the folders", err)
	}
	if _, err := elfDeps([]string{"image_test.go"}, nil); err == nil || !strings.Contains(err.Error(), "image_test.go: not an ELF file") {
		t.Fatalf("a non-ELF root: %v", err)
	}
}

// TestHostPathKeepsSymlinks: a path reached through symbolic links (as
// /lib/x86_64-linux-gnu/libc.so.6 is through /lib -> usr/lib) is copied
// with each link, so it resolves in the image as on the host.
func TestHostPathKeepsSymlinks(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "usr/lib"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "usr/lib/libx.so.1.2"), []byte("x"), 0o644))
	must(t, os.Symlink("libx.so.1.2", filepath.Join(dir, "usr/lib/libx.so.1")))
	must(t, os.Symlink("usr/lib", filepath.Join(dir, "lib")))
	tr := newTree()
	must(t, tr.hostPath(filepath.Join(dir, "lib/libx.so.1")))
	for p, want := range map[string]string{
		"lib": "symlink usr/lib", "usr/lib/libx.so.1": "symlink libx.so.1.2", "usr/lib/libx.so.1.2": "file", "usr/lib": "dir",
	} {
		e := tr.entries[filepath.Join(dir, p)]
		got := ""
		switch {
		case e == nil:
			got = "missing"
		case e.typ == tar.TypeSymlink:
			got = "symlink " + e.target
		case e.typ == tar.TypeReg:
			got = "file"
		case e.typ == tar.TypeDir:
			got = "dir"
		}
		if got != want {
			t.Errorf("%s: %s, want %s", p, got, want)
		}
	}
}

// TestLayerIsReproducible: the same tree gives the same bytes, sorted,
// with fixed times and numeric owners, and unpacks to the same files.
func TestLayerIsReproducible(t *testing.T) {
	mk := func() *tree {
		tr := newTree()
		tr.file("/etc/passwd", 0o644, []byte("tiffin:x:65532:65532::/:/sbin/nologin\n"))
		tr.dir("/var/lib/tiffin", 0o755, 65532, 65532)
		tr.dir("/tmp", 0o1777, 0, 0)
		return tr
	}
	var a, b bytes.Buffer
	when := time.Unix(1700000000, 0)
	must(t, mk().writeTar(&a, when))
	must(t, mk().writeTar(&b, when))
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two writes of one tree differ")
	}
	var names []string
	r := tar.NewReader(bytes.NewReader(a.Bytes()))
	for h, err := r.Next(); err == nil; h, err = r.Next() {
		if !h.ModTime.Equal(when) || h.Uname != "" {
			t.Errorf("%s: time %v, owner name %q", h.Name, h.ModTime, h.Uname)
		}
		names = append(names, h.Name)
	}
	if got := strings.Join(names, " "); got != "etc/ etc/passwd tmp/ var/ var/lib/ var/lib/tiffin/" {
		t.Fatalf("entries %s", got)
	}
	dir := t.TempDir()
	must(t, extractTar(bytes.NewReader(a.Bytes()), dir))
	fi, err := os.Stat(filepath.Join(dir, "tmp"))
	must(t, err)
	if fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Fatalf("/tmp unpacked as %v, want sticky 0777", fi.Mode())
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	for _, name := range []string{"../evil", "/abs/evil", "a/.wh.b"} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		must(t, tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}))
		must(t, tw.Close())
		if err := extractTar(&buf, t.TempDir()); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%q: %v, want an error naming it", name, err)
		}
	}
}

// TestDockerfileMatchesTheBuilder: deploy/Dockerfile's final stage says
// what imageConfig says, so the two images run the same way.
func TestDockerfileMatchesTheBuilder(t *testing.T) {
	b, err := os.ReadFile("../../deploy/Dockerfile")
	must(t, err)
	lines := strings.Split(string(b), "\n")
	last := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			last = i
		}
	}
	if lines[last] != "FROM scratch" {
		t.Fatalf("the final stage is %q, want FROM scratch (the builder's files and nothing else)", lines[last])
	}
	got := map[string]string{}
	for _, l := range lines[last:] {
		if k, v, ok := strings.Cut(l, " "); ok && k == strings.ToUpper(k) {
			got[k] = v
		}
	}
	cfg := imageConfig()
	entry, _ := json.Marshal(cfg.Entrypoint)
	var ports []string
	for p := range cfg.ExposedPorts {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	want := map[string]string{
		"USER": cfg.User, "WORKDIR": cfg.WorkingDir, "ENV": strings.Join(cfg.Env, " "),
		"EXPOSE": strings.Join(ports, " "), "ENTRYPOINT": strings.ReplaceAll(string(entry), ",", ", "),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("deploy/Dockerfile %s %s; the builder says %s", k, got[k], v)
		}
	}
	if !strings.Contains(string(b), "--rootfs /rootfs") || !strings.Contains(string(b), "COPY --from=build /rootfs/ /") {
		t.Error("deploy/Dockerfile no longer copies the builder's root filesystem")
	}
}

// TestDockerBuild builds deploy/Dockerfile when asked to and a daemon is
// there: it pulls golang:1.26-bookworm and the Go modules.
func TestDockerBuild(t *testing.T) {
	if os.Getenv("TIFFIN_DOCKER_BUILD") != "1" {
		t.Skip("needs a Docker daemon and the network: set TIFFIN_DOCKER_BUILD=1 to build deploy/Dockerfile")
	}
	requireDocker(t)
	out, err := exec.Command("docker", "build", "-f", "deploy/Dockerfile", "-t", "tiffin:dockerfile-test", "../..").CombinedOutput()
	if err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "tiffin:dockerfile-test").Run() })
}

// requireDocker skips unless a Docker daemon answers.
func requireDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker command on this host")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answers here: %s", bytes.TrimSpace(out))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
