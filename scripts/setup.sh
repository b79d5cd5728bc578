#!/usr/bin/env bash
# Installs what a job of this project needs and the machine lacks: the one list of the project's
# outside tools. `just` runs it before each job that needs more than cargo (just demo, just test,
# just e2e, just bench, ...); .ci/run runs it too. It does nothing when all is there.
#
#   scripts/setup.sh JOB...       JOB: a recipe of the Justfile: test, image (demo, boot and
#                                 e2e), lint, unit, compat, e2e-debian, e2e-arch (image-arch and
#                                 cross), deb, rpm, packages-test, bench, bench-boot, fresh-check,
#                                 mcu, cross (cross, cross-test, deb and rpm for a target),
#                                 cross-lint
#   scripts/setup.sh --list JOB...   only print the Debian packages and cargo tools JOB needs
#
# Debian packages: as root on Debian or Ubuntu, the missing ones are installed with apt-get
# (`apt-get update` once, then `apt-get install`); otherwise it stops and prints the one command
# to run. Cargo tools are installed with `cargo install --locked` (into ~/.cargo/bin, no root
# needed), rustup components with `rustup component add`.
set -euo pipefail

say() { echo "setup: $*" >&2; }
die() {
    echo "setup: error: $*" >&2
    exit 1
}

# --- what each job needs ---------------------------------------------------------------------
# Debian packages, as PACKAGE or PACKAGE=PROBE: PROBE (a command, or an absolute path) tells
# whether it is there on a system without dpkg; the package's name is the default probe.
#   gcc, libc6-dev: the C linker and C library every Rust build links with.
base_apt=(gcc=cc libc6-dev=/usr/include/stdio.h)
# The boot image: cpio and xz-utils make the initramfs from Debian's kernel and busybox packages
# (fetched with apt-get download), QEMU boots it. fakeroot only when not root (device nodes).
image_apt=(qemu-system-x86=qemu-system-x86_64 cpio xz-utils=xz)
# Debian's Rust toolchain for the cross builds (its /usr/bin/cargo and rustc, beside rustup's).
cross_rust_apt=(rustc-web=/usr/bin/rustc cargo-web=/usr/bin/cargo rust-web-src=/usr/lib/rustlib/src/rust
    rust-web-clippy=/usr/bin/cargo-clippy)
cross_target_apt=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf
    libc6-dev-armhf-cross gcc-riscv64-linux-gnu libc6-dev-riscv64-cross gcc-mipsel-linux-gnu
    libc6-dev-mipsel-cross gcc-mips-linux-gnu libc6-dev-mips-cross qemu-user-static=qemu-arm-static)
