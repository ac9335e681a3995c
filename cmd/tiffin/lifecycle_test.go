package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
)

// A stop signal during start (its context ends inside a component's start,
// a model load say) starts nothing more, and stops what had started.
func TestLifecycleStopsStartingWhenAsked(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log []string
	l := newLifecycle(slog.New(slog.DiscardHandler))
	for _, name := range []string{"store", "models", "http"} {
		l.append(hook{name: name,
			start: func(context.Context) error {
				log = append(log, "start "+name)
				if name == "models" {
					cancel() // the signal arrives while the models load
				}
				return nil
			},
			stop: func(context.Context) error { log = append(log, "stop "+name); return nil },
		})
	}
	err := l.start(ctx)
	if !errors.Is(err, errStoppedStarting) {
		t.Fatalf("start: %v, want errStoppedStarting", err)
	}
	if want := []string{"start store", "start models", "stop models", "stop store"}; !slices.Equal(log, want) {
		t.Fatalf("ran %q, want %q", log, want)
	}
}
