//go:build cgo

package onnx

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tiffin-ml/tiffin/backends"
)

// instanceName names a model instance in errors and logs.
func instanceName(spec backends.LoadSpec) string {
	return fmt.Sprintf("model %q version %d instance %d", spec.Model, spec.Version, spec.Instance)
}

// newModel reads the model's inputs and outputs and creates its session.
func newModel(spec backends.LoadSpec, log *slog.Logger) (*Model, error) {
	name := instanceName(spec)
	opts, err := sessionOptions(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: session options: %w", name, err)
	}
	defer opts.Destroy()

	ins, outs, err := ort.GetInputOutputInfoWithOptions(spec.Path, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: loading %s: %w", name, spec.Path, err)
	}
	log = log.With("model", spec.Model, "version", spec.Version, "instance", spec.Instance)
	meta, err := metadataFrom(ins, outs, log)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, spec.Path, err)
	}
	sess, scalars, err := newSession(spec.Path, specNames(meta.Inputs), specNames(meta.Outputs), opts)
	if err != nil {
		return nil, fmt.Errorf("%s: creating session for %s: %w", name, spec.Path, err)
	}
	log.Debug("onnxruntime session created", "path", spec.Path, "device", spec.Device,
		"threads", threadCount(spec), "inputs", meta.Inputs, "outputs", meta.Outputs)
	return &Model{name: name, meta: meta, session: sess, scalars: scalars}, nil
}

// newSession creates the session from the file, or from the file's graph
// with its scalar inputs and outputs wrapped when it has any (scalars.go);
// it returns the names of those it wrapped.
func newSession(path string, ins, outs []string, opts *ort.SessionOptions) (*ort.DynamicAdvancedSession, map[string]bool, error) {
	model, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	wrapped, scalars, err := wrapScalars(model)
	if err != nil {
		return nil, nil, err
	}
	if wrapped == nil {
		sess, err := ort.NewDynamicAdvancedSession(path, ins, outs, opts)
		return sess, nil, err
	}
	// From bytes, ONNX Runtime would look for external data (an
	// initializer's "location") in the process's working directory; it
	// belongs beside the model file, as when the file itself is loaded.
	if err := opts.AddSessionConfigEntry(externalDataFolder, filepath.Dir(path)); err != nil {
		return nil, nil, fmt.Errorf("external data folder: %w", err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(wrapped, ins, outs, opts)
	return sess, scalars, err
}

// externalDataFolder is ONNX Runtime's session setting for the folder that
// holds a model's external data when the model is given as bytes.
const externalDataFolder = "session.model_external_initializers_file_folder_path"

func threadCount(spec backends.LoadSpec) int {
	if spec.Threads > 0 {
		return spec.Threads
	}
	return 1
}

// optionStep is one setting applied to new session options.
type optionStep struct {
	what string
	set  func() error
}

// sessionOptions configures a session for a pinned worker: its own thread
// plus Threads-1 intra-op threads, no inter-op parallelism, no spinning (a
// spinning thread would burn the cores between requests), and all graph
// optimisations. A GPU instance gets the CUDA execution provider (see
// appendCUDA), which needs a CUDA-enabled ONNX Runtime build.
func sessionOptions(spec backends.LoadSpec) (*ort.SessionOptions, error) {
	o, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	threads := threadCount(spec)
	steps := []optionStep{
		{"intra-op threads", func() error { return o.SetIntraOpNumThreads(threads) }},
		{"inter-op threads", func() error { return o.SetInterOpNumThreads(1) }},
		{"execution mode", func() error { return o.SetExecutionMode(ort.ExecutionModeSequential) }},
		{"graph optimization level", func() error { return o.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll) }},
		{"intra-op spinning", func() error { return o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0") }},
		{"inter-op spinning", func() error { return o.AddSessionConfigEntry("session.inter_op.allow_spinning", "0") }},
	}
	if spec.Device.Kind == backends.GPU {
		steps = append(steps, optionStep{"CUDA execution provider", func() error { return appendCUDA(o, spec) }})
	}
	for _, s := range steps {
		if err := s.set(); err != nil {
			o.Destroy()
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return o, nil
}
