package modelgen

import (
	"math/rand"
	"reflect"
	"testing"
)

func TestMLPForwardByHand(t *testing.T) {
	// W1 is [In,Hidden] = [[1,-1],[2,0.5]]; W2 is [Hidden,Out] = [[2],[-3]].
	m := &MLP{Name: "hand", In: 2, Hidden: 2, Out: 1,
		W1: []float32{1, -1, 2, 0.5}, B1: []float32{0.5, -1},
		W2: []float32{2, -3}, B2: []float32{0.25}}
	// Row 0, x = [1,2]: hidden = relu([1+4+0.5, -1+1-1]) = [5.5, 0];
	// output = 11 + 0 + 0.25.
	// Row 1, x = [-1,1]: hidden = relu([-1+2+0.5, 1+0.5-1]) = [1.5, 0.5];
	// output = 3 - 1.5 + 0.25.
	got := m.Forward([]float32{1, 2, -1, 1}, 2)
	if want := []float32{11.25, 1.75}; !reflect.DeepEqual(got, want) {
		t.Errorf("Forward = %v, want %v", got, want)
	}
}

func TestCNNForwardByHand(t *testing.T) {
	c := &CNN{Name: "hand",
		ConvW: make([]float32, cnnConvW), ConvB: make([]float32, cnnFilters),
		FCW: make([]float32, cnnFeatures*cnnClasses), FCB: make([]float32, cnnClasses)}
	c.ConvW[0*9+0] = 1                 // filter 0: top-left tap, out(y,x) = in(y-1,x-1)
	c.ConvW[1*9+4] = -1                // filter 1: centre tap, negated
	c.ConvB[2], c.ConvB[3] = 0.5, -0.5 // filters 2 and 3: constants
	fc := func(feature, class int, w float32) { c.FCW[feature*cnnClasses+class] = w }
	fc(0, 0, 1)  // filter 0, pooled (0,0)
	fc(5, 0, 10) // filter 0, pooled (1,1)
	fc(16+5, 1, 1)
	for f := 32; f < 64; f++ {
		fc(f, 2, 1) // all of filters 2 and 3
	}
	c.FCB[4] = -7

	img := make([]float32, cnnPixels)
	img[0*8+0] = 3  // shifted by filter 0 to (1,1): pooled (0,0)
	img[7*8+7] = 4  // shifted off the image
	img[2*8+2] = -2 // filter 0 gives -2 at (3,3), cut by Relu; filter 1 gives 2 at (2,2)
	got := c.Forward(img, 1)
	// Class 0: 3 from pooled (0,0) of filter 0. Class 1: 2 at pooled (1,1)
	// of filter 1. Class 2: 16 cells of 0.5 (filter 2) and 16 of 0
	// (filter 3, Relu of -0.5). Class 4: the bias alone.
	want := []float32{3, 2, 8, 0, -7, 0, 0, 0, 0, 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Forward = %v, want %v", got, want)
	}
}

func TestMultiIOForwardByHand(t *testing.T) {
	in := MultiIOInputs{
		A: []float32{1, -2, 0, 3.5, 0.25, 0, 0, -1},
		B: []int32{1, 2, -3, 7, 0, 1 << 20, -1, 100},
		C: []float64{1.5, -2, 0, 1e300},
	}
	got := NewMultiIO().Forward(in, 2)
	want := MultiIOOutputs{
		Sum:      []float32{2, 0, -3, 10.5, 0.25, 1 << 20, -1, 99},
		Scaled:   []int64{3, 6, -9, 21, 0, 3 << 20, -3, 300},
		Positive: []bool{true, false, false, true, true, false, false, false},
		CDouble:  []float64{3, -4, 0, 2e300},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Forward =\n %+v\nwant\n %+v", got, want)
	}
}

// TestForwardRowsIndependent checks that each row of a batch is computed
// alone: batch 5 gives the rows batch 1 gives.
func TestForwardRowsIndependent(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	models := []struct {
		name    string
		rowLen  int
		outLen  int
		forward func([]float32, int) []float32
	}{
		{"mlp-small", 16, 4, MLPSmall().Forward},
		{"cnn", cnnPixels, cnnClasses, NewCNN(CNNSeed).Forward},
	}
	for _, m := range models {
		x := make([]float32, 5*m.rowLen)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		all := m.forward(x, 5)
		for n := 0; n < 5; n++ {
			one := m.forward(x[n*m.rowLen:(n+1)*m.rowLen], 1)
			if !reflect.DeepEqual(one, all[n*m.outLen:(n+1)*m.outLen]) {
				t.Errorf("%s: row %d differs between batch 1 and batch 5", m.name, n)
			}
		}
	}
}

func TestForwardPanicsOnBadLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Forward with a short input did not panic")
		}
	}()
	MLPSmall().Forward(make([]float32, 15), 1)
}
