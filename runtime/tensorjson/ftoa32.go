package tensorjson

import (
	"math"
	"math/big"
	"math/bits"
)

// appendFloat32 writes f as strconv.AppendFloat(dst, float64(f), 'g', -1,
// 32) does, byte for byte, for finite f: the shortest decimal that reads
// back as f, in %e form when its exponent is under -4 or at least 6.
// JSON responses are mostly FP32 outputs, and strconv's general path spent
// about 36 ns on each; this one computes the digits with Ulf Adams' Ryū
// ("Ryū: fast float-to-string conversion", PLDI 2018) in 32-bit integer
// steps and writes them directly. ftoa32_test.go holds it to strconv.
func appendFloat32(dst []byte, f float32) []byte {
	u := math.Float32bits(f)
	var out [24]byte // the longest text is 15 bytes: -1.2345678e-38
	n := 0
	if u>>31 != 0 {
		out[0], n = '-', 1
	}
	mant, exp := u&(1<<23-1), (u>>23)&0xff
	if mant == 0 && exp == 0 {
		out[n] = '0'
		return append(dst, out[:n+1]...)
	}
	digits, e10 := shortest32(mant, exp)
	// The digits, right-aligned in d, two at a time.
	var d [10]byte
	i := len(d)
	for digits >= 100 {
		q := digits / 100
		r := (digits - q*100) * 2
		i -= 2
		d[i], d[i+1] = pairs[r], pairs[r+1]
		digits = q
	}
	if digits >= 10 {
		i -= 2
		d[i], d[i+1] = pairs[digits*2], pairs[digits*2+1]
	} else {
		i--
		d[i] = byte('0' + digits)
	}
	ds := d[i:]
	nd := len(ds)
	dp := int(e10) + nd // the value is 0.ds × 10^dp
	switch x := dp - 1; {
	case x < -4 || x >= 6:
		out[n] = ds[0]
		n++
		if nd > 1 {
			out[n] = '.'
			n += 1 + copy(out[n+1:], ds[1:])
		}
		out[n], out[n+1] = 'e', '+'
		if x < 0 {
			out[n+1], x = '-', -x
		}
		n += 2
		if x >= 100 {
			out[n] = byte('0' + x/100)
			n++
		}
		out[n], out[n+1] = pairs[x%100*2], pairs[x%100*2+1]
		n += 2
	case dp <= 0:
		out[n], out[n+1] = '0', '.'
		n += 2
		for ; dp < 0; dp++ {
			out[n] = '0'
			n++
		}
		n += copy(out[n:], ds)
	case dp >= nd:
		n += copy(out[n:], ds)
		for ; nd < dp; nd++ {
			out[n] = '0'
			n++
		}
	default:
		n += copy(out[n:], ds[:dp])
		out[n] = '.'
		n += 1 + copy(out[n+1:], ds[dp:])
	}
	return append(dst, out[:n]...)
}

// pairs holds "00" to "99", for writing two digits at a time.
const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859606162636465666768697071727374757677787980" +
	"81828384858687888990919293949596979899"

// Ryū's constants for float32: the 5^q multipliers carry this many bits.
const (
	pow5InvBits = 59
	pow5Bits    = 61
)

// pow5Inv[q] is ⌊2^(pow5bits(q)−1+pow5InvBits) / 5^q⌋ + 1 and pow5[i] the
// top pow5Bits bits of 5^i: the tables of Ryū's reference f2s, computed
// here rather than copied.
var pow5Inv, pow5 = ryuTables()

func ryuTables() (inv [31]uint64, pos [48]uint64) {
	five := big.NewInt(5)
	p := big.NewInt(1)
	for i := range pos {
		if i < len(inv) {
			n := new(big.Int).Lsh(big.NewInt(1), uint(pow5bits(int32(i))-1+pow5InvBits))
			inv[i] = n.Div(n, p).Uint64() + 1
		}
		if shift := p.BitLen() - pow5Bits; shift > 0 {
			pos[i] = new(big.Int).Rsh(p, uint(shift)).Uint64()
		} else {
			pos[i] = new(big.Int).Lsh(p, uint(-shift)).Uint64()
		}
		p.Mul(p, five)
	}
	return inv, pos
}

// pow5bits is ⌈log2(5^e)⌉ for e ≥ 1, and 1 for e = 0.
func pow5bits(e int32) int32 { return int32((uint32(e)*1217359)>>19) + 1 }

func log10Pow2(e int32) uint32 { return (uint32(e) * 78913) >> 18 }

func log10Pow5(e int32) uint32 { return (uint32(e) * 732923) >> 20 }

