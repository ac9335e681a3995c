package main

import (
	"bytes"
	"strings"
	"testing"
)

// Asking a command for its usage succeeds and prints it; a mistake in its
// flags still fails with 2.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--help"}, {"infer", "-h"}, {"bench", "-help"}, {"demo-models", "--help"},
		{"tune", "-h"}, {"devices", "--help"}, {"jobs", "submit", "-h"}, {"jobs", "status", "--help"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String()+stderr.String(), "\n  -") {
			t.Errorf("%v: exit %d, usage %q", args, code, stdout.String()+stderr.String())
		}
	}
	tune := []string{"tune", "--model-repository", "r", "--model", "m"}
	infer := []string{"infer", "--model", "m", "--http", "h", "--input", "input=[1]"}
	for _, args := range [][]string{{"infer", "--no-such-flag"}, {"serve", "--no-such-flag", "--help"}, {"jobs", "status"}, {"infer", "--", "-h"}, {},
		append(tune, "--clients", "0"), append(tune, "--device", "tpu"), append(tune, "--sizes", "a,b"), append(tune, "--windows", "5"),
		append(tune, "--latency-target", "0s"), append(tune, "--instances", "0"), append(tune, "--threads", "2"), append(tune, "--windows", "-1ms"),
		append(infer, "--shape", "input=x"), append(infer, "--datatype", "input=FLOAT99"), append(infer, "--shape", "nope=1"),
		append(infer, "--datatype", "nope=INT32"), {"infer", "--model", "m", "--http", "h", "--input", "input"},
		{"infer", "--model", "m", "--http", "h", "--input", "x=@a.npy", "--datatype", "x=INT32"}} {
		if code := run(args, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// A word left over among a command's flags is refused: the flag package
// stops reading at it, so the flags after it would be dropped silently
// ("serve stray --http-port 9000" served on 8000).
func TestStrayArgumentRefused(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--model-repository", "r", "stray", "--http-port", "9"}, {"infer", "--model", "m", "stray"},
		{"bench", "stray"}, {"tune", "stray"}, {"devices", "stray"}, {"version", "x"},
	} {
		var stderr bytes.Buffer
		if code := run(args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "unexpected argument") {
			t.Errorf("%v: exit %d, stderr %.120q; want 2 naming the argument", args, code, stderr.String())
		}
	}
	if code := run([]string{"version", "--bogus"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Errorf("version --bogus: exit %d, want 2", code)
	}
}

// The inference token from the environment is used but never printed:
// usage text ends up in terminals and CI logs.
func TestTokenNotInUsage(t *testing.T) {
	t.Setenv(inferenceTokenEnv, "s3cret-token")
	for _, args := range [][]string{{"infer", "-h"}, {"bench", "-h"}, {"infer", "--no-such-flag"}} {
		var stdout, stderr bytes.Buffer
		run(args, &stdout, &stderr)
		if out := stdout.String() + stderr.String(); strings.Contains(out, "s3cret-token") {
			t.Errorf("%v printed the token:\n%s", args, out)
		}
	}
}

// Every command's -h begins with its synopsis, as README's "Running
// tiffin" lists them, rather than the flag package's bare "Usage of serve:".
func TestHelpStartsWithTheSynopsis(t *testing.T) {
	for cmd, want := range map[string]string{
		"serve": "Usage: tiffin serve --model-repository DIR [flags]", "infer": "Usage: tiffin infer --model M",
		"bench": "Usage: tiffin bench --model M", "tune": "Usage: tiffin tune --model-repository DIR --model M",
		"devices": "Usage: tiffin devices", "demo-models": "Usage: tiffin demo-models [--bench] DIR",
		"jobs submit": "Usage: tiffin jobs submit --model M --input FILE [flags]", "jobs status": "Usage: tiffin jobs status [flags] ID",
		"jobs list": "Usage: tiffin jobs list [flags]", "jobs cancel": "Usage: tiffin jobs cancel [flags] ID",
	} {
		var stdout, stderr bytes.Buffer
		run(append(strings.Fields(cmd), "-h"), &stdout, &stderr)
		if out := stdout.String() + stderr.String(); !strings.HasPrefix(out, want) {
			t.Errorf("%s -h begins %.60q, want %q", cmd, out, want)
		}
	}
}
