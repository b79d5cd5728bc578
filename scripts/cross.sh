#!/usr/bin/env bash
# Cross builds for routers and boards (docs/CROSS.md), with Debian's own Rust toolchain
# (rustc-web, cargo-web, rust-web-src: `-Zbuild-std`, as no rustup target can be downloaded here;
# ../shared/CROSS-NOTES.md) and the Debian gcc cross linkers.
#
#   scripts/cross.sh build [TARGET...]   the static programs and dinit-box, stripped, into
#                                        target/cross/TARGET/, and a size table (no TARGET: the
#                                        four of ALL below)
#   scripts/cross.sh bin TARGET          only builds; prints the folder cargo left them in (what
#                                        packaging/build.sh packs for TARGET)
#   scripts/cross.sh test TARGET         the unit tests of dinit-core and dinit-hosted under
#                                        qemu-user (exclusions: docs/CROSS.md)
#   scripts/cross.sh lint TARGET [all]   clippy of both crates (libraries and programs; `all`:
#                                        their tests and benchmarks too) for TARGET, warnings
#                                        denied
#   scripts/cross.sh triple TARGET       prints TARGET's Rust triple
#
# TARGET is a Rust target triple or its short name: aarch64, armv7, riscv64, mipsel, mips.
# The build is the one packaging/build.sh makes for the host (release profile, glibc linked
# statically, not position-independent), so a cross build is the same program; mipsel and mips
# (routers) add the `small` capacity profile (64 services). Everything goes to target/cross
# (cargo's own folder target/cross/build, its downloads in target/cross/cargo-home).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

die() {
    echo "cross: error: $*" >&2
    exit 1
}

# The four targets of `just cross`; mips (big-endian, tier 3) is for tests and on request.
ALL=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf riscv64gc-unknown-linux-gnu
    mipsel-unknown-linux-gnu)

# triple TARGET: the full triple of a short name (or of itself).
triple() {
    case $1 in
        aarch64 | arm64 | aarch64-unknown-linux-gnu) echo aarch64-unknown-linux-gnu ;;
        armv7 | armhf | armv7-unknown-linux-gnueabihf) echo armv7-unknown-linux-gnueabihf ;;
        riscv64 | riscv64gc-unknown-linux-gnu) echo riscv64gc-unknown-linux-gnu ;;
        mipsel | mipsel-unknown-linux-gnu) echo mipsel-unknown-linux-gnu ;;
        mips | mips-unknown-linux-gnu) echo mips-unknown-linux-gnu ;;
        *) die "unknown target '$1' (known: aarch64, armv7, riscv64, mipsel, mips, or their triples: ${ALL[*]} mips-unknown-linux-gnu)" ;;
    esac
}

# The GNU triple of the target's gcc, binutils and qemu-user, and its cargo features.
gnu=
qemu=
features=
describe() {
    case $1 in
        aarch64-unknown-linux-gnu) gnu=aarch64-linux-gnu qemu=qemu-aarch64-static features= ;;
        armv7-unknown-linux-gnueabihf) gnu=arm-linux-gnueabihf qemu=qemu-arm-static features= ;;
        riscv64gc-unknown-linux-gnu) gnu=riscv64-linux-gnu qemu=qemu-riscv64-static features= ;;
        mipsel-unknown-linux-gnu) gnu=mipsel-linux-gnu qemu=qemu-mipsel-static features=small ;;
        mips-unknown-linux-gnu) gnu=mips-linux-gnu qemu=qemu-mips-static features=small ;;
    esac
}

# Debian's toolchain, not rustup's proxies in ~/.cargo/bin: explicit paths, /usr/bin first on
# PATH (cargo finds cargo-clippy there), and a CARGO_HOME of its own so that the two
# toolchains' caches stay apart. RUSTC_BOOTSTRAP=1 allows -Zbuild-std on this stable compiler.
[[ -x /usr/bin/cargo && -x /usr/bin/rustc ]] ||
    die "Debian's Rust toolchain is missing: run scripts/setup.sh cross (apt: rustc-web cargo-web rust-web-src)"
[[ -d /usr/lib/rustlib/src/rust/library ]] ||
    die "the standard library's source is missing: apt-get install rust-web-src (scripts/setup.sh cross)"
export PATH=/usr/bin:$PATH
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_HOME=$root/target/cross/cargo-home
unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_TARGET_DIR
cargo=/usr/bin/cargo
build_dir=$root/target/cross/build

