package jobs

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/tiffin-ml/tiffin/runtime"
)

// splitter cuts an upload into chunks at line boundaries as it reads it,
// so no more than one chunk of the input is held at a time. Blank lines
// are not rows; rows are numbered from 0 in input order.
type splitter struct {
	maxRows  int // rows per chunk at most; 0: no cap
	target   int // bytes a chunk aims at: the next row starts a new chunk past it; 0: maxBytes
	maxBytes int // bytes a chunk holds at most (a message's largest payload)
	// header, when set, says whether the first line is a header to skip.
	header func(line []byte) bool
}

// split reads r to its end and calls emit with each chunk, in order. The
// data passed to emit is reused once emit returns.
func (sp splitter) split(r io.Reader, emit func(c chunkRef, data []byte) error) (rows int64, chunks int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf, long []byte
	n, first, start := 0, true, true
	flush := func() error {
		if n == 0 {
			return nil
		}
		c := chunkRef{index: chunks, firstRow: rows - int64(n), rows: n}
		chunks++
		err := emit(c, buf)
		buf, n = buf[:0], 0
		return err
	}
	for {
		line, err := readLine(br, &long, sp.maxBytes-1)
		if errors.Is(err, errLineTooLong) {
			return rows, chunks, runtime.Errorf(runtime.KindInvalidArgument,
				"row %d is longer than the %d-byte limit of one chunk", rows, sp.maxBytes-1)
		}
		if start { // a UTF-8 byte order mark, as Excel and PowerShell write, is no part of row 0
			line, start = bytes.TrimPrefix(line, utf8BOM), false
		}
		if len(line) > 0 && !(first && sp.header != nil && sp.header(line)) {
			if n == sp.maxRows || len(buf)+len(line)+1 > sp.limit() {
				if ferr := flush(); ferr != nil {
					return rows, chunks, ferr
				}
			}
			buf = append(append(buf, line...), '\n')
			n++
			rows++
		}
		first = first && len(line) == 0
		if err == io.EOF {
			return rows, chunks, flush()
		}
		if err != nil {
			kind := runtime.KindInvalidArgument
			if runtime.KindOf(err) == runtime.KindTooLarge { // the upload's size limit: 413, not 400
				kind = runtime.KindTooLarge
			}
			return rows, chunks, runtime.Errorf(kind, "read the input at row %d: %w", rows, err)
		}
	}
}

// limit is the size past which a row starts the next chunk. A row alone
// may still be up to maxBytes long.
func (sp splitter) limit() int {
	if sp.target > 0 && sp.target < sp.maxBytes {
		return sp.target
	}
	return sp.maxBytes
}

var errLineTooLong = errors.New("line too long")

var utf8BOM = []byte("\xef\xbb\xbf")

// readLine returns the next line without its line ending and surrounding
// blanks. A line longer than max is errLineTooLong; long is scratch space
// for lines that do not fit the reader's buffer.
func readLine(br *bufio.Reader, long *[]byte, max int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		*long = append((*long)[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(*long) > max {
				return nil, errLineTooLong
			}
			line, err = br.ReadSlice('\n')
			*long = append(*long, line...)
		}
		line = *long
	}
	line = bytes.TrimSpace(line)
	if len(line) > max {
		return nil, errLineTooLong
	}
	return line, err
}
