#!/usr/bin/env bash
# Install, from Debian's packages, what is missing for `make run` (the
# runtime: containerd, runc, iptables, iproute2); with "test", for `make test`
# too (chromium, for the web page's browser test); with "bench", for
# `make bench` too (etcd-server, the peer the write benchmark compares with).
set -euo pipefail
want=(containerd:containerd runc:runc iptables:iptables ip:iproute2)
case "${1:-run}" in
  test) want+=(chromium:chromium) ;;
  bench) want+=(chromium:chromium etcd:etcd-server) ;;
esac
missing=()
for pkg in "${want[@]}"; do
  command -v "${pkg%%:*}" >/dev/null 2>&1 || missing+=("${pkg##*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${missing[*]}: install them as root (apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "==> installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
