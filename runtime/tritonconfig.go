package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TritonConfigFileName is a Triton repository's per-model config, read in
// place of config.yaml (runtime/config/triton.go maps it).
const TritonConfigFileName = "config.pbtxt"

// loadModelConfig reads the model folder's config.yaml or config.pbtxt.
// Both at once is an error naming both: which one wins is not a guess to
// make silently.
func loadModelConfig(md ModelDir) (config.Model, error) {
	yamlPath := filepath.Join(md.Dir, ConfigFileName)
	pbtxtPath := filepath.Join(md.Dir, TritonConfigFileName)
	if !exists(pbtxtPath) {
		return config.LoadModel(yamlPath)
	}
	if exists(yamlPath) {
		return config.Model{}, fmt.Errorf("%s and %s: a model folder holds one config, not both; remove one",
			yamlPath, pbtxtPath)
	}
	cfg, err := config.LoadTriton(pbtxtPath)
	if err != nil {
		return cfg, err
	}
	if n := cfg.Triton.GetName(); n != "" && n != md.Name {
		return cfg, &config.FieldError{File: pbtxtPath, Field: "name",
			Msg: fmt.Sprintf("is %q but the model's folder is %q; they must match", n, md.Name)}
	}
	return cfg, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// configFile is the file a model's config errors name.
func configFile(md ModelDir) string {
	if md.Config.File != "" {
		return md.Config.File
	}
	return filepath.Join(md.Dir, ConfigFileName)
}

// inFile names the model's config file in a *config.FieldError that does
// not name one yet.
func inFile(md ModelDir, err error) error {
	var fe *config.FieldError
	if errors.As(err, &fe) && fe.File == "" {
		fe.File = configFile(md)
		if md.Config.Triton != nil {
			fe.Field = config.TritonField(fe.Field)
		}
	}
	return err
}

// checkPlatform refuses a Triton config whose platform and backend name
// different backends (the config's backend was chosen; the platform must
// agree with it).
func (m *Manager) checkPlatform(md ModelDir, b backends.Backend) error {
	platform := md.Config.Triton.GetPlatform()
	if platform == "" || md.Config.Triton.GetBackend() == "" {
		return nil
	}
	if p, err := m.backends.Get(platform); err != nil || p.Name() != b.Name() {
		return &config.FieldError{File: configFile(md), Field: "platform",
			Msg: fmt.Sprintf("%q is not a platform of backend %q", platform, b.Name())}
	}
	return nil
}

// warnIgnored logs, once per load, the config fields tiffin read but does
// not act on.
func (m *Manager) warnIgnored(md ModelDir) {
	if len(md.Config.Ignored) > 0 {
		m.log.Warn("config fields that tiffin does not implement are ignored", "model", md.Name,
			"file", configFile(md), "fields", md.Config.Ignored)
	}
}
