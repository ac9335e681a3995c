package tensorjson

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

// refAppendElement is AppendElement as it was before its fast paths:
// strconv for everything. The fast paths must agree with it on every input.
func refAppendElement(dst []byte, dt backends.DataType, tok []byte) ([]byte, error) {
	s := string(tok)
	bad := func() error { return fmt.Errorf("invalid %s value %s", dt, Clip(tok)) }
	le := binary.LittleEndian
	switch dt {
	case backends.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil || (s != "true" && s != "false" && s != "0" && s != "1") {
			return nil, bad()
		}
		if b {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case backends.FP32:
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return nil, bad()
		}
		return le.AppendUint32(dst, math.Float32bits(float32(f))), nil
	case backends.FP64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, bad()
		}
		return le.AppendUint64(dst, math.Float64bits(f)), nil
	case backends.Int8, backends.Int16, backends.Int32, backends.Int64:
		v, err := strconv.ParseInt(s, 10, dt.Size()*8)
		if err != nil {
			return nil, bad()
		}
		return AppendInt(dst, uint64(v), dt.Size()), nil
	case backends.Uint8, backends.Uint16, backends.Uint32, backends.Uint64:
		v, err := strconv.ParseUint(s, 10, dt.Size()*8)
		if err != nil {
			return nil, bad()
		}
		return AppendInt(dst, v, dt.Size()), nil
	}
	return nil, fmt.Errorf("datatype %s has no JSON number form", dt)
}

var elementTypes = []backends.DataType{backends.FP32, backends.FP64, backends.Bool,
	backends.Int8, backends.Int16, backends.Int32, backends.Int64,
	backends.Uint8, backends.Uint16, backends.Uint32, backends.Uint64}

// checkElement compares AppendElement with refAppendElement on tok.
func checkElement(t testing.TB, dt backends.DataType, tok string) {
	got, gerr := AppendElement([]byte{7}, dt, []byte(tok))
	want, werr := refAppendElement([]byte{7}, dt, []byte(tok))
	if !bytes.Equal(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("%s %q: got %x %v, want %x %v", dt, tok, got, gerr, want, werr)
	}
}

// randomNumber makes a number in a random spelling: JSON forms mostly,
// near-float32-midpoints, and forms only strconv reads or nobody does.
func randomNumber(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0: // a float32 as an encoder writes it
		f := math.Float32frombits(r.Uint32())
		return strconv.FormatFloat(float64(f), "gef"[r.IntN(3)], r.IntN(12)-1, 32)
	case 1: // a float64, often short
		f := r.NormFloat64() * math.Pow(10, float64(r.IntN(60)-30))
		return strconv.FormatFloat(f, "gef"[r.IntN(3)], r.IntN(21)-1, 64)
	case 2: // near a midpoint between two float32s, where rounding twice could go wrong
		x := math.Float32frombits(r.Uint32() & 0x7f7fffff)
		m := (float64(x) + float64(math.Nextafter32(x, float32(math.Inf(1))))) / 2
		m *= 1 + float64(r.IntN(5)-2)*math.Pow(2, -float64(50+r.IntN(10)))
		return strconv.FormatFloat(m, "eg"[r.IntN(2)], 8+r.IntN(13), 64)
	case 3: // an integer
		return strconv.FormatInt(r.Int64()>>r.IntN(64), 10)
	case 4: // a float32 widened to float64, as Python's json writes numpy's (Eisel-Lemire)
		return strconv.FormatFloat(float64(math.Float32frombits(r.Uint32())), 'g', -1, 64)
	case 5: // up to 19 digits at any exponent, the float64 and float32 edges included
		d := strconv.FormatUint(r.Uint64()>>r.IntN(64), 10)
		e := []int{r.IntN(700) - 350, r.IntN(90) - 60, -324 - r.IntN(20), 290 + r.IntN(30), -45 - r.IntN(10), 30 + r.IntN(10)}[r.IntN(6)]
		return d + "e" + strconv.Itoa(e)
	}
	// pieces of numbers glued at random
	parts := []string{"-", "+", "0", "00", "1", "9", "12345678901234567890", ".", "e", "E", "-", "+",
		"5", "22", "23", "0x1p3", "_", "inf", "NaN", " ", "16777217", "9007199254740993", ".000"}
	var b []byte
	for range 1 + r.IntN(6) {
		b = append(b, parts[r.IntN(len(parts))]...)
	}
	return string(b)
}

func TestAppendElementMatchesStrconv(t *testing.T) {
	fixed := []string{"0", "-0", "0.0", "-0.0", "1", "-1", "1.5", "1e5", "1E-5", "1e+5", "1e", "1e+", ".5", "5.",
		"+1", "007", "0.1", "3.4028235e38", "3.4028236e38", "1e39", "1e-45", "1e-46", "1.17549435e-38",
		"16777217", "16777217.000000001", "16777216.999999999", "33554434", "33554435", "9007199254740993",
		"9007199254740992", "1e22", "1e23", "1e-22", "1e-23", "4.4501477170144023e-308", "123456789012345678",
		"1234567890123456789", "12345678901234567890", "0.84147096", "-0.0012345678", "1.2345678e-05",
		"127", "128", "-128", "-129", "255", "256", "65535", "4294967295", "4294967296", "-9223372036854775808",
		"9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
		"true", "false", "True", "", "-", "1_000", "0x10", "inf", "-Inf", "NaN", "1e1000000000000",
		"0.10000000149011612", "-1.401298464324817e-45", "3.4028234663852886e+38", "3.4028235677973366e+38",
		"1.1754943508222875e-38", "1.1754942106924411e-38", "2.2250738585072014e-308", "4.9406564584124654e-324",
		"1.7976931348623157e+308", "1.7976931348623159e+308", "9999999999999999999e-343", "1e-348", "1e347"}
	for _, dt := range elementTypes {
		for _, tok := range fixed {
			checkElement(t, dt, tok)
		}
	}
	n := 300_000
	if testing.Short() {
		n = 30_000
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		tok := randomNumber(r)
		checkElement(t, backends.FP32, tok)
		checkElement(t, backends.FP64, tok)
		checkElement(t, elementTypes[2+r.IntN(len(elementTypes)-2)], tok)
	}
}

