package config

import (
	"fmt"
	"log/slog"
	"time"
)

// Model control modes, named as Triton names them.
const (
	ControlNone     = "none"     // the models at start are the models for life; load and unload are refused
	ControlExplicit = "explicit" // --load-model picks the models loaded at start; load and unload allowed
	ControlPoll     = "poll"     // the repository is rescanned and followed; load and unload are refused
)

// LoadAllModels as a --load-model value loads every model at start.
const LoadAllModels = "*"

// DefaultPollEvery is how often poll mode rescans the repository.
const DefaultPollEvery = 15 * time.Second

// Repository says who may change the running models and who may use them.
type Repository struct {
	Mode       string        // --model-control-mode none|explicit|poll; default none
	LoadModels []string      // --load-model NAME (repeatable): explicit mode loads only these at start; "*": all
	PollEvery  time.Duration // --repository-poll-secs: poll mode's rescan period; default 15s
	// Token (--repository-token, else $TIFFIN_REPOSITORY_TOKEN) is the
	// bearer token that load, unload and every /v2/jobs route need; empty:
	// none is asked for.
	Token string
	// InferenceToken (--inference-token, else $TIFFIN_INFERENCE_TOKEN) is
	// the bearer token inference needs; empty: inference is open.
	InferenceToken string
}

// DefaultRepository returns the closed control plane `tiffin serve` starts
// with: every model loaded at start, none loaded or unloaded afterwards.
func DefaultRepository() Repository {
	return Repository{Mode: ControlNone, PollEvery: DefaultPollEvery}
}

// LoadsAll reports whether the start loads every model of the repository.
func (r Repository) LoadsAll() bool {
	if r.Mode != ControlExplicit {
		return true
	}
	for _, n := range r.LoadModels {
		if n == LoadAllModels {
			return true
		}
	}
	return false
}

func (r Repository) validate() error {
	switch r.Mode {
	case ControlNone, ControlExplicit, ControlPoll:
	default:
		return fmt.Errorf("--model-control-mode: want none, explicit or poll, got %q", r.Mode)
	}
	if len(r.LoadModels) > 0 && r.Mode != ControlExplicit {
		return fmt.Errorf("--load-model: only with --model-control-mode explicit (the mode is %s, which loads every model)", r.Mode)
	}
	if r.Mode == ControlPoll && r.PollEvery <= 0 {
		return fmt.Errorf("--repository-poll-secs: must be > 0 in poll mode")
	}
	return nil
}

// LogValue logs the settings without the tokens.
func (r Repository) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("model_control_mode", r.Mode),
		slog.Any("load_models", r.LoadModels),
		slog.Duration("poll_every", r.PollEvery),
		slog.Bool("repository_token_set", r.Token != ""),
		slog.Bool("inference_token_set", r.InferenceToken != ""),
	)
}
