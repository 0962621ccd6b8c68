#!/usr/bin/env bash
# Measures dist/hookstrap, the shipped static binary (built here by scripts/build-static.sh),
# against what a build hook would otherwise run, in one run on this machine, and writes the
# table into README.md's "Performance" section (between the bench markers). The goals are
# measured ratios, never timed assertions in `cargo test`:
#
#   cold install         vs  curl | tee >(sha256sum -c) | tar xz (streaming)   <= 0.4x
#   warm, locked install vs  tar xzf of the cached archive                    <= 0.1x
#   five tools at once   vs  the slowest of them alone (100 ms per response)  <= 1.5x
#   peak RSS at any archive size (a 300 MB binary)                            <= 32 MB
#   hookstrap --version                                                       <= 5 ms
#
# Honest by construction: every run of every side is checked (its exit status, and the SHA-256
# of the binary it placed against the one packed into the fixture), and one failed run fails
# the benchmark. The sides of a comparison run in paired rounds after one unmeasured warm-up
# round, in an order that rotates from round to round; a ratio is the median of the per-round
# ratios, shown with their min and max.
#
# Usage: scripts/bench.sh [ROUNDS]      (default 5; a few minutes plus the static build)
#   BENCH_UBI=1          also measure ubi (installs it with `cargo install ubi-cli` if missing)
#   BENCH_DELAY_MS=100   the round trip the latency benchmark adds to every response
#   BENCH_DIR=DIR        where app dirs and caches go (default: target/bench, on disk)
# Needs nginx, curl, python3, bc, GNU time, and a tmpfs at /dev/shm.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
repo=$PWD
rounds=${1:-5}
delay_ms=${BENCH_DELAY_MS:-100}
command_line="scripts/bench.sh $rounds"
[ "${BENCH_DELAY_MS:-100}" = 100 ] || command_line="BENCH_DELAY_MS=$delay_ms $command_line"
[ "${BENCH_UBI:-0}" != 1 ] || command_line="BENCH_UBI=1 $command_line"

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/bench.sh [ROUNDS]"
[[ $delay_ms =~ ^[0-9]+$ ]] || die "BENCH_DELAY_MS must be a whole number of milliseconds"

for need in curl sha256sum tar python3 bc; do
  command -v "$need" >/dev/null || die "needs $need"
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || die "needs nginx"
[ -x /usr/bin/time ] || die "needs GNU time (apt-get install time)"
[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || die "needs a tmpfs at /dev/shm"
case $(uname -m) in
  x86_64) target=linux_amd64 ;;
  aarch64 | arm64) target=linux_arm64 ;;
  *) die "no release target for $(uname -m)" ;;
esac
ubi=""
if [ "${BENCH_UBI:-0}" = 1 ]; then
  command -v ubi >/dev/null || cargo install --locked ubi-cli >/dev/null 2>&1 ||
    die "could not install ubi (cargo install ubi-cli)"
  ubi=$(command -v ubi) || die "ubi is not on PATH after cargo install"
fi

say "building dist/hookstrap (scripts/build-static.sh)"
bash scripts/build-static.sh >/dev/null
hs=$repo/dist/hookstrap
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src Cargo.toml Cargo.lock scripts || commit="$commit+uncommitted changes"

# ---- places: a mirror tree for nginx, app dirs and caches on disk, a cache on tmpfs ----
mirror_root=$(mktemp -d "${TMPDIR:-/tmp}/hookstrap-bench-mirror.XXXXXX")
chmod 0755 "$mirror_root" # nginx workers may run as an unprivileged user
www=$mirror_root/www
disk_base=${BENCH_DIR:-$repo/target/bench}
mkdir -p "$disk_base"
[ "$(df --output=fstype "$disk_base" | tail -n1)" != tmpfs ] || die "$disk_base is on a tmpfs: set BENCH_DIR to a directory on disk"
work=$(mktemp -d "$disk_base/run.XXXXXX")
shm=$(mktemp -d /dev/shm/hookstrap-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$mirror_root" "$work" "$shm"
}
trap cleanup EXIT

