package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// Manager owns the model repository's models: it loads, reloads and
// unloads their versions and routes requests to them.
//
// Lock order: Manager.mu, then ModelVersion.mu. Neither is held while a
// model loads or a request waits.
type Manager struct {
	root      string
	backends  *backends.Registry
	inv       Inventory
	override  func(model string, cfg *config.Model) error
	log       *slog.Logger
	bulkShare float64 // batcher.Config.BulkShare of every version
	// interactive is when an interactive request last arrived, for
	// BulkPause (bulkpace.go).
	interactive interactiveClock

	// afterLookup, when set (tests only), runs in Infer between finding
	// a version and handing it the request: the window a reload can hit.
	afterLookup func(*ModelVersion)

	mu     sync.RWMutex      // protects: models
	models map[string]*entry // by model name; an entry is replaced whole, never edited

	loadMu   sync.Mutex        // serialises Load and Unload of models; taken before mu
	placer   *Placer           // guarded by loadMu
	stamps   map[string]string // model folder fingerprints at their last load attempt (poll.go); guarded by loadMu
	skipped  map[string]error  // folders warned of as not model names, while they stay (warnSkippedFolders); guarded by loadMu
	expected int               // CPU instances the host is to run; guarded by loadMu
	started  atomic.Bool
	closing  atomic.Bool

	// stopLoads is closed when shutdown begins (BeginShutdown): a load
	// under way stops its warmup at the next run instead of holding
	// loadMu, and so Close, for the whole of it; Poll stops.
	stopLoads chan struct{}
	stopOnce  sync.Once
}

// entry is one model: its versions, or why it has none.
type entry struct {
	name     string
	err      error                   // the model-level failure (bad config, no versions)
	versions map[int64]*ModelVersion // by version
	newest   []*ModelVersion         // the same versions, newest first
}

// ManagerOptions are the Manager's dependencies.
type ManagerOptions struct {
	Repository string
	Backends   *backends.Registry
	Inventory  Inventory // where instances may be placed
	// Override, when set, edits each model's config after config.yaml is
	// read and before it is used: the host's device file and `tiffin tune`
	// use it. An error makes the model UNAVAILABLE with that reason.
	Override func(model string, cfg *config.Model) error
	// BulkShare is the most of each device group's compute time bulk
	// requests (jobs) take while interactive ones arrive; 0 or 1: no limit.
	BulkShare float64
	Logger    *slog.Logger
}

// NewManager returns a manager with no models loaded.
func NewManager(o ManagerOptions) *Manager {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Manager{root: o.Repository, backends: o.Backends, inv: o.Inventory, override: o.Override, log: o.Logger, bulkShare: o.BulkShare,
		models: map[string]*entry{}, placer: NewPlacer(o.Inventory), stamps: map[string]string{}, skipped: map[string]error{}, stopLoads: make(chan struct{})}
}

// LoadAll loads every model in the repository. A model that fails is kept
// as UNAVAILABLE with its reason; only an unreadable repository is an error.
func (m *Manager) LoadAll(ctx context.Context) error {
	names, misnamed, err := listRepository(m.root)
	if err != nil {
		m.started.Store(true)
		return err
	}
	m.loadMu.Lock()
	m.warnSkippedFolders(misnamed)
	m.loadMu.Unlock()
	if len(names) == 0 { // a mistyped path, or files where folders belong: ready, serving nothing
		m.log.Warn("the model repository holds no model folders; nothing is served",
			"repository", m.root, "want", "<repository>/<model>/<version>/model.onnx (tiffin demo-models DIR writes an example)")
	}
	return m.LoadNames(ctx, names) // poll.go
}

// warnSkippedFolders logs the repository's folders that were passed over
// for their name (listRepository's misnamed): they are not served, not in
// the index, and do not hold readiness back, so the log is the one place
// that says so. Each folder is warned of once while it stays: at start,
// and by the poll when one appears. Called with loadMu held.
func (m *Manager) warnSkippedFolders(misnamed map[string]error) {
	for _, name := range slices.Sorted(maps.Keys(misnamed)) {
		if _, warned := m.skipped[name]; !warned {
			m.log.Warn("model folder not served: its name is not a model name", "folder", name, "reason", misnamed[name])
		}
	}
	m.skipped = misnamed
}

