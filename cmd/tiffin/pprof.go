package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// pprofOn marks that the profiling listener, when asked for, is up.
type pprofOn struct{}

// newPprof serves Go's profiles (/debug/pprof/) on --pprof-addr, a
// listener of its own, never the API's. It is off by default; an address
// with no host ("6060" or ":6060") listens on loopback only, since profiles
// show the server's internals.
func newPprof(cfg config.Server, log *slog.Logger, lc *lifecycle) pprofOn {
	if cfg.PprofAddr == "" {
		return pprofOn{}
	}
	addr := pprofListenAddr(cfg.PprofAddr)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	sideListener(lc, log, "pprof", addr, mux, nil) // listeners.go
	return pprofOn{}
}

// pprofListenAddr puts a host-less address on loopback.
func pprofListenAddr(a string) string {
	if !strings.Contains(a, ":") {
		a = ":" + a
	}
	if strings.HasPrefix(a, ":") {
		return "127.0.0.1" + a
	}
	return a
}