# ---- fixtures: binaries of real machine code, released like the real tools ----
say "building fixtures (binaries cut from this system's ELF files)"
pool=$mirror_root/elf-pool
pool_bytes=$((400 * 1024 * 1024))
find /usr/bin /usr/sbin /usr/lib /usr/libexec -type f -size +64k 2>/dev/null | sort | while read -r f; do
  head -c 4 "$f" 2>/dev/null | grep -q ELF && cat "$f"
done | head -c "$pool_bytes" >"$pool" || true
[ "$(stat -c %s "$pool")" -ge "$pool_bytes" ] || die "needs 400 MB of ELF files under /usr"

declare -A bin_sha # tool@version -> SHA-256 of the binary its archive holds
cut_binary() {     # OFFSET_MB SIZE_MB OUT: a slice of the pool, executable
  tail -c +$(($1 * 1048576 + 1)) "$pool" | head -c $(($2 * 1048576)) >"$3" || true
  chmod 0755 "$3"
}
make_cli() { # VERSION SIZE_MB OFFSET_MB: the Platform.sh CLI's layout, tag v{VERSION}
  local v=$1 stage=$mirror_root/stage dir=$www/upsun/cli/releases/download/v$1
  rm -rf "$stage" && mkdir -p "$stage/completion/bash" "$stage/completion/zsh" "$dir"
  cut_binary "$3" "$2" "$stage/platform"
  echo "# platform" >"$stage/README.md"
  echo "complete -F _platform platform" >"$stage/completion/bash/platform.bash"
  echo "#compdef platform" >"$stage/completion/zsh/_platform"
  tar -C "$stage" -czf "$dir/platform_${v}_$target.tar.gz" platform README.md completion
  (cd "$dir" && sha256sum -- *.tar.gz >checksums.txt)
  bin_sha[platform@$v]=$(sha256sum <"$stage/platform" | cut -c1-64)
  rm -rf "$stage"
}
make_tool() { # NAME SIZE_MB OFFSET_MB: a GoReleaser-style release of bench/NAME v1.0.0
  local n=$1 stage=$mirror_root/stage dir=$www/bench/$1/releases/download/v1.0.0
  local asset=${1}_1.0.0_$target.tar.gz
  rm -rf "$stage" && mkdir -p "$stage" "$dir" "$www/api/v3/repos/bench/$n/releases/tags"
  cut_binary "$3" "$2" "$stage/$n"
  tar -C "$stage" -czf "$dir/$asset" "$n"
  (cd "$dir" && sha256sum -- "$asset" >checksums.txt)
  printf 'v1.0.0\n' >"$www/bench/$n/releases/latest"
  # The release API's answer (GitHub Enterprise's layout, as `hookstrap mirror` writes it),
  # without digests: the hash comes from checksums.txt, one more round trip, as for releases
  # GitHub has no digest for.
  python3 - "$n" "$asset" "$dir" >"$www/api/v3/repos/bench/$n/releases/tags/v1.0.0" <<'PY'
import json, os, sys
name, asset, d = sys.argv[1:4]
url = f"https://github.com/bench/{name}/releases/download/v1.0.0/"
print(json.dumps({"tag_name": "v1.0.0", "prerelease": False, "assets": [
    {"name": f, "size": os.path.getsize(os.path.join(d, f)), "browser_download_url": url + f}
    for f in (asset, "checksums.txt")]}))
PY
  bin_sha[$n@1.0.0]=$(sha256sum <"$stage/$n" | cut -c1-64)
  rm -rf "$stage"
}
v=5.10.8
make_cli "$v" 60 0    # the single-tool benchmark, and the largest of the five tools
make_cli 5.10.9 300 60 # peak RSS
printf 'v%s\n' "$v" >"$www/upsun/cli/releases/latest"
make_tool gh 16 360
make_tool yq 8 376
make_tool rg 4 384
make_tool jq 1 388
asset=platform_${v}_$target.tar.gz
archive=$www/upsun/cli/releases/download/v$v/$asset
archive_mb=$(($(stat -c %s "$archive") / 1048576))
big_archive_mb=$(($(stat -c %s "$www/upsun/cli/releases/download/v5.10.9/platform_5.10.9_$target.tar.gz") / 1048576))

