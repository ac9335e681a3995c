package jobs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// With the embedded job store, a chunk's input and its result are files
// under the data directory, beside JetStream's own store, and the chunk's
// message carries only its headers. JetStream would copy each body
// several times (into the client's buffer, the server's, its file store
// with a checksum, out again on delivery and once more on the ack that
// removes it, and results through the object store's SHA-256): a third
// of an mlp-large job's CPU went there. A file is written once and read
// once. An external NATS cluster keeps bodies in the stream and the
// object store, since its replicas share no disk.
//
// Durability is the same as the embedded store's: a file is written
// beside its final name and renamed into place, so a reader sees all of
// it or nothing, and what is renamed survives the process being killed.
// The order that makes every row count once is unchanged: a chunk's file
// exists before its message is published; a result's file is in place
// before the chunk's completion key is created; a chunk's file is taken
// from its place (removed, or moved to spare/ to be written over) only
// once it is done, when it is acked. A reader that opened it just before
// (a redelivered copy of the chunk) checks after its read that the file
// was still in place, so it never scores another chunk's bytes.

// hdrBody marks a chunk message whose input is a file (bodyFile), not the
// message's data.
const (
	hdrBody  = "Tiffin-Body"
	bodyFile = "file"
)

// bodyFiles is where a data directory keeps chunk inputs and results:
// chunks/<job>/<chunk> and results/<job>/<chunk> under root.
//
// A chunk's input file, once the chunk is done, is kept in spare/ and
// written over by the next put rather than removed: its blocks are already
// allocated, and the ext4 measured in bench/README.md spends ~0.3 ms of
// CPU creating a file.
type bodyFiles struct {
	root string

	mu     sync.Mutex
	spares []string // files in spare/, at most maxSpares
	named  int      // names given to spares and files taken from them
}

// maxSpares is how many spent chunk files a data directory keeps to write
// over: a few chunks' worth of disk (ChunkBytes each).
const maxSpares = 8

func (b *bodyFiles) chunk(job string, index int) string {
	return filepath.Join(b.root, "chunks", job, strconv.Itoa(index))
}

func (b *bodyFiles) result(job string, index int) string {
	return filepath.Join(b.root, "results", job, strconv.Itoa(index))
}

// clearSpares removes the spare files a process before this one left.
func (b *bodyFiles) clearSpares() error {
	return os.RemoveAll(filepath.Join(b.root, "spare"))
}

// retire removes a done chunk's input file, keeping it as a spare when
// there is room.
func (b *bodyFiles) retire(path string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.spares) < maxSpares {
		b.named++
		spare := filepath.Join(b.root, "spare", strconv.Itoa(b.named))
		err := os.Rename(path, spare)
		if errors.Is(err, fs.ErrNotExist) && os.MkdirAll(filepath.Dir(spare), 0o755) == nil {
			err = os.Rename(path, spare)
		}
		if err == nil {
			b.spares = append(b.spares, spare)
			return
		}
	}
	_ = os.Remove(path)
}

// temp opens a file beside path to write path's bytes into: a spare moved
// there when there is one, else a new file.
func (b *bodyFiles) temp(path string) (*os.File, error) {
	b.mu.Lock()
	if n := len(b.spares); n > 0 {
		spare := b.spares[n-1]
		b.spares = b.spares[:n-1]
		b.named++
		tmp := path + ".part-s" + strconv.Itoa(b.named)
		b.mu.Unlock()
		if os.Rename(spare, tmp) == nil {
			if f, err := os.OpenFile(tmp, os.O_WRONLY, 0); err == nil {
				return f, nil
			}
		}
		_ = os.Remove(tmp)
		_ = os.Remove(spare)
	} else {
		b.mu.Unlock()
	}
	return os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".part-*")
}

// put writes r's bytes to path: to a temporary file beside it (a spare
// written over, or a new one), then renamed into place.
func (b *bodyFiles) put(path string, r io.Reader) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := b.temp(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// Written with O_DIRECT (direct.go). A result comes as one buffer per
	// batch (a kilobyte for a small model's 64 rows); the writer gathers
	// them into large writes.
	w := writeDirect(f)
	defer w.done()
	if _, err = io.Copy(w, r); err != nil {
		return err
	}
	if _, err = w.finish(); err != nil { // also cuts a longer spare to size
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// removeJob removes a job's chunk inputs and results.
func (b *bodyFiles) removeJob(job string) error {
	return errors.Join(removeAll(filepath.Join(b.root, "chunks", job)), removeAll(filepath.Join(b.root, "results", job)))
}

// removeAll is os.RemoveAll, tried again while a worker still scoring one
// of the job's chunks writes a file into the folder being removed: that
// failed a cancel or a purge with "directory not empty" (500) after it had
// done its work. The worker cleans up after itself once it sees the job
// cancelled or gone (pool.record).
func removeAll(dir string) error {
	var err error
	for range 10 {
		if err = os.RemoveAll(dir); !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return err
}

// removeChunks removes a job's chunk inputs not scored yet.
func (b *bodyFiles) removeChunks(job string) error {
	return removeAll(filepath.Join(b.root, "chunks", job))
}

// readChunk reads a chunk's input file into a buffer from inputBufs;
// release gives it back.
func (b *bodyFiles) readChunk(c chunkRef) (data []byte, release func(), err error) {
	path := b.chunk(c.job, c.index)
	gone := fmt.Errorf("the input file of chunk %d of job %s is gone from the data directory", c.index, c.job)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, gone
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := int(st.Size())
	buf, _ := inputBufs.Get().(*[]byte)
	if buf == nil || cap(*buf) < alignUp(size) {
		buf = &[]byte{}
		*buf = alignedBuf(size)
	}
	data = (*buf)[:size]
	if err := readDirect(f, *buf, size); err != nil {
		return nil, nil, fmt.Errorf("read the input file of chunk %d of job %s: %w", c.index, c.job, err)
	}
	// Done elsewhere meanwhile, its file may have become a spare and be
	// holding another chunk's bytes by now (see retire).
	if now, err := os.Stat(path); err != nil || !os.SameFile(st, now) {
		inputBufs.Put(buf)
		return nil, nil, gone
	}
	return data, func() { inputBufs.Put(buf) }, nil
}

// inputBufs keeps the buffers chunk inputs were read into, aligned for
// O_DIRECT and a chunk's size each (ChunkBytes), for the next chunks: a
// buffer is given back only once the runtime has answered every request
// made from it.
var inputBufs sync.Pool
