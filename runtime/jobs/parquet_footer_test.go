package jobs

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tiffin-ml/tiffin/runtime"
)

// padFooter grows a Parquet file's footer by pad bytes after its metadata,
// which a reader ignores: a footer as large as one of hundreds of
// thousands of row groups, from a file that is quick to write.
func padFooter(data []byte, pad int) []byte {
	n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	out := append([]byte(nil), data[:len(data)-8]...)
	out = append(out, make([]byte, pad)...)
	out = binary.LittleEndian.AppendUint32(out, uint32(n+pad))
	return append(out, parquetMagic...)
}

// TestParquetFooterBounded: arrow-go parses a footer whole, at 20 to 25
// times its size, so a file of 200,000 one-row row groups (a 19 MB
// footer) took the server to 481 MiB. A footer larger than
// maxFooterBytes is refused before it is parsed, naming its size, the cap
// and the row groups, and saying how to write the file instead.
func TestParquetFooterBounded(t *testing.T) {
	l := mlpLayout(t, Parquet)
	split := func(data []byte) (int64, error) {
		n, _, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(data), nil, 64, memory.DefaultAllocator, nil,
			func(chunkRef, []byte) error { return nil })
		return n, err
	}
	good := parquetFile(t, 300, 1, false) // 300 row groups of one row
	if n, err := split(padFooter(good, 1<<20)); err != nil || n != 300 {
		t.Fatalf("a footer padded by 1 MiB: %d rows, %v; want all 300 read", n, err)
	}
	big := padFooter(good, maxFooterBytes)
	_, err := split(big)
	footer := binary.LittleEndian.Uint32(big[len(big)-8:])
	for _, want := range []string{
		fmt.Sprintf("footer is %d bytes", footer) + " (300 row groups of 300 rows in all)",
		"at most 8388608 bytes (8 MiB)", "row_group_size",
	} {
		if runtime.KindOf(err) != runtime.KindInvalidArgument || err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("a %d-byte footer: %v; want a 400 naming %q", footer, err, want)
		}
	}
	// The row groups are named only when the footer shows them within
	// the bytes read; a footer of junk is refused all the same.
	junk := append([]byte(parquetMagic), make([]byte, 9<<20)...)
	junk = binary.LittleEndian.AppendUint32(junk, 9<<20)
	junk = append(junk, parquetMagic...)
	if _, err := split(junk); runtime.KindOf(err) != runtime.KindInvalidArgument || err == nil ||
		!strings.Contains(err.Error(), "footer is 9437184 bytes; the server reads footers of at most") {
		t.Fatalf("a 9 MiB footer of zeros: %v; want it refused naming its size alone", err)
	}
	if err := checkFooter(bytes.NewReader(good), 1000); err == nil || !strings.Contains(err.Error(), "(300 row groups of 300 rows in all)") {
		t.Fatalf("300 row groups under a 1000-byte cap: %v", err)
	}
}
