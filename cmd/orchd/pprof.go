package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/spf13/pflag"
)

// addPprofFlag registers the hidden --pprof-addr that servePprof reads.
func addPprofFlag(fl *pflag.FlagSet, addr *string) {
	fl.StringVar(addr, "pprof-addr", "", "serve Go profiles (net/http/pprof) on this HOST:PORT, for performance work")
	_ = fl.MarkHidden("pprof-addr")
}

// servePprof serves the runtime's profiles on addr until the process ends
// (the hidden --pprof-addr of masters and hollow fleets, for performance
// work); nothing when addr is empty.
func servePprof(addr string) {
	if addr == "" {
		return
	}
	// Contention is what a master short of CPU shows least in a CPU
	// profile: sample one lock wait in 100, and every block of a
	// millisecond or more (shorter ones in proportion to their length),
	// only when profiles were asked for.
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(int(time.Millisecond))
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		if err := srv.ListenAndServe(); err != nil {
			slog.Warn("pprof server stopped", "err", err)
		}
	}()
}
