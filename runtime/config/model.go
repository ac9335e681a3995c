package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// BackendAuto is the backend name that lets the runtime choose: the first
// backend in auto order that is available and finds its model file. Other
// names are the registered backends' names and platforms.
const BackendAuto = "auto"

// Instance kinds.
const (
	KindCPU  = "cpu"
	KindGPU  = "gpu"
	KindAuto = "auto"
)

// Batching modes.
const (
	BatchOff      = "off"
	BatchStatic   = "static"
	BatchAdaptive = "adaptive"
)

// Model is one model's config.yaml. Every field is optional: what is left out
// is inferred from the model file or takes the default written beside it.
type Model struct {
	// Backend runs the model: a registered backend's name or platform, or
	// auto. Default: auto.
	Backend string `yaml:"backend"`
	// MaxBatchSize is the most items one batch may hold; 0 means the model
	// does not batch and shapes are taken whole. nil: inferred (64 when the
	// model's first axis is dynamic, else 0).
	MaxBatchSize *int `yaml:"max_batch_size"`
	// InstanceGroups say how many instances run, and where. Default: one
	// CPU instance.
	InstanceGroups []InstanceGroup `yaml:"instance_groups"`
	Batching       Batching        `yaml:"batching"`
	VersionPolicy  VersionPolicy   `yaml:"version_policy"`
	// Warmup samples run on every instance before the model is READY
	// (warmup.go). Default: none.
	Warmup []Warmup `yaml:"warmup"`

	// What only a Triton config.pbtxt sets (triton.go).

	// Inputs and Outputs are the tensors the config declares; each must
	// agree with the model file. Empty: all taken from the model file.
	Inputs  []TensorConfig `yaml:"-"`
	Outputs []TensorConfig `yaml:"-"`
	// ModelFile is the file to load in each version folder
	// (default_model_filename). Empty: the backend's own file names.
	ModelFile string `yaml:"-"`
	// File is the config file read ("" when there is none): the file that
	// errors about the config name.
	File string `yaml:"-"`
	// Ignored names the fields read that tiffin does not act on; the
	// runtime logs them once per load.
	Ignored []string `yaml:"-"`
	// Triton is the config.pbtxt as read; nil for config.yaml. ModelConfig
	// answers with it, completed from what was resolved.
	Triton *inferencepb.ModelConfig `yaml:"-"`
}

// TensorConfig is one input or output a config declares. Shape leaves out
// the batch axis when the model batches, as Triton's dims do.
type TensorConfig struct {
	Name     string
	DataType string // V2 name: FP32, INT64, BYTES...
	Shape    []int64
	// Reshape, when Reshaped, is the model's own shape of the tensor
	// (without the batch axis), which requests and answers see as Shape:
	// Triton's reshape. Both are fixed and hold as many elements.
	Reshape  []int64
	Reshaped bool
}

// InstanceGroup is a set of instances of one kind.
type InstanceGroup struct {
	Kind  string `yaml:"kind"`  // cpu | gpu | auto; default cpu
	Count int    `yaml:"count"` // instances; default 1
	Cores []int  `yaml:"cores"` // optional explicit CPU ids, split between the instances
	GPUs  []int  `yaml:"gpus"`  // optional explicit GPU ids
	// GPUMemLimit bounds each GPU instance's ONNX Runtime memory arena.
	// 0: DefaultGPUMemFraction of the GPU's memory, split between the
	// version's instances on that GPU. Only for kind gpu or auto.
	GPUMemLimit ByteSize `yaml:"gpu_mem_limit"`
}

// Batching tunes how requests are grouped before they reach an instance.
type Batching struct {
	Mode                string      `yaml:"mode"`                  // off | static | adaptive; default adaptive when the model batches
	MaxQueueDelay       OptDuration `yaml:"max_queue_delay"`       // default 2ms; 0s: do not wait
	PreferredBatchSizes []int       `yaml:"preferred_batch_sizes"` // default none
	MaxQueueSize        int         `yaml:"max_queue_size"`        // default 1024
	Timeout             Duration    `yaml:"timeout"`               // default 5s
	LatencyTarget       Duration    `yaml:"latency_target"`        // adaptive only; default 50ms
}

// VersionPolicy chooses which versions of a model serve. Exactly one of the
// three may be set; none means {latest: 1}.
type VersionPolicy struct {
	Latest   int     `yaml:"latest"`
	All      bool    `yaml:"all"`
	Specific []int64 `yaml:"specific"`
}

// String says the policy as config.yaml writes it.
func (v VersionPolicy) String() string {
	switch {
	case v.All:
		return "all: true"
	case len(v.Specific) > 0:
		return fmt.Sprintf("specific: %v", v.Specific)
	case v.Latest > 0:
		return fmt.Sprintf("latest: %d", v.Latest)
	}
	return "latest: 1"
}

