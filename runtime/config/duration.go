package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML as a Go duration string, such
// as "2ms" or "5s".
type Duration time.Duration

// UnmarshalYAML accepts "2ms"-style strings.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as \"2ms\", got %q", n.Line, n.Value)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: want a duration such as \"2ms\", got %q", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// OptDuration is a Duration that knows whether it was written, so that an
// explicit zero ("0s": do not wait) differs from a missing field (take the
// default).
type OptDuration struct {
	Duration
	Set bool
}

// Opt returns a set OptDuration.
func Opt(d time.Duration) OptDuration { return OptDuration{Duration: Duration(d), Set: true} }

// UnmarshalYAML accepts "2ms"-style strings and marks the value set.
func (o *OptDuration) UnmarshalYAML(n *yaml.Node) error {
	if err := o.Duration.UnmarshalYAML(n); err != nil {
		return err
	}
	o.Set = true
	return nil
}

// MarshalYAML writes the duration back as a string.
func (o OptDuration) MarshalYAML() (any, error) { return o.Duration.MarshalYAML() }
