package jobs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/tiffin-ml/tiffin/runtime"
)

// The files a job writes (its Parquet spool, its chunk inputs, its results)
// are written once, then read once, soon or never. Through the page cache
// each written gigabyte costs new pages: 2–3 s of CPU on the ext4 of
// bench/README.md, against 0.14 s with O_DIRECT, which hands the disk the
// buffer itself. So they are written with O_DIRECT where the file system
// takes it (setDirect, direct_linux.go), through an aligned buffer, and
// chunk inputs are read back the same way. Where it does not (tmpfs on
// older kernels, other systems), the same code writes through the cache.

// directAlign is the alignment O_DIRECT asks of buffers, file offsets and
// lengths here: the largest logical block size in use.
const directAlign = 4096

// alignUp rounds n up to a multiple of directAlign.
func alignUp(n int) int { return (n + directAlign - 1) &^ (directAlign - 1) }

// alignedBuf returns a zeroed buffer of n bytes rounded up to directAlign,
// starting at an aligned address (Go's collector does not move it).
func alignedBuf(n int) []byte {
	n = alignUp(n)
	b := make([]byte, n+directAlign)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (directAlign - 1))
	return b[off : off+n : off+n]
}

// directRefused reports whether err is a file system refusing an O_DIRECT
// read or write it took the flag for (EINVAL), and if so turns the flag
// off on f, so the caller can try again through the cache.
func directRefused(f *os.File, err error) bool {
	return errors.Is(err, syscall.EINVAL) && setDirect(f, false) == nil
}

// directPiece is how much a directWriter gathers before it writes.
const directPiece = 1 << 20

// directWriter writes a new or reused file from its start in aligned
// pieces; finish writes the rest and sets the file's length.
//
// An O_DIRECT write returns only once the disk has the piece (~0.75 ms a
// megabyte on the disk of bench/README.md), so a writer that overlaps
// (spool) writes each full piece on a goroutine of its own while the next
// is gathered in a second buffer: a Parquet upload is then read from the
// socket while the last megabyte goes to the disk, not in turns.
type directWriter struct {
	f       *os.File
	buf     []byte // aligned, directPiece long
	n       int    // bytes gathered in buf
	written int64  // bytes written to f, or being written
	direct  bool   // f is in O_DIRECT mode

	overlap bool       // full pieces are written on a goroutine
	spare   []byte     // the second buffer, when overlapping
	writing chan error // the piece being written; nil when none is
}

var directWriters = sync.Pool{New: func() any { return &directWriter{buf: alignedBuf(directPiece)} }}

// writeDirect returns a pooled writer onto f, with O_DIRECT set on f where
// the file system takes it; done gives it back.
func writeDirect(f *os.File) *directWriter {
	w := directWriters.Get().(*directWriter)
	w.f, w.n, w.written = f, 0, 0
	w.direct = setDirect(f, true) == nil
	return w
}

// overlapping makes w write each full piece while the next is gathered.
func (w *directWriter) overlapping() {
	w.overlap = true
	if w.spare == nil {
		w.spare = alignedBuf(directPiece)
	}
}

// done gives w back, once no piece is being written: the buffers may then
// be reused.
func (w *directWriter) done() {
	_ = w.wait()
	w.f, w.overlap = nil, false
	directWriters.Put(w)
}

// wait waits for the piece being written, if any, and returns its error.
func (w *directWriter) wait() error {
	if w.writing == nil {
		return nil
	}
	err := <-w.writing
	w.writing = nil
	return err
}

