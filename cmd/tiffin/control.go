package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/transport"
)

// The tokens are read from these when their flags are not given, so they
// need not appear in the process list.
const (
	repositoryTokenEnv = "TIFFIN_REPOSITORY_TOKEN"
	inferenceTokenEnv  = "TIFFIN_INFERENCE_TOKEN"
)

// maxPollSecs is the longest poll interval: a day.
const maxPollSecs = 24 * 60 * 60

// controlFlags adds the control plane's flags to `tiffin serve`. The
// returned function runs after parsing: it maps the older
// --repository-control flag onto the model control mode.
func controlFlags(fs *flag.FlagSet, r *config.Repository) func() {
	fs.StringVar(&r.Mode, "model-control-mode", r.Mode,
		"who changes the running models: none (load/unload refused), explicit (load/unload over the API; --load-model picks the models at start) or poll (follow the repository)")
	fs.Func("load-model", "explicit mode: load `NAME` at start (repeatable; \"*\": every model)",
		func(s string) error {
			if !slices.Contains(r.LoadModels, s) { // a name given twice loads once
				r.LoadModels = append(r.LoadModels, s)
			}
			return nil
		})
	fs.Func("repository-poll-secs", "poll mode: rescan the repository every `N` seconds (default 15)", func(s string) error {
		n, err := strconv.Atoi(s)
		if err == nil && n > maxPollSecs { // and n seconds would wrap past the int64 of a Duration
			return fmt.Errorf("at most %d (a day), got %d", maxPollSecs, n)
		}
		r.PollEvery = time.Duration(n) * time.Second
		return err
	})
	if r.Token == "" {
		r.Token = os.Getenv(repositoryTokenEnv)
	}
	if r.InferenceToken == "" {
		r.InferenceToken = os.Getenv(inferenceTokenEnv)
	}
	fs.Func("repository-token", "bearer `TOKEN` that model load/unload and every /v2/jobs route need (default: $"+repositoryTokenEnv+")",
		func(s string) error { r.Token = s; return nil })
	fs.Func("inference-token", "bearer `TOKEN` that inference needs (default: $"+inferenceTokenEnv+"; empty: inference is open)",
		func(s string) error { r.InferenceToken = s; return nil })
	var legacy *bool
	fs.BoolFunc("repository-control", "older spelling: true is --model-control-mode explicit with every model loaded at start, false is none",
		func(s string) error {
			b, err := strconv.ParseBool(s)
			legacy = &b
			return err
		})
	return func() {
		modeSet := false
		fs.Visit(func(f *flag.Flag) { modeSet = modeSet || f.Name == "model-control-mode" })
		if legacy == nil || modeSet {
			return
		}
		r.Mode = config.ControlNone
		if *legacy {
			r.Mode = config.ControlExplicit
			if len(r.LoadModels) == 0 {
				r.LoadModels = []string{config.LoadAllModels}
			}
		}
	}
}

// access is what the front ends check callers against.
func access(cfg config.Server) transport.Access {
	r := cfg.Repository
	return transport.Access{Mode: r.Mode, Token: r.Token, InferenceToken: r.InferenceToken}
}

// modelStopGrace is how long the models have to drain and unload once the
// front ends have stopped.
const modelStopGrace = 10 * time.Second

// startModels loads the models the control mode asks for at start, and in
// poll mode follows the repository until stop.
func startModels(r config.Repository, m *runtime.Manager) (start, stop func(context.Context) error) {
	pollCtx, cancel := context.WithCancel(context.Background())
	start = func(ctx context.Context) error {
		if !r.LoadsAll() {
			return m.LoadNames(ctx, r.LoadModels)
		}
		if err := m.LoadAll(ctx); err != nil {
			return err
		}
		if r.Mode == config.ControlPoll {
			go m.Poll(pollCtx, r.PollEvery)
		}
		return nil
	}
	stop = func(ctx context.Context) error {
		cancel()
		// The front ends are closed by now, perhaps at the shutdown
		// deadline; the models still get their own grace to finish what
		// was queued and unload.
		mctx, done := context.WithTimeout(context.WithoutCancel(ctx), modelStopGrace)
		defer done()
		return m.Close(mctx)
	}
	return start, stop
}