# ---- servers: nginx on loopback, and a proxy in front of it that delays every response ----
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
mkdir -p "$mirror_root/nginx/logs"
user_line=""
[ "$(id -u)" -ne 0 ] || user_line="user root;"
cat >"$mirror_root/nginx/nginx.conf" <<CONF
daemon off;
$user_line
worker_processes 2;
pid $mirror_root/nginx/nginx.pid;
error_log $mirror_root/nginx/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$port; root $www; }
}
CONF
"$nginx" -c "$mirror_root/nginx/nginx.conf" -p "$mirror_root/nginx" &
pids+=($!)
pport=$(free_port)
python3 scripts/bench/delay_proxy.py "$pport" "$port" "$delay_ms" &
pids+=($!)
mirror=http://127.0.0.1:$port
far=http://127.0.0.1:$pport
for base in "$mirror" "$far"; do
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "$base/upsun/cli/releases/latest" 2>/dev/null && continue 2
    sleep 0.05
  done
  die "no answer from $base"
done
url=$mirror/upsun/cli/releases/download/v$v/$asset
sums_url=$mirror/upsun/cli/releases/download/v$v/checksums.txt

# ---- measuring ----
# Each side is three functions: prep_SIDE DIR (untimed), run_SIDE DIR (timed), and
# check_SIDE DIR (untimed: the placed binary's SHA-256). times[SIDE] collects milliseconds.
declare -A times
declare -A last
sha_of() { sha256sum <"$1" 2>/dev/null | cut -c1-64; }
expect_bin() { # FILE TOOL@VERSION WHAT
  local got
  got=$(sha_of "$1") || true
  [ "$got" = "${bin_sha[$2]}" ] || die "$3: \`$1\` hashes to '${got:-nothing}', not ${bin_sha[$2]} ($2)"
}
measure() { # SIDE DIR
  local side=$1 dir=$2/$1 t0 t1 ms
  mkdir -p "$dir"
  "prep_$side" "$dir"
  t0=$EPOCHREALTIME
  "run_$side" "$dir" || die "$side failed (exit $?) in round ${round:-warm-up}"
  t1=$EPOCHREALTIME
  "check_$side" "$dir"
  ms=$(echo "($t1 - $t0) * 1000" | bc)
  last[$side]=$ms
  [ "${round:-0}" = 0 ] || times[$side]="${times[$side]:-} $ms"
}
rounds_of() { # SIDE...: one warm-up round, then ROUNDS rounds, the order rotating
  local sides=("$@") n=$# i k
  for round in $(seq 0 "$rounds"); do
    local dir=$work/r$round
    for ((k = 0; k < n; k++)); do
      i=$(((k + round) % n))
      measure "${sides[$i]}" "$dir"
    done
    [ "$round" = 0 ] || after_round
    rm -rf "$dir"
  done
  round=0
}
declare -A ratios
ratio() { # NAME NUM DEN: the ratio of this round's times
  ratios[$1]="${ratios[$1]:-} $(echo "scale=4; ${last[$2]} / ${last[$3]}" | bc)"
}
stats() { # VALUES...: median min max
  printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "%s %s %s\n", m, a[1], a[NR] }'
}
median_ms() { local m lo hi; read -r m lo hi < <(stats ${times[$1]}); printf '%.1f ms' "$m"; }
ratio_cell() { local m lo hi; read -r m lo hi < <(stats ${ratios[$1]}); printf '%.3fx (%.3f-%.3f)' "$m" "$lo" "$hi"; }
ratio_median() { local m lo hi; read -r m lo hi < <(stats ${ratios[$1]}); echo "$m"; }
verdict() { # VALUE GOAL: met if VALUE <= GOAL
  if [ "$(echo "$1 <= $2" | bc -l)" = 1 ]; then echo "met"; else echo "**not met**"; fi
}