// mulShift is ⌊m·factor / 2^shift⌋ for shift > 32.
func mulShift(m uint32, factor uint64, shift int32) uint32 {
	hi, lo := bits.Mul64(uint64(m), factor)
	return uint32(hi<<(64-uint(shift)) | lo>>uint(shift))
}

func multipleOfPow5(v, p uint32) bool {
	n := uint32(0)
	for v%5 == 0 {
		v /= 5
		n++
	}
	return n >= p
}

// shortest32 returns the shortest digits and their exponent (the value is
// digits × 10^e10) of the positive float32 with these mantissa and
// exponent fields, as Ryū's f2d computes them.
func shortest32(ieeeMant, ieeeExp uint32) (digits uint32, e10 int32) {
	var e2 int32
	var m2 uint32
	if ieeeExp == 0 {
		e2, m2 = 1-127-23-2, ieeeMant
	} else {
		e2, m2 = int32(ieeeExp)-127-23-2, 1<<23|ieeeMant
	}
	acceptBounds := m2&1 == 0
	mv, mp := 4*m2, 4*m2+2
	mmShift := uint32(0)
	if ieeeMant != 0 || ieeeExp <= 1 {
		mmShift = 1
	}
	mm := 4*m2 - 1 - mmShift
	var vr, vp, vm uint32
	var vmTrailingZeros, vrTrailingZeros bool
	var lastRemoved uint32
	if e2 >= 0 {
		q := log10Pow2(e2)
		e10 = int32(q)
		k := pow5InvBits + pow5bits(int32(q)) - 1
		i := -e2 + int32(q) + k
		vr, vp, vm = mulShift(mv, pow5Inv[q], i), mulShift(mp, pow5Inv[q], i), mulShift(mm, pow5Inv[q], i)
		if q != 0 && (vp-1)/10 <= vm/10 {
			l := pow5InvBits + pow5bits(int32(q-1)) - 1
			lastRemoved = mulShift(mv, pow5Inv[q-1], -e2+int32(q)-1+l) % 10
		}
		if q <= 9 {
			switch {
			case mv%5 == 0:
				vrTrailingZeros = multipleOfPow5(mv, q)
			case acceptBounds:
				vmTrailingZeros = multipleOfPow5(mm, q)
			case multipleOfPow5(mp, q):
				vp--
			}
		}
	} else {
		q := log10Pow5(-e2)
		e10 = int32(q) + e2
		i := -e2 - int32(q)
		k := pow5bits(i) - pow5Bits
		j := int32(q) - k
		vr, vp, vm = mulShift(mv, pow5[i], j), mulShift(mp, pow5[i], j), mulShift(mm, pow5[i], j)
		if q != 0 && (vp-1)/10 <= vm/10 {
			j = int32(q) - 1 - (pow5bits(i+1) - pow5Bits)
			lastRemoved = mulShift(mv, pow5[i+1], j) % 10
		}
		switch {
		case q <= 1:
			vrTrailingZeros = true
			if acceptBounds {
				vmTrailingZeros = mmShift == 1
			} else {
				vp--
			}
		case q < 31:
			vrTrailingZeros = mv&(1<<(q-1)-1) == 0
		}
	}
	removed := int32(0)
	if vmTrailingZeros || vrTrailingZeros {
		for vp/10 > vm/10 {
			vmTrailingZeros = vmTrailingZeros && vm%10 == 0
			vrTrailingZeros = vrTrailingZeros && lastRemoved == 0
			lastRemoved = vr % 10
			vr, vp, vm = vr/10, vp/10, vm/10
			removed++
		}
		if vmTrailingZeros {
			for vm%10 == 0 {
				vrTrailingZeros = vrTrailingZeros && lastRemoved == 0
				lastRemoved = vr % 10
				vr, vp, vm = vr/10, vp/10, vm/10
				removed++
			}
		}
		// An exact tie (vrTrailingZeros, lastRemoved 5) rounds to even,
		// except at a power of two (mmShift 0), where strconv rounds it
		// up; that is the one place strconv and Ryū's reference differ.
		if vrTrailingZeros && lastRemoved == 5 && vr%2 == 0 && mmShift == 1 {
			lastRemoved = 4
		}
		digits = vr
		if (vr == vm && (!acceptBounds || !vmTrailingZeros)) || lastRemoved >= 5 {
			digits++
		}
		return digits, e10 + removed
	}
	for vp/10 > vm/10 {
		lastRemoved = vr % 10
		vr, vp, vm = vr/10, vp/10, vm/10
		removed++
	}
	digits = vr
	if vr == vm || lastRemoved >= 5 {
		digits++
	}
	return digits, e10 + removed
}
