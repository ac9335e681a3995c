package runtime

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path/filepath"
	"slices"
	"time"
)

// LoadNames loads the named models at start (explicit model control); the
// rest of the repository stays unloaded. A name that fails is logged and
// the others still load.
func (m *Manager) LoadNames(ctx context.Context, names []string) error {
	defer m.started.Store(true)
	m.loadMu.Lock()
	m.expected = m.countInstances(names)
	m.loadMu.Unlock()
	for _, name := range names {
		_ = m.Load(ctx, name) // Load logs a failure
	}
	return nil
}

// Poll follows the repository until ctx ends (poll model control): every
// period it loads models that appeared, reloads those whose files changed,
// and unloads those whose folder went away. A reload that fails leaves the
// serving versions up, and is not retried until the files change again.
func (m *Manager) Poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.rescan(ctx)
		}
	}
}

// rescan compares the repository with what was last loaded from it.
func (m *Manager) rescan(ctx context.Context) {
	names, err := ListModels(m.root)
	if err != nil {
		m.log.Warn("repository poll: cannot list the repository", "err", err)
		return
	}
	m.loadMu.Lock()
	var changed, gone []string
	for _, name := range names {
		if m.stamps[name] != stampModel(m.root, name) {
			changed = append(changed, name)
		}
	}
	for name := range m.stamps {
		if !slices.Contains(names, name) {
			gone = append(gone, name)
		}
	}
	m.loadMu.Unlock()
	for _, name := range changed {
		m.log.Info("repository poll: model changed, loading", "model", name)
		_ = m.Load(ctx, name) // Load logs a failure
	}
	for _, name := range gone {
		m.log.Info("repository poll: model folder removed, unloading", "model", name)
		if err := m.Unload(ctx, name); err != nil && KindOf(err) != KindNotFound {
			m.log.Error("repository poll: unload failed", "model", name, "err", err)
		}
		m.loadMu.Lock()
		delete(m.stamps, name)
		m.loadMu.Unlock()
	}
}

// stampModel fingerprints a model's folder: every file's path, size and
// modification time. Any edit, added or removed file changes it.
func stampModel(root, name string) string {
	h := fnv.New64a()
	dir := filepath.Join(root, name)
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", path, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return fmt.Sprintf("%x", h.Sum64())
}