# ---- 1. cold: one tool, nothing cached, nginx on loopback ----
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "cold install: hookstrap, the streaming pipeline, the sequential one${ubi:+, ubi} ($rounds rounds)"
prep_hs() { :; }
run_hs() { "$hs" -q install "platform@$v" --mirror "$mirror" --app-dir "$1/app" --cache-dir "$1/cache"; }
check_hs() { expect_bin "$1/app/.platformsh/bin/platform" "platform@$v" "hookstrap"; }
# Where a cold install's time goes: the download and its SHA-256 alone (no unpacking).
prep_fetch() { :; }
run_fetch() { "$hs" -q fetch "platform@$v" --mirror "$mirror" --cache-dir "$1/cache" >/dev/null; }
check_fetch() {
  [ "$(sha_of "$1/cache/blobs/sha256/$(sha_of "$archive")")" = "$(sha_of "$archive")" ] ||
    die "hookstrap fetch: the cached archive is not the release's"
}
prep_stream() { mkdir -p "$1/out" && mkfifo "$1/sum.rc"; }
run_stream() { # the checksums file, then the archive through tee into sha256sum -c and tar
  local expected rc=0 sum=1
  curl -fsS "$sums_url" -o "$1/checksums.txt" || return
  expected=${STREAM_EXPECT:-$(awk -v a="$asset" '$2 == a { print $1 }' "$1/checksums.txt")}
  curl -fsS "$url" |
    tee >(
      exec >/dev/null 2>&1
      sha256sum --quiet -c <(printf '%s  -\n' "$expected")
      echo $? >"$1/sum.rc"
    ) |
    tar -xzf - -C "$1/out" || rc=$?
  read -r sum <"$1/sum.rc" # waits for the check: its verdict is part of the round
  [ "$rc" = 0 ] && [ "$sum" = 0 ]
}
check_stream() { expect_bin "$1/out/platform" "platform@$v" "the streaming pipeline"; }
prep_seq() { mkdir -p "$1/out"; }
run_seq() {
  (cd "$1" && curl -fsS "$url" -o "$asset" && curl -fsS "$sums_url" -o checksums.txt &&
    sha256sum --quiet -c --ignore-missing checksums.txt && tar -xzf "$asset" -C out)
}
check_seq() { expect_bin "$1/out/platform" "platform@$v" "the sequential pipeline"; }
prep_ubi() { :; }
run_ubi() { "$ubi" --url "$url" --exe platform --in "$1/bin" >/dev/null 2>&1; }
check_ubi() { expect_bin "$1/bin/platform" "platform@$v" "ubi"; }

# The streaming pipeline must fail a round whose bytes do not match: prove it once.
mkdir -p "$work/selftest" && prep_stream "$work/selftest"
if STREAM_EXPECT=$(printf '0%.0s' $(seq 64)) run_stream "$work/selftest"; then
  die "the streaming pipeline did not notice a wrong checksum"
fi
rm -rf "$work/selftest"

after_round() {
  ratio cold_stream hs stream
  ratio cold_seq hs seq
  [ -z "$ubi" ] || ratio cold_ubi hs ubi
}
cold_sides=(hs stream seq fetch)
[ -z "$ubi" ] || cold_sides+=(ubi)
rounds_of "${cold_sides[@]}"

# ---- 2. warm: the cache a first build filled, on disk and on tmpfs; a fresh app dir ----
say "warm install: locked and unlocked, cache on the app's filesystem and on tmpfs ($rounds rounds)"
lockfile=$work/lock-app/hookstrap.lock
mkdir -p "$work/lock-app"
"$hs" -q lock "platform@$v" --mirror "$mirror" --app-dir "$work/lock-app" --cache-dir "$work/lock-cache" >/dev/null ||
  die "hookstrap lock failed"
