#!/bin/sh
# `just nopanic`: proves that dinit-core's public entry points have no panicking path left in a
# release build. The check binary must link; and, to show the check has teeth, the same binary
# with a deliberate out-of-bounds index (feature `selftest`) must fail to link on the panic
# handler's undefined symbol.
set -eu
cd "$(dirname "$0")"
cargo build --release --quiet
echo "nopanic: dinit-core entry points link with a panic handler that does not exist: no panic path"
cargo run --release --quiet
if out=$(cargo build --release --quiet --features selftest 2>&1); then
    echo "nopanic: selftest linked although it indexes out of bounds: the check is broken" >&2
    exit 1
fi
case "$out" in
    *dinit_core_has_a_panic_path*) echo "nopanic: selftest (a deliberate panic path) fails to link, as it must" ;;
    *) echo "nopanic: selftest failed for another reason:" >&2; echo "$out" >&2; exit 1 ;;
esac
