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
		fmt.Fprintln(stderr, "Usage: tiffin demo-models DIR\n\nWrites the demo model repository (mlp-small, mlp-large, cnn, multi-io) into DIR.")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if err := modelgen.WriteRepository(fs.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "tiffin demo-models: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote the demo model repository to %s\n", fs.Arg(0))
	return 0
}
