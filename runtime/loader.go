package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/batcher"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// loadVersion brings one version from disk to READY: it picks the backend,
// places the instances, starts one worker per instance (each loads its own
// copy on its own pinned thread), resolves the signature and batching from
// the model's metadata, and starts serving. On failure every started worker
// is stopped and the error names the cause. When `backend: auto` passed
// over a backend to pick this one (onnxruntime without its library), a
// failure says so too: a model the fallback cannot run (FP64 on gorgonia)
// would otherwise hide that the backend it needs is missing.
func (m *Manager) loadVersion(ctx context.Context, md ModelDir, vd VersionDir) (v *ModelVersion, err error) {
	v = &ModelVersion{Name: md.Name, Version: vd.Version, Config: md.Config, state: StateLoading, log: m.log}
	backend, path, passed, err := m.chooseBackend(md, vd)
	if err != nil {
		return v, err
	}
	if len(passed) > 0 {
		defer func() {
			if err != nil {
				err = fmt.Errorf("%w (backend auto chose %s, passing over %s)", err, backend.Name(), strings.Join(passed, "; "))
			}
		}()
	}
	v.Backend, v.Platform, v.Path = backend.Name(), backend.Describe().Platform(backend.Name()), path
	groups, auto := m.instanceGroups(md.Config.InstanceGroups)
	if !auto && len(m.inv.GPUs) == 0 && slices.ContainsFunc(md.Config.InstanceGroups, isAuto) {
		m.log.Info("kind auto: this host has no GPU that NVML can see; instances run on cpu", "model", v)
	}
	err = m.startInstances(ctx, v, backend, groups)
	if err != nil && auto {
		m.log.Warn("gpu instances failed to load; kind auto falls back to cpu", "model", v, "err", err)
		groups = cpuOnly(groups)
		err = m.startInstances(ctx, v, backend, groups)
	}
	if err != nil {
		return v, inFile(md, err) // a placement error names the config's instance group
	}
	meta := v.workers[0].model.Metadata()
	for i, w := range v.workers[1:] {
		if !reflect.DeepEqual(meta, w.model.Metadata()) {
			v.abort(m.placer)
			return v, fmt.Errorf("instance %d reports other inputs or outputs than instance 0", i+1)
		}
	}
	if v.Sig, v.Config, err = resolve(meta, md.Config); err != nil {
		v.abort(m.placer)
		return v, inFile(md, err)
	}
	v.Config.InstanceGroups = groups
	v.Sig.NoNULInStrings = backend.Describe().NoNULInStrings
	for _, w := range v.workers { // before warmup sends them their first run
		w.view = newView(&v.Sig)
	}
	var traffic batcher.Traffic // nil, not a nil *interactiveClock, when off
	if c := m.traffic(); c != nil {
		traffic = c
	}
	if v.batcher, err = newBatcher(v, m.bulkShare, m.interactive.recent, traffic); err != nil {
		v.abort(m.placer)
		return v, err
	}
	if v.Warmup, err = warmup(v, md.Dir, m.stopLoads); err != nil {
		v.batcher.Close()
		v.abort(m.placer)
		return v, inFile(md, err)
	}
	if len(v.Config.Warmup) > 0 {
		m.log.Info("model warmed up", "model", v, "samples", len(v.Config.Warmup), "instances", len(v.workers), "took", v.Warmup)
	}
	v.lendInstances()
	for _, w := range v.workers {
		w.serve <- v.batcher
	}
	v.setState(StateReady, "")
	return v, nil
}

