#!/usr/bin/env bash
# Sets up a real Docker Engine (26.x, BuildKit 0.13) for differential tests and side-by-side benchmarks,
# without touching the system's Docker installation (see ../shared/reference/docker-here.md).
#
# - Downloads Debian trixie's docker.io, docker-cli, containerd and docker-buildx .debs through an apt source used only
#   for these downloads (the machine's own bookworm sources are left alone), and unpacks them.
# - Installs bookworm's runc (trixie's needs a newer glibc), plus iptables and busybox-static (base image).
# - Leaves dockerd, docker-proxy, containerd, containerd-shim-runc-v2, runc and the docker CLI as links in
#   $CACHE/docker/bin and the buildx plugin in $CACHE/docker/cli-plugins (test/helpers/docker.ts uses them).
#
# Idempotent: a second run only checks a stamp file. Cache folder: $LAYERWISE_PEERS_CACHE, default
# /var/cache/layerwise-peers (outside the repository, never committed). Needs root. Fails (non-zero) on
# any download or unpack error.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

CACHE="${LAYERWISE_PEERS_CACHE:-/var/cache/layerwise-peers}"
D="$CACHE/docker"
STAMP="$D/.complete"
STAMP_VERSION=1
PACKAGES=(docker.io docker-cli containerd docker-buildx)
SYSTEM_PACKAGES=(runc iptables busybox-static)

start=$(date +%s)
say() { echo "setup-docker [$(( $(date +%s) - start ))s]: $*"; }
die() { echo "setup-docker: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs runc through apt)"


# System packages (bookworm) first: cheap check when already there.
missing=()
for p in "${SYSTEM_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_VERSION" ] && [ -x "$D/bin/dockerd" ] && [ -x "$D/cli-plugins/docker-buildx" ]; then
  say "already set up in $D ($("$D/bin/dockerd" --version 2>/dev/null || echo 'dockerd ?'))"
  exit 0
fi

say "setting up Docker from Debian trixie in $D"
rm -rf "$D.tmp"
mkdir -p "$D.tmp/lists/partial" "$D.tmp/debs" "$D.tmp/root" "$D.tmp/bin" "$D.tmp/cli-plugins"

# An apt source for trixie, used only for these downloads: the first stanza of the machine's Debian source
# with its Suites line set to trixie.
SRC=/etc/apt/sources.list.d/debian.sources
if [ -f "$SRC" ]; then
  sed -n '1,/^$/p' "$SRC" | sed 's/^Suites:.*/Suites: trixie/' > "$D.tmp/trixie.sources"
else
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    > "$D.tmp/trixie.sources"
fi
grep -q '^Suites: trixie' "$D.tmp/trixie.sources" || die "could not derive a trixie apt source from $SRC"
APT_OPTS=(-o "Dir::Etc::SourceList=$D.tmp/trixie.sources" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$D.tmp/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)

say "apt-get update (trixie source, private lists)"
apt-get "${APT_OPTS[@]}" update -qq || die "apt-get update for trixie failed"
say "downloading ${PACKAGES[*]}"
(cd "$D.tmp/debs" && apt-get "${APT_OPTS[@]}" download "${PACKAGES[@]}") || die "downloading ${PACKAGES[*]} failed"
for p in "${PACKAGES[@]}"; do
  ls "$D.tmp/debs/${p}"_*.deb >/dev/null 2>&1 || die "no .deb for $p was downloaded"
done

for f in "$D.tmp/debs"/*.deb; do
  say "unpacking $(basename "$f")"
  dpkg-deb -x "$f" "$D.tmp/root" || die "unpacking $f failed"
done
rm -rf "$D.tmp/lists" "$D.tmp/debs"

R="$D/root"   # final location of the unpacked tree; links point there
link() { # link <name> <path relative to root>
  [ -x "$D.tmp/root/$2" ] || die "missing $2 in the unpacked packages"
  ln -sfn "$R/$2" "$D.tmp/bin/$1"
}
link dockerd usr/sbin/dockerd
link docker-proxy usr/sbin/docker-proxy
link docker usr/bin/docker
link containerd usr/bin/containerd
link containerd-shim-runc-v2 usr/bin/containerd-shim-runc-v2
[ -x "$D.tmp/root/usr/sbin/docker-init" ] && link docker-init usr/sbin/docker-init
[ -x "$D.tmp/root/usr/bin/ctr" ] && link ctr usr/bin/ctr
RUNC=$(command -v runc || true)
[ -n "$RUNC" ] || RUNC=/usr/sbin/runc
[ -x "$RUNC" ] || die "runc is not installed"
ln -sfn "$RUNC" "$D.tmp/bin/runc"
PLUGIN=usr/libexec/docker/cli-plugins/docker-buildx
[ -x "$D.tmp/root/$PLUGIN" ] || die "missing $PLUGIN in the unpacked packages"
ln -sfn "$R/$PLUGIN" "$D.tmp/cli-plugins/docker-buildx"

rm -rf "$D"
mv "$D.tmp" "$D"

# Smoke check: the binaries start on this machine's glibc.
"$D/bin/dockerd" --version || die "dockerd does not run here"
"$D/bin/containerd" --version || die "containerd does not run here"
"$D/bin/runc" --version | head -1 || die "runc does not run here"
"$D/cli-plugins/docker-buildx" version || die "docker-buildx does not run here"

echo "$STAMP_VERSION" > "$STAMP"
say "done in $(( $(date +%s) - start )) s: binaries in $D/bin, buildx plugin in $D/cli-plugins"
