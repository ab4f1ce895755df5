#!/usr/bin/env bash
# make stop: stop `orchd dev` and remove its replicas, network and private
# containerd.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${DATA_DIR:-/var/lib/orch}
pidfile="$DATA_DIR/orchd.pid"
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    echo "==> stopping orchd dev (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "orchd dev did not stop; sending SIGKILL"; kill -KILL "$pid"; }
  fi
  rm -f "$pidfile"
fi
if [ -x bin/orchd ]; then
  echo "==> removing replicas, network and the private containerd"
  bin/orchd dev --cleanup --data-dir "$DATA_DIR"
fi
