package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Jobs holds the settings of the bulk scoring job queue (runtime/jobs).
//
// The zero value has the queue off, so a Server built by DefaultServer, as
// the tests build it, starts no JetStream; `tiffin serve` turns it on
// through the --jobs flag, which defaults to true.
type Jobs struct {
	Enabled   bool          // --jobs; false: no queue and no /v2/jobs
	DataDir   string        // --data-dir; the embedded JetStream's store; default ./data
	QueueURL  string        // --queue-url nats://...; empty: the embedded JetStream
	Workers   int           // --jobs-workers: chunks scored at once; 0 takes jobs but scores none
	ChunkRows int           // --jobs-chunk-rows: rows per chunk at most
	AckWait   time.Duration // --jobs-ack-wait: an un-acked chunk is redelivered after this
	MaxUpload int64         // --jobs-max-upload-bytes: the largest job input; streamed, never held whole
}

// Job queue defaults.
const (
	DefaultDataDir     = "data"
	DefaultJobsWorkers = 4
	DefaultChunkRows   = 1024
	DefaultJobsAckWait = 30 * time.Second
	DefaultMaxUpload   = 16 << 30
)

// DefaultJobs returns the job queue settings `tiffin serve` starts from.
func DefaultJobs() Jobs {
	return Jobs{Enabled: true, DataDir: DefaultDataDir, Workers: DefaultJobsWorkers,
		ChunkRows: DefaultChunkRows, AckWait: DefaultJobsAckWait, MaxUpload: DefaultMaxUpload}
}

// Validate checks the job queue flags, naming the flag at fault. A
// disabled queue is always valid.
func (j *Jobs) Validate() error {
	if !j.Enabled {
		return nil
	}
	if j.QueueURL == "" && j.DataDir == "" {
		return fmt.Errorf("--data-dir: required for the embedded job queue (or give --queue-url)")
	}
	if j.QueueURL != "" && !strings.Contains(j.QueueURL, "://") {
		return fmt.Errorf("--queue-url: want nats://host:port, got %q", j.QueueURL)
	}
	if j.Workers < 0 {
		return fmt.Errorf("--jobs-workers: must be >= 0, got %d", j.Workers)
	}
	if j.ChunkRows < 1 {
		return fmt.Errorf("--jobs-chunk-rows: must be >= 1, got %d", j.ChunkRows)
	}
	if j.AckWait < time.Second {
		return fmt.Errorf("--jobs-ack-wait: must be >= 1s, got %s", j.AckWait)
	}
	return nil
}

// LogValue lets the job queue settings be logged when the queue starts.
func (j Jobs) LogValue() slog.Value {
	queue := "embedded"
	if u, err := url.Parse(j.QueueURL); err == nil && j.QueueURL != "" {
		queue = u.Redacted() // no password in logs
	}
	return slog.GroupValue(
		slog.Bool("enabled", j.Enabled),
		slog.String("queue", queue),
		slog.String("data_dir", j.DataDir),
		slog.Int("workers", j.Workers),
		slog.Int("chunk_rows", j.ChunkRows),
		slog.Duration("ack_wait", j.AckWait),
	)
}