# The flags of packaging/build.sh's static build: glibc linked in, fixed addresses.
static_flags="-C target-feature=+crt-static -C relocation-model=static"

# setup_target TRIPLE: the linker, the runner and the flags of TRIPLE, as cargo's environment.
setup_target() {
    describe "$1"
    local var
    var=CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$1")
    command -v "$gnu-gcc" >/dev/null 2>&1 ||
        die "$gnu-gcc not found: run scripts/setup.sh cross (apt: gcc-$gnu libc6-dev-*-cross)"
    export "${var}_LINKER=$gnu-gcc"
    export "${var}_RUSTFLAGS=$static_flags"
    export "${var}_RUNNER=$qemu"
}

# cargo_args TRIPLE: what every cargo call for TRIPLE takes.
cargo_args() {
    args=(--target "$1" --target-dir "$build_dir" -j2 -Zbuild-std=std,panic_abort)
    [[ -n $features ]] && args+=(--features "$features")
    return 0
}

programs=(dinit dinitctl dinit-check dinit-monitor dinit-shutdown dinit-box)

build_one() {
    local t=$1
    setup_target "$t"
    cargo_args "$t"
    echo "cross: building $t${features:+ (features: $features)}" >&2
    "$cargo" build --release -p dinit-hosted "${args[@]}" >&2
}

cmd=${1:-}
shift || true
case $cmd in
    build)
        targets=()
        for t in "${@:-${ALL[@]}}"; do targets+=("$(triple "$t")"); done
        for t in "${targets[@]}"; do
            build_one "$t"
            out=$root/target/cross/$t
            rm -rf "$out" && mkdir -p "$out"
            for p in "${programs[@]}"; do
                cp "$build_dir/$t/release/$p" "$out/$p"
                "$gnu-strip" --strip-all "$out/$p"
            done
        done
        echo
        echo "target/cross/TARGET/: bytes after strip --strip-all (static glibc, release profile)"
        printf '%-32s' target
        for p in "${programs[@]}"; do printf ' %14s' "$p"; done
        printf '\n'
        for t in "${targets[@]}"; do
            describe "$t"
            printf '%-32s' "$t${features:+ ($features)}"
            for p in "${programs[@]}"; do printf ' %14s' "$(stat -c %s "$root/target/cross/$t/$p")"; done
            printf '\n'
        done
        ;;
    triple)
        (($# == 1)) || die "usage: scripts/cross.sh triple TARGET"
        triple "$1"
        ;;
    bin)
        (($# == 1)) || die "usage: scripts/cross.sh bin TARGET"
        t=$(triple "$1")
        build_one "$t"
        echo "$build_dir/$t/release"
        ;;
    test)
        (($# == 1)) || die "usage: scripts/cross.sh test TARGET"
        t=$(triple "$1")
        setup_target "$t"
        command -v "$qemu" >/dev/null 2>&1 ||
            die "$qemu not found: run scripts/setup.sh cross (apt: qemu-user-static)"
        cargo_args "$t"
        # The test profile unwinds (the harness catches each test's panic): build std's
        # unwinder as well.
        args=("${args[@]/-Zbuild-std=std,panic_abort/-Zbuild-std=std,panic_unwind}")
        # dinit-core: its unit tests and the codec's round-trip properties (pure, no processes).
        echo "cross: unit tests of dinit-core for $t under $qemu" >&2
        "$cargo" test -p dinit-core --lib --test proto_props "${args[@]}"
        echo "cross: unit tests of dinit-hosted for $t under $qemu" >&2
        "$cargo" test -p dinit-hosted --lib "${args[@]}"
        ;;
    lint)
        (($# == 1 || $# == 2)) || die "usage: scripts/cross.sh lint TARGET [all]"
        t=$(triple "$1")
        setup_target "$t"
        cargo_args "$t"
        scope=()
        case ${2:-} in
            "") ;;
            all) scope=(--all-targets) ;;
            *) die "usage: scripts/cross.sh lint TARGET [all] (all: the tests and benchmarks too)" ;;
        esac
        "$cargo" clippy -p dinit-core -p dinit-hosted "${scope[@]}" "${args[@]}" -- -D warnings
        ;;
    *)
        die "usage: scripts/cross.sh build [TARGET...] | bin TARGET | test TARGET | lint TARGET | triple TARGET"
        ;;
esac
