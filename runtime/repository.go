package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// ConfigFileName is the optional per-model config in the model's folder.
// A Triton repository's config.pbtxt (TritonConfigFileName) is read in its
// place; a folder may hold one of the two, not both.
const ConfigFileName = "config.yaml"

// ModelDir is one model's folder in the repository: DIR/<model>/.
type ModelDir struct {
	Name     string
	Dir      string
	Config   config.Model
	Versions []VersionDir // ascending
}

// VersionDir is one version folder: DIR/<model>/<version>/. Which file in
// it is loaded depends on the backend (its Description's ModelFiles).
type VersionDir struct {
	Version int64
	Dir     string
}

var modelNameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// CheckModelName refuses names that could escape the repository or are not
// a single folder name.
func CheckModelName(name string) error {
	if !modelNameRe.MatchString(name) || name == "." || name == ".." {
		return Errorf(KindInvalidArgument, "invalid model name %s: use letters, digits, '_', '-' and '.'", QuoteName(name))
	}
	if len(name) > maxModelName {
		return Errorf(KindInvalidArgument, "invalid model name: %d bytes, more than a folder name may have (%d)", len(name), maxModelName)
	}
	return nil
}

// QuoteName is a client's model name quoted for an error message: whole
// when short, else its start and its length, so that a name of megabytes
// (gRPC carries one in the message) is not echoed back.
func QuoteName(name string) string {
	const most = 256
	if len(name) <= most {
		return strconv.Quote(name)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(name[:most/2]), len(name))
}

// maxModelName is the longest folder name Linux's file systems allow.
const maxModelName = 255

// ListModels returns the names of the model folders under root, sorted.
func ListModels(root string) ([]string, error) {
	names, _, err := listRepository(root)
	return names, err
}

// listRepository reads root once: the names of its model folders, sorted,
// and the folders passed over because their name is not a model name,
// with why. Hidden folders (.git, a Kubernetes volume's ..data) are passed
// over without being listed.
func listRepository(root string) (names []string, misnamed map[string]error, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("read model repository: %w", err)
	}
	misnamed = map[string]error{}
	for _, e := range entries {
		if !isDir(root, e) {
			continue
		}
		if err := CheckModelName(e.Name()); err != nil {
			if !strings.HasPrefix(e.Name(), ".") {
				misnamed[e.Name()] = err
			}
			continue
		}
		names = append(names, e.Name())
	}
	return names, misnamed, nil
}

// isDir reports whether entry e of dir is a folder, or a symbolic link to
// one: a repository built from links (a mounted model store) is served as
// Triton serves it.
func isDir(dir string, e os.DirEntry) bool {
	if e.Type()&os.ModeSymlink == 0 {
		return e.IsDir()
	}
	info, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && info.IsDir()
}

// ScanModel reads one model's folder: its config and its versions. A config
// error is returned as is (a *config.FieldError naming file and field).
func ScanModel(root, name string) (ModelDir, error) {
	md := ModelDir{Name: name, Dir: filepath.Join(root, name)}
	if err := CheckModelName(name); err != nil {
		return md, err
	}
	entries, err := os.ReadDir(md.Dir)
	if os.IsNotExist(err) || errors.Is(err, syscall.ENOTDIR) { // a file beside the model folders is no model
		return md, Errorf(KindNotFound, "model %q is not in the repository", name)
	}
	if err != nil {
		return md, fmt.Errorf("read model folder: %w", err)
	}
	if md.Config, err = loadModelConfig(md); err != nil { // tritonconfig.go
		return md, err
	}
	for _, e := range entries {
		v, err := strconv.ParseInt(e.Name(), 10, 64)
		// Only a canonical number names a version: "01" or "+1" beside "1"
		// would load version 1 twice, and the copy would never stop.
		if err != nil || v <= 0 || strconv.FormatInt(v, 10) != e.Name() || !isDir(md.Dir, e) {
			continue
		}
		md.Versions = append(md.Versions, VersionDir{Version: v, Dir: filepath.Join(md.Dir, e.Name())})
	}
	sort.Slice(md.Versions, func(i, j int) bool { return md.Versions[i].Version < md.Versions[j].Version })
	if len(md.Versions) == 0 {
		return md, fmt.Errorf("%s: no version folders (want %s/<version>/<model file>)%s", md.Dir, name, layoutHint(name, entries))
	}
	// A policy that selects nothing on disk is an error, as in Triton, so
	// that a reload to it keeps the serving versions rather than leaving
	// the model with none.
	if len(md.Selected()) == 0 {
		return md, fmt.Errorf("%s: the version policy (%s) selects none of the version folders %v", md.Dir, md.Config.VersionPolicy, md.onDisk())
	}
	return md, nil
}

// layoutHint says how to fix the two layouts a newcomer tries first: a
// model file straight in the model folder (as MLServer and BentoML keep
// it), and --model-repository given a model's own folder, whose version
// folders then read as models named 1, 2, ...
func layoutHint(name string, entries []os.DirEntry) string {
	if v, err := strconv.ParseInt(name, 10, 64); err == nil && v > 0 {
		return fmt.Sprintf(": a model named %s looks like a version folder; is --model-repository a model's own folder? Give the folder that holds the model folders", name)
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".onnx") {
			return fmt.Sprintf(": move %s into a version folder, %s/1/%s", e.Name(), name, e.Name())
		}
	}
	return ""
}

// onDisk is the numbers of the model's version folders, ascending.
func (md ModelDir) onDisk() []int64 {
	all := make([]int64, len(md.Versions))
	for i, v := range md.Versions {
		all[i] = v.Version
	}
	return all
}

// Selected returns the versions the model's version policy serves.
func (md ModelDir) Selected() []VersionDir {
	keep := md.Config.VersionPolicy.Select(md.onDisk())
	var out []VersionDir
	for _, v := range md.Versions {
		for _, k := range keep {
			if v.Version == k {
				out = append(out, v)
			}
		}
	}
	return out
}
