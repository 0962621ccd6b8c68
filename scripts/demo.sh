#!/usr/bin/env bash
# The main job end to end, on a machine without internet access: build a fixture mirror shaped
# like the real GitHub releases (binary at the root, README.md, completions, checksums.txt),
# then install from it into a fresh app dir, as a build hook would, and run the result.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${VERSION:-5.10.8}
work=$(mktemp -d "${TMPDIR:-/tmp}/hookstrap-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) target=linux_amd64 ;;
  Linux/aarch64 | Linux/arm64) target=linux_arm64 ;;
  Darwin/*) target=darwin_all ;;
  *) echo "demo: no Platform.sh CLI release for $(uname -s)/$(uname -m)" >&2; exit 2 ;;
esac

echo "== building a fixture mirror of upsun/cli v$version in $work/mirror"
# The archive's files are fixtures/cli-archive/ (shared with the integration tests), with
# @BIN@ and @VERSION@ filled in; the layout is SPEC.md's: the binary at the root, README.md,
# completion/bash/BIN.bash, completion/zsh/_BIN.
fill() { sed -e "s/@BIN@/$1/g" -e "s/@VERSION@/$version/g" "fixtures/cli-archive/$2"; }
release="$work/mirror/upsun/cli/releases/download/v$version"
mkdir -p "$release" "$work/stage"
for bin in platform upsun; do
  stage="$work/stage/$bin"
  mkdir -p "$stage/completion/bash" "$stage/completion/zsh"
  fill "$bin" bin.sh > "$stage/$bin"
  chmod 0755 "$stage/$bin"
  fill "$bin" README.md > "$stage/README.md"
  fill "$bin" completion.bash > "$stage/completion/bash/$bin.bash"
  fill "$bin" completion.zsh > "$stage/completion/zsh/_$bin"
  tar -C "$stage" -czf "$release/${bin}_${version}_${target}.tar.gz" "$bin" README.md completion
done
(cd "$release" && sha256sum -- *.tar.gz > checksums.txt)
printf 'v%s\n' "$version" > "$work/mirror/upsun/cli/releases/latest"

echo "== cargo build --release"
cargo build --release --quiet
hookstrap=$PWD/target/release/hookstrap

app="$work/app"
mkdir -p "$app"
export PLATFORM_APP_DIR="$app" PLATFORM_CACHE_DIR="$work/cache" HOOKSTRAP_MIRROR="file://$work/mirror"

echo "== hookstrap install platform (cold)"
"$hookstrap" install platform
echo "== hookstrap install platform (again: a no-op)"
"$hookstrap" install platform
echo "== $app/.environment"
cat "$app/.environment"
echo "== sourcing it in dash, then: platform --version"
dash -c ". '$app/.environment' && platform --version"
echo "== a fresh app dir, offline, from the warm cache"
mkdir -p "$work/app2"
"$hookstrap" install platform --offline --app-dir "$work/app2"
"$work/app2/.platformsh/bin/platform" --version
echo "== hookstrap cache list"
"$hookstrap" cache list
