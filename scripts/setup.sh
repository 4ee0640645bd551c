#!/usr/bin/env bash
# One-time set-up of a fresh machine for the tests (idempotent): Debian packages and npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(busybox-static util-linux uidmap skopeo umoci docker-registry zstd attr openssh-client git openssl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (run as root to install): ${missing[*]}" >&2
  fi
fi

# Docker 26 + BuildKit as a peer for differential tests (root only; cached in /var/cache/layerwise-peers).
if [ "$(id -u)" = 0 ]; then bash scripts/setup-docker.sh; fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
