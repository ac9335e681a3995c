package batcher

import (
	"fmt"
	"strings"
	"time"
)

// Mode selects the batching policy: an index into the mode registry.
type Mode uint8

const (
	ModeOff      Mode = iota // each request alone, at once
	ModeStatic               // MaxBatch, preferred sizes and a fixed window
	ModeAdaptive             // window and target size learnt per device group
)

// policyConfig is what a policy is built from: Config's fields that are
// not the request type's.
type policyConfig struct {
	maxBatch      int
	window        time.Duration
	preferred     []int
	latencyTarget time.Duration
	sharedCores   bool // the group's instances run on the front end's cores
}

// modeSpec is one entry of the registry: the name config files use and
// the policy it builds for each device group.
type modeSpec struct {
	name   string
	policy func(policyConfig) policy
}

// modes is the one registry of batching modes, indexed by Mode. A new
// policy is its policy type and one entry here: ParseMode, ModeNames and
// Config's checks (and so config.yaml's) all read this table.
var modes = [...]modeSpec{
	ModeOff: {"off", func(policyConfig) policy { return offPolicy{} }},
	ModeStatic: {"static", func(c policyConfig) policy {
		return &staticPolicy{max: c.maxBatch, window: c.window, preferred: c.preferred}
	}},
	ModeAdaptive: {"adaptive", func(c policyConfig) policy {
		p := newAdaptivePolicy(c.maxBatch, c.latencyTarget)
		p.shared = c.sharedCores
		return p
	}},
}

func (m Mode) String() string {
	if int(m) < len(modes) {
		return modes[m].name
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ModeNames lists the modes' names (the model config's spelling), in Mode
// order.
func ModeNames() []string {
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = m.name
	}
	return names
}

// ParseMode maps a mode's name (the model config's spelling) to a Mode.
func ParseMode(s string) (Mode, error) {
	for i, m := range modes {
		if m.name == s {
			return Mode(i), nil
		}
	}
	return ModeOff, fmt.Errorf("unknown mode %q (want %s)", s, strings.Join(ModeNames(), ", "))
}
