package tensorjson

import (
	"math"
	"math/big"
	"math/bits"
	"sync"
)

// Decimals of more than 15 significant digits, which is how Python's
// json.dumps writes a float32 that numpy widened to float64 (tritonclient
// and KServe's clients send 0.10000000149011612 for 0.1), miss Clinger's
// fast path; strconv took three times as long on them as on short ones.
// eiselLemire64 reads any decimal of up to 19 digits, mant × 10^exp10, as
// the correctly rounded float64, with the algorithm of Michael Eisel and
// Daniel Lemire ("Number Parsing at a Gigabyte per Second", 2021), in the
// same steps as Go's strconv takes internally (its eisel_lemire.go, which
// does not export them). It declines (ok false) in the rare cases it
// cannot decide, and for subnormal and overflowing results; strconv then
// reads the number. number_test.go holds both paths to strconv.

const (
	pow10Min = -348
	pow10Max = 347
)

// pow10Table holds, for each power of ten in [pow10Min, pow10Max], its
// 128-bit mantissa rounded down, high word first: m with 2^127 ≤ m < 2^128
// and 10^e = m × 2^k for some k. Computed once, on first use.
var pow10Table = sync.OnceValue(func() [][2]uint64 {
	t := make([][2]uint64, pow10Max-pow10Min+1)
	one := big.NewInt(1)
	mask := new(big.Int).Sub(new(big.Int).Lsh(one, 64), one)
	for e := pow10Min; e <= pow10Max; e++ {
		var m *big.Int
		if e >= 0 {
			m = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil)
			if b := m.BitLen(); b > 128 {
				m.Rsh(m, uint(b-128))
			} else {
				m.Lsh(m, uint(128-b))
			}
		} else {
			d := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-e)), nil)
			// 2^s / 10^-e with s chosen so the quotient has 128 bits.
			s := 127 + d.BitLen()
			m = new(big.Int).Lsh(one, uint(s))
			m.Quo(m, d)
			if m.BitLen() > 128 {
				m.Rsh(m, 1)
			}
		}
		t[e-pow10Min] = [2]uint64{new(big.Int).Rsh(m, 64).Uint64(), new(big.Int).And(m, mask).Uint64()}
	}
	return t
})

// eiselLemire64 is mant × 10^exp10, negated when neg, as the nearest
// float64, or ok false.
func eiselLemire64(mant uint64, exp10 int, neg bool) (f float64, ok bool) {
	if mant == 0 {
		if neg {
			f = math.Copysign(0, -1)
		}
		return f, true
	}
	if exp10 < pow10Min || exp10 > pow10Max {
		return 0, false
	}
	p := pow10Table()[exp10-pow10Min]
	clz := bits.LeadingZeros64(mant)
	mant <<= uint(clz)
	retExp2 := uint64(217706*exp10>>16+64+1023) - uint64(clz)
	xHi, xLo := bits.Mul64(mant, p[0])
	if xHi&0x1FF == 0x1FF && xLo+mant < mant { // the low word may carry: widen
		yHi, yLo := bits.Mul64(mant, p[1])
		mergedHi, mergedLo := xHi, xLo+yHi
		if mergedLo < xLo {
			mergedHi++
		}
		if mergedHi&0x1FF == 0x1FF && mergedLo+1 == 0 && yLo+mant < mant {
			return 0, false
		}
		xHi, xLo = mergedHi, mergedLo
	}
	msb := xHi >> 63
	retMant := xHi >> (msb + 9)
	retExp2 -= 1 ^ msb
	if xLo == 0 && xHi&0x1FF == 0 && retMant&3 == 1 { // exactly halfway: undecided
		return 0, false
	}
	retMant += retMant & 1
	retMant >>= 1
	if retMant>>53 > 0 {
		retMant >>= 1
		retExp2++
	}
	if retExp2-1 >= 0x7FF-1 { // subnormal, or past the largest float64
		return 0, false
	}
	b := retExp2<<52 | retMant&(1<<52-1)
	if neg {
		b |= 1 << 63
	}
	return math.Float64frombits(b), true
}
