#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: server packages, node modules,
# generated code, build. Quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# A real Slurm for `local up --slurm` (HPC pilots).
command -v slurmctld >/dev/null 2>&1 || [ -x /usr/sbin/slurmctld ] || missing+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || [ -x /usr/sbin/munged ] || missing+=(munge)
# A real browser for the dashboard test (driven by puppeteer-core, which never downloads one).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
  # Debian starts these as system services on install; `local up` runs its own
  # (Slurm and munged under the cluster dir, with their own key, socket and ports).
  for svc in redis-server slurmctld slurmd munge; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi

# npm ci when node_modules is missing or older than the lock file.
stamp=node_modules/.orrery-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi

# Code generation when a .proto changed, build when a source changed.
if [ ! -d src/gen ] || [ -n "$(find proto buf.gen.yaml -newer src/gen -print -quit 2>/dev/null)" ]; then
  say "buf generate"
  npx --no-install buf generate >&2
  touch src/gen
fi
if [ ! -f dist/.built ] || [ -n "$(find src tsconfig.json tsconfig.build.json -newer dist/.built -print -quit 2>/dev/null)" ]; then
  say "build"
  npx --no-install tsc -p tsconfig.build.json >&2
  touch dist/.built
fi
