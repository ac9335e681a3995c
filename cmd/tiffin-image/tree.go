package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// tree is the content of one image layer: absolute paths to directories,
// files (copied from the host, or given as bytes) and symbolic links.
// Every entry has a fixed time and numeric owner, so the same inputs give
// the same layer, byte for byte.
type tree struct {
	entries map[string]*entry
}

type entry struct {
	typ      byte // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode     int64
	uid, gid int
	hostPath string // TypeReg: the file to copy, when data is nil
	data     []byte // TypeReg: the content, when given here
	target   string // TypeSymlink
}

func newTree() *tree { return &tree{entries: map[string]*entry{}} }

// dir adds a directory (and its parents, root-owned, 0755).
func (t *tree) dir(p string, mode int64, uid, gid int) {
	p = path.Clean(p)
	if p == "/" {
		return
	}
	t.parents(p)
	t.entries[p] = &entry{typ: tar.TypeDir, mode: mode, uid: uid, gid: gid}
}

func (t *tree) parents(p string) {
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if _, ok := t.entries[d]; !ok {
			t.entries[d] = &entry{typ: tar.TypeDir, mode: 0o755}
		}
	}
}

// file adds a root-owned file with the given content.
func (t *tree) file(p string, mode int64, data []byte) {
	p = path.Clean(p)
	t.parents(p)
	t.entries[p] = &entry{typ: tar.TypeReg, mode: mode, data: data}
}

// copyFile adds the host file src at p, keeping its permission bits.
func (t *tree) copyFile(p, src string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	p = path.Clean(p)
	t.parents(p)
	t.entries[p] = &entry{typ: tar.TypeReg, mode: int64(fi.Mode().Perm()), hostPath: src}
	return nil
}

// hostPath adds the host's path p as the image's path p, with every
// symbolic link met on the way (such as a merged-/usr host's /lib ->
// usr/lib) recreated, so the image resolves p as the host does.
func (t *tree) hostPath(p string) error {
	return t.hostPathDepth(filepath.Clean(p), 0)
}

func (t *tree) hostPathDepth(p string, depth int) error {
	if depth > 40 {
		return fmt.Errorf("%s: too many levels of symbolic links", p)
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i, part := range parts {
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(next)
			if err != nil {
				return err
			}
			t.parents(next)
			t.entries[next] = &entry{typ: tar.TypeSymlink, mode: 0o777, target: target}
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			return t.hostPathDepth(filepath.Join(append([]string{target}, parts[i+1:]...)...), depth+1)
		case i == len(parts)-1:
			return t.copyFile(next, next)
		case !fi.IsDir():
			return fmt.Errorf("%s is not a directory", next)
		default:
			if _, ok := t.entries[next]; !ok {
				t.dir(next, 0o755, 0, 0)
			}
		}
		cur = next
	}
	return nil
}

// paths lists the entries in tar order: sorted, so a directory comes
// before what it holds.
func (t *tree) paths() []string {
	ps := make([]string, 0, len(t.entries))
	for p := range t.entries {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// writeTar writes the tree as an uncompressed layer tar with every time
// set to mtime.
func (t *tree) writeTar(w io.Writer, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, p := range t.paths() {
		e := t.entries[p]
		h := &tar.Header{
			Typeflag: e.typ, Name: strings.TrimPrefix(p, "/"), Linkname: e.target,
			Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mtime, Format: tar.FormatPAX,
		}
		if e.typ == tar.TypeDir {
			h.Name += "/"
		}
		var src io.ReadCloser
		if e.typ == tar.TypeReg {
			r, size, err := e.open()
			if err != nil {
				return err
			}
			h.Size, src = size, r
		}
		if err := writeEntry(tw, h, src); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return tw.Close()
}

// writeEntry writes one header and its content, and closes the content.
func writeEntry(tw *tar.Writer, h *tar.Header, src io.ReadCloser) error {
	if src != nil {
		defer src.Close()
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if src == nil {
		return nil
	}
	if n, err := io.Copy(tw, src); err != nil || n != h.Size {
		return fmt.Errorf("copied %d of %d bytes: %v", n, h.Size, err)
	}
	return nil
}

func (e *entry) open() (io.ReadCloser, int64, error) {
	if e.data != nil || e.hostPath == "" {
		return io.NopCloser(strings.NewReader(string(e.data))), int64(len(e.data)), nil
	}
	f, err := os.Open(e.hostPath)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}
