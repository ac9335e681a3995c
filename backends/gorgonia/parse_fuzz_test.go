package gorgonia

import (
	"testing"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
)

// FuzzParseProgram feeds the ONNX loader arbitrary model files: a corrupt
// file must fail with an error, never panic. Run with `make fuzz`.
func FuzzParseProgram(f *testing.F) {
	for _, m := range []interface{ ONNX() ([]byte, error) }{modelgen.Tiny(), modelgen.NewMultiIO(), modelgen.NewCNN(1)} {
		b, err := m.ONNX()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("this is not an onnx model"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseProgram("fuzz", data)
	})
}
