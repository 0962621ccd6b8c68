#!/usr/bin/env bash
# Measures hookstrap against the baselines a build hook would otherwise use, in one run, paired
# and alternating, medians of ROUNDS rounds, and writes the table into README.md's
# "Performance" section. Goals (ratios, never asserted in `cargo test`):
#   cold install  vs curl + sha256sum -c + tar xzf          <= 0.4x   (and faster than ubi)
#   warm install  vs tar xzf of the cached archive          <= 0.1x
#   peak RSS installing a ~300 MB archive                   <= 32 MB
#   hookstrap --version                                     <= 5 ms
# Usage: scripts/bench.sh [ROUNDS]   (default 7). Needs nginx (and installs `ubi` with
# `cargo install ubi-cli` when BENCH_UBI=1 and it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
repo=$PWD

for need in nginx curl sha256sum tar; do
  command -v "$need" >/dev/null || [ -x "/usr/sbin/$need" ] || { echo "bench: needs $need" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 1; }
if [ "${BENCH_UBI:-0}" = 1 ] && ! command -v ubi >/dev/null; then
  cargo install --locked ubi-cli >/dev/null 2>&1 || echo "bench: could not install ubi" >&2
fi
ubi=$(command -v ubi || true)

cargo build --release --locked --quiet
hs=$repo/target/release/hookstrap

work=$(mktemp -d "${TMPDIR:-/tmp}/hookstrap-bench.XXXXXX")
chmod 0755 "$work"  # nginx workers run as an unprivileged user
nginx_pid=""
cleanup() { [ -z "$nginx_pid" ] || kill "$nginx_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# A realistic archive: a binary made of real ELF files from the system, tar.gz'ed like the real
# release (binary at the root, README.md, completions).
make_release() { # version size_mb
  local version=$1 size=$(($2 * 1024 * 1024)) stage="$work/stage-$1"
  local dir="$work/mirror/upsun/cli/releases/download/v$version"
  mkdir -p "$stage/completion/bash" "$stage/completion/zsh" "$dir"
  find /usr/bin /usr/lib /usr/libexec -type f -size +64k 2>/dev/null | sort | while read -r f; do
    head -c 4 "$f" 2>/dev/null | grep -q 'ELF' && cat "$f"
  done | head -c "$size" > "$stage/platform" || true
  chmod 0755 "$stage/platform"
  echo "# platform" > "$stage/README.md"
  echo "complete -F _platform platform" > "$stage/completion/bash/platform.bash"
  echo "#compdef platform" > "$stage/completion/zsh/_platform"
  tar -C "$stage" -czf "$dir/platform_${version}_linux_amd64.tar.gz" platform README.md completion
  (cd "$dir" && sha256sum -- *.tar.gz > checksums.txt)
  rm -rf "$stage"
}
echo "bench: building fixtures (60 MB and 300 MB binaries from system ELF files)" >&2
make_release 5.10.8 60
make_release 5.10.9 300
printf 'v5.10.8\n' > "$work/mirror/upsun/cli/releases/latest"
archive="$work/mirror/upsun/cli/releases/download/v5.10.8/platform_5.10.8_linux_amd64.tar.gz"
archive_mb=$(( $(stat -c %s "$archive") / 1024 / 1024 ))

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$port; root $work/mirror; }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/upsun/cli/releases/latest" 2>/dev/null && break; sleep 0.05; done
mirror="http://127.0.0.1:$port"
url="$mirror/upsun/cli/releases/download/v5.10.8/platform_5.10.8_linux_amd64.tar.gz"
sums="$mirror/upsun/cli/releases/download/v5.10.8/checksums.txt"

