package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Warmup data sources.
const (
	WarmupZero   = "zero"
	WarmupRandom = "random"
)

// WarmupDir is the folder, in the model's folder, that warmup input files
// are read from (Triton's convention).
const WarmupDir = "warmup"

// Warmup is one warmup sample, as Triton's model_warmup has it: a request
// of BatchSize items, run Count times on every instance before the model
// is READY.
type Warmup struct {
	Name      string                 `yaml:"name"`
	BatchSize int                    `yaml:"batch_size"` // items; default 1; must be 1 for a model that does not batch
	Count     int                    `yaml:"count"`      // runs per instance; default 1
	Inputs    map[string]WarmupInput `yaml:"inputs"`     // by input name; every model input needs one
}

// WarmupInput is one input of a warmup sample. Dims leave out the batch
// axis when the model batches. Exactly one of Data and File is set.
type WarmupInput struct {
	DataType string  `yaml:"data_type"` // V2 name (FP32) or Triton's (TYPE_FP32)
	Dims     []int64 `yaml:"dims"`
	Data     string  `yaml:"data"` // zero | random
	// File is raw row-major little-endian bytes (BYTES: 4-byte length then
	// the bytes, per element), in the model's warmup/ folder.
	File string `yaml:"file"`
}

// Runs is how often the sample runs on each instance.
func (w Warmup) Runs() int { return max(w.Count, 1) }

// Items is the batch size the sample asks for.
func (w Warmup) Items() int { return max(w.BatchSize, 1) }

// DataTypeName is the input's datatype as a V2 name (TYPE_STRING is BYTES).
func (in WarmupInput) DataTypeName() string {
	n := strings.TrimPrefix(in.DataType, "TYPE_")
	if n == "STRING" {
		return "BYTES"
	}
	return n
}

// MaxWarmupCount bounds a sample's runs per instance.
const MaxWarmupCount = 1000

func validateWarmup(ws []Warmup) error {
	for i, w := range ws {
		at := fmt.Sprintf("warmup[%d]", i)
		if w.Name == "" {
			return &FieldError{Field: at + ".name", Msg: "is required"}
		}
		if w.BatchSize < 0 || w.Count < 0 {
			return &FieldError{Field: at, Msg: fmt.Sprintf("batch_size and count must be >= 1, got %d and %d", w.BatchSize, w.Count)}
		}
		if w.Count > MaxWarmupCount {
			return &FieldError{Field: at + ".count", Msg: fmt.Sprintf("must be at most %d, got %d (a load holds the others back while it warms up)", MaxWarmupCount, w.Count)}
		}
		if len(w.Inputs) == 0 {
			return &FieldError{Field: at + ".inputs", Msg: "name at least one input"}
		}
		names := make([]string, 0, len(w.Inputs))
		for n := range w.Inputs {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if err := w.Inputs[n].validate(at + ".inputs." + n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (in WarmupInput) validate(at string) error {
	if in.DataType == "" {
		return &FieldError{Field: at + ".data_type", Msg: "is required"}
	}
	for _, d := range in.Dims {
		if d < 0 {
			return &FieldError{Field: at + ".dims", Msg: fmt.Sprintf("warmup dims are fixed sizes, got %d", d)}
		}
	}
	switch {
	case in.Data != "" && in.File != "":
		return &FieldError{Field: at, Msg: "set one of data and file"}
	case in.File != "":
		if filepath.Base(in.File) != in.File || in.File == "." || in.File == ".." {
			return &FieldError{Field: at + ".file", Msg: fmt.Sprintf("%q must be a file name in the model's %s/ folder", in.File, WarmupDir)}
		}
	case in.Data != WarmupZero && in.Data != WarmupRandom:
		return &FieldError{Field: at + ".data", Msg: fmt.Sprintf("want zero or random, got %q", in.Data)}
	}
	return nil
}
