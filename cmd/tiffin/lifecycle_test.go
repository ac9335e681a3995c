package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
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

// A listener whose port is taken (a second `make run`) fails the start
// naming the flag that moves it, and only a port in use gets the hint.
func TestLifecycleNamesThePortFlagOfAListenerInUse(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for name, flag := range map[string]string{"http": "--http-port", "grpc": "--grpc-port", "metrics": "--metrics-port"} {
		l := newLifecycle(slog.New(slog.DiscardHandler))
		l.append(hook{name: name, start: func(context.Context) error {
			ln, err := net.Listen("tcp", held.Addr().String())
			if err == nil {
				ln.Close()
			}
			return err
		}})
		err := l.start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "choose another with "+flag) {
			t.Fatalf("%s: start: %v, want the bind error and a hint naming %s", name, err, flag)
		}
	}
	l := newLifecycle(slog.New(slog.DiscardHandler))
	l.append(hook{name: "http", start: func(context.Context) error { return errors.New("tls: no certificate") }})
	if err := l.start(context.Background()); err == nil || strings.Contains(err.Error(), "choose another") {
		t.Fatalf("start: %v, want no port hint for another failure", err)
	}
}
