package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestQueueURLRedacted: the job queue's credentials stay out of the log,
// a NATS token (a user with no password) as well as a password, in each
// URL of a list.
func TestQueueURLRedacted(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://alice:s3cret@127.0.0.1:4222", "nats://alice:xxxxx@127.0.0.1:4222"},
		{"nats://s3cret@127.0.0.1:4222", "nats://xxxxx@127.0.0.1:4222"},
		{"tls://alice:s3cret@a:4222, tls://s3cret@b:4222", "tls://alice:xxxxx@a:4222,tls://xxxxx@b:4222"},
		{"nats://al%ice:s3cret@a:4222%", "nats://xxxxx@a:4222%"}, // unparsed
	} {
		if got := RedactQueueURL(c.in); got != c.want {
			t.Errorf("RedactQueueURL(%q) = %q, want %q", c.in, got, c.want)
		}
		var buf bytes.Buffer
		j := DefaultJobs()
		j.QueueURL = c.in
		slog.New(slog.NewTextHandler(&buf, nil)).Info("bulk jobs", "config", j)
		if strings.Contains(buf.String(), "s3cret") {
			t.Errorf("--queue-url %s: the log shows the secret: %s", c.in, buf.String())
		}
	}
}
