package runtime

import (
	"context"
	"errors"
	"slices"
	"sort"
)

// Infer runs one request on the model version it names (the newest READY
// version when it names none).
func (m *Manager) Infer(ctx context.Context, req *InferRequest) (*InferResponse, error) {
	if req.Priority == PriorityInteractive {
		m.interactive.note()
	}
	for tries := 1; ; tries++ {
		v, err := m.Version(req.Model, req.Version)
		if err != nil {
			return nil, err
		}
		if m.afterLookup != nil {
			m.afterLookup(v)
		}
		resp, err := v.infer(ctx, req)
		if err == nil {
			return resp, nil
		}
		var nt notTaken
		if !errors.As(err, &nt) {
			return nil, err
		}
		// The version stopped between the lookup and the queue: a reload
		// swapped it out. Its successor takes the request, so a reload
		// fails no request; a version unloading for good is reported.
		if tries == maxReplaced || !m.replaced(v) {
			return nil, nt.error
		}
	}
}

// maxReplaced bounds how often Infer follows a version that a reload
// replaced under it.
const maxReplaced = 3

// replaced reports whether the model's entry no longer holds v.
func (m *Manager) replaced(v *ModelVersion) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e := m.models[v.Name]
	return e != nil && e.versions[v.Version] != v
}

// Version finds a model version. Version 0 means the newest READY one, or
// the newest at all when none is READY (so its state explains why).
func (m *Manager) Version(name string, version int64) (*ModelVersion, error) {
	m.mu.RLock()
	e := m.models[name]
	m.mu.RUnlock()
	if e == nil {
		return nil, Errorf(KindNotFound, "unknown model %s", QuoteName(name))
	}
	if version > 0 {
		v := e.versions[version]
		if v == nil {
			return nil, Errorf(KindNotFound, "unknown version %d of model %q (versions: %v)", version, name, e.versionList())
		}
		return v, nil
	}
	// The newest READY version, else the newest: a walk of a short slice,
	// since this runs on every request that names no version.
	for _, v := range e.newest {
		if v.Ready() {
			return v, nil
		}
	}
	if len(e.newest) > 0 {
		return e.newest[0], nil
	}
	reason := "it has no versions"
	if e.err != nil {
		reason = e.err.Error()
	}
	return nil, Errorf(KindUnavailable, "model %q is unavailable: %s", name, reason)
}

// Versions lists a model's versions, ascending.
func (m *Manager) Versions(name string) ([]int64, error) {
	m.mu.RLock()
	e := m.models[name]
	m.mu.RUnlock()
	if e == nil {
		return nil, Errorf(KindNotFound, "unknown model %s", QuoteName(name))
	}
	return e.versionList(), nil
}

func (e *entry) versionList() []int64 {
	vs := make([]int64, 0, len(e.versions))
	for v := range e.versions {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// Index lists every model version the manager knows, with its state, sorted
// by model and version. A model that failed before any version loaded is
// listed once as UNAVAILABLE, version 0, with its reason.
func (m *Manager) Index() []VersionStatus {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []VersionStatus
	for _, e := range m.models {
		if len(e.versions) == 0 {
			reason := "no versions"
			if e.err != nil {
				reason = e.err.Error()
			}
			out = append(out, VersionStatus{Model: e.name, State: StateUnavailable, Reason: reason})
		}
		for _, v := range e.versions {
			out = append(out, v.Status())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Model != out[j].Model {
			return out[i].Model < out[j].Model
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// NotLoaded lists the model folders of the repository that the manager has
// not loaded (nor tried to): the repository index names them too, as
// models a load may ask for, as Triton's does. Sorted; nil when the
// repository cannot be read.
func (m *Manager) NotLoaded() []string {
	names, err := ListModels(m.root)
	if err != nil {
		return nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := names[:0]
	for _, n := range names {
		if _, ok := m.models[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}