declare -A apt=(
    [image]="${image_apt[*]}"
    # The man pages are rendered with groff; the shell completions run in zsh and fish;
    # unshare and nsenter (util-linux) are part of every Debian system.
    [unit]="groff-base=groff zsh fish"
    [lint]=""
    # The reference Dinit (make, g++, m4) and Chimera Linux's libdinitctl (meson, ninja).
    [compat]="make g++ m4 meson ninja-build=ninja"
    # The Debian scenario: a debootstrapped root on an ext4 disk image.
    [e2e-debian]="${image_apt[*]} debootstrap e2fsprogs=mkfs.ext4"
    # Boot images for other architectures (qemu-system-aarch64 and -arm on QEMU's `virt`
    # machine; qemu-system-riscv64 and the OpenSBI firmware that qemu-system-data carries).
    # Their kernels and busybox are the arm64 and armhf packages (foreign_archs below); our
    # programs the cross build (the job e2e-arch adds cross).
    [image-arch]="${image_apt[*]} qemu-system-arm qemu-system-misc=qemu-system-riscv32"
    [deb]=""
    [rpm]="rpm=rpmbuild"
    # Package checks and installs into a debootstrapped root and with rpm --root.
    [packages-test]="lintian debootstrap rpm=rpmbuild rpmlint"
    # The reference Dinit the benchmark measures beside ours (make, g++, m4; binutils' strip
    # and libc-bin's ldd, which come with them, for its boot image).
    [bench]="make g++ m4"
    # A clean Debian 12 root made with debootstrap, the demo run inside it.
    [fresh-check]="debootstrap"
    # dinit-core on microcontrollers (just mcu, qemu-images/mcu/run.sh): Debian's Rust toolchain
    # with the sources of its core library (built with -Zbuild-std for the bare-metal targets,
    # for which rustup can fetch nothing here), LLVM's linker, and QEMU for the two boards.
    [mcu]="rustc-web=/usr/bin/rustc cargo-web=/usr/bin/cargo rust-web-src=/usr/lib/rustlib/src/rust lld-22=/usr/bin/ld.lld-22 qemu-system-arm qemu-system-misc=qemu-system-riscv32"
    # --- cross builds (scripts/cross.sh, docs/CROSS.md) ---
    # Debian's own Rust 1.96 (rustup cannot add targets here): the compiler, cargo, the
    # standard library's source for -Zbuild-std, clippy; the gcc cross linkers and C libraries
    # of aarch64, armv7 (armhf), riscv64, mipsel and mips; qemu-user to run their tests.
    [cross]="${cross_rust_apt[*]} ${cross_target_apt[*]}"
    # The CI guard (just cross-lint): clippy for armv7 checks without linking, so only the
    # toolchain.
    [cross-lint]="${cross_rust_apt[*]}"
)
# Cargo tools, as TOOL or TOOL=CRATE.
declare -A cargo_tools=(
    [deb]="cargo-deb"
    [rpm]="cargo-deb"
    [e2e-debian]="cargo-deb"
    [packages-test]="cargo-deb"
    # Decodes the firmware's defmt log (just mcu).
    [mcu]="defmt-print"
)
# rustup components.
declare -A components=(
    [lint]="rustfmt clippy"
)
# Jobs made of others.
declare -A parts=(
    [test]="lint unit compat image image-arch cross e2e-debian packages-test cross-lint"
    [demo]="image"
    [boot]="image"
    # The boot scenarios include the image with the reference Dinit as process 1.
    [e2e]="image bench"
    [bench-boot]="image bench"
    # The images of other architectures and the cross build of our programs for them.
    [e2e-arch]="image-arch cross"
)
# Jobs that download Debian packages with apt-get download: they need the package lists.
declare -A needs_lists=([image]=1 [e2e-debian]=1 [image-arch]=1)
# Foreign architectures (dpkg's names) whose packages a job downloads (`apt-get download
# busybox-static:arm64`): dpkg must know them for apt to fetch their package lists. Nothing of
# them is installed.
declare -A foreign_archs=([image-arch]="arm64 armhf")

# --- arguments -------------------------------------------------------------------------------
list_only=0
if [[ ${1:-} == --list ]]; then
    list_only=1
    shift