// Load loads a model's selected versions, or reloads them: the new versions
// are READY before the old ones stop taking requests, so none fail during
// a reload. The old versions drain what they had queued. A failure is
// logged, with the paths the returned error may not show, and returned.
func (m *Manager) Load(ctx context.Context, name string) error {
	if m.closing.Load() {
		return ErrShuttingDown
	}
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	if m.closing.Load() { // shutdown began while this load waited for loadMu (behind another, or Close)
		return ErrShuttingDown
	}
	e := &entry{name: name, versions: map[int64]*ModelVersion{}}
	stamp := stampModel(m.root, name)
	md, err := m.scan(name)
	if k := KindOf(err); k == KindNotFound || k == KindInvalidArgument {
		m.log.Error("load failed", "model", name, "err", err)
		return err // no such folder, or a name that is not one: nothing to record
	}
	if err == nil {
		m.warnIgnored(md) // tritonconfig.go
		m.warnMissingVersions(md)
		err = m.loadVersions(ctx, e, md)
	}
	m.stamps[name] = stamp
	e.err = err
	m.mu.Lock()
	old := m.models[name]
	keep := err != nil && old != nil && old.serving()
	if !keep {
		m.models[name] = e
	}
	m.mu.Unlock()
	switch {
	case keep:
		// A failed reload must not take a serving model down (Triton keeps
		// the loaded version too): the new versions go, the old stay.
		m.release(e)
		m.stopEntry(e)
		m.log.Error("reload failed; the serving versions stay", "model", name, "serving", old.versionList(), "err", err)
	case old != nil:
		m.release(old)
		m.stopEntry(old)
	}
	if err != nil && !keep {
		m.log.Error("load failed; the model is unavailable", "model", name, "err", err)
	}
	if errors.Is(err, ErrShuttingDown) {
		if onlyShutdown(err) {
			return ErrShuttingDown
		}
		// Another version failed on its own: say why, not only that
		// shutdown cut the rest short.
		return Errorf(KindUnavailable, "load model %q cut short by shutdown: %w", name, err)
	}
	if err != nil {
		return Errorf(KindInvalidArgument, "load model %q failed: %w", name, err)
	}
	return nil
}

// onlyShutdown reports whether every version's failure in a load's joined
// error is the shutdown's.
func onlyShutdown(err error) bool {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return errors.Is(err, ErrShuttingDown)
	}
	for _, e := range j.Unwrap() {
		if !errors.Is(e, ErrShuttingDown) {
			return false
		}
	}
	return true
}

// warnMissingVersions logs the versions a specific policy names that have
// no folder: they are not served, and nothing else would say so.
func (m *Manager) warnMissingVersions(md ModelDir) {
	var missing []int64
	onDisk := md.onDisk()
	for _, want := range md.Config.VersionPolicy.Specific {
		if !slices.Contains(onDisk, want) {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		m.log.Warn("the version policy names versions with no folder; they are not served", "model", md.Name, "missing", missing)
	}
}

// serving reports whether any of the entry's versions is READY.
func (e *entry) serving() bool {
	for _, v := range e.versions {
		if v.Ready() {
			return true
		}
	}
	return false
}

func (m *Manager) loadVersions(ctx context.Context, e *entry, md ModelDir) error {
	var errs []error
	for _, vd := range md.Selected() {
		v, err := m.loadVersion(ctx, md, vd)
		if err != nil {
			v.setState(StateUnavailable, err.Error())
			errs = append(errs, fmt.Errorf("version %d: %w", vd.Version, err))
		} else {
			m.log.Info("model ready", "model", v, "backend", v.Backend, "instances", len(v.workers),
				"max_batch_size", v.Sig.MaxBatchSize, "inputs", v.Sig.Inputs, "outputs", v.Sig.Outputs)
		}
		e.versions[vd.Version] = v
		e.newest = append(e.newest, v)
	}
	slices.SortFunc(e.newest, func(a, b *ModelVersion) int { return cmp.Compare(b.Version, a.Version) })
	return errors.Join(errs...)
}

// scan reads a model's folder and applies the override.
func (m *Manager) scan(name string) (ModelDir, error) {
	md, err := ScanModel(m.root, name)
	if err == nil && m.override != nil {
		err = m.override(name, &md.Config)
	}
	return md, err
}

// countInstances counts the CPU instances the named models ask for, so the
// cores are split between all of them.
func (m *Manager) countInstances(names []string) int {
	n := 0
	for _, name := range names {
		md, err := m.scan(name)
		if err != nil {
			continue
		}
		groups, _ := m.instanceGroups(md.Config.InstanceGroups)
		for _, g := range groups {
			if g.Kind == config.KindCPU && len(g.Cores) == 0 {
				n += g.Count * len(md.Selected())
			}
		}
	}
	return n
}

// Unload stops a model's versions; queued requests still finish.
func (m *Manager) Unload(ctx context.Context, name string) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	m.mu.Lock()
	e := m.models[name]
	delete(m.models, name)
	m.mu.Unlock()
	if e == nil {
		return Errorf(KindNotFound, "model %q is not loaded", name)
	}
	delete(m.stamps, name)
	m.release(e)
	return m.stopEntryWait(ctx, e)
}

