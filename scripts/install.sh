#!/bin/sh
# Gets hookstrap itself inside a build hook, verifies it against the SHA-256 pinned below, runs
# it with the given arguments, and leaves nothing behind:
#
#   curl -fsSL https://github.com/hookstrap/hookstrap/releases/download/v0.1.0/install.sh | sh -s -- install platform
#
# POSIX sh (dash-safe). Needs curl or wget, and sha256sum or shasum.
# HOOKSTRAP_INSTALL_BASE overrides where the binaries come from (a mirror: same file names).
# HOOKSTRAP_INSTALL_KEEP=DIR keeps the verified binary in DIR instead of deleting it.
set -eu

# The release pin: `scripts/release.sh` rewrites these lines when a release is cut.
HOOKSTRAP_VERSION=0.1.0
SHA256_X86_64=0000000000000000000000000000000000000000000000000000000000000000
SHA256_AARCH64=0000000000000000000000000000000000000000000000000000000000000000

base=${HOOKSTRAP_INSTALL_BASE:-https://github.com/hookstrap/hookstrap/releases/download/v$HOOKSTRAP_VERSION}

say() { printf 'hookstrap-install: %s\n' "$*" >&2; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) asset=hookstrap-x86_64-linux; want=$SHA256_X86_64 ;;
  Linux/aarch64 | Linux/arm64) asset=hookstrap-aarch64-linux; want=$SHA256_AARCH64 ;;
  *) say "no hookstrap build for $(uname -s)/$(uname -m)"; exit 2 ;;
esac

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t hookstrap)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

url="$base/$asset"
if command -v curl >/dev/null 2>&1; then
  curl -fsSL --retry 3 --connect-timeout 10 -o "$tmp/hookstrap" "$url" || { say "cannot download $url"; exit 4; }
elif command -v wget >/dev/null 2>&1; then
  wget -q -T 30 -O "$tmp/hookstrap" "$url" || { say "cannot download $url"; exit 4; }
else
  say "needs curl or wget"; exit 4
fi

if command -v sha256sum >/dev/null 2>&1; then
  got=$(sha256sum "$tmp/hookstrap" | cut -d' ' -f1)
elif command -v shasum >/dev/null 2>&1; then
  got=$(shasum -a 256 "$tmp/hookstrap" | cut -d' ' -f1)
else
  say "needs sha256sum or shasum to verify the download"; exit 5
fi
if [ "$got" != "$want" ]; then
  say "checksum mismatch for $url"
  say "  expected: $want"
  say "  computed: $got"
  exit 5
fi
chmod 0755 "$tmp/hookstrap"

if [ -n "${HOOKSTRAP_INSTALL_KEEP:-}" ]; then
  mkdir -p "$HOOKSTRAP_INSTALL_KEEP"
  cp "$tmp/hookstrap" "$HOOKSTRAP_INSTALL_KEEP/hookstrap.tmp.$$"
  mv -f "$HOOKSTRAP_INSTALL_KEEP/hookstrap.tmp.$$" "$HOOKSTRAP_INSTALL_KEEP/hookstrap"
fi

[ $# -gt 0 ] || set -- install
status=0
"$tmp/hookstrap" "$@" || status=$?
exit "$status"
