// Command tiffin-image builds tiffin's container image without a
// container daemon: bin/tiffin, the ONNX Runtime library and every shared
// library the two need (found as the dynamic loader finds them, and
// copied from this host), a non-root user, and the entrypoint `tiffin
// serve --model-repository /models`. It writes an OCI image layout and a
// tarball that `docker load` takes:
//
//	tiffin-image --binary bin/tiffin --ort-dir third_party/onnxruntime/lib --out build/image
//
// With --rootfs DIR it writes the image's root filesystem into DIR
// instead, which is how deploy/Dockerfile builds the same image with
// Docker. Layers are reproducible: fixed times (SOURCE_DATE_EPOCH, or
// 1970) and numeric owners, so the same inputs give the same digest.
//
// It owns only the image's making; it imports nothing of tiffin.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("tiffin-image", flag.ContinueOnError)
	fl.SetOutput(stderr)
	binary := fl.String("binary", "bin/tiffin", "the tiffin binary to put in the image")
	ortDirFlag := fl.String("ort-dir", "third_party/onnxruntime/lib", "the folder holding libonnxruntime.so.1")
	out := fl.String("out", "build/image", "where to write oci/ (the OCI layout) and tiffin.tar (for docker load)")
	tag := fl.String("tag", "", "the image's name and tag (default tiffin:<the binary's version>)")
	rootfs := fl.String("rootfs", "", "write the image's root filesystem into this folder instead of an image")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if err := buildImage(inputs{binary: *binary, ortDir: *ortDirFlag}, *out, *tag, *rootfs, stdout); err != nil {
		fmt.Fprintf(stderr, "tiffin-image: %v\n", err)
		return 1
	}
	return 0
}

func buildImage(in inputs, out, tag, rootfs string, stdout io.Writer) error {
	created, err := sourceDate()
	if err != nil {
		return err
	}
	layers, err := in.layers()
	if err != nil {
		return err
	}
	if rootfs != "" {
		return writeRootfs(layers, rootfs, created)
	}
	version, err := binaryVersion(in.binary)
	if err != nil {
		return err
	}
	if tag == "" {
		tag = "tiffin:" + version
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("--tag %q: %w", tag, err)
	}
	scratch := filepath.Join(out, ".layers")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	img, err := build(in, layers, created, version, scratch)
	if err != nil {
		return err
	}
	ociDir := filepath.Join(out, "oci")
	if err := os.RemoveAll(ociDir); err != nil {
		return err
	}
	lp, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag}),
	); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	tarPath := filepath.Join(out, "tiffin.tar")
	if err := tarball.WriteToFile(tarPath, ref, img); err != nil {
		return fmt.Errorf("writing %s: %w", tarPath, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s\n  OCI layout: %s\n  docker load -i %s\n", tag, digest, ociDir, tarPath)
	return nil
}

// writeRootfs unpacks the layers, in order, into dir.
func writeRootfs(layers []layer, dir string, created time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, l := range layers {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(l.tree.writeTar(pw, created)) }()
		if err := extractTar(pr, dir); err != nil {
			pr.CloseWithError(err)
			return fmt.Errorf("layer %q: %w", l.name, err)
		}
	}
	return nil
}

// sourceDate is the time every file and the image carry: SOURCE_DATE_EPOCH
// when set (reproducible-builds.org), otherwise the Unix epoch.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not whole seconds: %w", s, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// binaryVersion asks the binary its version, for the default tag.
func binaryVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", bin, err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		return "", fmt.Errorf("%s version printed nothing", bin)
	}
	return strings.ReplaceAll(v, "+", "_"), nil
}
