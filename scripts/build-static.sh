#!/usr/bin/env bash
# Builds dist/hookstrap: one statically linked, stripped, LTO'd binary with no dynamic loader,
# no NSS and no CA bundle needed (Mozilla's roots are compiled in), plus dist/hookstrap.sha256.
#
# Usage: scripts/build-static.sh [RUST_TARGET]   (default: this machine's, e.g.
#        x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu; musl targets work too where
#        installed). Static glibc needs libc6-dev (libc.a), which Debian ships by default.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-$(rustc -vV | sed -n 's/^host: //p')}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/static}
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --locked --release --target "$target" 2> >(grep -v 'statically linked applications requires at runtime' >&2)

mkdir -p dist
cp "$CARGO_TARGET_DIR/$target/release/hookstrap" dist/hookstrap
(cd dist && sha256sum hookstrap > hookstrap.sha256)

size=$(stat -c %s dist/hookstrap)
echo "dist/hookstrap: $size bytes ($((size / 1024 / 1024)) MiB), target $target"
if command -v file >/dev/null; then file dist/hookstrap; fi
# A binary with a program interpreter (PT_INTERP) needs a dynamic loader: refuse it.
if LC_ALL=C readelf -l dist/hookstrap | grep -q 'INTERP'; then
  echo "build-static: dist/hookstrap needs a dynamic loader" >&2
  exit 1
fi
cat dist/hookstrap.sha256
