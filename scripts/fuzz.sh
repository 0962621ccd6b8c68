#!/usr/bin/env bash
# Fuzz the parsers of untrusted input, one target after another (not part of CI).
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  how long each target runs (default 60)
#   TARGET   checksums, spec, lockfile, extract, archive, manifest (default: all six)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Each target starts
# from the seeds in fuzz/seeds/TARGET plus what earlier runs kept in fuzz/corpus/TARGET; a crash
# lands in fuzz/artifacts/TARGET/ and makes this script exit 1. Reproduce one with
# `cd fuzz && cargo +nightly fuzz run -O TARGET artifacts/TARGET/crash-…`, then turn it into a
# unit test in the module it hit. Full logs go to fuzz/logs/TARGET.log. The last lines print, per
# target: seconds fuzzed and executions (libFuzzer's final stats), and the number of findings.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(checksums spec lockfile extract archive manifest)

case $seconds in
  '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got \`$seconds\`" >&2; exit 2 ;;
esac
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: needs \`cargo +nightly fuzz\`: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 2
fi

cargo +nightly fuzz build -O

summary=()
failed=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "seeds/$target" "artifacts/$target" logs
  log="logs/$target.log"
  before=$(find "artifacts/$target" -type f | wc -l)
  extra=()
  [ "$target" = extract ] && extra=(-max_len=16384)
  echo "fuzz.sh: $target for ${seconds}s (log: fuzz/$log)" >&2
  status=0
  cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${extra[@]}" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
  after=$(find "artifacts/$target" -type f | wc -l)
  findings=$(( after - before ))
  if [ "$status" -ne 0 ] || [ "$findings" -gt 0 ]; then
    failed=1
    grep -E 'panicked at|^(assertion|  left|  right)|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -n 20 >&2 || true
  fi
  summary+=("$target: ${secs:-?}s, ${execs:-?} executions, $findings finding(s), exit $status")
done

printf '%s\n' "${summary[@]}"
exit "$failed"
