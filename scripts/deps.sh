#!/usr/bin/env bash
# Install, from Debian's packages, what is missing for `make run` (the
# runtime: containerd, runc, iptables, iproute2) or, with "test", for
# `make test` too (chromium, for the web page's browser test).
set -euo pipefail
want=(containerd:containerd runc:runc iptables:iptables ip:iproute2)
if [ "${1:-run}" = test ]; then
  want+=(chromium:chromium)
fi
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