rm -rf "$work/lock-cache"
declare -A cache_at=([disk]=$work/cache [shm]=$shm/cache)
declare -A blob_at
for at in disk shm; do
  # The first build: a locked install, which keeps the archive and the unpacked binary.
  "$hs" -q install --lock "$lockfile" --mirror "$mirror" --app-dir "$work/first-$at" --cache-dir "${cache_at[$at]}" ||
    die "the first (cache-filling) install failed"
  expect_bin "$work/first-$at/.platformsh/bin/platform" "platform@$v" "the first install"
  blob_at[$at]=${cache_at[$at]}/blobs/sha256/$(sha_of "$archive")
  [ -f "${blob_at[$at]}" ] || die "the first install left no archive in ${cache_at[$at]}"
  compgen -G "${cache_at[$at]}/unpacked/*/platform" >/dev/null || die "the first install kept no binary in ${cache_at[$at]}"
done
for at in disk shm; do
  eval "prep_locked_$at() { :; }"
  eval "run_locked_$at() { \"\$hs\" -q install --offline --lock \"\$lockfile\" --app-dir \"\$1/app\" --cache-dir \"${cache_at[$at]}\"; }"
  eval "check_locked_$at() { expect_bin \"\$1/app/.platformsh/bin/platform\" \"platform@\$v\" \"warm locked ($at)\"; }"
  eval "prep_unlocked_$at() { :; }"
  eval "run_unlocked_$at() { \"\$hs\" -q install \"platform@\$v\" --mirror \"\$mirror\" --app-dir \"\$1/app\" --cache-dir \"${cache_at[$at]}\"; }"
  eval "check_unlocked_$at() { expect_bin \"\$1/app/.platformsh/bin/platform\" \"platform@\$v\" \"warm unlocked ($at)\"; }"
  eval "prep_tar_$at() { mkdir -p \"\$1/out\"; }"
  eval "run_tar_$at() { tar -xzf \"${blob_at[$at]}\" -C \"\$1/out\"; }"
  eval "check_tar_$at() { expect_bin \"\$1/out/platform\" \"platform@\$v\" \"tar xzf ($at)\"; }"
done
after_round() {
  for at in disk shm; do
    ratio "locked_$at" "locked_$at" "tar_$at"
    ratio "unlocked_$at" "unlocked_$at" "tar_$at"
  done
}
rounds_of locked_disk unlocked_disk tar_disk locked_shm unlocked_shm tar_shm

# ---- 3. five tools, every response 100 ms away ----
say "five tools with ${delay_ms} ms per response: at once, one by one, and each alone ($rounds rounds)"
five=(platform gh yq rg jq)
declare -A decl=(
  [platform]='platform = "latest"'
  [gh]='gh = { github = "bench/gh" }'
  [yq]='yq = { github = "bench/yq" }'
  [rg]='rg = { github = "bench/rg" }'
  [jq]='jq = { github = "bench/jq" }'
)
declare -A version_of=([platform]=$v [gh]=1.0.0 [yq]=1.0.0 [rg]=1.0.0 [jq]=1.0.0)
manifest() { # APP TOOL...
  mkdir -p "$1/app" && printf '[tools]\n' >"$1/app/hookstrap.toml"
  local app=$1 t
  shift
  for t in "$@"; do printf '%s\n' "${decl[$t]}" >>"$app/app/hookstrap.toml"; done
}
far_install() { "$hs" -q install --mirror "$far" --app-dir "$1/app" --cache-dir "$1/cache" "${@:2}"; }
expect_tools() { # DIR WHAT TOOL...
  local dir=$1 what=$2 t
  shift 2
  for t in "$@"; do expect_bin "$dir/app/.platformsh/bin/$t" "$t@${version_of[$t]}" "$what"; done
}
prep_five() { manifest "$1" "${five[@]}"; }
run_five() { far_install "$1"; }
check_five() { expect_tools "$1" "five tools at once" "${five[@]}"; }
prep_five_j1() { manifest "$1" "${five[@]}"; }
run_five_j1() { far_install "$1" --jobs 1; }
check_five_j1() { expect_tools "$1" "five tools one by one" "${five[@]}"; }
for t in "${five[@]}"; do
  eval "prep_alone_$t() { manifest \"\$1\" $t; }"
  eval "run_alone_$t() { far_install \"\$1\"; }"
  eval "check_alone_$t() { expect_tools \"\$1\" \"$t alone\" $t; }"
