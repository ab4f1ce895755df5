#!/usr/bin/env bash
# make bench: run the Go benchmarks, record each figure in
# bench/results/<package>[_<benchmark>].json and print a table.
# BENCH_TIMEOUT bounds each run (go test -timeout, default 30m);
# BENCH_LOG=FILE appends the raw output there as it comes (to follow a
# long run). A
# benchmark's own lines beginning "| " (a table of figures against goals)
# are printed too.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
out=bench/results
mkdir -p "$out"
# package : benchmark regexp : benchtime
runs=(
  "./scheduler/:.:1x"
  "./hollow/:BenchmarkControlPlane|BenchmarkNodeLoss:1x"
  "./agent/runtime/:BenchmarkCreateStart:20x"
  "./integration/:BenchmarkApplyToRunning:1x"
  "./integration/:BenchmarkAgentFootprint:1x"
  "./integration/:BenchmarkSecret:1x"
  "./e2e/:BenchmarkOverlay:1x"
  "./e2e/:BenchmarkUpgrade:1x"
  "./hollow/:BenchmarkDrain:1x"
  "./hollow/:BenchmarkJobThroughput:1x"
  "./integration/controlplane/:BenchmarkLeaderKill:1x"
  "./integration/controlplane/:BenchmarkWrites$:1x"
  "./integration/controlplane/:BenchmarkWritesVsEtcd:1x"
  "./integration/controlplane/:BenchmarkTokenRevoke:1x"
  "./integration/controlplane/:BenchmarkCARotate$:1x"
  "./integration/controlplane/:BenchmarkCARotateAgent:1x"
  "./master/raftnode/:BenchmarkApply3:20000x"
  "./master/dispatcher/:BenchmarkEndpoint:20x"
  "./master/dispatcher/:BenchmarkNodeChange:3x"
  "./master/manifest/:BenchmarkParseOneJSON:1s"
  "./api/:BenchmarkMarshalService|BenchmarkMarshalReplica:1s"
)
# make bench-scale (BENCH_SET=scale) runs only the scale benchmark: 3
# masters and 5,000 hollow nodes, too heavy for every make bench.
if [ "${BENCH_SET:-}" = scale ]; then
  runs=("./hollow/:BenchmarkScale$:1x")
fi
# The e2e package runs only when asked: it builds hosts in namespaces.
export ORCH_E2E=1
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
printf '%-60s %s\n' "benchmark" "figures"
for run in "${runs[@]}"; do
  IFS=: read -r pkg re benchtime <<<"$run"
  # BENCH_ONLY=REGEXP runs only the entries whose package:benchmark matches.
  if [ -n "${BENCH_ONLY:-}" ] && ! [[ "$pkg:$re" =~ $BENCH_ONLY ]]; then continue; fi
  name=$(echo "$pkg" | tr -c 'a-zA-Z0-9\n' '_' | sed 's/^_*//; s/_*$//')
  # Several runs of one package each get their own file.
  if [ "$re" != "." ]; then name="${name}_$(echo "$re" | tr -c 'a-zA-Z0-9\n' '_' | sed 's/_*$//')"; fi
  raw=$(go test -run '^$' -bench "$re" -benchtime "$benchtime" -count 1 -timeout "${BENCH_TIMEOUT:-30m}" "$pkg" 2>&1 | tee -a "${BENCH_LOG:-/dev/null}") || { echo "$raw" >&2; exit 1; }
  echo "$raw" | awk -v stamp="$stamp" -v rev="$rev" -v pkg="$pkg" '
    BEGIN { printf "{\"time\":\"%s\",\"revision\":\"%s\",\"package\":\"%s\",\"results\":[", stamp, rev, pkg; n=0 }
    /^Benchmark/ {
      if (n++) printf ","
      printf "{\"name\":\"%s\",\"iterations\":%s", $1, $2
      for (i = 3; i + 1 <= NF; i += 2) printf ",\"%s\":%s", $(i+1), $i
      printf "}"
    }
    END { print "]}" }' >"$out/$name.json"
  echo "$raw" | grep '^| ' || true
  echo "$raw" | grep '^Benchmark' | while read -r line; do
    printf '%-60s %s\n' "$(echo "$line" | awk '{print $1}')" "$(echo "$line" | cut -d' ' -f2- | tr -s ' \t' ' ')"
  done
done
echo "recorded in $out/"