// startInstances places the groups and starts one worker per instance; each
// loads its own copy of the model on its own pinned thread. On failure the
// started workers are stopped and the placement released.
func (m *Manager) startInstances(ctx context.Context, v *ModelVersion, backend backends.Backend, groups []config.InstanceGroup) error {
	reqs := make([]GroupRequest, len(groups))
	for i, g := range groups {
		reqs[i] = GroupRequest{Model: v.Name, Group: i, InstanceGroup: g}
	}
	m.expected = max(m.expected, countCPUInstances(reqs))
	plans, notes, err := m.placer.Place(reqs, m.expected)
	if err != nil {
		return err
	}
	for _, n := range notes {
		m.log.Info("placement", "model", v, "note", n)
	}
	v.plans, v.workers = plans, nil
	memLimits := gpuMemLimits(plans, groups, m.inv)
	for i, p := range plans {
		w := &worker{backend: backend, log: m.log, stats: &v.stats, sig: &v.Sig, interactive: m.interactive.recent, traffic: m.traffic(), spec: backends.LoadSpec{
			Model: v.Name, Version: v.Version, Path: v.Path, Instance: i,
			Device: p.Device, Threads: len(p.Device.Cores), GPUMemLimit: memLimits[i], Logger: m.log,
		}}
		v.workers = append(v.workers, w)
		if err := w.start(ctx); err != nil {
			v.abort(m.placer)
			return fmt.Errorf("load instance %d on %v: %w", i, p.Device.LogValue(), err)
		}
	}
	return nil
}

// abort stops the workers of a version that failed to load and releases
// their placement.
func (v *ModelVersion) abort(p *Placer) {
	for _, w := range v.workers {
		w.endWarmup()
		if w.serve != nil {
			close(w.serve)
			<-w.done
		}
	}
	p.Release(v.plans)
	v.workers, v.plans = nil, nil
}

// chooseBackend resolves a config's backend name (or platform name) and
// finds the file it loads in the version folder. Auto (or none) takes the
// first backend in auto order that is available and has its file there,
// and returns why it passed over the ones before it.
func (m *Manager) chooseBackend(md ModelDir, vd VersionDir) (backends.Backend, string, []string, error) {
	name := md.Config.Backend
	if name != "" && name != config.BackendAuto {
		b, err := m.backends.Get(name)
		if err != nil {
			return nil, "", nil, &config.FieldError{File: configFile(md), Field: "backend", Msg: err.Error()}
		}
		if err := b.Available(); err != nil {
			return nil, "", nil, fmt.Errorf("backend %s is unavailable: %w", name, err)
		}
		if err := m.checkPlatform(md, b); err != nil { // tritonconfig.go
			return nil, "", nil, err
		}
		path, err := modelFile(b, vd.Dir, md.Config.ModelFile)
		return b, path, nil, err
	}
	var reasons []string
	for _, b := range m.backends.Auto() {
		err := b.Available()
		path := ""
		if err == nil {
			path, err = modelFile(b, vd.Dir, md.Config.ModelFile)
		}
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v", b.Name(), err))
			continue
		}
		if len(reasons) > 0 {
			m.log.Info("backend auto: chose "+b.Name(), "passed_over", reasons)
		}
		return b, path, reasons, nil
	}
	return nil, "", nil, fmt.Errorf("no backend is available: %v", reasons)
}

// modelFile is the first of the files b loads that dir holds, or the file
// the config names (Triton's default_model_filename).
func modelFile(b backends.Backend, dir, named string) (string, error) {
	files := b.Describe().ModelFiles
	if named != "" {
		files = []string{named}
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f))
		switch {
		case err != nil || fi.IsDir():
		case !fi.Mode().IsRegular(): // a FIFO would hold the load (and loadMu) for good
			return "", fmt.Errorf("%s is not a regular file", filepath.Join(dir, f))
		default:
			return filepath.Join(dir, f), nil
		}
	}
	return "", fmt.Errorf("%s holds none of the files backend %s loads (%s)", dir, b.Name(), strings.Join(files, ", "))
}

// instanceGroups resolves a config's instance groups on this host.
func (m *Manager) instanceGroups(groups []config.InstanceGroup) ([]config.InstanceGroup, bool) {
	return resolveKinds(groups, len(m.inv.GPUs) > 0)
}

func isAuto(g config.InstanceGroup) bool { return g.Kind == config.KindAuto }