now() { date +%s%N; }
ms() { echo "scale=1; ($2 - $1) / 1000000" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

run_cold_hs() { local d=$1; "$hs" -q install platform@5.10.8 --mirror "$mirror" --app-dir "$d/app" --cache-dir "$d/cache"; }
run_cold_sh() {
  local d=$1; mkdir -p "$d/sh" && cd "$d/sh"
  curl -fsS "$url" -o platform_5.10.8_linux_amd64.tar.gz && curl -fsS "$sums" -o checksums.txt \
    && sha256sum --quiet -c checksums.txt && tar xzf platform_5.10.8_linux_amd64.tar.gz
  cd "$repo"
}
run_cold_ubi() { local d=$1; mkdir -p "$d/ubi"; "$ubi" --url "$url" --exe platform --in "$d/ubi" >/dev/null 2>&1; }

cold_hs=() cold_sh=() cold_ubi=() warm_hs=() warm_tar=()
shared_cache="$work/warm-cache"
"$hs" -q fetch platform@5.10.8 --mirror "$mirror" --cache-dir "$shared_cache"
cached_archive=$(find "$shared_cache/blobs" -type f | head -n1)
# One unmeasured warm-up round: binaries and fixtures into the page cache for both sides.
run_cold_hs "$work/warmup" && run_cold_sh "$work/warmup" && rm -rf "$work/warmup"
for i in $(seq "$rounds"); do
  d="$work/round-$i"; mkdir -p "$d"

  # Alternate which side goes first so neither always gets the warmer page cache.
  if [ $((i % 2)) -eq 0 ]; then order="hs sh"; else order="sh hs"; fi
  for who in $order; do
    t0=$(now)
    if [ "$who" = hs ]; then run_cold_hs "$d"; else run_cold_sh "$d"; fi
    t1=$(now)
    if [ "$who" = hs ]; then cold_hs+=("$(ms "$t0" "$t1")"); else cold_sh+=("$(ms "$t0" "$t1")"); fi
  done
  if [ -n "$ubi" ]; then t0=$(now); run_cold_ubi "$d"; t1=$(now); cold_ubi+=("$(ms "$t0" "$t1")"); fi
  for who in $order; do
    t0=$(now)
    if [ "$who" = hs ]; then
      "$hs" -q install platform@5.10.8 --offline --app-dir "$d/warm-app" --cache-dir "$shared_cache"
    else
      mkdir -p "$d/warm-tar" && tar -C "$d/warm-tar" -xzf "$cached_archive"
    fi
    t1=$(now)
    if [ "$who" = hs ]; then warm_hs+=("$(ms "$t0" "$t1")"); else warm_tar+=("$(ms "$t0" "$t1")"); fi
  done
  rm -rf "$d"
done

med() { printf '%s\n' "$@" | median; }
ratio() { echo "scale=2; $1 / $2" | bc; }
c_hs=$(med "${cold_hs[@]}"); c_sh=$(med "${cold_sh[@]}")
w_hs=$(med "${warm_hs[@]}"); w_tar=$(med "${warm_tar[@]}")
c_ubi=""; [ ${#cold_ubi[@]} -eq 0 ] || c_ubi=$(med "${cold_ubi[@]}")

# Peak RSS on the 300 MB binary.
rss_kb=$( { /usr/bin/time -f '%M' "$hs" -q install platform@5.10.9 --mirror "$mirror" \
  --app-dir "$work/rss-app" --cache-dir "$work/rss-cache" ; } 2>&1 | tail -n1)
big_mb=$(( $(stat -c %s "$work/mirror/upsun/cli/releases/download/v5.10.9/platform_5.10.9_linux_amd64.tar.gz") / 1024 / 1024 ))

# --version: 200 runs, per-run average.
t0=$(now); for _ in $(seq 200); do "$hs" --version >/dev/null; done; t1=$(now)
version_ms=$(echo "scale=2; ($t1 - $t0) / 200 / 1000000" | bc)
t0=$(now); for _ in $(seq 200); do /bin/true; done; t1=$(now)
true_ms=$(echo "scale=2; ($t1 - $t0) / 200 / 1000000" | bc)

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
table=$(cat <<TABLE
Measured by \`scripts/bench.sh $rounds\` on $(date -u +%Y-%m-%d): $(nproc) cores ($cpu),
$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, nginx on loopback, medians of $rounds paired, alternating rounds,
page cache warm (as in a build container that just fetched). Archive: ${archive_mb} MB tar.gz of a 60 MB binary.

| what | hookstrap | baseline | ratio | goal |
|---|---|---|---|---|
| cold install (download, verify, unpack, place) | ${c_hs} ms | curl + sha256sum -c + tar xzf: ${c_sh} ms | $(ratio "$c_hs" "$c_sh")x | <= 0.4x |
$( [ -z "$c_ubi" ] || echo "| cold install vs ubi (no verification, no cache) | ${c_hs} ms | ubi: ${c_ubi} ms | $(ratio "$c_hs" "$c_ubi")x | < 1x |" )
| warm install (cache hit, fresh app dir, offline) | ${w_hs} ms | tar xzf of the cached archive: ${w_tar} ms | $(ratio "$w_hs" "$w_tar")x | <= 0.1x |
| peak RSS installing a ${big_mb} MB archive (300 MB binary) | $((rss_kb / 1024)) MB | | | <= 32 MB |
| \`hookstrap --version\` | ${version_ms} ms | /bin/true: ${true_ms} ms | | <= 5 ms |
TABLE
)
echo "$table"
if grep -q '<!-- bench:start -->' README.md; then
  python3 - "$table" <<'PY'
import sys, re
table = sys.argv[1]
text = open("README.md").read()
text = re.sub(r"<!-- bench:start -->.*<!-- bench:end -->",
              "<!-- bench:start -->\n" + table.replace("\\", "\\\\") + "\n<!-- bench:end -->", text, flags=re.S)
open("README.md", "w").write(text)
PY
  echo "bench: README.md updated" >&2
fi
