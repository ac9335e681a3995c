package runtime

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// LoadNames loads the named models at start (explicit model control); the
// rest of the repository stays unloaded. A name that fails is logged and
// the others still load. Once ctx ends (a stop signal during start) the
// models not yet begun are left unloaded: a load under way cannot be cut
// short, but a stop need not wait for the rest of the repository.
func (m *Manager) LoadNames(ctx context.Context, names []string) error {
	defer m.started.Store(true)
	m.loadMu.Lock()
	m.expected = m.countInstances(names)
	m.loadMu.Unlock()
	for i, name := range names {
		if ctx.Err() != nil {
			m.log.Warn("stopping: models left unloaded", "count", len(names)-i, "first", name)
			return nil
		}
		_ = m.Load(ctx, name) // Load logs a failure
	}
	return nil
}

// Poll follows the repository until ctx ends or shutdown begins
// (BeginShutdown), for poll model control: every period it loads models
// that appeared, reloads those whose files changed, and unloads those
// whose folder went away. A reload that fails leaves the
// serving versions up, and is not retried until the files change again.
func (m *Manager) Poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.stopLoads: // shutting down (BeginShutdown): nothing more is loaded or unloaded
			return
		case <-t.C:
			m.rescan(ctx)
		}
	}
}

// rescan compares the repository with what was last loaded from it.
func (m *Manager) rescan(ctx context.Context) {
	names, misnamed, err := listRepository(m.root)
	if err != nil {
		m.log.Warn("repository poll: cannot list the repository", "err", err)
		return
	}
	m.loadMu.Lock()
	m.warnSkippedFolders(misnamed)
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
	stampDir(h, filepath.Join(root, name), 0)
	return fmt.Sprintf("%x", h.Sum64())
}

// maxStampDepth bounds how deep stampDir goes below a model's folder, and
// maxStampEntries how many entries it reads in all: symbolic links are
// followed, and links to folders above (or many links to one folder)
// would otherwise make one fingerprint read the same folders without end,
// under loadMu.
const (
	maxStampDepth   = 8
	maxStampEntries = 100_000
)

// stamper writes a fingerprint of the files under a model's folder.
type stamper struct {
	h       io.Writer
	seen    map[string]bool // folders read, by their real path: each once
	entries int
}

// stampDir writes every file under dir to h with its size and time,
// following symbolic links (a model store linked or mounted in, which
// Triton follows too), each real folder once.
func stampDir(h io.Writer, dir string, depth int) {
	(&stamper{h: h, seen: map[string]bool{}}).dir(dir, depth)
}

func (s *stamper) dir(dir string, depth int) {
	real, err := filepath.EvalSymlinks(dir)
	if depth > maxStampDepth || err != nil || s.seen[real] || s.entries > maxStampEntries {
		return
	}
	s.seen[real] = true
	entries, err := os.ReadDir(dir) // sorted: the stamp is the same for the same files
	if err != nil {
		return
	}
	for _, e := range entries {
		if s.entries++; s.entries > maxStampEntries {
			fmt.Fprintf(s.h, "more than %d entries\x00", maxStampEntries)
			return
		}
		path := filepath.Join(dir, e.Name())
		info, err := os.Stat(path)
		switch {
		case err != nil:
		case info.IsDir():
			s.dir(path, depth+1)
		default:
			fmt.Fprintf(s.h, "%s\x00%d\x00%d\x00", path, info.Size(), info.ModTime().UnixNano())
		}
	}
}