// cpuOnly turns every GPU group into a CPU group of the same count.
func cpuOnly(groups []config.InstanceGroup) []config.InstanceGroup {
	out := make([]config.InstanceGroup, len(groups))
	for i, g := range groups {
		if g.Kind == config.KindGPU {
			g = config.InstanceGroup{Kind: config.KindCPU, Count: g.Count}
		}
		out[i] = g
	}
	return out
}

// resolve fills in what config.yaml left out from the model's metadata, and
// checks what it set against the model.
func resolve(meta backends.Metadata, cfg config.Model) (Signature, config.Model, error) {
	sig := Signature{Inputs: meta.Inputs, Outputs: meta.Outputs}
	dynamic := batchAxisDynamic(meta)

	switch {
	case cfg.MaxBatchSize == nil && dynamic:
		sig.MaxBatchSize = config.DefaultMaxBatchSize
	case cfg.MaxBatchSize == nil:
		sig.MaxBatchSize = 0
	case *cfg.MaxBatchSize > 0 && !dynamic:
		return sig, cfg, &config.FieldError{Field: "max_batch_size",
			Msg: fmt.Sprintf("is %d, but the model's first axis is not dynamic in every input and output; set 0", *cfg.MaxBatchSize)}
	default:
		sig.MaxBatchSize = *cfg.MaxBatchSize
	}
	mbs := sig.MaxBatchSize
	cfg.MaxBatchSize = &mbs
	for _, p := range cfg.Batching.PreferredBatchSizes {
		if mbs > 0 && p > mbs {
			return sig, cfg, &config.FieldError{Field: "batching.preferred_batch_sizes",
				Msg: fmt.Sprintf("size %d is more than max_batch_size, %d", p, mbs)}
		}
	}
	if err := sig.declare(cfg.Inputs, cfg.Outputs); err != nil { // declared.go
		return sig, cfg, err
	}
	cfg.Batching = cfg.Batching.WithDefaults(mbs > 0)
	return sig, cfg, nil
}

func batchAxisDynamic(meta backends.Metadata) bool {
	for _, list := range [][]backends.TensorSpec{meta.Inputs, meta.Outputs} {
		for _, s := range list {
			if len(s.Shape) == 0 || s.Shape[0] != -1 {
				return false
			}
		}
	}
	return len(meta.Inputs) > 0
}

// newBatcher builds the version's batcher from its resolved config, with one
// device group per kind of instance it runs.
func newBatcher(v *ModelVersion, bulkShare float64, interactive func() bool, traffic batcher.Traffic) (*batcher.Batcher[*inflight], error) {
	bc := v.Config.Batching
	mode, err := batcher.ParseMode(bc.Mode)
	if err != nil {
		return nil, &config.FieldError{Field: "batching.mode", Msg: err.Error()}
	}
	if v.Sig.MaxBatchSize == 0 {
		mode = batcher.ModeOff
	}
	var groups, shared []string
	for _, w := range v.workers {
		g := w.spec.Device.Kind.String()
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
		if !w.ownThread() && !slices.Contains(shared, g) {
			shared = append(shared, g) // lent: it runs on the front end's cores
		}
	}
	b, err := batcher.New(batcher.Config[*inflight]{
		Mode:          mode,
		MaxBatch:      max(v.Sig.MaxBatchSize, 1),
		MaxQueueDelay: bc.MaxQueueDelay.D(),
		Preferred:     bc.PreferredBatchSizes,
		QueueSize:     bc.MaxQueueSize,
		LatencyTarget: bc.LatencyTarget.D(),
		BulkShare:     bulkShare,
		Interactive:   interactive,
		Traffic:       traffic,
		SharedCores:   shared,
		OnDrop:        func(j *inflight, err error) { j.finish(nil, err) },
	}, groups...)
	if err != nil {
		return nil, fmt.Errorf("batching: %w", err)
	}
	return b, nil
}
