package jobs

import (
	"encoding/binary"
	"math/bits"
)

// Checking a list<float> page's levels without decoding them. What a
// well-formed page holds is known before it is read: every definition
// level is the maximum, and the repetition levels are 0 at each row's
// first value and 1 at the others, a pattern of period per (values per
// row). So the packed levels are compared with that pattern 64 or 8 at a time
// instead of being unpacked into one integer each and checked one by one,
// which was a tenth of an mlp-small job's CPU.
//
// The fast path only ever says yes to a page the slow one
// (flatPages.levelsSlow) accepts, and leaves the same row state behind;
// on anything else (a mismatch, a short run, a width it does not handle)
// it says no and changes nothing, and the slow path reads the page and
// names the problem. FuzzLevelsFast checks that against the slow path.

// rowPattern is the repetition levels of rows of per values, as bits
// least significant first: bit i is 0 where i%per == 0. It holds per+128
// bits, enough to read 64 from any phase below per.
type rowPattern struct {
	per   int
	words []uint64
}

func (p *rowPattern) reset(per int) {
	if p.per == per && p.words != nil {
		return
	}
	p.per = per
	n := (per + 128 + 63) / 64
	p.words = p.words[:0]
	for range n {
		p.words = append(p.words, ^uint64(0))
	}
	for i := 0; i < n*64; i += per {
		p.words[i/64] &^= 1 << (i % 64)
	}
}

// at is the 64 levels starting at phase ph (0 <= ph < per).
func (p *rowPattern) at(ph int) uint64 {
	w, s := ph/64, uint(ph%64)
	if s == 0 {
		return p.words[w]
	}
	return p.words[w]>>s | p.words[w+1]<<(64-s)
}

// rowState is where a column chunk's reading stands: the row being read,
// the values of it read so far, and whether one has started. A started
// row has 1..per values (the phase arithmetic below relies on it).
type rowState struct {
	row     int64
	cnt     int
	started bool
}

// level moves s past one present value at repetition level r; false
// where the value cannot be there (flatPages.levels names why).
func (s *rowState) level(r uint64, per int) bool {
	if r == 0 {
		if s.started && s.cnt != per {
			return false
		}
		if s.started {
			s.row++
		}
		s.started, s.cnt = true, 0
	} else if !s.started {
		return false
	}
	s.cnt++
	return s.cnt <= per
}

// packed moves s past k (64 or 8) packed repetition levels, the low k
// bits of word, when they are the pattern's at s's phase; false (and s
// unmoved) when not.
func (s *rowState) packed(word uint64, k, per int, p *rowPattern) bool {
	ph := 0
	if s.started {
		ph = s.cnt % per
	}
	mask := ^uint64(0) >> (64 - k)
	if word != p.at(ph)&mask {
		return false
	}
	starts := k - bits.OnesCount64(word)
	if s.started {
		s.row += int64(starts)
	} else {
		s.row += int64(starts - 1)
	}
	s.started, s.cnt = true, (ph+k-1)%per+1
	return true
}

// levelsFast checks a page's n repetition levels (rep, width 1) and
// definition levels (def, width bits.Len32(maxDef)) without decoding them.
// It moves fp's row state and returns true when the page is well formed;
// false leaves fp as it was.
func (fp *flatPages) levelsFast(rep, def []byte, n int) bool {
	dw := bits.Len32(uint32(fp.maxDef))
	if fp.per <= 0 || dw == 0 || dw > 8 || !allEqual(def, dw, uint32(fp.maxDef), n) {
		return false
	}
	fp.pattern.reset(fp.per)
	s := fp.rowState
	if !repeatsRows(rep, n, fp.per, &fp.pattern, &s) {
		return false
	}
	fp.rowState = s
	return true
}

// allEqual reports whether the hybrid runs in b hold at least n values of
// w bits (1..8), the first n all equal to v.
func allEqual(b []byte, w int, v uint32, n int) bool {
	var group [8]byte // 8 values of v packed w bits each: w bytes
	for k := range 8 {
		bit := k * w
		word := uint16(v) << (bit % 8)
		group[bit/8] |= byte(word)
		if bit/8+1 < w {
			group[bit/8+1] |= byte(word >> 8)
		}
	}
	for i := 0; i < n; {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return false
		}
		b = b[k:]
		if h&1 == 0 {
			if len(b) < 1 || uint32(b[0]) != v {
				return false
			}
			b = b[1:]
			i += int(min(h>>1, uint64(n-i)))
			continue
		}
		groups := h >> 1
		if groups > uint64(len(b)/w) {
			return false
		}
		count := int(min(groups*8, uint64(n-i)))
		full := count / 8
		for g := range full {
			for j := range w {
				if b[g*w+j] != group[j] {
					return false
				}
			}
		}
		if rest := count % 8; rest > 0 {
			var vals [8]uint32
			unpack(b[full*w:(full+1)*w], w, 1<<w-1, vals[:rest])
			for _, x := range vals[:rest] {
				if x != v {
					return false
				}
			}
		}
		b = b[int(groups)*w:]
		i += count
	}
	return true
}

// repeatsRows walks n repetition levels (width 1) in the hybrid runs of b,
// moving s as rowState.level would, comparing packed runs with p 64
// levels at a time. False on any level that level would refuse, or runs
// that end early.
func repeatsRows(b []byte, n, per int, p *rowPattern, s *rowState) bool {
	for i := 0; i < n; {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return false
		}
		b = b[k:]
		if h&1 == 0 { // a repeated level
			if len(b) < 1 || b[0] > 1 {
				return false
			}
			r := uint64(b[0])
			b = b[1:]
			run := int(min(h>>1, uint64(n-i)))
			i += run
			switch {
			case run == 0:
			case r == 1:
				if !s.started || s.cnt+run > per {
					return false
				}
				s.cnt += run
			case per == 1: // rows of one value each
				if !s.level(0, per) {
					return false
				}
				s.row += int64(run - 1)
			default:
				if run > 1 || !s.level(0, per) {
					return false
				}
			}
			continue
		}
		groups := h >> 1
		if groups > uint64(len(b)) {
			return false
		}
		count := int(min(groups*8, uint64(n-i)))
		packed := b[:groups]
		b = b[groups:]
		i += count
		j := 0
		for ; j+64 <= count; j += 64 {
			if !s.packed(binary.LittleEndian.Uint64(packed[j/8:]), 64, per, p) {
				return false
			}
		}
		for ; j+8 <= count; j += 8 { // Arrow's writer packs a row's first group and repeats the rest
			if !s.packed(uint64(packed[j/8]), 8, per, p) {
				return false
			}
		}
		for ; j < count; j++ {
			if !s.level(uint64(packed[j/8]>>(j%8)&1), per) {
				return false
			}
		}
	}
	return true
}
