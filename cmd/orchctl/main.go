// Command orchctl is the command line of orch: it reads manifests, talks to
// a cluster's REST API through api/client and prints what it gets
// as tables, JSON or YAML.
//
// It owns presentation only. It must not reach into the store, Raft or the
// agents; everything goes through the API, so that orchctl can do nothing
// a user with the same token could not do with curl.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
