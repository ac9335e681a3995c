package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
)

func demoModelsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo-models", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: tiffin demo-models [--bench] DIR\n\nWrites the demo model repository (mlp-small, mlp-large, cnn, multi-io) into DIR;\nwith --bench, the benchmark models instead (mlp-compute 512→2048→2048→512, tiny 10→1).")
		fs.PrintDefaults()
	}
	benchModels := fs.Bool("bench", false, "write the benchmark models (mlp-compute, tiny) instead of the demo models")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	specs, what := modelgen.Models(), "demo"
	if *benchModels {
		specs, what = modelgen.BenchModels(), "benchmark"
	}
	if err := modelgen.WriteSpecs(fs.Arg(0), specs); err != nil {
		fmt.Fprintf(stderr, "tiffin demo-models: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote the %s model repository to %s\n", what, fs.Arg(0))
	return 0
}
