package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"
)

// hook is one component's start and stop. Components register their hook
// where they are built, so the list follows dig's construction order, which
// is dependency order: start runs it forwards, stop runs it backwards.
type hook struct {
	name  string
	start func(context.Context) error
	stop  func(context.Context) error
}

type lifecycle struct {
	log     *slog.Logger
	hooks   []hook
	started int // how many hooks started; only those are stopped
}

func newLifecycle(log *slog.Logger) *lifecycle { return &lifecycle{log: log} }

func (l *lifecycle) append(h hook) { l.hooks = append(l.hooks, h) }

// start runs every start hook in order. On a failure it stops the ones that
// started, in reverse, and returns the failure.
func (l *lifecycle) start(ctx context.Context) error {
	for _, h := range l.hooks {
		if ctx.Err() != nil { // a stop signal: start nothing more
			return errors.Join(errStoppedStarting, l.stop(context.Background()))
		}
		if h.start != nil {
			t := time.Now()
			if err := h.start(ctx); err != nil {
				err = fmt.Errorf("start %s: %w", h.name, inUseHint(h.name, err))
				return errors.Join(err, l.stop(context.Background()))
			}
			l.log.Debug("started", "component", h.name, "took", time.Since(t))
		}
		l.started++
	}
	return nil
}

// portFlags names the flag that moves each listener, by its hook's name.
var portFlags = map[string]string{"http": "--http-port", "grpc": "--grpc-port", "metrics": "--metrics-port", "pprof": "--pprof-addr"}

// inUseHint adds what to do to a listener's "address already in use": a
// second `make run`, or a port another server took, otherwise ends the
// start with the bare bind error.
func inUseHint(name string, err error) error {
	flag, ok := portFlags[name]
	if !ok || !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	return fmt.Errorf("%w (another process, perhaps another tiffin, listens there: stop it, or choose another with %s)", err, flag)
}

// errStoppedStarting is start's error when its context ended (a stop
// signal) before every component had started; what had started is stopped.
var errStoppedStarting = errors.New("stopped before every component had started")

// stop runs the stop hooks of started components in reverse order. Each
// gets the same deadline; failures are collected, not fatal.
func (l *lifecycle) stop(ctx context.Context) error {
	var errs []error
	for i := l.started - 1; i >= 0; i-- {
		h := l.hooks[i]
		if h.stop == nil {
			continue
		}
		if err := h.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", h.name, err))
		}
		l.log.Debug("stopped", "component", h.name)
	}
	l.started = 0
	return errors.Join(errs...)
}
