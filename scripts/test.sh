#!/usr/bin/env bash
# The test command: installs what the tests run for real (dash, bash, git, nginx, tinyproxy, curl)
# when missing, then runs formatting and lint checks and the whole suite.
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in dash:dash bash:bash git:git unshare:util-linux nginx:nginx tinyproxy:tinyproxy curl:curl sha256sum:coreutils script:bsdutils; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked "$@"

# The release binary: static, and self-contained enough to install from inside an empty chroot.
bash scripts/build-static.sh
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/check-static.sh dist/hookstrap
else
  echo "test.sh: NOT RUN: the chroot check of dist/hookstrap needs root (sudo scripts/check-static.sh)" >&2
fi
