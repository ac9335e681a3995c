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
	Enabled    bool          // --jobs; false: no queue and no /v2/jobs
	DataDir    string        // --data-dir; the embedded JetStream's store; default ./data
	QueueURL   string        // --queue-url nats://...; empty: the embedded JetStream
	Workers    int           // --jobs-workers: chunks scored at once; 0 takes jobs but scores none
	ChunkBytes int           // --jobs-chunk-bytes: the size a chunk of input aims at
	AckWait    time.Duration // --jobs-ack-wait: an un-acked chunk is redelivered after this
	MaxUpload  int64         // --jobs-max-upload-bytes: the largest job input; streamed, never held whole
	// MaxRedeliveries (--jobs-max-redeliveries): how often a chunk that
	// crashed its scorer or kept failing is delivered again before its
	// rows fail with the reason; 0: never (DefaultJobs sets 3).
	MaxRedeliveries int
	// MaxShare (--jobs-max-share): the most of each device group's compute
	// time bulk work takes while interactive requests arrive; idle, it
	// takes all. 1: no limit.
	MaxShare float64
	// MaxDownloads (--jobs-max-downloads): result downloads served at
	// once; more answer 429. Each holds a chunk's results in memory (~20
	// MB for mlp-large) for as long as its client takes to read them.
	MaxDownloads int
	// StreamReplicas (--jobs-stream-replicas): with QueueURL, how many
	// servers of the cluster keep each of the job store's streams and
	// buckets; 0: as many as the cluster has, up to 3.
	StreamReplicas int
}

// Job queue defaults.
const (
	DefaultDataDir     = "data"
	DefaultJobsWorkers = 4
	DefaultChunkBytes  = 2 << 20 // jobs.DefaultChunkBytes; bench/README.md says why 2 MiB
	DefaultRedeliver   = 3
	DefaultMaxShare    = 0.5
	DefaultJobsAckWait = 30 * time.Second
	DefaultMaxUpload   = 16 << 30
	DefaultDownloads   = 16
)

// DefaultJobs returns the job queue settings `tiffin serve` starts from.
func DefaultJobs() Jobs {
	return Jobs{Enabled: true, DataDir: DefaultDataDir, Workers: DefaultJobsWorkers,
		ChunkBytes: DefaultChunkBytes, AckWait: DefaultJobsAckWait, MaxUpload: DefaultMaxUpload,
		MaxRedeliveries: DefaultRedeliver, MaxShare: DefaultMaxShare, MaxDownloads: DefaultDownloads}
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
	if j.StreamReplicas < 0 || j.StreamReplicas > 5 {
		return fmt.Errorf("--jobs-stream-replicas: must be 0 (as many as the cluster has, up to 3) to 5 (JetStream's most), got %d", j.StreamReplicas)
	}
	if j.StreamReplicas > 0 && j.QueueURL == "" {
		return fmt.Errorf("--jobs-stream-replicas: only with --queue-url (the embedded job queue keeps one copy)")
	}
	if j.Workers < 0 {
		return fmt.Errorf("--jobs-workers: must be >= 0, got %d", j.Workers)
	}
	if j.ChunkBytes < 1<<10 {
		return fmt.Errorf("--jobs-chunk-bytes: must be >= 1024, got %d", j.ChunkBytes)
	}
	if j.MaxRedeliveries < 0 {
		return fmt.Errorf("--jobs-max-redeliveries: must be >= 0, got %d", j.MaxRedeliveries)
	}
	if !(j.MaxShare > 0 && j.MaxShare <= 1) {
		return fmt.Errorf("--jobs-max-share: must be in (0, 1], got %v", j.MaxShare)
	}
	if j.MaxUpload < 1 {
		return fmt.Errorf("--jobs-max-upload-bytes: must be >= 1, got %d", j.MaxUpload)
	}
	if j.MaxDownloads < 1 {
		return fmt.Errorf("--jobs-max-downloads: must be >= 1, got %d", j.MaxDownloads)
	}
	if j.AckWait < time.Second {
		return fmt.Errorf("--jobs-ack-wait: must be >= 1s, got %s", j.AckWait)
	}
	return nil
}

// LogValue lets the job queue settings be logged when the queue starts.
func (j Jobs) LogValue() slog.Value {
	queue := "embedded"
	if j.QueueURL != "" {
		queue = RedactQueueURL(j.QueueURL)
	}
	return slog.GroupValue(
		slog.Bool("enabled", j.Enabled),
		slog.String("queue", queue),
		slog.String("data_dir", j.DataDir),
		slog.Int("workers", j.Workers),
		slog.Int("chunk_bytes", j.ChunkBytes),
		slog.Int("max_redeliveries", j.MaxRedeliveries),
		slog.Float64("max_share", j.MaxShare),
		slog.Int("max_downloads", j.MaxDownloads),
		slog.Duration("ack_wait", j.AckWait),
		slog.Int("stream_replicas", j.StreamReplicas),
	)
}

// RedactQueueURL is --queue-url as logs and errors may show it: each of
// its comma-separated URLs without its password, or its token (NATS takes
// a user with no password, nats://TOKEN@host, for a token, which
// url.URL.Redacted prints whole).
func RedactQueueURL(queue string) string {
	urls := strings.Split(queue, ",")
	for i, s := range urls {
		s = strings.TrimSpace(s)
		u, err := url.Parse(s)
		switch {
		case err != nil:
			// Unparsed, it may still hold credentials before an @.
			if at := strings.LastIndex(s, "@"); at >= 0 {
				scheme, _, _ := strings.Cut(s, "://")
				s = scheme + "://xxxxx" + s[at:]
			}
		case u.User == nil:
		default:
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			} else {
				u.User = url.User("xxxxx")
			}
			s = u.String()
		}
		urls[i] = s
	}
	return strings.Join(urls, ",")
}
