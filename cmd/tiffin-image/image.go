package main

import (
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where things live in the image. deploy/Dockerfile repeats the config
// part of this (USER, WORKDIR, ENV, ENTRYPOINT, EXPOSE); a test keeps the
// two the same.
const (
	binPath  = "/usr/local/bin/tiffin"
	ortDir   = "/usr/local/lib/tiffin"
	ortLib   = ortDir + "/libonnxruntime.so.1"
	workDir  = "/var/lib/tiffin" // the job queue's ./data lands here
	modelDir = "/models"
	userName = "tiffin"
	uid, gid = 65532, 65532 // the usual non-root id of minimal images
	caBundle = "/etc/ssl/certs/ca-certificates.crt"
)

// imageConfig is the runtime config of the image: who runs what, where.
func imageConfig() v1.Config {
	return v1.Config{
		User:       strconv.Itoa(uid) + ":" + strconv.Itoa(gid),
		WorkingDir: workDir,
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TIFFIN_ORT_LIBRARY=" + ortLib},
		Entrypoint: []string{binPath, "serve", "--model-repository", modelDir},
		ExposedPorts: map[string]struct{}{
			"8000/tcp": {}, "8001/tcp": {},
		},
	}
}

// inputs are the host files the image is made of.
type inputs struct {
	binary string // bin/tiffin
	ortDir string // the folder holding libonnxruntime.so.1 (and any provider libraries)
}

// layer is one image layer: a name for its history line, and its tree.
type layer struct {
	name string
	tree *tree
}

// layers splits the image into three layers, least often changed first, so
// a rebuild after a code change replaces only the last one: the system
// (the shared libraries both need, the user, the folders), ONNX Runtime,
// and tiffin.
func (in inputs) layers() ([]layer, error) {
	ortFiles, err := libraryFiles(in.ortDir)
	if err != nil {
		return nil, err
	}
	deps, err := elfDeps(append([]string{in.binary}, ortFiles...), loaderDirs())
	if err != nil {
		return nil, err
	}
	system := newTree()
	for _, d := range deps {
		if err := system.hostPath(d); err != nil {
			return nil, fmt.Errorf("copying %s: %w", d, err)
		}
	}
	// Go reads this bundle for TLS (an https OTLP endpoint, say), when the host has one.
	if _, err := os.Stat(caBundle); err == nil {
		if err := system.hostPath(caBundle); err != nil {
			return nil, fmt.Errorf("copying %s: %w", caBundle, err)
		}
	}
	system.file("/etc/passwd", 0o644, []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:tiffin:%s:/sbin/nologin\n", userName, uid, gid, workDir)))
	system.file("/etc/group", 0o644, []byte(fmt.Sprintf("root:x:0:\n%s:x:%d:\n", userName, gid)))
	system.file("/etc/nsswitch.conf", 0o644, []byte("passwd: files\ngroup: files\nhosts: files dns\n"))
	system.dir("/tmp", 0o1777, 0, 0)
	system.dir(modelDir, 0o755, 0, 0)
	system.dir(workDir, 0o755, uid, gid)

	ort := newTree()
	for _, f := range ortFiles {
		if err := ort.copyFile(path.Join(ortDir, filepath.Base(f)), f); err != nil {
			return nil, err
		}
	}
	if _, ok := ort.entries[ortLib]; !ok {
		return nil, fmt.Errorf("%s holds no libonnxruntime.so.1 (run `make ort`)", in.ortDir)
	}
	bin := newTree()
	if err := bin.copyFile(binPath, in.binary); err != nil {
		return nil, err
	}
	return []layer{{"system libraries, user and folders", system}, {"ONNX Runtime", ort}, {"tiffin", bin}}, nil
}

// libraryFiles lists the regular shared-library files of dir.
func libraryFiles(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.so*"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no shared libraries in %s (run `make ort`)", dir)
	}
	sort.Strings(out)
	return out, nil
}

// build assembles the image from its layers. Each layer's tar is written
// under scratch first: the digests are computed from files, not memory.
func build(in inputs, layers []layer, created time.Time, version, scratch string) (v1.Image, error) {
	f, err := elf.Open(in.binary)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.binary, err)
	}
	arch, err := goarch(f.Machine)
	f.Close()
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for i, l := range layers {
		p := filepath.Join(scratch, fmt.Sprintf("layer%d.tar", i))
		if err := writeLayerFile(p, l.tree, created); err != nil {
			return nil, err
		}
		tl, err := tarball.LayerFromFile(p, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching) // compress once, not per write
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: tl, History: v1.History{
			Created: v1.Time{Time: created}, CreatedBy: "tiffin-image: " + l.name}})
		if err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = arch, "linux"
	cf.Created = v1.Time{Time: created}
	cf.Config = imageConfig()
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   "tiffin",
		"org.opencontainers.image.version": version,
	}
	return mutate.ConfigFile(img, cf)
}

func writeLayerFile(p string, t *tree, created time.Time) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if err := t.writeTar(f, created); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return f.Close()
}
