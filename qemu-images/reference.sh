#!/usr/bin/env bash
# Builds the QEMU image with the reference Dinit as PID 1 instead of dinit-rs: the same kernel,
# busybox, service set (distro/image), guest script and /etc as `just image`, with Dinit's own
# dinit, dinitctl and shutdown (halt, poweroff, reboot and soft-reboot are links to it, as
# Dinit's `make install` makes them). For `just bench-boot` and the test
# `reference_dinit_boots_and_powers_off` (docs/BENCH-METHOD.md, "Booting under QEMU").
#
#   qemu-images/reference.sh dynamic   Dinit as ../shared/peers/build-dinit.sh builds it into
#                                      target/peers (the build `just compat` and `just bench`
#                                      use): linked dynamically, so its shared libraries and the
#                                      dynamic loader go into the image. Image: target/qemu-dinit
#   qemu-images/reference.sh static    the same source built with `-static` and SBINDIR=/sbin
#                                      into target/peers-static (once, about a minute): linked
#                                      as our image's binaries are. Image: target/qemu-dinit-static
#
# Prints the image folder (last line). Both steps are cached: Dinit is built once, and the image
# is rebuilt only when an input changed (qemu-images/build.sh). Environment: DINIT_PEERS (the
# folder holding build-dinit.sh and Dinit's source tarball; default ../shared/peers beside the
# workspace), and those of build.sh except DINIT_QEMU_OUT.
#
# The static build warns that getpwnam and friends need glibc's shared NSS modules at run time:
# with `files` built into glibc 2.34 and later, /etc/passwd lookups work without them, and the
# image's service set runs nothing as another user anyway.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
peers=${DINIT_PEERS:-$root/../shared/peers}

die() {
    echo "reference: error: $*" >&2
    exit 1
}

case ${1:-} in
dynamic)
    [[ -x $peers/build-dinit.sh ]] || die "no $peers/build-dinit.sh (set DINIT_PEERS)"
    bin=$("$peers/build-dinit.sh" "$root/target/peers" | tail -n1)
    out=$root/target/qemu-dinit
    ;;
static)
    tarball=$(find "$peers" -maxdepth 1 -name 'dinit-*.tar.gz' | LC_ALL=C sort | head -n1)
    [[ -n $tarball ]] || die "no dinit-*.tar.gz in $peers (set DINIT_PEERS)"
    build=$root/target/peers-static
    bin=$build/dinit/src
    # The tarball's name goes into a stamp: a new reference source means a new build.
    if [[ ! -x $bin/dinit || ! -x $bin/dinitctl || ! -x $bin/shutdown ||
        $(cat "$build/source" 2>/dev/null) != "$(basename "$tarball")" ]]; then
        for tool in make g++ m4; do
            command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (on Debian: apt-get install make g++ m4)"
        done
        echo "reference: building $(basename "$tarball") statically into $build" >&2
        rm -rf "$build"
        mkdir -p "$build"
        tar -xzf "$tarball" -C "$build"
        # SBINDIR=/sbin: dinit runs SBINDIR/shutdown at the end, where the image has it.
        if ! (cd "$build/dinit" && ./configure -q --sbindir=/sbin LDFLAGS_EXTRA=-static &&
            make -j"$(nproc 2>/dev/null || echo 2)") >"$build/build.log" 2>&1; then
            tail -n 20 "$build/build.log" >&2
            die "the static build failed (log: $build/build.log)"
        fi
        basename "$tarball" >"$build/source"
    fi
    out=$root/target/qemu-dinit-static
    ;;
*)
    echo "usage: qemu-images/reference.sh dynamic|static" >&2
    exit 2
    ;;
esac

DINIT_QEMU_REFERENCE=$bin DINIT_QEMU_OUT=$out "$root/qemu-images/build.sh" >&2
echo "$out"
