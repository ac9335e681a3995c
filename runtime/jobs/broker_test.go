package jobs

import (
	"context"
	"strings"
	"testing"
)

// TestConnectErrorRedacted: a job queue that cannot be reached is named in
// the error without the credentials in its URL.
func TestConnectErrorRedacted(t *testing.T) {
	for _, queue := range []string{"nats://alice:s3cret@127.0.0.1:1", "nats://s3cret@127.0.0.1:1"} {
		s := New(newRefModels(), Options{URL: queue, Workers: 1})
		err := s.Start(context.Background())
		if err == nil {
			_ = s.Stop(context.Background())
			t.Fatalf("%s: started", queue)
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("%s: want the server named without the secret, got %v", queue, err)
		}
	}
}
