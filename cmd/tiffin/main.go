// Command tiffin is the tiffin inference server and its tools.
//
//	tiffin serve --model-repository DIR    serve a model repository over HTTP and gRPC
//	tiffin infer --model M --http URL ...  send one request, print the outputs
//	tiffin jobs submit|status|results|cancel|delete|list ...  bulk scoring jobs
//	tiffin devices                         the CPU and GPU inventory, and placement
//	tiffin tune --model M ...              sweep batch size and window per device
//	tiffin bench --model M --http URL ...  load-test any KServe V2 server
//	tiffin demo-models DIR                 write the demo model repository
//	tiffin version                         print the version
//
// main stays thin: flags become config, config builds the dig container,
// the container runs, and a signal stops it within a deadline.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func init() {
	// Keep the main goroutine on the main thread, so instance workers, which
	// pin their own threads, never pin the thread the process started on.
	runtime.LockOSThread()
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "serve a model repository over HTTP and gRPC", serveCmd},
		{"demo-models", "write the demo model repository into a folder", demoModelsCmd},
		{"infer", "send one inference request over HTTP or gRPC; print the outputs as JSON", inferCmd},
		{"devices", "print the CPU and GPU inventory and a repository's placement", devicesCmd},
		{"tune", "sweep batch size and window per device group, and recommend a batching block", tuneCmd},
		{"bench", "load-test a KServe V2 server: throughput, latency percentiles, a chart (tiffin bench -h)", benchCmd},
		{"jobs", "submit bulk scoring jobs and follow them (tiffin jobs -h)", jobsCmd},
		{"version", "print the version", versionCmd},
	}
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := parseFlags(fs, args); err != nil {
		return parseExit(err)
	}
	fmt.Fprintln(stdout, version)
	return 0
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 { // a usage mistake: no command
		usage(stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "tiffin: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// parseFlags parses a command's flags, and refuses a word left over: the
// flag package stops at the first word that is not a flag, so "serve
// stray --http-port 9000" would otherwise drop the port without a word.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(joinBoolValues(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "tiffin %s: unexpected argument %q (every flag after it was not read)\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUnexpectedArgument
	}
	return nil
}

var errUnexpectedArgument = errors.New("unexpected argument")

// joinBoolValues lets a boolean flag take its value as the next word, as
// Triton's command line does: "--strict-readiness false" becomes
// "--strict-readiness=false". Only the words true and false are taken so;
// any other word after a boolean flag is left as the flag package reads
// it. The value of a flag that takes one is skipped, so a label that
// reads "true" stays a label.
func joinBoolValues(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		out = append(out, a)
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return append(out, args[i+1:]...) // the flag package stops here too
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil || i+1 == len(args) {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
			out = append(out, args[i+1]) // the flag's value, whatever it reads
			i++
			continue
		}
		if v := args[i+1]; v == "true" || v == "false" {
			out[len(out)-1] = a + "=" + v
			i++
		}
	}
	return out
}

// parseExit is a command's exit code when its flags did not parse: 0 when
// they asked for the usage (-h, --help), which the flag package has
// printed; 2 for a mistake, which it has named.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tiffin: an inference server for ONNX models (KServe V2 over HTTP and gRPC)")
	fmt.Fprintln(w, "\nUsage: tiffin <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tiffin <command> -h' for a command's flags.")
}
