package jobs

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tiffin-ml/tiffin/runtime"
)

// The JetStream names the job store uses. Every replica sharing a queue
// uses the same ones.
const (
	jobsBucket    = "TIFFIN_JOBS"        // KV: job id -> record (JSON)
	resultsBucket = "TIFFIN_JOB_RESULTS" // objects: "<job>/<chunk>" -> NDJSON result lines
	chunkStream   = "TIFFIN_JOB_CHUNKS"  // work queue: one message per chunk, its input as the body
	chunkSubject  = "tiffin.jobs.chunks" // + ".<job id>"
	consumerName  = "tiffin-scorers"     // the durable pull consumer every replica shares
)

// Chunk message headers.
const (
	hdrJob   = "Tiffin-Job"
	hdrChunk = "Tiffin-Chunk"
	hdrRow   = "Tiffin-Row"  // the chunk's first row number
	hdrRows  = "Tiffin-Rows" // how many rows it holds
)

// headerRoom is what a chunk message keeps free of the server's largest
// payload for its headers.
const headerRoom = 4 << 10

// chunkRef names one chunk of a job: the headers its input travels with.
type chunkRef struct {
	job      string
	index    int
	firstRow int64
	rows     int
}

// store is the job store on JetStream: job records in a KV bucket, chunk
// inputs as messages of a work-queue stream, chunk results in an object
// store. It holds no state of its own, so replicas can share one.
type store struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	jobs    jetstream.KeyValue
	results jetstream.ObjectStore
	// resultsStream is the object store's stream, where a deleted
	// object's marker is purged (deleteResults).
	resultsStream jetstream.Stream
	chunks        jetstream.Stream
	maxChunk      int // bytes of input one chunk may carry
	// files keeps chunk inputs and results as files (bodies.go); nil:
	// they travel in the stream and the object store.
	files *bodyFiles

	done       jetstream.KeyValue // chunk completion keys (progress.go)
	doneStream jetstream.Stream   // the done bucket's stream, for counting and purging
}

// openStore creates the buckets and the stream, or binds to them, each
// kept on replicas servers of the cluster (an existing one is scaled to
// that). With bodies set, new jobs keep their chunk inputs and results as
// files under it (bodies.go).
func openStore(ctx context.Context, nc *nats.Conn, bodies string, replicas int) (*store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s := &store{nc: nc, js: js, maxChunk: int(nc.MaxPayload()) - headerRoom}
	if bodies != "" {
		s.files = &bodyFiles{root: bodies}
		if err := s.files.clearSpares(); err != nil {
			return nil, fmt.Errorf("clear the spare chunk files: %w", err)
		}
	}
	if s.jobs, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: jobsBucket, Description: "tiffin bulk jobs", History: 1, Storage: jetstream.FileStorage,
		Replicas: replicas,
	}); err != nil {
		return nil, fmt.Errorf("job bucket %s: %w", jobsBucket, err)
	}
	if s.results, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: resultsBucket, Description: "tiffin bulk job results, by chunk", Storage: jetstream.FileStorage,
		Replicas: replicas,
	}); err != nil {
		return nil, fmt.Errorf("result store %s: %w", resultsBucket, err)
	}
	if s.resultsStream, err = js.Stream(ctx, "OBJ_"+resultsBucket); err != nil {
		return nil, fmt.Errorf("result store %s: %w", resultsBucket, err)
	}
	if s.done, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: doneBucket, Description: "tiffin bulk job chunks scored, one key each", History: 1, Storage: jetstream.FileStorage,
		Replicas: replicas,
	}); err != nil {
		return nil, fmt.Errorf("done bucket %s: %w", doneBucket, err)
	}
	if s.doneStream, err = js.Stream(ctx, "KV_"+doneBucket); err != nil {
		return nil, fmt.Errorf("done bucket %s: %w", doneBucket, err)
	}
	if s.chunks, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: chunkStream, Description: "tiffin bulk job chunks to score",
		Subjects: []string{chunkSubject + ".>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute, Replicas: replicas,
	}); err != nil {
		return nil, fmt.Errorf("chunk stream %s: %w", chunkStream, err)
	}
	return s, nil
}

// consumer binds to the shared durable consumer of chunks: explicit acks,
// and redelivery of a chunk not acked within ackWait.
func (s *store) consumer(ctx context.Context, ackWait time.Duration) (jetstream.Consumer, error) {
	c, err := s.chunks.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: consumerName, Description: "tiffin replicas scoring chunks",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, MaxDeliver: -1,
		FilterSubject: chunkSubject + ".>",
	})
	if err != nil {
		return nil, fmt.Errorf("chunk consumer %s: %w", consumerName, err)
	}
	return c, nil
}

