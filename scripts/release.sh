#!/usr/bin/env bash
# Cuts a release's assets into dist/: the static binary per architecture, a SHA256SUMS file,
# and install.sh with its pins rewritten to exactly these binaries.
#
# Usage: scripts/release.sh [x86_64] [aarch64]   (default: this machine's architecture)
# aarch64 on an x86_64 host needs `rustup target add aarch64-unknown-linux-gnu` and a cross
# linker (Debian: gcc-aarch64-linux-gnu, with CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=
# aarch64-linux-gnu-gcc); build each architecture on its own machine otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
[ $# -gt 0 ] || set -- "$(uname -m)"
mkdir -p dist
cp scripts/install.sh dist/install.sh
sed -i "s/^HOOKSTRAP_VERSION=.*/HOOKSTRAP_VERSION=$version/" dist/install.sh
: > dist/SHA256SUMS
for arch in "$@"; do
  case "$arch" in
    x86_64) pin=SHA256_X86_64 ;;
    aarch64) pin=SHA256_AARCH64 ;;
    *) echo "release: unknown architecture $arch" >&2; exit 2 ;;
  esac
  bash scripts/build-static.sh "$arch-unknown-linux-gnu"
  asset="hookstrap-$arch-linux"
  mv dist/hookstrap "dist/$asset"
  rm -f dist/hookstrap.sha256
  sum=$(sha256sum "dist/$asset" | cut -d' ' -f1)
  echo "$sum  $asset" >> dist/SHA256SUMS
  sed -i "s/^$pin=.*/$pin=$sum/" dist/install.sh
done
echo "release $version:"
cat dist/SHA256SUMS
echo "upload dist/hookstrap-*-linux, dist/SHA256SUMS and dist/install.sh to the v$version release"
