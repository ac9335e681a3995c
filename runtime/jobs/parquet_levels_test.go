package jobs

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// encodeHybrid writes vals (w bits each) in Parquet's RLE/bit-packed
// hybrid encoding, choosing at random between a repeated run and a packed
// one wherever a value repeats, so both paths see both kinds of run.
func encodeHybrid(vals []uint32, w int, rng *rand.Rand) []byte {
	var out []byte
	for i := 0; i < len(vals); {
		j := i
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		if j-i >= 8 && rng.IntN(2) == 0 {
			out = binary.AppendUvarint(out, uint64(j-i)<<1)
			out = append(out, byte(vals[i]))
			i = j
			continue
		}
		groups := min(1+rng.IntN(16), (len(vals)-i+7)/8)
		out = binary.AppendUvarint(out, uint64(groups)<<1|1)
		packed := make([]byte, groups*w)
		for k := 0; k < groups*8 && i+k < len(vals); k++ {
			for b := range w {
				if vals[i+k]>>b&1 == 1 {
					bit := k*w + b
					packed[bit/8] |= 1 << (bit % 8)
				}
			}
		}
		out = append(out, packed...)
		i += groups * 8
	}
	return out
}

// rowLevels is the levels of rows of per values: from the middle of a row
// when skip > 0, and cut to n.
func rowLevels(per, skip, n int, maxDef uint32) (rep, def []uint32) {
	for i := skip; len(rep) < n; i++ {
		r := uint32(1)
		if i%per == 0 {
			r = 0
		}
		rep, def = append(rep, r), append(def, maxDef)
	}
	return rep, def
}

// checkLevels runs both paths from one row state and checks that the fast
// one accepts only what the slow one does, leaving the same state, and
// changes nothing when it declines. It reports whether the fast path took
// the page.
func checkLevels(t *testing.T, per int, maxDef int32, st rowState, rep, def []byte, n int) bool {
	t.Helper()
	fast := &flatPages{name: "x", per: per, maxDef: maxDef, rowState: st}
	slow := &flatPages{name: "x", per: per, maxDef: maxDef, rowState: st}
	err := slow.levelsSlow(rep, def, n)
	ok := fast.levelsFast(rep, def, n)
	got := fast.rowState
	switch {
	case ok && err != nil:
		t.Fatalf("per %d from %+v: the fast path took a page the slow one refuses (%v)", per, st, err)
	case ok && got != slow.rowState:
		t.Fatalf("per %d from %+v: fast path left %+v, slow %+v", per, st, got, slow.rowState)
	case !ok && got != st:
		t.Fatalf("per %d: the fast path declined but moved the state from %+v to %+v", per, st, got)
	}
	return ok
}

// TestLevelsFast: well-formed pages of many row widths, starting at a
// row's start or inside one, take the fast path and end where the slow
// path does; broken ones are declined.
func TestLevelsFast(t *testing.T) {
	if (&flatPages{per: 0, maxDef: 1}).levelsFast([]byte{2 << 1, 0}, []byte{2 << 1, 1}, 2) {
		t.Fatal("rows of no values took the fast path")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, per := range []int{1, 2, 3, 8, 16, 63, 64, 65, 100, 256, 1000} {
		for _, maxDef := range []int32{1, 3, 200} {
			for _, skip := range []int{0, 1, per / 2, per - 1} {
				n := 1 + rng.IntN(3*per+200)
				rep, def := rowLevels(per, skip, n, uint32(maxDef))
				st := rowState{row: 7, started: true, cnt: skip % per}
				if skip%per == 0 {
					st.cnt = per
				}
				if !checkLevels(t, per, maxDef, st, encodeHybrid(rep, 1, rng), encodeHybrid(def, bits.Len32(uint32(maxDef)), rng), n) {
					t.Fatalf("per %d maxDef %d skip %d: a well-formed page was declined", per, maxDef, skip)
				}
				if skip == 0 && !checkLevels(t, per, maxDef, rowState{}, encodeHybrid(rep, 1, rng), encodeHybrid(def, bits.Len32(uint32(maxDef)), rng), n) {
					t.Fatalf("per %d: a row group's first page was declined", per)
				}
				// Broken: a null, a row one value short or long, a start inside a row.
				bad := [][2][]uint32{}
				d := append([]uint32(nil), def...)
				d[rng.IntN(n)] = uint32(maxDef) - 1
				bad = append(bad, [2][]uint32{rep, d})
				if n > per+1 {
					r := append([]uint32(nil), rep...)
					r[per/2+1] ^= 1
					bad = append(bad, [2][]uint32{r, def})
				}
				for _, b := range bad {
					if checkLevels(t, per, maxDef, st, encodeHybrid(b[0], 1, rng), encodeHybrid(b[1], bits.Len32(uint32(maxDef)), rng), n) {
						t.Fatalf("per %d: a broken page took the fast path", per)
					}
				}
				if skip%per != 0 && checkLevels(t, per, maxDef, rowState{}, encodeHybrid(rep, 1, rng), encodeHybrid(def, bits.Len32(uint32(maxDef)), rng), n) {
					t.Fatalf("per %d: a row group starting inside a row took the fast path", per)
				}
			}
		}
	}
}

// FuzzLevelsFast: whatever the bytes and state, the fast path accepts
// only pages the slow path accepts, and leaves the same row state.
func FuzzLevelsFast(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, per := range []int{1, 16, 100} {
		rep, def := rowLevels(per, 0, 4*per+5, 3)
		f.Add(encodeHybrid(rep, 1, rng), encodeHybrid(def, 2, rng), uint16(len(rep)), uint16(per), uint16(0), false, uint8(3))
	}
	f.Fuzz(func(t *testing.T, rep, def []byte, n, per, cnt uint16, started bool, maxDef uint8) {
		p := int(per%2048) + 1
		st := rowState{row: 5} // a started row has 1..per values
		if started {
			st.started, st.cnt = true, 1+int(cnt)%p
		}
		checkLevels(t, p, int32(maxDef), st, rep, def, int(n%8192))
	})
}

// BenchmarkPageLevels checks a page of 16-value rows (mlp-small's input;
// 4,096 rows, levels in mixed packed and repeated runs) both ways.
func BenchmarkPageLevels(b *testing.B) {
	const per, rows = 16, 4096
	rng := rand.New(rand.NewPCG(5, 6))
	repV, defV := rowLevels(per, 0, per*rows, 3)
	rep, def := encodeHybrid(repV, 1, rng), encodeHybrid(defV, 2, rng)
	for _, path := range []string{"slow", "fast"} {
		b.Run("path="+path, func(b *testing.B) {
			fp := &flatPages{name: "x", per: per, maxDef: 3}
			b.ReportAllocs()
			b.SetBytes(per * rows * 4)
			for b.Loop() {
				fp.rowState = rowState{}
				if path == "fast" {
					if !fp.levelsFast(rep, def, per*rows) {
						b.Fatal("declined")
					}
				} else if err := fp.levelsSlow(rep, def, per*rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