func (w *directWriter) Write(p []byte) (int, error) {
	total := 0
	if w.inPlace(p) {
		head := len(p) &^ (directAlign - 1)
		if err := w.wait(); err != nil {
			return 0, err
		}
		if err := w.write(p[:head]); err != nil {
			return 0, err
		}
		w.written += int64(head)
		total, p = head, p[head:]
	}
	for len(p) > 0 {
		m := copy(w.buf[w.n:], p)
		w.n += m
		p = p[m:]
		total += m
		if w.n == len(w.buf) {
			if err := w.flush(); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// readPiece reads src into the rest of the gathering buffer, until it is
// full or src fails (runtime.ReadFill), and writes the piece once full.
// It returns src's error as it is (io.EOF at the end), or else the
// write's: a cut or an oversized upload is said as such even when the
// disk failed too.
func (w *directWriter) readPiece(src io.Reader) error {
	n, err := runtime.ReadFill(src, w.buf[w.n:])
	w.n += n
	if w.n == len(w.buf) {
		if ferr := w.flush(); ferr != nil && (err == nil || err == io.EOF) {
			return ferr
		}
	}
	return err
}

// inPlace reports whether Write writes p's aligned head straight from p:
// p starts at an aligned address, holds at least a piece, and nothing is
// gathered before it. A chunk's rows, gathered aligned by rawChunker, then
// go to the disk without being copied into buf first. Overlapping writers
// always copy: their pieces are written after Write returns.
func (w *directWriter) inPlace(p []byte) bool {
	return !w.overlap && w.n == 0 && len(p) >= len(w.buf) &&
		uintptr(unsafe.Pointer(unsafe.SliceData(p)))&(directAlign-1) == 0
}

// flush writes the gathered bytes, a multiple of directAlign long: at once,
// or, when overlapping, on a goroutine once the piece before has been
// written, gathering on in the spare buffer meanwhile.
func (w *directWriter) flush() error {
	if err := w.wait(); err != nil {
		return err
	}
	if !w.overlap {
		if err := w.write(w.buf[:w.n]); err != nil {
			return err
		}
		w.written += int64(w.n)
		w.n = 0
		return nil
	}
	piece := w.buf[:w.n]
	w.writing = make(chan error, 1)
	go func() { w.writing <- w.write(piece) }() // w.f and w.direct are its own until wait
	w.written += int64(w.n)
	w.buf, w.spare, w.n = w.spare, w.buf, 0
	return nil
}

// write writes one piece. A file system that took the flag but refuses
// the write, before any of it went down, gets it through the cache, and
// every write after it. Its errors are the server's own (writeError).
func (w *directWriter) write(piece []byte) error {
	n, err := w.f.Write(piece)
	if err != nil && n == 0 && w.direct && directRefused(w.f, err) {
		w.direct = false
		_, err = w.f.Write(piece)
	}
	if err != nil {
		return &writeError{err}
	}
	return nil
}

// writeError is a failed write of the server's own file (a full disk): not
// the fault of the upload being written, whatever reads it.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// finish writes the last bytes (padded to an aligned length, then cut
// back) and sets the file's length to what was written (a reused file may
// have been longer). It returns the file's length. f stays in O_DIRECT
// mode where it was (w.direct): reads of it must be aligned.
func (w *directWriter) finish() (int64, error) {
	size := w.written + int64(w.n)
	if w.n > 0 {
		pad := alignUp(w.n)
		clear(w.buf[w.n:pad])
		w.n = pad
		if err := w.flush(); err != nil {
			return 0, err
		}
	}
	if err := w.wait(); err != nil {
		return 0, err
	}
	if err := w.f.Truncate(size); err != nil {
		return 0, &writeError{err}
	}
	return size, nil
}

// readDirect reads the whole of f, size bytes long, into buf (aligned and
// at least alignUp(size) long), with O_DIRECT where the file system takes
// it.
func readDirect(f *os.File, buf []byte, size int) error {
	direct := setDirect(f, true) == nil
	n := 0
	for n < size {
		m, err := f.Read(buf[n:alignUp(size)])
		if err != nil && m == 0 && direct && n == 0 && directRefused(f, err) {
			direct = false
			continue
		}
		n += m
		if err == io.EOF || (err == nil && m == 0) {
			break
		}
		if err != nil {
			return err
		}
	}
	if n < size {
		return fmt.Errorf("read %d bytes of %d: %w", n, size, io.ErrUnexpectedEOF)
	}
	return nil
}

// directReaderAt reads a spooled file through its own aligned window with
// O_DIRECT, where the file system takes it: read through the cache, a
// spooled gigabyte the writer kept out of the cache cost 1.4 s of CPU to
// bring back in. Parquet's reader reads a column chunk front to back, so
// each byte comes from the disk about once. Safe for concurrent use.
type directReaderAt struct {
	f    *os.File
	size int64

	mu     sync.Mutex
	pos    int64  // for Seek
	win    []byte // aligned; holds the file from winOff, winLen bytes
	winOff int64
	winLen int
}

// readDirectAt returns the reader of f, size bytes long, which a
// directWriter wrote: f itself where the writer went through the cache,
// else an aligned window onto f, still in O_DIRECT mode.
func readDirectAt(w *directWriter, size int64) interface {
	io.ReaderAt
	io.Seeker
} {
	if !w.direct {
		return w.f
	}
	return &directReaderAt{f: w.f, size: size}
}

func (r *directReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at negative offset %d", off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := p
	if rest := r.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if off < r.winOff || off+int64(len(want)) > r.winOff+int64(r.winLen) {
		if err := r.fill(off, len(want)); err != nil {
			return 0, err
		}
	}
	n := copy(want, r.win[off-r.winOff:r.winLen])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fill reads the window from the aligned offset at or before off, at least
// directPiece and enough to hold n bytes from off.
func (r *directReaderAt) fill(off int64, n int) error {
	start := off &^ (directAlign - 1)
	length := max(directPiece, alignUp(int(off-start)+n))
	if cap(r.win) < length {
		r.win = alignedBuf(length)
	}
	r.win = r.win[:length]
	r.winOff, r.winLen = start, 0
	got, retried := 0, false
	for start+int64(got) < r.size && got < length {
		m, err := r.f.ReadAt(r.win[got:], start+int64(got))
		if err != nil && m == 0 && got == 0 && !retried && directRefused(r.f, err) {
			retried = true
			continue // took the flag, refused the read: through the cache from now on
		}
		got += m
		if err == io.EOF || (err == nil && m == 0) {
			break
		}
		if err != nil {
			return err
		}
	}
	r.winLen = got
	if int64(got) < min(int64(int(off-start)+n), r.size-start) {
		return fmt.Errorf("read %d bytes at %d of the spooled upload: %w", got, start, io.ErrUnexpectedEOF)
	}
	return nil
}

func (r *directReaderAt) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, fmt.Errorf("seek: bad whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek to negative offset %d", offset)
	}
	r.pos = offset
	return offset, nil
}

// readFile reads a whole file with O_DIRECT where the file system takes
// it, into a new buffer of its size.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := int(st.Size())
	buf := alignedBuf(size)
	if err := readDirect(f, buf, size); err != nil {
		return nil, err
	}
	return buf[:size], nil
}
