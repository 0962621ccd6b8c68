#!/bin/sh
# Gets hookstrap itself inside a build hook, verifies it against the SHA-256 pinned below, and
# runs it with the given arguments. Commit this file to your app's repository (a committed
# script is an anchor; one fetched at build time is not), next to hookstrap.lock:
#
#   hooks:
#     build: |
#       set -e
#       sh ./hookstrap-install.sh install
#
# The verified binary is kept in $PLATFORM_CACHE_DIR/hookstrap-bin/<pinned sha256>, so a warm
# build makes no network request at all. The cached copy is never trusted for where it sits:
# every run copies it to a private directory, hashes that copy and runs it only if it matches
# the pin below; anything else there is discarded and downloaded again.
#
# POSIX sh (dash-safe). Needs curl or wget (only when the cache is cold), and sha256sum or shasum.
# HOOKSTRAP_INSTALL_BASE     where the binaries come from (a mirror with the same file names)
# HOOKSTRAP_INSTALL_CACHE    the cache directory (default: $PLATFORM_CACHE_DIR/hookstrap-bin;
#                            none when neither is set)
# HOOKSTRAP_INSTALL_KEEP=DIR also keep the verified binary in DIR
# Exit codes: hookstrap's own; 2 no build for this machine, 4 download failed, 5 checksum
# mismatch, 7 cannot write the cache or a temporary directory.
set -eu

# The release pin: `scripts/release.sh` rewrites these lines when a release is cut.
HOOKSTRAP_VERSION=0.1.0
SHA256_X86_64=0000000000000000000000000000000000000000000000000000000000000000
SHA256_AARCH64=0000000000000000000000000000000000000000000000000000000000000000

base=${HOOKSTRAP_INSTALL_BASE:-https://github.com/hookstrap/hookstrap/releases/download/v$HOOKSTRAP_VERSION}
cache=${HOOKSTRAP_INSTALL_CACHE:-${PLATFORM_CACHE_DIR:+$PLATFORM_CACHE_DIR/hookstrap-bin}}

say() { printf 'hookstrap-install: %s\n' "$*" >&2; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) asset=hookstrap-x86_64-linux; want=$SHA256_X86_64 ;;
  Linux/aarch64 | Linux/arm64) asset=hookstrap-aarch64-linux; want=$SHA256_AARCH64 ;;
  *) say "no hookstrap build for $(uname -s)/$(uname -m)"; exit 2 ;;
esac

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t hookstrap) || { say "cannot create a temporary directory"; exit 7; }
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    say "needs sha256sum or shasum to verify hookstrap"; exit 5
  fi
}

# 1. The cache: a regular file (not a link, not a FIFO) named by the pin, copied first so that
#    what is hashed is what runs.
cached=${cache:+$cache/hookstrap-$want}
have=""
if [ -n "$cached" ] && [ -f "$cached" ] && [ ! -L "$cached" ]; then
  if cp "$cached" "$tmp/hookstrap" 2>/dev/null && [ "$(sha256 "$tmp/hookstrap")" = "$want" ]; then
    have=yes
  else
    say "discarding the cached copy $cached: it does not match the pin"
    rm -f "$cached" "$tmp/hookstrap"
  fi
elif [ -n "$cached" ] && { [ -L "$cached" ] || [ -e "$cached" ]; }; then
  say "discarding $cached: not a regular file"
  rm -rf "$cached"
fi

# 2. Else the network, checked against the pin.
if [ -z "$have" ]; then
  url="$base/$asset"
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 --connect-timeout 10 -o "$tmp/hookstrap" "$url" || { say "cannot download $url"; exit 4; }
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 30 -O "$tmp/hookstrap" "$url" || { say "cannot download $url"; exit 4; }
  else
    say "needs curl or wget"; exit 4
  fi
  got=$(sha256 "$tmp/hookstrap")
  if [ "$got" != "$want" ]; then
    say "checksum mismatch for $url"
    say "  expected: $want"
    say "  computed: $got"
    exit 5
  fi
  if [ -n "$cached" ]; then
    # Renamed into place, so a concurrent build never reads half a file.
    if mkdir -p "$cache" 2>/dev/null && cp "$tmp/hookstrap" "$cache/.hookstrap-$want.$$" 2>/dev/null; then
      mv -f "$cache/.hookstrap-$want.$$" "$cached" || rm -f "$cache/.hookstrap-$want.$$"
    else
      say "cannot keep hookstrap in $cache; the next build downloads it again"
    fi
  fi
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
