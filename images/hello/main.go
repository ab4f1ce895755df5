// Command hello is orch's sample workload, shipped as the image
// orch.local/hello:1 (docs/hello.md describes what it answers): an HTTP server
// whose health, crashes, memory use and DNS look-ups can be driven from
// outside, so tests and demos can exercise health checks, restarts, OOM kills
// and service discovery. The same static binary is a tiny client for exec and
// exec health checks (`hello version`, `hello get URL`), and the
// process of jobs and init containers (`hello exit CODE`, `hello cat PATH`).
//
// It owns nothing outside its own process and must stay free of cgo and of
// any dependency beyond the standard library, so it runs in an image that
// holds nothing but itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			fmt.Fprintf(stdout, "hello %s\n", version)
			return 0
		case "get":
			if len(args) != 2 {
				fmt.Fprintln(stderr, "usage: hello get URL")
				return 2
			}
			return get(args[1], stdout, stderr)
		case "exit":
			return exitCommand(args[1:], stdout, stderr, time.Sleep)
		case "cat":
			return catCommand(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("hello", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 8080, "TCP port to serve HTTP on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hello: unknown command %q (want version, get URL, exit CODE, cat PATH, or flags)\n", fs.Arg(0))
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, net.JoinHostPort("", strconv.Itoa(*port)), logger); err != nil {
		logger.Error("hello: server failed", "err", err)
		return 1
	}
	return 0
}

// serve runs the HTTP server until ctx is cancelled (SIGTERM), then lets the
// requests in flight finish.
func serve(ctx context.Context, addr string, logger *slog.Logger) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           newServer(logger, os.Exit).routes(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("hello: listening", "addr", addr, "version", version)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("hello: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
