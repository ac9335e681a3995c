package jobs

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/thrift/lib/go/thrift"

	"github.com/tiffin-ml/tiffin/runtime"
)

// maxFooterBytes is the largest Parquet footer (the file's metadata,
// before its last 8 bytes) a job reads. arrow-go parses a footer whole,
// at 20 to 25 times its size in memory: a 41 MiB file of 200,000 row
// groups of one row each (pyarrow's row_group_size=1) has a 19 MB footer
// and took the server from 111 MiB to 489 MiB; 20,000 row groups of 16
// feature columns, to 548 MiB. The footer grows with row groups ×
// columns, some 100-200 bytes for each column of each row group, so 8 MiB
// takes 40,000 feature columns in one row group, 10,000 in 4, 16 in 5,000
// row groups or a list column in 60,000 (each measured near 7.5 MB with
// pyarrow, and a peak some 170 MiB above an idle server's): less than
// the pages a split may hold (pagesBudget).
const maxFooterBytes = 8 << 20

// checkFooter refuses a Parquet file whose footer is larger than limit
// bytes before any of it is parsed, naming its size and, when the footer
// says so within its first limit bytes, its row groups. A file too short
// or not ending in PAR1 is left for the Parquet reader to refuse.
func checkFooter(f parquet.ReaderAtSeeker, limit int64) error {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil || size < 12 {
		return nil
	}
	var tail [8]byte
	if _, err := f.ReadAt(tail[:], size-8); err != nil || string(tail[4:]) != parquetMagic {
		return nil
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n <= limit || n > size-12 {
		return nil
	}
	what := ""
	if groups, rows, ok := footerCounts(io.NewSectionReader(f, size-8-n, min(n, limit))); ok {
		what = fmt.Sprintf(" (%d row groups of %d rows in all)", groups, rows)
	}
	return runtime.Errorf(runtime.KindInvalidArgument,
		"the Parquet file's footer is %d bytes%s; the server reads footers of at most %d bytes (%d MiB), as parsing one costs "+
			"20 to 25 times its size in memory: write the file with larger row groups (pyarrow: row_group_size, or fewer, larger "+
			"ParquetWriter.write_table calls), or with a list column in place of many feature columns",
		n, what, limit, limit>>20)
}

// footerCounts reads a Parquet footer's row groups and rows from its
// FileMetaData (Thrift compact: 3 num_rows, 4 row_groups), skipping what
// comes before them (the schema) without holding it. ok is false when r
// ends first, as when the schema fills the bytes read.
func footerCounts(r io.Reader) (groups, rows int64, ok bool) {
	ctx := context.Background()
	p := thrift.NewTCompactProtocolConf(thrift.NewStreamTransportR(r), &thrift.TConfiguration{MaxMessageSize: maxFooterBytes})
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return 0, 0, false
	}
	seenRows := false
	for {
		_, t, id, err := p.ReadFieldBegin(ctx)
		if err != nil || t == thrift.STOP {
			return 0, 0, false
		}
		switch {
		case id == 3 && t == thrift.I64:
			if rows, err = p.ReadI64(ctx); err != nil {
				return 0, 0, false
			}
			seenRows = true
		case id == 4 && t == thrift.LIST:
			_, n, err := p.ReadListBegin(ctx)
			return int64(n), rows, err == nil && seenRows
		default:
			if err := p.Skip(ctx, t); err != nil {
				return 0, 0, false
			}
		}
	}
}
