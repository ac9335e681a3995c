package backendtest

import (
	"fmt"
	"os"
	"path/filepath"
)

// ModelFile is the file name WriteModel writes in each version folder.
const ModelFile = "model.onnx"

// WriteModel creates root/name/<v>/model.onnx for each version (the file a
// fake of the default Options loads), and
// root/name/config.yaml when config is not empty. The file contents are
// never read by the fake backend.
func WriteModel(root, name, config string, versions ...int64) error {
	for _, v := range versions {
		dir := filepath.Join(root, name, fmt.Sprint(v))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, ModelFile), []byte("fake"), 0o644); err != nil {
			return err
		}
	}
	if config == "" {
		return nil
	}
	return os.WriteFile(filepath.Join(root, name, "config.yaml"), []byte(config), 0o644)
}
