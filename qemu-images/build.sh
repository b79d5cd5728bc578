#!/usr/bin/env bash
# Builds the QEMU boot image of dinit-rs: a Debian kernel (for x86-64 the uncompressed vmlinux)
# and an initramfs holding our static release binaries, busybox, the service set of distro/image/
# and the in-guest scenario script. See qemu-images/README.md.
#
#   qemu-images/build.sh            build into target/qemu/ (a no-op when no input changed)
#   qemu-images/build.sh --fetch    only download the kernel and busybox; print their folders
#
# Environment:
#   DINIT_QEMU_ARCH   the machine: x86_64 (default), aarch64, armv7 or riscv64 (qemu-images/arch.sh);
#                     the kernel and busybox are Debian's packages of that architecture, our
#                     programs the cross build of scripts/cross.sh
#   DINIT_QEMU_BIN    a folder holding dinit-box built for that machine, used as it is instead of
#                     building it (`cargo build` for x86_64, `scripts/cross.sh bin ARCH` otherwise)
#   DINIT_QEMU_OUT    output folder (default: <workspace>/target/qemu, target/qemu-ARCH for the
#                     other architectures)
#   DINIT_QEMU_CACHE  download cache (default: ${XDG_CACHE_HOME:-~/.cache}/dinit-rs-qemu)
#   DINIT_QEMU_SERVICES  the service folder installed as /etc/dinit.d (default: distro/image;
#                     its scripts/ subfolder too), to boot a service set of your own
#   SOURCE_DATE_EPOCH the mtime of every file in the initramfs (default: 0)
#   DINIT_QEMU_REFERENCE  a folder holding the reference Dinit's dinit, dinitctl and shutdown
#                     (qemu-images/reference.sh): the image gets those instead of ours, with the
#                     shared libraries they link to, for the side-by-side boot benchmark
#                     (`just bench-boot`); the default output folder is then target/qemu-dinit
#
# Why a shell script: every step is a call to a tool (cargo, apt-get, dpkg-deb, xz, cpio,
# gzip); a Rust program would only wrap the same calls.
set -euo pipefail
umask 022

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { echo "image: $*" >&2; }
die() {
    echo "image: error: $*" >&2
    exit 1
}

# shellcheck source=qemu-images/arch.sh
. "$root/qemu-images/arch.sh"
qemu_arch "${DINIT_QEMU_ARCH:-x86_64}" ||
    die "no machine '${DINIT_QEMU_ARCH:-}' (DINIT_QEMU_ARCH: x86_64, aarch64, armv7, riscv64)"
reference=${DINIT_QEMU_REFERENCE:-}
if [[ -n $reference ]]; then
    [[ $arch == x86_64 ]] || die "the reference Dinit's image is built for x86_64 only"
    reference=$(cd "$reference" && pwd)
    out=${DINIT_QEMU_OUT:-$root/target/qemu-dinit}
elif [[ $arch == x86_64 ]]; then
    out=${DINIT_QEMU_OUT:-$root/target/qemu}
else
    out=${DINIT_QEMU_OUT:-$root/target/qemu-$arch}
fi
cache=${DINIT_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dinit-rs-qemu}
epoch=${SOURCE_DATE_EPOCH:-0}
bindir=$root/target/static/$triple/release
services=$(cd "${DINIT_QEMU_SERVICES:-$root/distro/image}" && pwd)

# --pack STAGE ARCHIVE: the step that must run as root (device nodes, owners); split out so
# that a non-root user can run it under fakeroot.
if [[ ${1:-} == --pack ]]; then
    stage=$2 archive=$3
    mknod -m 600 "$stage/dev/console" c 5 1
    mknod -m 666 "$stage/dev/null" c 1 3
    # Fixed mtimes, owners and inode numbers, and sorted names: the same inputs give the same
    # bytes.
    find "$stage" -exec touch -h -d "@$epoch" {} +
    (cd "$stage" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
        cpio --create --format=newc --reproducible --owner=0:0 --quiet) |
        gzip -9 -n >"$archive"
    exit 0
fi

# --- prerequisites -------------------------------------------------------------------------
missing=()
for tool in cargo apt-get apt-cache dpkg-deb cpio gzip xz sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (on Debian: apt-get install cpio xz-utils)"
if ((EUID != 0)) && ! command -v fakeroot >/dev/null 2>&1; then
    die "device nodes need root or fakeroot (apt-get install fakeroot)"
