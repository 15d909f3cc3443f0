#!/usr/bin/env bash
# cargo fuzz (libFuzzer, nightly) over the parsers of untrusted input, each target for a bounded time.
# A crash fails CI and leaves its input under tests/fuzz/artifacts/ to reproduce it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
# Kept between runs on one machine: the instrumented build of the dependencies takes minutes.
target_dir=${WORKSHOP_CACHE:-/var/cache/kafka-workshop}/fuzz-target
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
log=$(mktemp)
for target in chunk_headers compose_file quorum_answers; do
  echo "fuzz: $target for ${seconds}s"
  rc=0
  cargo +nightly fuzz run --fuzz-dir tests/fuzz --target-dir "$target_dir" --sanitizer none "$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" || true
  if [ "$rc" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz: $target failed (exit $rc); a crashing input is kept in tests/fuzz/artifacts/$target" >&2
    exit 1
  fi
done
