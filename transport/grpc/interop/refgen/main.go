// Command refgen writes the interop suite's reference values: inputs for
// mlp-small and the outputs the Go reference implementation
// (modelgen.MLP.Forward) computes for them, as JSON, so the Python suite
// checks the server's numbers against values computed apart from it.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: refgen OUT.json")
		os.Exit(2)
	}
	const batch, width = 3, 16
	x := make([]float32, batch*width)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.37))
	}
	ref := map[string]any{"mlp-small": map[string]any{
		"batch": batch, "input": x, "output": modelgen.MLPSmall().Forward(x, batch),
	}}
	b, err := json.Marshal(ref)
	if err == nil {
		err = os.WriteFile(os.Args[1], b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "refgen:", err)
		os.Exit(1)
	}
}