func (s *store) create(ctx context.Context, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := s.jobs.Create(ctx, r.ID, b); err != nil {
		return fmt.Errorf("store job %s: %w", r.ID, err)
	}
	return nil
}

// get reads a job record and its revision.
func (s *store) get(ctx context.Context, id string) (*record, uint64, error) {
	if !validID(id) {
		return nil, 0, runtime.Errorf(runtime.KindNotFound, "unknown job %q", id)
	}
	e, err := s.jobs.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, runtime.Errorf(runtime.KindNotFound, "unknown job %q", id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read job %s: %w", id, err)
	}
	r := &record{}
	if err := json.Unmarshal(e.Value(), r); err != nil {
		return nil, 0, fmt.Errorf("job %s: corrupt record: %w", id, err)
	}
	return r, e.Revision(), nil
}

// update applies fn to the job's record by compare-and-set, retrying
// when another writer got there first. fn reports whether it changed the
// record; the record returned is the one stored.
func (s *store) update(ctx context.Context, id string, fn func(*record) bool) (*record, error) {
	for {
		r, rev, err := s.get(ctx, id)
		if err != nil || !fn(r) {
			return r, err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		_, err = s.jobs.Update(ctx, id, b, rev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		return r, nil
	}
}

// list reads every job record.
func (s *store) list(ctx context.Context) ([]*record, error) {
	keys, err := s.jobs.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	var out []*record
	for k := range keys.Keys() {
		r, _, err := s.get(ctx, k)
		if runtime.KindOf(err) == runtime.KindNotFound {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// publish queues one chunk of rec's job: its input in a file first when
// the job keeps them there. Its message id makes a retried publish a no-op.
func (s *store) publish(ctx context.Context, rec *record, c chunkRef, data []byte) error {
	m := nats.NewMsg(chunkSubject + "." + c.job)
	m.Header.Set(hdrJob, c.job)
	m.Header.Set(hdrChunk, strconv.Itoa(c.index))
	m.Header.Set(hdrRow, strconv.FormatInt(c.firstRow, 10))
	m.Header.Set(hdrRows, strconv.Itoa(c.rows))
	if files, err := s.bodies(rec); err != nil {
		return err
	} else if files != nil {
		if err := files.put(files.chunk(c.job, c.index), bytes.NewReader(data)); err != nil {
			return fmt.Errorf("write chunk %d of job %s: %w", c.index, c.job, err)
		}
		m.Header.Set(hdrBody, bodyFile)
	} else {
		m.Data = data
	}
	if _, err := s.js.PublishMsg(ctx, m, jetstream.WithMsgID(resultName(c.job, c.index))); err != nil {
		return fmt.Errorf("queue chunk %d of job %s: %w", c.index, c.job, err)
	}
	return nil
}

// bodies is where rec's job keeps its chunk inputs and results: files, or
// nil for the stream and the object store.
func (s *store) bodies(rec *record) (*bodyFiles, error) {
	if !rec.Files {
		return nil, nil
	}
	if s.files == nil {
		return nil, fmt.Errorf("job %s keeps its data in an embedded store's data directory, which this replica does not have", rec.ID)
	}
	return s.files, nil
}

// chunkInput is the input of the chunk msg carries: its file's, or its
// data. Calling release lets its memory be reused.
func (s *store) chunkInput(msg jetstream.Msg, c chunkRef) (data []byte, release func(), err error) {
	if msg.Headers().Get(hdrBody) != bodyFile {
		return msg.Data(), func() {}, nil
	}
	if s.files == nil {
		return nil, nil, fmt.Errorf("chunk %d of job %s has its input in an embedded store's data directory, which this replica does not have", c.index, c.job)
	}
	return s.files.readChunk(c)
}

// dropInput takes away the input file of a chunk that is done (or whose
// job is), if it has one: it is removed, or kept as a spare to be written
// over (bodyFiles.retire).
func (s *store) dropInput(msg jetstream.Msg, c chunkRef) {
	if s.files != nil && msg.Headers().Get(hdrBody) == bodyFile {
		s.files.retire(s.files.chunk(c.job, c.index))
	}
}

// dropChunkFiles removes a finished job's chunk folder, inputs still in it
// included: one was left per job, empty, until the job was purged. A copy
// of one of its chunks delivered again is acked without its input (pool.handle).
func (s *store) dropChunkFiles(rec *record) error {
	if files, _ := s.bodies(rec); files != nil {
		return files.removeChunks(rec.ID)
	}
	return nil
}

// parseChunkRef reads a chunk message's headers.
func parseChunkRef(h nats.Header) (chunkRef, error) {
	c := chunkRef{job: h.Get(hdrJob)}
	var e1, e2, e3 error
	c.index, e1 = strconv.Atoi(h.Get(hdrChunk))
	c.firstRow, e2 = strconv.ParseInt(h.Get(hdrRow), 10, 64)
	c.rows, e3 = strconv.Atoi(h.Get(hdrRows))
	if err := errors.Join(e1, e2, e3); err != nil || !validID(c.job) {
		return c, fmt.Errorf("malformed chunk message headers %v: %w", h, err)
	}
	return c, nil
}

// purge drops rec's job's chunks that no replica has taken yet.
func (s *store) purge(ctx context.Context, rec *record) error {
	job := rec.ID
	if err := s.chunks.Purge(ctx, jetstream.WithPurgeSubject(chunkSubject+"."+job)); err != nil {
		return fmt.Errorf("purge chunks of job %s: %w", job, err)
	}
	if files, _ := s.bodies(rec); files != nil {
		if err := files.removeChunks(job); err != nil {
			return fmt.Errorf("remove the chunk files of job %s: %w", job, err)
		}
	}
	return nil
}

func (s *store) putResult(ctx context.Context, rec *record, index int, lines io.Reader) error {
	job := rec.ID
	files, err := s.bodies(rec)
	if err == nil && files != nil {
		err = files.put(files.result(job, index), lines)
	} else if err == nil {
		_, err = s.results.Put(ctx, jetstream.ObjectMeta{Name: resultName(job, index)}, lines)
	}
	if err != nil {
		return fmt.Errorf("store result of chunk %d of job %s: %w", index, job, err)
	}
	return nil
}

// readResult reads one chunk's stored result whole: a file with O_DIRECT
// (direct.go) into one buffer of its size, or an object.
func (s *store) readResult(ctx context.Context, rec *record, index int) ([]byte, error) {
	job := rec.ID
	files, err := s.bodies(rec)
	var b []byte
	if err == nil && files != nil {
		b, err = readFile(files.result(job, index))
	} else if err == nil {
		var r io.ReadCloser
		if r, err = s.results.Get(ctx, resultName(job, index)); err == nil {
			b, err = io.ReadAll(r)
			r.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read result of chunk %d of job %s: %w", index, job, err)
	}
	return b, nil
}

// deleteResults removes rec's job's stored results (and, for a job that
// keeps them as files, its chunk inputs), then its progress.
func (s *store) deleteResults(ctx context.Context, rec *record) error {
	job := rec.ID
	if files, err := s.bodies(rec); err != nil || files != nil {
		if err == nil {
			err = files.removeJob(job)
		}
		return errors.Join(err, s.forget(ctx, job))
	}
	keys, err := s.done.ListKeysFiltered(ctx, job+".*")
	if err != nil {
		return fmt.Errorf("list the done chunks of job %s: %w", job, err)
	}
	var errs []error
	for k := range keys.Keys() {
		i, err := strconv.Atoi(k[len(job)+1:])
		if err != nil {
			continue
		}
		name := resultName(job, i)
		err = s.results.Delete(ctx, name)
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			errs = append(errs, err)
			continue
		}
		// Delete leaves a marker of each object (some 325 bytes) in the
		// stream for good: a store that scored many jobs grew without
		// bound after they were all deleted. The marker goes too; the
		// object then reads as not found, as a deleted one does.
		if err := s.resultsStream.Purge(ctx, jetstream.WithPurgeSubject(resultMetaSubject(name))); err != nil {
			errs = append(errs, fmt.Errorf("drop the marker of result %s: %w", name, err))
		}
	}
	return errors.Join(append(errs, s.forget(ctx, job))...)
}

func resultName(job string, index int) string { return job + "/" + strconv.Itoa(index) }

// resultMetaSubject is the subject of a result object's metadata in the
// object store's stream, as JetStream's object store names it: the
// bucket, then the name in URL-safe base64.
func resultMetaSubject(name string) string {
	return "$O." + resultsBucket + ".M." + base64.URLEncoding.EncodeToString([]byte(name))
}

// validID reports whether id could be a job id: letters and digits only,
// so it is always a valid key and subject token.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
