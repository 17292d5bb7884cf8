#!/usr/bin/env bash
# Builds every fuzz target once, then runs each for FUZZ_SECONDS (default 60) and fails on the first crash
# (a panic, an overflow, a timeout or an out-of-memory). Crashing inputs land in fuzz/artifacts/<target>/;
# reproduce one with `cargo +nightly fuzz run <target> <file>`, then keep it as a unit test beside the parser.
#
#   fuzz/run.sh [target ...]        (default: every target)
#
# CI builds the targets unoptimised (`--dev`): the targets link the whole host stack, and an optimised
# cargo-fuzz build of it takes several times longer to compile than the minute each target then runs.
# For long runs by hand, `FUZZ_RELEASE=1 FUZZ_SECONDS=3600 fuzz/run.sh` builds optimised (many more
# executions per second).
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-60}"
# No sanitizer: the chat crates forbid `unsafe`, so AddressSanitizer would only slow the run; debug
# assertions and overflow checks stay on, as in the tests.
flags=(--sanitizer none --debug-assertions)
if [ "${FUZZ_RELEASE:-0}" != 1 ]; then
    flags+=(--dev)
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    # A failing `cargo fuzz list` must fail the run, not leave nothing to fuzz.
    if ! list="$(cargo +nightly fuzz list)"; then
        echo "cargo +nightly fuzz list failed" >&2
        exit 1
    fi
    if [ -z "${list//[[:space:]]/}" ]; then
        echo "cargo +nightly fuzz list found no fuzz targets" >&2
        exit 1
    fi
    mapfile -t targets <<<"$list"
fi

start=$(date +%s)
cargo +nightly fuzz build "${flags[@]}"
echo "fuzz targets built in $(( $(date +%s) - start )) s"

status=0
log=""
trap '[ -z "$log" ] || rm -f "$log"' EXIT
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="$(mktemp)"
    # Seeds (checked in) are read; new inputs go to the corpus (not checked in).
    if cargo +nightly fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        runs="$(awk '/stat::number_of_executed_units/{print $2; exit}' "$log")"
        echo "$target: ${runs:-?} executions in ${seconds} s, no crash"
    else
        echo "$target: CRASHED (last lines of its log follow)" >&2
        tail -40 "$log" >&2
        status=1
    fi
    rm -f "$log"
done
echo "fuzzing took $(( $(date +%s) - start )) s in all"
exit "$status"
