#!/bin/sh
# `just fuzz [SECONDS]`: builds every fuzz target with cargo-fuzz (libFuzzer) and runs each for
# SECONDS (default 60), one after the other, then prints executions and coverage per target.
# Exits non-zero if any target found a crash (kept in fuzz/artifacts/<target>/).
#
# Stable Rust: cargo-fuzz passes nightly-only flags, which RUSTC_BOOTSTRAP=1 allows; `-s none`
# (no sanitizer): the code under test is safe Rust, which cargo-fuzz builds with debug
# assertions and overflow checks on. Set FUZZ_TARGETS="proto desc" to run some targets only,
# FUZZ_SANITIZER (e.g. address) to use a sanitizer.
#
# The committed seeds of corpus/<target>/ are only read; what libFuzzer finds goes to
# target/corpus/<target>/ and is reused by the next run.
set -eu
cd "$(dirname "$0")"
seconds=${1:-60}
targets=${FUZZ_TARGETS:-"proto desc subst envfile load control"}
sanitizer=${FUZZ_SANITIZER:-none}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
# Build every target once, then run the binaries themselves: `cargo fuzz run` would rebuild
# before each target.
if ! cargo fuzz build -s "$sanitizer" >target/fuzz-build.log 2>&1; then
    tail -n 30 target/fuzz-build.log >&2
    echo "fuzz: the build failed (fuzz/target/fuzz-build.log)" >&2
    exit 2
fi
bin="target/$(rustc -vV | sed -n 's/^host: //p')/release"

status=0
summary=""
for t in $targets; do
    mkdir -p "target/corpus/$t" "artifacts/$t"
    log="target/fuzz-$t.log"
    before=$(ls "artifacts/$t" | wc -l)
    echo "fuzz: $t for ${seconds}s" >&2
    # -timeout: an input that takes 30 s is a hang (reported as a crash).
    if ! "$bin/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$seconds" -timeout=30 \
        -print_final_stats=1 "target/corpus/$t" "corpus/$t" >"$log" 2>&1; then
        status=1
    fi
    after=$(ls "artifacts/$t" | wc -l)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    units=$(ls "target/corpus/$t" | wc -l)
    crashes=$((after - before))
    if [ "$crashes" -gt 0 ]; then
        status=1
        grep -m 1 -A 3 'panicked' "$log" >&2 || true
    fi
    summary="$summary$(printf '%-8s %12s %8s %8s %8s %8s' "$t" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$units" "$crashes")
"
done
printf '%-8s %12s %8s %8s %8s %8s\n' target executions edges features corpus crashes
printf '%s' "$summary"
if [ "$status" -ne 0 ]; then
    echo "fuzz: failures; logs in fuzz/target/fuzz-<target>.log, inputs in fuzz/artifacts/<target>/" >&2
fi
exit "$status"
