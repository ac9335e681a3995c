package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DeviceFile is a host's device file (`tiffin serve --devices FILE`): per
// device class, what that machine should run, overriding every model's
// config.yaml. One repository can then serve well on a laptop, a 64-core
// server and a GPU box, each with its own file.
//
//	cpu:
//	  count: 4                    # instances per cpu group
//	  batching: {max_queue_delay: 1ms, preferred_batch_sizes: [32]}
//	gpu:
//	  count: 2                    # instances per GPU
//	  max_batch_size: 128
//	  batching: {max_queue_delay: 500us}
//	models:
//	  mlp-large:
//	    cpu: {count: 1}           # a model's own entry wins over the class
type DeviceFile struct {
	CPU    DeviceClass                       `yaml:"cpu"`
	GPU    DeviceClass                       `yaml:"gpu"`
	Models map[string]map[string]DeviceClass `yaml:"models"`
}

// DeviceClass overrides what a model's config says for one device class.
// Fields left out leave the model's config alone.
type DeviceClass struct {
	Count        int      `yaml:"count"`
	Cores        []int    `yaml:"cores"`
	GPUs         []int    `yaml:"gpus"`
	MaxBatchSize *int     `yaml:"max_batch_size"`
	Batching     Batching `yaml:"batching"`
	// GPUMemLimit sets gpu_mem_limit on the gpu class's groups.
	GPUMemLimit ByteSize `yaml:"gpu_mem_limit"`
}

// LoadDevices reads and checks a device file; errors name the file and the
// field.
func LoadDevices(path string) (*DeviceFile, error) {
	raw, err := readConfig(path) // bounded: it could name any file, /dev/zero included
	if err != nil {
		return nil, fmt.Errorf("device file: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, &FieldError{File: path, Msg: yamlMessage(err)}
	}
	var f DeviceFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(path, &root, err)
	}
	check := func(at string, c DeviceClass) error {
		if c.Count < 0 {
			return &FieldError{File: path, Field: at + ".count", Msg: fmt.Sprintf("must be >= 1, got %d", c.Count)}
		}
		if c.GPUMemLimit != 0 && !strings.HasSuffix(at, KindGPU) {
			return &FieldError{File: path, Field: at + ".gpu_mem_limit", Msg: "is for the gpu class only"}
		}
		if c.GPUMemLimit != 0 && c.GPUMemLimit < MinGPUMemLimit {
			return &FieldError{File: path, Field: at + ".gpu_mem_limit", Msg: fmt.Sprintf("must be at least %v, got %v", MinGPUMemLimit, c.GPUMemLimit)}
		}
		if err := c.Batching.validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				fe.File, fe.Field = path, at+"."+fe.Field
			}
			return err
		}
		return nil
	}
	for at, c := range map[string]DeviceClass{"cpu": f.CPU, "gpu": f.GPU} {
		if err := check(at, c); err != nil {
			return nil, err
		}
	}
	for m, classes := range f.Models {
		for kind, c := range classes {
			if kind != KindCPU && kind != KindGPU {
				return nil, &FieldError{File: path, Field: "models." + m, Msg: fmt.Sprintf("unknown device class %q (want cpu or gpu)", kind)}
			}
			if err := check("models."+m+"."+kind, c); err != nil {
				return nil, err
			}
		}
	}
	return &f, nil
}

// Apply edits one model's config for this host. kindOf resolves a group's
// kind (auto becomes gpu or cpu as the host has); the batching and
// max_batch_size overrides follow the model's first instance group.
func (f *DeviceFile) Apply(model string, cfg *Model, kindOf func(string) string) {
	if len(cfg.InstanceGroups) == 0 {
		cfg.InstanceGroups = []InstanceGroup{{Kind: KindCPU, Count: 1}}
	}
	for i := range cfg.InstanceGroups {
		g := &cfg.InstanceGroups[i]
		c := f.class(model, kindOf(g.Kind))
		if c.Count > 0 {
			g.Count = c.Count
		}
		if len(c.Cores) > 0 {
			g.Cores = c.Cores
		}
		if len(c.GPUs) > 0 {
			g.GPUs = c.GPUs
		}
		if c.GPUMemLimit > 0 && kindOf(g.Kind) == KindGPU {
			g.GPUMemLimit = c.GPUMemLimit
		}
	}
	c := f.class(model, kindOf(cfg.InstanceGroups[0].Kind))
	if c.MaxBatchSize != nil {
		cfg.MaxBatchSize = c.MaxBatchSize
	}
	cfg.Batching = cfg.Batching.merge(c.Batching)
}

// class is the model's own entry for a kind merged over the kind's.
func (f *DeviceFile) class(model, kind string) DeviceClass {
	base := f.CPU
	if kind == KindGPU {
		base = f.GPU
	}
	own, ok := f.Models[model][kind]
	if !ok {
		return base
	}
	if own.Count == 0 {
		own.Count = base.Count
	}
	if own.Cores == nil {
		own.Cores = base.Cores
	}
	if own.GPUs == nil {
		own.GPUs = base.GPUs
	}
	if own.MaxBatchSize == nil {
		own.MaxBatchSize = base.MaxBatchSize
	}
	if own.GPUMemLimit == 0 {
		own.GPUMemLimit = base.GPUMemLimit
	}
	own.Batching = base.Batching.merge(own.Batching)
	return own
}

// merge returns b with every field set in over replacing b's.
func (b Batching) merge(over Batching) Batching {
	if over.Mode != "" {
		b.Mode = over.Mode
	}
	if over.MaxQueueDelay.Set {
		b.MaxQueueDelay = over.MaxQueueDelay
	}
	if over.PreferredBatchSizes != nil {
		b.PreferredBatchSizes = over.PreferredBatchSizes
	}
	if over.MaxQueueSize != 0 {
		b.MaxQueueSize = over.MaxQueueSize
	}
	if over.Timeout != 0 {
		b.Timeout = over.Timeout
	}
	if over.LatencyTarget != 0 {
		b.LatencyTarget = over.LatencyTarget
	}
	return b
}
