package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// embeddedMaxPayload is the embedded server's largest message: a chunk's
// input travels in one message, so a larger limit means fewer, fuller
// chunks for wide rows.
const embeddedMaxPayload = 8 << 20

// broker is the NATS connection the job store runs on: to a JetStream
// server embedded in this process (nothing listens on a port), or to an
// external NATS cluster that several replicas share.
type broker struct {
	nc       *nats.Conn
	embedded *server.Server // nil when external
	dir      string         // the embedded server's store directory
	lock     *os.File       // held on dir/LOCK while embedded runs (lockDir)
	log      *slog.Logger
}

// connect starts the embedded server storing under dataDir when url is
// empty, and connects to it in process; otherwise it connects to url.
func connect(url, dataDir string, log *slog.Logger) (*broker, error) {
	b := &broker{log: log}
	opts := []nats.Option{nats.Name("tiffin-jobs"), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("job queue disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("job queue reconnected", "server", config.RedactQueueURL(nc.ConnectedUrl()))
		}),
	}
	if url == "" {
		ns, dir, lock, err := startEmbedded(dataDir, log)
		if err != nil {
			return nil, err
		}
		b.embedded, b.dir, b.lock = ns, dir, lock
		opts = append(opts, nats.InProcessServer(ns))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		b.shutdownEmbedded()
		return nil, fmt.Errorf("connect to the job queue %s: %w", b.describe(url), err)
	}
	b.nc = nc
	return b, nil
}

// replicas is how many servers keep each of the job store's streams and
// buckets: want when set; on the embedded server, or an external one not
// in a cluster, one; on a cluster, as many servers as it has, up to 3, so
// that one server lost neither stalls a job nor loses one. JetStream's
// default, one, left the whole queue on whichever server each stream
// landed on.
func (b *broker) replicas(want int) int {
	switch {
	case b.embedded != nil:
		return 1
	case want > 0:
		return want
	case b.nc.ConnectedClusterName() == "":
		return 1
	}
	return max(1, min(3, len(b.nc.Servers())))
}

func (b *broker) describe(url string) string {
	if b.embedded != nil {
		return "(embedded)"
	}
	return config.RedactQueueURL(url)
}

// startEmbedded runs a JetStream server in process, storing under dataDir,
// and returns it with dataDir's absolute path.
func startEmbedded(dataDir string, log *slog.Logger) (_ *server.Server, _ string, _ *os.File, err error) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--data-dir %s: %w", dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", nil, fmt.Errorf("--data-dir: %w", err)
	}
	// Two processes on one store would corrupt it (JetStream does not
	// lock it), and each would take the other's uploads for ones a stop
	// cut short.
	lock, err := lockDir(dir)
	if err != nil {
		return nil, "", nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	ns, err := server.NewServer(&server.Options{
		ServerName: "tiffin-embedded",
		JetStream:  true,
		StoreDir:   dir,
		DontListen: true,
		NoSigs:     true,
		MaxPayload: embeddedMaxPayload,
	})
	if err != nil {
		return nil, "", nil, fmt.Errorf("embedded job queue: %w", err)
	}
	ns.SetLoggerV2(natsLogger{log}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, "", nil, fmt.Errorf("embedded job queue (store %s) did not start within 30s", dir)
	}
	log.Info("embedded job queue started", "store", dir)
	return ns, dir, lock, nil
}

// close drains the connection, so published messages and acks in flight
// reach the server, then stops the embedded server.
func (b *broker) close(ctx context.Context) error {
	var err error
	if b.nc != nil {
		closed := make(chan struct{})
		b.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
		if err = b.nc.Drain(); err == nil {
			select {
			case <-closed:
			case <-ctx.Done():
				b.nc.Close()
				err = fmt.Errorf("drain the job queue connection: %w", ctx.Err())
			}
		}
	}
	b.shutdownEmbedded()
	return err
}

func (b *broker) shutdownEmbedded() {
	if b.embedded == nil {
		return
	}
	b.embedded.Shutdown()
	b.embedded.WaitForShutdown()
	b.embedded = nil
	b.lock.Close() // the directory is free for the next process
	b.lock = nil
}

// natsLogger sends the embedded server's notices, warnings and errors to
// slog; its debug and trace output is dropped.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Warnf(format string, v ...any) { l.log.Warn("nats: " + fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Debugf(string, ...any) {}
func (l natsLogger) Tracef(string, ...any) {}