fi
mkdir -p "$out" "$cache"

# --- Debian packages, downloaded once into the cache -----------------------------------------
host_deb_arch=$(dpkg --print-architecture)
# A machine whose packages come from another Debian release than this one's (deb_suite:
# riscv64, which Debian 12 lacks) gets a private apt configuration: its own sources list and
# package lists in the cache, its architecture as apt's native one, no dpkg status (nothing is
# installed). The system's apt configuration and state are not touched. The lists are fetched
# again when a day old.
private_apt=()
if [[ -n $deb_suite ]]; then
    apt_dir=$cache/apt-$deb_suite-$deb_arch
    private_apt=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
        -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache"
        -o Dir::State::Status=/dev/null -o APT::Architecture="$deb_arch"
        -o APT::Architectures::="$deb_arch" -o Acquire::Languages=none)
    if [[ -z $(find "$apt_dir/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit 2>/dev/null) ]]; then
        say "fetching Debian $deb_suite's package lists for $deb_arch (into $apt_dir)"
        mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
        echo "deb [arch=$deb_arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $deb_suite main" \
            >"$apt_dir/sources.list"
        apt-get "${private_apt[@]}" -o APT::Sandbox::User="$(id -un)" -q update >/dev/null ||
            say "WARNING: apt-get update for Debian $deb_suite failed; using what the cache has"
    fi
fi

# apt_for DEB-ARCH: sets `apt_opts` (the options of apt-get and apt-cache) and `apt_suffix`
# (what follows a package's name) for the packages of architecture DEB-ARCH.
apt_for() {
    apt_opts=() apt_suffix=
    if [[ $1 != "$host_deb_arch" ]]; then
        if ((${#private_apt[@]} > 0)); then
            apt_opts=("${private_apt[@]}")
        else
            apt_suffix=:$1
        fi
    fi
}

# fetch_deb PACKAGE WHAT DEB-ARCH: prints the cache folder holding PACKAGE's candidate version of
# architecture DEB-ARCH unpacked as far as we need it, downloading it if needed: WHAT (kernel,
# busybox) in $cache/WHAT, or $cache/WHAT-DEB-ARCH for a foreign architecture (which dpkg must
# know, unless it has a private apt configuration: scripts/setup.sh e2e-arch adds it). Without apt
# lists (no `apt-get update` yet), the newest version already in the cache is used.
fetch_deb() {
    local pkg=$1 what=$2 arch_of=$3 spec folder=$cache/$2 version dir tmp
    apt_for "$arch_of"
    spec=$pkg$apt_suffix
    [[ $arch_of == "$host_deb_arch" ]] || folder=$cache/$what-$arch_of
    version=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$spec" 2>/dev/null | sed -n 's/^Version: //p' | head -n1) || true
    if [[ -z $version ]]; then
        dir=$(find "$folder" -mindepth 1 -maxdepth 1 -name "${pkg}_*" 2>/dev/null | LC_ALL=C sort | tail -n1)
        [[ -n $dir ]] || die "apt knows no package $spec and the cache has none (run apt-get update; for $arch_of, scripts/setup.sh e2e-arch)"
        echo "$dir"
        return
    fi
    dir=$folder/${pkg}_${version//:/%3a}
    if [[ ! -e $dir/.complete ]]; then
        say "downloading $spec $version"
        rm -rf "$dir"
        mkdir -p "$cache"
        tmp=$(mktemp -d "$cache/download.XXXXXX")
        # As root, apt would first try to download as its sandbox user, who cannot write here.
        (cd "$tmp" && apt-get "${apt_opts[@]}" download -q -o APT::Sandbox::User="$(id -un)" "$spec=$version" >/dev/null) ||
            die "apt-get download $spec=$version failed"
        mkdir -p "$dir"
        case $what in
        kernel)
            # Only the kernel image, not its modules: the initramfs needs none. (Debian 13's
            # riscv64 package calls it vmlinux-*, the others vmlinuz-*.)
            dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$dir" --wildcards './boot/vmlinu[xz]-*'
            if [[ $kernel_file == vmlinux ]]; then
                extract_vmlinux "$dir"/boot/vmlinuz-* "$dir/vmlinux"
            else
                # As Debian ships it: QEMU's `virt` loaders take arm64's and riscv64's Image and
                # armhf's zImage as they are.
                ln -s boot/"$(basename "$dir"/boot/vmlinu[xz]-*)" "$dir/$kernel_file"
            fi
            ;;
        busybox) dpkg-deb -x "$tmp"/*.deb "$dir" ;;
        esac
        rm -rf "$tmp"
        : >"$dir/.complete"
    fi
    echo "$dir"
}

# extract_vmlinux BZIMAGE OUT: Debian compresses its kernel with XZ. The uncompressed ELF inside
# boots directly (the kernel has CONFIG_PVH), which under TCG saves the ~2.5 s the kernel would
# spend decompressing itself. Find the XZ stream's magic (FD 37 7A 58 5A 00) and unpack that
# one stream; the bytes after it are not part of it.
extract_vmlinux() {
    local bz=$1 dest=$2 offsets off
    offsets=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | cut -d: -f1) || true
    for off in $offsets; do
        # (xz stops reading after the stream: tail's SIGPIPE must not count as a failure.)
        if xz -dc --single-stream < <(tail -c +"$((off + 1))" "$bz" 2>/dev/null) >"$dest.tmp" 2>/dev/null &&
            [[ $(head -c 4 "$dest.tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
            mv "$dest.tmp" "$dest"
            return
        fi
    done
    rm -f "$dest.tmp"
    say "WARNING: no XZ-compressed ELF in $bz; booting the compressed kernel (slower)"
    cp "$bz" "$dest"
}

kernel_cache=$cache/kernel
[[ $deb_arch == "$host_deb_arch" ]] || kernel_cache=$cache/kernel-$deb_arch
apt_for "$deb_arch"
meta=$kernel_meta$apt_suffix
# (For a foreign architecture apt names the dependency with it: linux-image-6.1.0-NN-arm64:arm64.)
kernel_pkg=$(apt-cache "${apt_opts[@]}" depends "$meta" 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ :]*\)\(:[a-z0-9]*\)\{0,1\}$/\1/p' | head -n1) || true
if [[ -z $kernel_pkg ]]; then
    # No apt lists: fall back on a kernel already in the cache.
    kernel_pkg=$(find "$kernel_cache" -mindepth 1 -maxdepth 1 -name 'linux-image-*' -printf '%f\n' 2>/dev/null |
        LC_ALL=C sort | tail -n1 | cut -d_ -f1)
    [[ -n $kernel_pkg ]] || die "cannot resolve $meta (run apt-get update; for $deb_arch, scripts/setup.sh e2e-arch)"
fi
kernel_dir=$(fetch_deb "$kernel_pkg" kernel "$deb_arch")
busybox_dir=$(fetch_deb busybox-static busybox "$deb_arch")
busybox=$busybox_dir/bin/busybox
# (Debian 13 installs it in /usr/bin.)
[[ -x $busybox ]] || busybox=$busybox_dir/usr/bin/busybox
[[ -x $busybox ]] || die "no bin/busybox in $busybox_dir"

# run_native: how to run a program of the machine here: directly, or under qemu-user if it is
# installed (scripts/setup.sh cross installs it); empty if neither.
run_native=()
if [[ -z $qemu_user ]]; then
    run_native=(env)
else
    for emulator in "$qemu_user-static" "$qemu_user"; do
        if command -v "$emulator" >/dev/null 2>&1; then
            run_native=("$emulator")
            break
        fi
    done
fi
# The applets to link come from `busybox --list-full`. Without a way to run the machine's
# busybox, the host's busybox-static gives the list (the same Debian configuration; for a
# machine from another release, that release's applets may differ a little).
list_busybox=("${run_native[@]}" "$busybox")
if ((${#run_native[@]} == 0)); then
    list_busybox=("$(fetch_deb busybox-static busybox "$host_deb_arch")/bin/busybox")
fi

# --fetch: only the downloads; prints the kernel's and busybox's cache folders, one a line (for
# qemu-images/debian.sh, which boots the same kernel and uses busybox in its initramfs).
if [[ ${1:-} == --fetch ]]; then
    printf '%s\n' "$kernel_dir" "$busybox_dir"
    exit 0
fi

# --- the init's programs ---------------------------------------------------------------------
# `binaries` go into /sbin; each NAME:FILE of `links` is a link /sbin/NAME -> FILE; `libraries`
# are copied to the same paths in the image.
if [[ -n $reference ]]; then
    # The reference Dinit as built (dynamic by default: then its shared libraries and the
    # dynamic loader come along, from where ldd finds them on this machine). Its names are
    # the ones `make install` gives it; dinit runs SBINDIR/shutdown at the end, so
    # /usr/sbin/shutdown links to it as well (SBINDIR is /usr/sbin unless configured).
    binaries=(dinit dinitctl shutdown)
    for b in "${binaries[@]}"; do
        [[ -x $reference/$b ]] || die "$reference/$b is missing (qemu-images/reference.sh builds it)"
    done
    links=(init:dinit halt:shutdown poweroff:shutdown reboot:shutdown soft-reboot:shutdown)
    libraries=()
    while IFS= read -r lib; do libraries+=("$lib"); done < <(
        for b in "${binaries[@]}"; do
            # "libx.so.N => /path (0x...)", or the loader alone: "/lib64/ld-linux... (0x...)";
            # a static executable has none ("not a dynamic executable", status 1).
            ldd "$reference/$b" 2>/dev/null | sed -n 's/^.*=> \(\/[^ ]*\) .*$/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*$/\1/p' || true
        done | LC_ALL=C sort -u
    )
    bindir=$reference
elif [[ -n ${DINIT_QEMU_BIN:-} ]]; then
    bindir=$(cd "$DINIT_QEMU_BIN" && pwd)
elif [[ $arch == x86_64 ]]; then
    # Ours: static, so the initramfs needs no shared libraries.
    # A separate target folder keeps the ordinary release build's artefacts untouched.
    # Static and not position-independent (relocation-model=static): nothing to relocate at
    # start, so no page of the binary becomes private (docs/PERFORMANCE.md, docs/SECURITY.md).
    say "building static release binaries (target/static)"
    (cd "$root" && RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
        cargo build --quiet --release --target "$triple" -p dinit-hosted \
        --target-dir "$root/target/static")
else
    # The same build for another architecture, with Debian's toolchain (docs/CROSS.md).
    [[ -x $root/scripts/cross.sh ]] || die "scripts/cross.sh is missing: set DINIT_QEMU_BIN to a folder holding dinit-box for $triple"
    say "cross-building static release binaries for $triple (scripts/cross.sh bin $arch)"
    bindir=$("$root/scripts/cross.sh" bin "$arch") || die "scripts/cross.sh bin $arch failed"
fi
if [[ -z $reference ]]; then
    # The image carries the multi-call binary: one executable for every program, each name a link
    # to it (as a board would ship it: the three programs in 1.7 MB instead of 4.2 MB).
    binaries=(dinit-box)
    [[ -x $bindir/dinit-box ]] || die "$bindir/dinit-box was not built (hosted/src/bin/dinit-box.rs)"
    programs=(dinit init dinitctl dinit-check dinit-monitor dinit-shutdown shutdown halt poweroff reboot soft-reboot)
    # (Another architecture's binary runs under qemu-user; without it the names are not checked.)
    if ((${#run_native[@]} > 0)); then
        known=$("${run_native[@]}" "$bindir/dinit-box" --list) ||
            die "$bindir/dinit-box --list failed (is it built for $triple?)"
        for p in "${programs[@]}"; do
            grep -qx "$p" <<<"$known" || die "dinit-box does not know the name '$p' (dinit-box --list)"
        done
    else
        say "no $qemu_user-static to run dinit-box --list: the program names are not checked"
    fi
    links=()
    for p in "${programs[@]}"; do links+=("$p:dinit-box"); done
    libraries=()
fi

# --- inputs and their hash: rebuild only when one changed -------------------------------------
inputs=("$root/qemu-images/build.sh" "$root/qemu-images/arch.sh" "$busybox")
for b in "${binaries[@]}"; do [[ -e $bindir/$b ]] && inputs+=("$bindir/$b"); done
inputs+=("${libraries[@]}")
while IFS= read -r f; do inputs+=("$f"); done < <(
    find "$services" "$root/qemu-images/guest" "$root/qemu-images/rootfs" -type f | LC_ALL=C sort
)
stamp=$({
    echo "kernel $(basename "$kernel_dir") epoch $epoch"
    [[ $arch == x86_64 ]] || echo "machine $arch"
    [[ -z $reference ]] || echo "reference Dinit: ${binaries[*]}; ${links[*]}"
    for f in "${inputs[@]}"; do
        # The mode counts too: it goes into the image.
        echo "$(stat -c %a "$f") $(sha256sum <"$f" | cut -d' ' -f1) ${f#"$root"/}"
    done
} | sha256sum | cut -d' ' -f1)

initramfs=$out/initramfs.cpio.gz
report() {
    say "kernel:    $out/$kernel_file ($(basename "$kernel_dir"), $(stat -L -c %s "$out/$kernel_file") bytes)"
    say "initramfs: $initramfs ($(stat -c %s "$initramfs") bytes)"
}
if [[ -e $out/stamp && $(cat "$out/stamp") == "$stamp" && -e $initramfs && -e $out/$kernel_file ]]; then
    say "up to date"
    report
    exit 0
fi

# --- the initramfs tree ------------------------------------------------------------------------
say "assembling the initramfs"
stage=$(mktemp -d "$out/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
for d in bin sbin usr/bin usr/sbin usr/libexec/dinit-e2e etc/dinit etc/dinit.d dev proc sys run tmp root; do
    mkdir -p "$stage/$d"
done
chmod 1777 "$stage/tmp"
chmod 700 "$stage/root"

# (Ours is stripped by its release profile; Dinit's build leaves that to `make install`, which
# strips what it installs: so does this.)
strip=()
[[ -z $reference ]] || strip=(-s)
for b in "${binaries[@]}"; do
    install -m 755 "${strip[@]}" "$bindir/$b" "$stage/sbin/$b"
done
for l in "${links[@]}"; do
    ln -s "${l#*:}" "$stage/sbin/${l%%:*}"
done
if [[ -n $reference ]]; then
    ln -s ../../sbin/shutdown "$stage/usr/sbin/shutdown"
fi
for lib in "${libraries[@]}"; do
    mkdir -p "$stage$(dirname "$lib")"
    install -m 755 "$lib" "$stage$lib"
done

# busybox and a link per applet, except where one of ours has the name.
install -m 755 "$busybox" "$stage/bin/busybox"
while IFS= read -r applet; do
    [[ -e $stage/$applet || -L $stage/$applet ]] && continue
    [[ $applet == linuxrc || $applet == bin/busybox ]] && continue
    rel=$(realpath -m --relative-to="$stage/$(dirname "$applet")" "$stage/bin/busybox")
    ln -s "$rel" "$stage/$applet"
done < <("${list_busybox[@]}" --list-full | LC_ALL=C sort)

# Services and their scripts, the scenario driver, and the files of qemu-images/rootfs/ (/etc).
for f in "$services"/*; do
    [[ -f $f ]] && install -m 644 "$f" "$stage/etc/dinit.d/"
done
if [[ -d $services/scripts ]]; then
    mkdir -p "$stage/etc/dinit.d/scripts"
    install -m 755 "$services"/scripts/* "$stage/etc/dinit.d/scripts/"
fi
install -m 755 "$root/qemu-images/guest/e2e.sh" "$stage/usr/libexec/dinit-e2e/e2e.sh"
(cd "$root/qemu-images/rootfs" && find . -type d -printf '%P\n') | while IFS= read -r d; do
    [[ -n $d ]] && install -d -m 755 "$stage/$d"
done
(cd "$root/qemu-images/rootfs" && find . -type f -printf '%P\n') | while IFS= read -r f; do
    install -m 644 "$root/qemu-images/rootfs/$f" "$stage/$f"
done

if ((EUID == 0)); then
    "$root/qemu-images/build.sh" --pack "$stage" "$initramfs.tmp"
else
    fakeroot -- "$root/qemu-images/build.sh" --pack "$stage" "$initramfs.tmp"
fi
mv "$initramfs.tmp" "$initramfs"
ln -sfn "$kernel_dir/$kernel_file" "$out/$kernel_file"
echo "$stamp" >"$out/stamp"
say "built"
report
