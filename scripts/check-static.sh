#!/usr/bin/env bash
# Proves dist/hookstrap is self-contained: in a chroot holding nothing but the binary, a /tmp
# and the data it needs, it installs the CLI from a file:// mirror and from a loopback http
# mirror (an IP literal: no resolver, no NSS, no CA bundle, no dynamic loader in there).
# Needs root (chroot). Usage: scripts/check-static.sh [path/to/hookstrap]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-dist/hookstrap}
[ -x "$bin" ] || { echo "check-static: $bin missing: run scripts/build-static.sh" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/hookstrap-chroot.XXXXXX")
server_pid=""
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT
mkdir -p "$root/tmp" "$root/mirror"
chmod 1777 "$root/tmp"
cp "$bin" "$root/hookstrap"

# A fixture release in github.com's layout (same shape as scripts/demo.sh builds).
version=5.10.8
target=linux_amd64
[ "$(uname -m)" = aarch64 ] && target=linux_arm64
release="$root/mirror/upsun/cli/releases/download/v$version"
stage=$(mktemp -d)
mkdir -p "$release" "$stage/completion/bash"
printf '#!/bin/sh\necho "platform CLI %s"\n' "$version" > "$stage/platform"
chmod 0755 "$stage/platform"
echo "# platform" > "$stage/README.md"
echo "complete -F _platform platform" > "$stage/completion/bash/platform.bash"
tar -C "$stage" -czf "$release/platform_${version}_${target}.tar.gz" platform README.md completion
rm -rf "$stage"
(cd "$release" && sha256sum -- *.tar.gz > checksums.txt)
printf 'v%s\n' "$version" > "$root/mirror/upsun/cli/releases/latest"

echo "== chroot: nothing but $(ls "$root" | tr '\n' ' ')"
chroot "$root" /hookstrap --version
chroot "$root" /hookstrap install platform --mirror file:///mirror --app-dir /app1 --cache-dir /cache1
test -x "$root/app1/.platformsh/bin/platform"
grep -q '/app1/.platformsh/bin' "$root/app1/.environment"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$root/mirror" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.1
done
chroot "$root" /hookstrap install platform@5.10.8 --mirror "http://127.0.0.1:$port" --app-dir /app2 --cache-dir /cache2
cmp "$root/app1/.platformsh/bin/platform" "$root/app2/.platformsh/bin/platform"
echo "check-static: ok (file:// and loopback http mirrors, inside an empty chroot)"