func (m *Manager) stopEntry(e *entry) {
	go func() {
		if err := m.stopEntryWait(context.Background(), e); err != nil {
			m.log.Warn("stop old versions", "model", e.name, "err", err)
		}
	}()
}

func (m *Manager) stopEntryWait(ctx context.Context, e *entry) error {
	var errs []error
	for _, v := range e.versions {
		errs = append(errs, v.stop(ctx))
	}
	return errors.Join(errs...)
}

// release gives an entry's cores back to the placer. The caller holds loadMu.
func (m *Manager) release(e *entry) {
	for _, v := range e.versions {
		m.placer.Release(v.plans)
	}
}

// BeginShutdown marks the server as shutting down before Close stops the
// models (serve's --shutdown-delay; Close calls it too): readiness says
// so, and loads are refused, one in warmup at its next run, so that it
// gives loadMu up.
func (m *Manager) BeginShutdown() {
	m.closing.Store(true)
	m.stopOnce.Do(func() { close(m.stopLoads) })
}

// Close stops every model, letting queued requests finish within ctx.
func (m *Manager) Close(ctx context.Context) error {
	m.BeginShutdown()
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	m.mu.Lock()
	all := slices.Collect(maps.Values(m.models))
	m.models = map[string]*entry{}
	m.mu.Unlock()
	var errs []error
	for _, e := range all {
		errs = append(errs, m.stopEntryWait(ctx, e))
	}
	return errors.Join(errs...)
}

// Readiness reports nil once the initial load has finished, while the
// manager is not shutting down and, with strict, every model is READY;
// else a KindUnavailable error that says why, naming the first model
// version that is not READY and its reason.
func (m *Manager) Readiness(strict bool) error {
	switch {
	case m.closing.Load():
		return Errorf(KindUnavailable, "server is not ready: it is shutting down")
	case !m.started.Load():
		return Errorf(KindUnavailable, "server is not ready: the model repository is still loading")
	case !strict:
		return nil
	}
	var first VersionStatus
	others := 0
	for _, s := range m.Index() {
		switch {
		case s.State == StateReady:
		case first.Model == "":
			first = s
		default:
			others++
		}
	}
	if first.Model == "" {
		return nil
	}
	name := first.Model
	if first.Version > 0 { // 0: the model failed before any version was read
		name += fmt.Sprintf(" version %d", first.Version)
	}
	msg := fmt.Sprintf("server is not ready: model %s is %s", name, first.State)
	if first.Reason != "" {
		msg += ": " + first.Reason
	}
	if others > 0 {
		msg += fmt.Sprintf(" (and %d more not READY: POST /v2/repository/index lists them)", others)
	}
	return Errorf(KindUnavailable, "%s", msg)
}