done
after_round() {
  local t slowest=alone_platform
  for t in "${five[@]}"; do
    [ "$(echo "${last[alone_$t]} > ${last[$slowest]}" | bc)" = 0 ] || slowest=alone_$t
  done
  last[slowest]=${last[$slowest]}
  times[slowest]="${times[slowest]:-} ${last[$slowest]}"
  ratio five five slowest
  ratio five_j1 five_j1 slowest
}
rounds_of five five_j1 alone_platform alone_gh alone_yq alone_rg alone_jq

# ---- 4. peak memory, and start-up ----
say "peak RSS (a ${big_archive_mb} MB archive of a 300 MB binary; five tools at once) and --version"
rss_kb() { # OUT_FILE CMD...: runs CMD under GNU time, fails the benchmark if it fails
  local out=$1
  shift
  /usr/bin/time -f '%M' -o "$out" "$@" || die "failed under /usr/bin/time: $*"
  tail -n1 "$out"
}
rss_big=$(rss_kb "$work/rss-big" "$hs" -q install platform@5.10.9 --mirror "$mirror" --app-dir "$work/rss-big-app" --cache-dir "$work/rss-big-cache")
expect_bin "$work/rss-big-app/.platformsh/bin/platform" platform@5.10.9 "the 300 MB install"
manifest "$work/rss-five" "${five[@]}"
rss_five=$(rss_kb "$work/rss-five.out" "$hs" -q install --mirror "$mirror" --app-dir "$work/rss-five/app" --cache-dir "$work/rss-five/cache")
expect_tools "$work/rss-five" "five tools (RSS)" "${five[@]}"

"$hs" --version >/dev/null || die "hookstrap --version failed"
per_run_ms() { # RUNS CMD...
  local n=$1 t0 t1 i
  shift
  t0=$EPOCHREALTIME
  for ((i = 0; i < n; i++)); do "$@" >/dev/null || die "$* failed"; done
  t1=$EPOCHREALTIME
  printf '%.2f' "$(echo "scale=3; ($t1 - $t0) * 1000 / $n" | bc)"
}
version_ms=$(per_run_ms 300 "$hs" --version)
true_ms=$(per_run_ms 300 /bin/true)

# ---- the table ----
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
ram=$(free -g | awk '/^Mem:/ {print $2}')
fs_disk=$(df --output=fstype "$work" | tail -n1)
cold_m=$(ratio_median cold_stream)
locked_disk_m=$(ratio_median locked_disk)
locked_shm_m=$(ratio_median locked_shm)
five_m=$(ratio_median five)
rss_big_mb=$(printf '%.1f' "$(echo "scale=2; $rss_big / 1024" | bc)")
rss_five_mb=$(printf '%.1f' "$(echo "scale=2; $rss_five / 1024" | bc)")
ubi_row=""
if [ -n "$ubi" ]; then
  ubi_row="| cold install vs ubi (no checksum, no cache) | $(median_ms hs) | ubi: $(median_ms ubi) | $(ratio_cell cold_ubi) | | |"
