#!/usr/bin/env bash
# make run: install what is missing, build, start `orchd dev` in the
# background, load the sample image, deploy examples/hello.yaml and wait
# until its replicas run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
DATA_DIR=${DATA_DIR:-/var/lib/orch}

if [ "$(id -u)" -ne 0 ]; then
  echo "make run needs root (containers, network namespaces)" >&2
  exit 1
fi
scripts/deps.sh run
command -v go >/dev/null || { echo "Go is missing: install it to /usr/local/go" >&2; exit 1; }

echo "==> building"
make --no-print-directory build images

mkdir -p "$DATA_DIR"
pidfile="$DATA_DIR/orchd.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "==> orchd dev already running (pid $(cat "$pidfile"))"
else
  echo "==> starting orchd dev (log: $DATA_DIR/orchd.log)"
  nohup bin/orchd dev --data-dir "$DATA_DIR" >>"$DATA_DIR/orchd.log" 2>&1 &
  echo $! >"$pidfile"
fi

ctl=(bin/orchctl --config "$DATA_DIR/master/admin.conf")
for _ in $(seq 1 150); do
  [ -f "$DATA_DIR/master/admin.conf" ] && "${ctl[@]}" get nodes 2>/dev/null | grep -q ready && break
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "orchd dev exited; see $DATA_DIR/orchd.log" >&2; tail -20 "$DATA_DIR/orchd.log" >&2; exit 1; }
  sleep 0.2
done
"${ctl[@]}" get nodes | grep -q ready || { echo "the node did not become ready; see $DATA_DIR/orchd.log" >&2; exit 1; }

echo "==> loading images/hello.tar and applying examples/hello.yaml"
"${ctl[@]}" image load images/hello.tar
"${ctl[@]}" apply -f examples/hello.yaml

echo "==> waiting for 3 replicas of hello to run"
for _ in $(seq 1 300); do
  n=$("${ctl[@]}" get replicas -o json | grep -c '"state": *"running"' || true)
  [ "$n" -ge 3 ] && break
  sleep 0.2
done
"${ctl[@]}" get replicas
n=$("${ctl[@]}" get replicas -o json | grep -c '"state": *"running"' || true)
if [ "$n" -lt 3 ]; then
  echo "only $n replicas run; see $DATA_DIR/orchd.log" >&2
  exit 1
fi
ip=$("${ctl[@]}" get replicas -o json | grep -o '"ip": *"[0-9.]*"' | head -1 | grep -o '[0-9.]*' | tail -1)
cat <<MSG

orch is running: a master and an agent in one process (bin/orchd dev, pid $(cat "$pidfile")).
Try:
  bin/orchctl get replicas
  bin/orchctl get nodes -o wide
  curl http://$ip:8080/
  bin/orchctl logs hello.1
  bin/orchctl scale service hello --replicas 5
Stop everything with: make stop
MSG
