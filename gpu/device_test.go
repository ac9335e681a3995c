package gpu

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestInventoryLogValue(t *testing.T) {
	var buf bytes.Buffer
	inv := Inventory{Driver: "550.54.15", CUDAVersion: "12.4", Devices: fourGPUs[1:3]}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "inventory", inv)
	var out struct {
		Inventory struct {
			Driver, Cuda string
			Count        int
			Devices      map[string]map[string]any
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatalf("%v in %s", err, buf.Bytes())
	}
	got := out.Inventory
	if got.Driver != "550.54.15" || got.Cuda != "12.4" || got.Count != 2 {
		t.Errorf("logged %s", buf.Bytes())
	}
	d := got.Devices["1"]
	if d["uuid"] != fourGPUs[2].UUID || d["compute"] != "8.0" || d["mig"] != true || d["mig_devices"] != 2.0 {
		t.Errorf("device 1 logged as %v", d)
	}
}