fi
table=$(
  cat <<TABLE
Measured by \`$command_line\` at commit \`$commit\` on $(date -u +%Y-%m-%d), with
\`dist/hookstrap\` (static, as shipped): $(nproc) cores ($cpu), $ram GiB RAM, Linux
$(uname -r), app dirs and caches on $fs_disk (tmpfs for "cache on tmpfs"), nginx on
loopback; load average $load_before before, $load_after after (the machine is shared).
Medians of $rounds paired rounds after a warm-up round, sides in rotating order;
ratios are medians of the per-round ratios (min-max). Every run's exit status and placed
binary are checked. Archive: $archive_mb MB tar.gz of a 60 MB binary of real machine code.

| what | hookstrap | baseline | ratio (min-max) | goal | |
|---|---|---|---|---|---|
| cold install (download, verify, unpack, place) | $(median_ms hs) | \`curl \| tee >(sha256sum -c) \| tar xz\`: $(median_ms stream) | $(ratio_cell cold_stream) | <= 0.4x | $(verdict "$cold_m" 0.4) |
| of which: the download and its SHA-256 alone (\`hookstrap fetch\`) | $(median_ms fetch) | | | | |
| cold install, vs one step after another | $(median_ms hs) | curl, curl checksums.txt, \`sha256sum -c\`, \`tar xzf\`: $(median_ms seq) | $(ratio_cell cold_seq) | | |
$ubi_row
| warm install, locked (a copy of the kept binary, hashed against \`bin_blake3\`), cache on the app's filesystem ($fs_disk) | $(median_ms locked_disk) | \`tar xzf\` of the cached archive: $(median_ms tar_disk) | $(ratio_cell locked_disk) | <= 0.1x | $(verdict "$locked_disk_m" 0.1) |
| warm install, locked, cache on tmpfs, app on $fs_disk | $(median_ms locked_shm) | \`tar xzf\` from tmpfs: $(median_ms tar_shm) | $(ratio_cell locked_shm) | <= 0.1x | $(verdict "$locked_shm_m" 0.1) |
| warm install, unlocked (checksums.txt again, unpacks the cached archive), same filesystem | $(median_ms unlocked_disk) | \`tar xzf\`: $(median_ms tar_disk) | $(ratio_cell unlocked_disk) | | |
| warm install, unlocked, cache on tmpfs | $(median_ms unlocked_shm) | \`tar xzf\` from tmpfs: $(median_ms tar_shm) | $(ratio_cell unlocked_shm) | | |
| five tools at once (platform 60 MB, gh 16, yq 8, rg 4, jq 1; cold, \`latest\`; ${delay_ms} ms per response) | $(median_ms five) | the slowest alone: $(median_ms slowest) | $(ratio_cell five) | <= 1.5x | $(verdict "$five_m" 1.5) |
| the same five, \`--jobs 1\` | $(median_ms five_j1) | the slowest alone: $(median_ms slowest) | $(ratio_cell five_j1) | | |
| peak RSS, one ${big_archive_mb} MB archive (300 MB binary) | $rss_big_mb MB | | | <= 32 MB | $(verdict "$rss_big_mb" 32) |
| peak RSS, the five tools at once (no delay) | $rss_five_mb MB | | | | |
| \`hookstrap --version\` | $version_ms ms | \`/bin/true\`: $true_ms ms | | <= 5 ms | $(verdict "$version_ms" 5) |
TABLE
)
table=$(grep -v '^$' <<<"$table" | sed 's/^\(| what\)/\n\1/')
echo "$table"
python3 - "$table" <<'PY'
import re, sys
table = sys.argv[1]
text = open("README.md").read()
new, n = re.subn(r"<!-- bench:start -->.*?<!-- bench:end -->",
                 lambda _: "<!-- bench:start -->\n" + table + "\n<!-- bench:end -->", text, flags=re.S)
if n != 1:
    sys.exit("bench: README.md has no <!-- bench:start --> ... <!-- bench:end --> section")
open("README.md", "w").write(new)
PY
say "README.md updated"
