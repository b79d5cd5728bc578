#!/usr/bin/env bash
# `just size`: binary sizes and memory of the build variants (issue 9).
#
#   static   the release profile (opt-level s, LTO, one codegen unit, panic=abort, symbols
#            stripped) linked statically against glibc, exactly as qemu-images/build.sh builds
#            the image's binaries (same target folder, target/static, so the two share work);
#   small    the same with the `small` capacity profile (feature `small`, forwarded to
#            dinit-core: 64 services, 256 edges), in target/static-small;
#   dynamic  the ordinary `cargo build --release` (target/release, or $CARGO_TARGET_DIR/release),
#            for reference.
#
# The binaries are the five programs and `dinit-box`, all of them in one executable (argv[0]).
# Each binary is copied to target/size/VARIANT and stripped with `strip --strip-all` (the
# profile already strips symbols; this also drops what the static link adds). Then each
# variant's dinit runs as a user instance with 1 and 60 `process` services to report its memory.
# Prints a table and `metric=value` lines. Asserts nothing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
target=x86_64-unknown-linux-gnu
bins=(dinit dinitctl dinit-shutdown dinit-check dinit-monitor dinit-box)

# Static, and not position-independent: a static-pie binary relocates its own data at start,
# which makes those pages private (about 30 kB of RssAnon); a fixed-address one does not.
static_flags="-C target-feature=+crt-static -C relocation-model=static"
dynamic_dir=${CARGO_TARGET_DIR:-$root/target}/release
echo "building: static (target/static), small (target/static-small), dynamic ($dynamic_dir)" >&2
RUSTFLAGS="$static_flags" \
    cargo build --quiet --release --target "$target" -p dinit-hosted --target-dir target/static
RUSTFLAGS="$static_flags" \
    cargo build --quiet --release --target "$target" -p dinit-hosted --target-dir target/static-small \
    --features small
cargo build --quiet --release -p dinit-hosted

declare -A dirs=(
    [static]=target/static/$target/release
    [small]=target/static-small/$target/release
    [dynamic]=$dynamic_dir
)
variants=(static small dynamic)
metrics=()

printf '%-8s' variant
for b in "${bins[@]}"; do printf ' %15s' "$b"; done
printf ' %18s\n' "sum of first 3"
for v in "${variants[@]}"; do
    out=target/size/$v
    mkdir -p "$out"
    printf '%-8s' "$v"
    sum=0
    for b in "${bins[@]}"; do
        cp "${dirs[$v]}/$b" "$out/$b"
        strip --strip-all "$out/$b"
        size=$(stat -c %s "$out/$b")
        printf ' %15s' "$size"
        metrics+=("size_${v}_${b//-/_}_bytes=$size")
        case $b in dinit | dinitctl | dinit-shutdown) sum=$((sum + size)) ;; esac
    done
    printf ' %18s\n' "$sum"
    metrics+=("size_${v}_dinit_dinitctl_shutdown_bytes=$sum")
done
echo "(bytes, after strip --strip-all; Dinit 0.23: dinit 208 kB + dinitctl 97 kB + libstdc++ 2 MB)"

# --- memory of each variant ------------------------------------------------------------------
tmp=$(mktemp -d)
daemon_pid=
cleanup() {
    if [[ -n $daemon_pid ]]; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

sd=$tmp/sd
mkdir -p "$sd"
printf 'type = internal\n' >"$sd/idle"
{
    printf 'type = internal\n'
    for i in $(seq 0 59); do
        printf 'type = process\ncommand = /bin/sleep 1000\n' >"$sd/s$i"
        printf 'depends-on = s%s\n' "$i"
    done
} >"$sd/boot"
printf 'type = process\ncommand = /bin/sleep 1000\n' >"$sd/one"

mem() { awk '/^VmRSS:/ {r=$2} /^RssAnon:/ {a=$2} END {print r, a}' "/proc/$1/status"; }

echo
echo "memory (kB, VmRSS / RssAnon) of each variant's dinit -u"
printf '%-8s %15s %15s %15s\n' variant idle "1 process" "60 processes"
for v in "${variants[@]}"; do
    bin=target/size/$v
    sock=$tmp/sock
    env -i PATH=/usr/bin:/bin HOME="$tmp" LANG=C.UTF-8 \
        "$bin/dinit" -u -q -d "$sd" -p "$sock" idle >"$tmp/log" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 1 500); do
        "$bin/dinitctl" -p "$sock" list >/dev/null 2>&1 && break
        sleep 0.01
    done
    read -r idle_rss idle_anon < <(mem "$daemon_pid")
    "$bin/dinitctl" -p "$sock" start one >/dev/null
    read -r one_rss one_anon < <(mem "$daemon_pid")
    "$bin/dinitctl" -p "$sock" stop one >/dev/null
    "$bin/dinitctl" -p "$sock" start boot >/dev/null
    read -r many_rss many_anon < <(mem "$daemon_pid")
    "$bin/dinitctl" -p "$sock" stop boot >/dev/null
    kill -TERM "$daemon_pid"
    wait "$daemon_pid" || true
    daemon_pid=
    printf '%-8s %15s %15s %15s\n' "$v" "$idle_rss / $idle_anon" "$one_rss / $one_anon" \
        "$many_rss / $many_anon"
    metrics+=("vmrss_kb_${v}_idle=$idle_rss" "rssanon_kb_${v}_idle=$idle_anon"
        "vmrss_kb_${v}_process_1=$one_rss" "rssanon_kb_${v}_process_1=$one_anon"
        "vmrss_kb_${v}_process_60=$many_rss" "rssanon_kb_${v}_process_60=$many_anon")
done

echo
printf '%s\n' "${metrics[@]}"