// exactFloat32 declines the midpoints it cannot round: they must be rare,
// or the fast path would not be one.
func TestExactFloat32TakesEncoderOutput(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	declined := 0
	for range 10_000 {
		f := float32(r.NormFloat64())
		for _, s := range []string{strconv.FormatFloat(float64(f), 'g', -1, 32), strconv.FormatFloat(float64(f), 'g', 8, 32)} {
			if _, ok := exactFloat32([]byte(s)); !ok {
				declined++
			}
		}
	}
	if declined > 20 {
		t.Fatalf("the fast path declined %d of 20000 plain decimals", declined)
	}
}

func FuzzAppendElement(f *testing.F) {
	for _, s := range []string{"0.84147096", "-1.5e-7", "16777217", "1e23", "+1", "0x1p-2", "-9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		for _, dt := range elementTypes {
			checkElement(t, dt, tok)
		}
	})
}

func TestEightDigits(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 100_000 {
		s := []byte(fmt.Sprintf("%08d", r.IntN(100_000_000)))
		if r.IntN(2) == 0 {
			s[r.IntN(8)] = byte(r.IntN(256))
		}
		want, err := strconv.ParseUint(string(s), 10, 64)
		ok := err == nil && !bytes.ContainsAny(s, "+-_")
		got, gok := eightDigits(s)
		if gok != ok || ok && got != want {
			t.Fatalf("%q: got %d %v, want %d %v", s, got, gok, want, ok)
		}
	}
}

// BenchmarkParseFP32 reads 512 FP32 elements: short, as a float32 encoder
// writes them, and long17, as Python's json writes a float32 that numpy
// widened to float64 (17 digits; the Eisel-Lemire path).
func BenchmarkParseFP32(b *testing.B) {
	for _, long := range []bool{false, true} {
		r := rand.New(rand.NewPCG(1, 2))
		toks := make([][]byte, 512)
		for i := range toks {
			f := float64(float32(r.NormFloat64()))
			if long {
				toks[i] = strconv.AppendFloat(nil, f, 'g', -1, 64)
			} else {
				toks[i] = strconv.AppendFloat(nil, f, 'g', -1, 32)
			}
		}
		name := "short"
		if long {
			name = "long17"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]byte, 0, 4*len(toks))
			for b.Loop() {
				dst = dst[:0]
				for _, t := range toks {
					var err error
					if dst, err = AppendJSONElement(dst, backends.FP32, t); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestAppendJSONElementGrammar: a JSON document's numbers are JSON numbers.
// strconv, behind the fast paths, read 1_0 as 10, 0x1p3 as 8, and took
// +1, .5, 5., 01, NaN and Infinity; the lenient AppendElement (CSV, the
// command line) still does. FP16 refuses a finite value past its range
// instead of making it infinite, as FP32 and BF16 already did.
func TestAppendJSONElementGrammar(t *testing.T) {
	bad := []string{"1_0", "0x1p3", "+1", ".5", "5.", "01", "-01", "007.5", "NaN", "nan", "Infinity", "-inf", "1e1_0", "-", "1e", "1.e5", ""}
	for _, dt := range []backends.DataType{backends.FP16, backends.BF16, backends.FP32, backends.FP64, backends.Int32, backends.Uint8} {
		for _, tok := range bad {
			if _, err := AppendJSONElement(nil, dt, []byte(tok)); err == nil {
				t.Errorf("%s %q: accepted, want it refused as not a JSON number", dt, tok)
			}
		}
	}
	for _, tok := range []string{"0", "-0", "0.5", "-1.5e-3", "1E+5", "10", "123456789012345678901234567890"} {
		if _, err := AppendJSONElement(nil, backends.FP64, []byte(tok)); err != nil {
			t.Errorf("FP64 %q: %v, want it read", tok, err)
		}
	}
	for _, tok := range []string{"0", "-7", "2147483647"} {
		if _, err := AppendJSONElement(nil, backends.Int32, []byte(tok)); err != nil {
			t.Errorf("INT32 %q: %v, want it read", tok, err)
		}
	}
	for _, tok := range []string{".5", "+1", "5.", "01"} { // lenient, as before
		if _, err := AppendElement(nil, backends.FP32, []byte(tok)); err != nil {
			t.Errorf("AppendElement FP32 %q: %v, want it read", tok, err)
		}
	}
	for tok, ok := range map[string]bool{"65504": true, "-65504": true, "70000": false, "-1e30": false, "1e38": false} {
		_, err := AppendJSONElement(nil, backends.FP16, []byte(tok))
		if ok != (err == nil) {
			t.Errorf("FP16 %s: %v", tok, err)
		}
	}
	if b, err := AppendElement(nil, backends.FP16, []byte("inf")); err != nil || binary.LittleEndian.Uint16(b) != 0x7c00 {
		t.Errorf("lenient FP16 inf: %x, %v; want +Inf", b, err)
	}
}
