package tensorjson

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

func checkFloat32(t *testing.T, u uint32) {
	f := math.Float32frombits(u)
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return
	}
	want := strconv.AppendFloat(nil, float64(f), 'g', -1, 32)
	if got := appendFloat32(nil, f); string(got) != string(want) {
		t.Fatalf("bits %#08x: %s, strconv %s", u, got, want)
	}
}

// appendFloat32 writes what strconv writes: on the edges (zeros,
// subnormals, powers of two and ten, the %e/%f switch, the largest
// values) and on random bit patterns and normal-distributed values.
func TestAppendFloat32MatchesStrconv(t *testing.T) {
	for _, u := range []uint32{0, 1, 2, 3, 0x7fffff, 0x800000, 0x800001, 0x7f7fffff, 0x7f7ffffe, 0x3f800000, 0x3f7fffff, 0x3f800001} {
		checkFloat32(t, u)
		checkFloat32(t, u|1<<31)
	}
	for e := -45; e <= 38; e++ {
		for _, m := range []float64{1, 1.5, 2, 5, 9.999999, 123456, 0.1, 0.3} {
			f := float32(m * math.Pow(10, float64(e)))
			checkFloat32(t, math.Float32bits(f))
			checkFloat32(t, math.Float32bits(f)+1)
			checkFloat32(t, math.Float32bits(f)-1)
		}
	}
	for e := range 255 {
		checkFloat32(t, uint32(e)<<23)
		checkFloat32(t, uint32(e)<<23|0x7fffff)
	}
	r := rand.New(rand.NewPCG(7, 11))
	n := 2_000_000
	if testing.Short() {
		n = 100_000
	}
	for range n {
		checkFloat32(t, r.Uint32())
		checkFloat32(t, math.Float32bits(float32(r.NormFloat64())))
	}
}

// TestAppendFloat32Exhaustive checks every float32, when
// TIFFIN_FTOA_EXHAUSTIVE=1 (a few minutes on two cores).
func TestAppendFloat32Exhaustive(t *testing.T) {
	if os.Getenv("TIFFIN_FTOA_EXHAUSTIVE") != "1" {
		t.Skip("set TIFFIN_FTOA_EXHAUSTIVE=1 to check all 2^32 values")
	}
	const parts = 2
	done := make(chan uint32, parts)
	for p := range uint32(parts) {
		go func() {
			var got, want []byte
			bad := uint32(0)
			for u := p; ; u += parts {
				f := math.Float32frombits(u)
				if !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
					got = appendFloat32(got[:0], f)
					want = strconv.AppendFloat(want[:0], float64(f), 'g', -1, 32)
					if string(got) != string(want) && bad == 0 {
						bad = u
					}
				}
				if u > math.MaxUint32-parts {
					break
				}
			}
			done <- bad
		}()
	}
	for range parts {
		if bad := <-done; bad != 0 {
			t.Errorf("bits %#08x: %s, strconv %s", bad, appendFloat32(nil, math.Float32frombits(bad)),
				strconv.AppendFloat(nil, float64(math.Float32frombits(bad)), 'g', -1, 32))
		}
	}
}

func BenchmarkAppendFloat32(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, 512)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	buf := make([]byte, 0, 8192)
	b.Run("tiffin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			for _, f := range v {
				buf = appendFloat32(buf, f)
			}
		}
	})
	b.Run("strconv", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			for _, f := range v {
				buf = strconv.AppendFloat(buf, float64(f), 'g', -1, 32)
			}
		}
	})
}

// AppendFloat at 32 bits writes null for what float32 cannot hold, as for
// NaN and the infinities, and never reaches appendFloat32 with them.
func TestAppendFloat32Range(t *testing.T) {
	for _, f := range []float64{1e39, -1e39, math.MaxFloat64, math.Inf(1), math.NaN()} {
		if got := string(AppendFloat(nil, f, 32)); got != "null" {
			t.Errorf("AppendFloat(%g, 32) = %s, want null", f, got)
		}
	}
	if got := string(AppendFloat(nil, math.MaxFloat32, 32)); got != "3.4028235e+38" {
		t.Errorf("AppendFloat(MaxFloat32, 32) = %s", got)
	}
}

// TestAppendFloat32: the same text as AppendFloat at 32 bits, null for
// what JSON cannot say.
func TestAppendFloat32(t *testing.T) {
	for _, f := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1.5, -3.4028235e38, 1e-45, 0.1, 123456.79} {
		got, want := string(AppendFloat32(nil, f)), string(AppendFloat(nil, float64(f), 32))
		if got != want {
			t.Errorf("AppendFloat32(%v) = %q, want %q", f, got, want)
		}
	}
	if got := string(AppendFloat32([]byte("x,"), float32(math.NaN()))); got != "x,null" {
		t.Errorf("NaN after x,: %q", got)
	}
}
