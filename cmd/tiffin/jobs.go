package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"go.uber.org/dig"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/jobs"
	"github.com/tiffin-ml/tiffin/runtime/metrics"
	httpt "github.com/tiffin-ml/tiffin/transport/http"
)

// jobsFlags adds the bulk job queue's flags to `tiffin serve`. The queue is
// on by default from the command line; a config.Server built in code has it
// off unless it sets Jobs.
func jobsFlags(fs *flag.FlagSet, j *config.Jobs) {
	if *j == (config.Jobs{}) {
		*j = config.DefaultJobs()
	}
	fs.BoolVar(&j.Enabled, "jobs", j.Enabled, "serve bulk scoring jobs on /v2/jobs (false: no job queue)")
	fs.StringVar(&j.DataDir, "data-dir", j.DataDir, "`DIR` where the embedded job queue (JetStream) stores jobs, inputs and results")
	fs.StringVar(&j.QueueURL, "queue-url", j.QueueURL, "`URL` of an external NATS JetStream (nats://host:4222) that replicas share; empty: embedded")
	fs.IntVar(&j.StreamReplicas, "jobs-stream-replicas", j.StreamReplicas, "with --queue-url, the servers of the cluster that keep each of the job store's streams (0: as many as it has, up to 3)")
	fs.IntVar(&j.Workers, "jobs-workers", j.Workers, "job chunks this replica scores at once (0: take jobs but score none)")
	fs.IntVar(&j.ChunkBytes, "jobs-chunk-bytes", j.ChunkBytes, "bytes of input a job chunk aims at (Parquet/NPY: as many rows as fit)")
	fs.IntVar(&j.MaxRedeliveries, "jobs-max-redeliveries", j.MaxRedeliveries, "redeliveries of a chunk that crashed or kept failing before its rows fail with the reason")
	fs.Float64Var(&j.MaxShare, "jobs-max-share", j.MaxShare, "the most of each device group's compute time bulk jobs take while interactive requests arrive (1: no limit)")
	fs.DurationVar(&j.AckWait, "jobs-ack-wait", j.AckWait, "a chunk whose replica died is redelivered after this")
	fs.IntVar(&j.MaxDownloads, "jobs-max-downloads", j.MaxDownloads, "job result downloads served at once (each holds a chunk of results in memory); more get 429")
	fs.Int64Var(&j.MaxUpload, "jobs-max-upload-bytes", j.MaxUpload, "largest job input accepted (streamed, never held in memory whole); larger gets 413")
}

type jobsParams struct {
	dig.In
	Config  config.Server
	Log     *slog.Logger
	LC      *lifecycle
	Manager *runtime.Manager
	Metrics *metrics.Metrics // the job queue's counters join /metrics
}

type jobsResult struct {
	dig.Out
	Service *jobs.Service // nil with --jobs=false
	HTTP    httpt.Jobs    // the same, for the HTTP front end; a nil interface with --jobs=false
}

// newJobs builds the bulk job queue. Its hook starts after the model
// manager and before the transports; stopping, it takes no more chunks,
// finishes the ones in flight (or leaves them un-acked, to be redelivered),
// drains NATS and shuts the embedded server.
func newJobs(p jobsParams) (jobsResult, error) {
	cfg := p.Config.Jobs
	if !cfg.Enabled {
		p.Log.Info("bulk jobs disabled")
		return jobsResult{}, nil
	}
	if err := cfg.Validate(); err != nil {
		return jobsResult{}, fmt.Errorf("jobs: %w", err)
	}
	p.Log.Info("bulk jobs", "config", cfg)
	redeliveries := cfg.MaxRedeliveries
	if redeliveries == 0 { // the flag's 0 means none; the option's 0, the default
		redeliveries = jobs.NoRedelivery
	}
	svc := jobs.New(p.Manager, jobs.Options{
		URL: cfg.QueueURL, DataDir: cfg.DataDir, Workers: cfg.Workers,
		ChunkBytes: cfg.ChunkBytes, MaxRedeliveries: redeliveries, AckWait: cfg.AckWait, Logger: p.Log,
		StreamReplicas: cfg.StreamReplicas,
	})
	if err := p.Metrics.Register(svc.Collector()); err != nil {
		return jobsResult{}, fmt.Errorf("jobs metrics: %w", err)
	}
	p.LC.append(hook{name: "jobs", start: svc.Start, stop: svc.Stop})
	return jobsResult{Service: svc, HTTP: svc}, nil
}

// jobsCmd is `tiffin jobs <command>`: the client of a server's /v2/jobs.
func jobsCmd(args []string, stdout, stderr io.Writer) int {
	cmds := jobCommands()
	if len(args) == 0 {
		jobsUsage(stderr, cmds)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		jobsUsage(stdout, cmds)
		return 0
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "tiffin jobs: unknown command %q\n\n", args[0])
	jobsUsage(stderr, cmds)
	return 2
}

func jobCommands() []command {
	return []command{
		{"submit", "submit a job: --model M --input FILE (NDJSON, CSV, Parquet or .npy)", jobSubmitCmd},
		{"status", "show a job's progress (--watch: until it finishes)", jobStatusCmd},
		{"results", "write a finished job's results (NDJSON, or --format parquet) to stdout or --out FILE", jobResultsCmd},
		{"cancel", "cancel a pending or running job", jobCancelCmd},
		{"delete", "delete a finished job and its results", jobDeleteCmd},
		{"list", "list the jobs", jobListCmd},
	}
}

func jobsUsage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "Usage: tiffin jobs <command> [flags] [ID]\n\nCommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --server URL (default $TIFFIN_SERVER, else http://localhost:8000).")
}