fi
(($# > 0)) || die "usage: scripts/setup.sh [--list] JOB... (JOB: ${!apt[*]} ${!parts[*]})"
jobs=()
for job in "$@"; do
    if [[ -n ${parts[$job]:-} ]]; then
        read -ra sub <<<"${parts[$job]}"
        jobs+=("${sub[@]}")
    elif [[ -v apt[$job] ]]; then
        jobs+=("$job")
    else
        die "no job '$job' (known: ${!apt[*]} ${!parts[*]})"
    fi
done

want_apt=("${base_apt[@]}")
want_cargo=()
want_components=()
want_archs=()
lists=0
for job in "${jobs[@]}"; do
    read -ra more <<<"${apt[$job]}"
    want_apt+=("${more[@]}")
    read -ra more <<<"${cargo_tools[$job]:-}"
    want_cargo+=("${more[@]}")
    read -ra more <<<"${components[$job]:-}"
    want_components+=("${more[@]}")
    read -ra more <<<"${foreign_archs[$job]:-}"
    want_archs+=("${more[@]}")
    [[ -n ${needs_lists[$job]:-} ]] && lists=1
done
if ((EUID != 0)) && [[ " ${jobs[*]} " == *" image "* ]]; then
    want_apt+=(fakeroot)
fi
# Sorted, without repeats.
mapfile -t want_apt < <(printf '%s\n' "${want_apt[@]}" | LC_ALL=C sort -u)
mapfile -t want_cargo < <(printf '%s\n' "${want_cargo[@]}" | sed '/^$/d' | LC_ALL=C sort -u)
mapfile -t want_components < <(printf '%s\n' "${want_components[@]}" | sed '/^$/d' | LC_ALL=C sort -u)
mapfile -t want_archs < <(printf '%s\n' "${want_archs[@]}" | sed '/^$/d' | LC_ALL=C sort -u)

if ((list_only)); then
    echo "debian: ${want_apt[*]%%=*}"
    echo "dpkg architectures: ${want_archs[*]}"
    echo "cargo: ${want_cargo[*]}"
    echo "rustup: ${want_components[*]}"
    exit 0
fi

# --- the toolchain ---------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 ||
    die "cargo not found: this project needs a Rust toolchain (https://rustup.rs), with ~/.cargo/bin on PATH"

# --- Debian packages ---------------------------------------------------------------------------
have_dpkg=0
command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && have_dpkg=1
missing=()
for entry in "${want_apt[@]}"; do
    pkg=${entry%%=*}
    probe=${entry#*=}
    if ((have_dpkg)); then
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    elif [[ $probe == /* ]]; then
        [[ -e $probe ]] || missing+=("$pkg")
    else
        command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg")
    fi
done

# apt_lists_fresh: the package lists exist and are less than a day old (the image's kernel and
# busybox are downloaded at their candidate version, which stale lists may name no more).
apt_lists_fresh() {
    [[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit 2>/dev/null) ]]
}

# Foreign architectures dpkg does not know yet: added (as root), then the lists must be fetched
# again to include theirs.
missing_archs=()
if ((have_dpkg && ${#want_archs[@]} > 0)); then
    known_archs=" $(dpkg --print-architecture) $(dpkg --print-foreign-architectures | tr '\n' ' ') "
    for arch in "${want_archs[@]}"; do
        [[ $known_archs == *" $arch "* ]] || missing_archs+=("$arch")
    done
fi
if ((${#missing_archs[@]} > 0)); then
    if ((EUID != 0)); then
        say "dpkg does not know the architectures ${missing_archs[*]}; run this once, then try again:"
        echo "$(printf 'sudo dpkg --add-architecture %s && ' "${missing_archs[@]}")sudo apt-get update" >&2
        exit 1
    fi
    say "adding the dpkg architectures ${missing_archs[*]} (for apt-get download only)"
    for arch in "${missing_archs[@]}"; do
        dpkg --add-architecture "$arch"
    done
fi

updated=0
if ((${#missing_archs[@]} > 0 && ${#missing[@]} == 0)); then
    apt-get update -qq
    updated=1
fi
if ((${#missing[@]} > 0)); then
    if ((have_dpkg == 0)); then
        die "missing: ${missing[*]} (Debian package names; install the equivalent packages of your system)"
    fi
    if ((EUID != 0)); then
        say "missing Debian packages: ${missing[*]}; run this once, then try again:"
        echo "sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    apt-get update -qq
    updated=1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ((lists && have_dpkg && updated == 0)) && ! apt_lists_fresh; then
    if ((EUID == 0)); then
        say "refreshing the package lists (apt-get update)"
        apt-get update -qq
    else
        say "the package lists are more than a day old or missing; if the image's downloads fail, run: sudo apt-get update"
    fi
fi

# --- rustup components and cargo tools -----------------------------------------------------------
for component in "${want_components[@]}"; do
    if ! command -v rustup >/dev/null 2>&1; then
        command -v "${component/clippy/cargo-clippy}" >/dev/null 2>&1 ||
            die "$component is missing and there is no rustup to add it"
        continue
    fi
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        say "rustup component add $component"
        rustup component add "$component"
    fi
done
for entry in "${want_cargo[@]}"; do
    tool=${entry%%=*}
    crate=${entry#*=}
    if ! command -v "$tool" >/dev/null 2>&1; then
        say "cargo install $crate --locked"
        cargo install "$crate" --locked --quiet
        command -v "$tool" >/dev/null 2>&1 ||
            die "$tool was installed but is not on PATH: add ${CARGO_HOME:-$HOME/.cargo}/bin to PATH"
    fi
done