// Defaults for model configs.
const (
	DefaultMaxBatchSize  = 64
	DefaultMaxQueueDelay = 2 * time.Millisecond
	DefaultMaxQueueSize  = 1024
	DefaultTimeout       = 5 * time.Second
	DefaultLatencyTarget = 50 * time.Millisecond
	// DefaultGPUMemFraction is the share of a GPU's memory the instances
	// of one model version on it may hold together when gpu_mem_limit is
	// not set; the rest is left to the CUDA context, cuDNN and cuBLAS
	// workspaces and other processes.
	DefaultGPUMemFraction = 0.8
	// MinGPUMemLimit is the smallest gpu_mem_limit accepted: below it not
	// even a small model's weights and workspaces fit.
	MinGPUMemLimit ByteSize = 64 << 20
)

// FieldError is a config error that names the file and the field.
type FieldError struct {
	File  string
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
}

// MaxConfigBytes is the largest config.yaml or config.pbtxt read. Real
// ones are a few KiB (warmup data lives in files); parsing takes many
// times a file's size in memory, so a larger one is refused unread.
const MaxConfigBytes = 1 << 20

// Errors of ReadRegularFile, for callers to word.
var (
	ErrNotRegular = errors.New("is not a regular file")
	ErrOverLimit  = errors.New("is over its size limit")
)

// ReadRegularFile reads the file at path whole if it is a regular file of
// at most limit bytes; else it fails unread with ErrNotRegular (a FIFO,
// whose open would wait for a writer, or a device such as /dev/zero) or
// ErrOverLimit, and never reads more than limit bytes of one that grows.
// A repository's files are read this way: a load holds every other back.
// The file is opened without blocking and then looked at, so one swapped
// for a FIFO between a look and the open cannot hang the load.
func ReadRegularFile(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, ErrNotRegular
	case fi.Size() > limit:
		return nil, ErrOverLimit
	}
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(raw)) > limit {
		err = ErrOverLimit
	}
	return raw, err
}

// readConfig reads a model's config file, refusing one that is not a
// regular file or is over MaxConfigBytes. A missing file is
// os.ErrNotExist, as from os.ReadFile.
func readConfig(path string) ([]byte, error) {
	raw, err := ReadRegularFile(path, MaxConfigBytes)
	switch {
	case errors.Is(err, ErrNotRegular):
		return nil, &FieldError{File: path, Msg: "is not a regular file"}
	case errors.Is(err, ErrOverLimit):
		return nil, &FieldError{File: path, Msg: fmt.Sprintf("the file is over %d KiB, the most a model config may be", MaxConfigBytes>>10)}
	}
	return raw, err
}

// LoadModel reads and checks a model's config.yaml. A missing file is not an
// error: it gives the zero Model, whose fields are all inferred.
func LoadModel(path string) (Model, error) {
	var m Model
	raw, err := readConfig(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return m, &FieldError{File: path, Msg: yamlMessage(err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return m, decodeError(path, &root, err)
	}
	m.File = path
	return m, validateIn(&m, path)
}

// validateIn validates m, naming path in a *FieldError.
func validateIn(m *Model, path string) error {
	err := m.Validate()
	var fe *FieldError
	if errors.As(err, &fe) {
		fe.File = path
	}
	return err
}

var lineRe = regexp.MustCompile(`^line (\d+): (.*)$`)

// decodeError names the field a decode error is about: yaml.v3 reports
// lines, so the line is looked up in the parsed document.
func decodeError(path string, root *yaml.Node, err error) error {
	msg := yamlMessage(err)
	if m := lineRe.FindStringSubmatch(msg); m != nil && !strings.Contains(m[2], "; line ") {
		line, _ := strconv.Atoi(m[1])
		if field := fieldAtLine(root, line, ""); field != "" {
			return &FieldError{File: path, Field: field, Msg: m[2]}
		}
	}
	return &FieldError{File: path, Msg: msg}
}

// fieldAtLine finds the dotted key path ("batching.max_queue_delay",
// "instance_groups[0].count") of the value that starts at line.
func fieldAtLine(n *yaml.Node, line int, prefix string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if f := fieldAtLine(c, line, prefix); f != "" {
				return f
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			path := key.Value
			if prefix != "" {
				path = prefix + "." + key.Value
			}
			if f := fieldAtLine(val, line, path); f != "" {
				return f
			}
			if key.Line == line || val.Line == line && val.Kind == yaml.ScalarNode {
				return path
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if f := fieldAtLine(c, line, fmt.Sprintf("%s[%d]", prefix, i)); f != "" {
				return f
			}
		}
	}
	return ""
}

var yamlFieldRe = regexp.MustCompile(`field (\S+) not found in type config\.(\w+)`)

// yamlMessage turns yaml.v3's Go-flavoured messages into ones that speak of
// the file's own keys.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = yamlFieldRe.ReplaceAllString(msg, "unknown field $1")
	msg = strings.ReplaceAll(msg, "\n", "; ")
	return strings.TrimSpace(msg)
}
