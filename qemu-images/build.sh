#!/usr/bin/env bash
# Builds the QEMU boot image of dinit-rs: an uncompressed Debian kernel (vmlinux) and an
# initramfs holding our static release binaries, busybox, the service set of distro/image/ and
# the in-guest scenario script. See qemu-images/README.md.
#
#   qemu-images/build.sh            build into target/qemu/ (a no-op when no input changed)
#   qemu-images/build.sh --fetch    only download the kernel and busybox; print their folders
#
# Environment:
#   DINIT_QEMU_OUT    output folder (default: <workspace>/target/qemu)
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
reference=${DINIT_QEMU_REFERENCE:-}
if [[ -n $reference ]]; then
    reference=$(cd "$reference" && pwd)
    out=${DINIT_QEMU_OUT:-$root/target/qemu-dinit}
else
    out=${DINIT_QEMU_OUT:-$root/target/qemu}
fi
cache=${DINIT_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dinit-rs-qemu}
epoch=${SOURCE_DATE_EPOCH:-0}
target=x86_64-unknown-linux-gnu
bindir=$root/target/static/$target/release
services=$(cd "${DINIT_QEMU_SERVICES:-$root/distro/image}" && pwd)

say() { echo "image: $*" >&2; }
die() {
    echo "image: error: $*" >&2
    exit 1
}

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
# cached_deb PACKAGE: prints the cache folder holding PACKAGE's candidate version unpacked as
# far as we need it, downloading it if needed. Without apt lists (no `apt-get update` yet), the
# newest version already in the cache is used.
fetch_deb() {
    local pkg=$1 what=$2 version dir tmp
    version=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1) || true
    if [[ -z $version ]]; then
        dir=$(find "$cache/$what" -mindepth 1 -maxdepth 1 -name "${pkg}_*" 2>/dev/null | LC_ALL=C sort | tail -n1)
        [[ -n $dir ]] || die "apt knows no package $pkg and the cache has none (run apt-get update)"
        echo "$dir"
        return
    fi
    dir=$cache/$what/${pkg}_${version//:/%3a}
    if [[ ! -e $dir/.complete ]]; then
        say "downloading $pkg $version"
        rm -rf "$dir"
        tmp=$(mktemp -d "$cache/download.XXXXXX")
        # As root, apt would first try to download as its sandbox user, who cannot write here.
        (cd "$tmp" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "$pkg=$version" >/dev/null) ||
            die "apt-get download $pkg=$version failed"
        mkdir -p "$dir"
        case $what in
        kernel)
            # Only the kernel image, not its modules: the initramfs needs none.
            dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$dir" --wildcards './boot/vmlinuz-*'
            extract_vmlinux "$dir"/boot/vmlinuz-* "$dir/vmlinux"
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

kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1) || true
if [[ -z $kernel_pkg ]]; then
    # No apt lists: fall back on a kernel already in the cache.
    kernel_pkg=$(find "$cache/kernel" -mindepth 1 -maxdepth 1 -name 'linux-image-*' -printf '%f\n' 2>/dev/null |
        LC_ALL=C sort | tail -n1 | cut -d_ -f1)
    [[ -n $kernel_pkg ]] || die "cannot resolve linux-image-amd64 (run apt-get update)"
fi
kernel_dir=$(fetch_deb "$kernel_pkg" kernel)
busybox_dir=$(fetch_deb busybox-static busybox)
busybox=$busybox_dir/bin/busybox
[[ -x $busybox ]] || die "no bin/busybox in $busybox_dir"

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
else
    # Ours: static, so the initramfs needs no shared libraries.
    # A separate target folder keeps the ordinary release build's artefacts untouched.
    # Static and not position-independent (relocation-model=static): nothing to relocate at
    # start, so no page of the binary becomes private (docs/PERFORMANCE.md, docs/SECURITY.md).
    say "building static release binaries (target/static)"
    (cd "$root" && RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
        cargo build --quiet --release --target "$target" -p dinit-hosted \
        --target-dir "$root/target/static")
    # The image carries the multi-call binary: one executable for every program, each name a link
    # to it (as a board would ship it: the three programs in 1.7 MB instead of 4.2 MB).
    binaries=(dinit-box)
    [[ -x $bindir/dinit-box ]] || die "$bindir/dinit-box was not built (hosted/src/bin/dinit-box.rs)"
    programs=(dinit init dinitctl dinit-check dinit-monitor dinit-shutdown shutdown halt poweroff reboot soft-reboot)
    known=$("$bindir/dinit-box" --list)
    for p in "${programs[@]}"; do
        grep -qx "$p" <<<"$known" || die "dinit-box does not know the name '$p' (dinit-box --list)"
    done
    links=()
    for p in "${programs[@]}"; do links+=("$p:dinit-box"); done
    libraries=()
fi

# --- inputs and their hash: rebuild only when one changed -------------------------------------
inputs=("$root/qemu-images/build.sh" "$busybox")
for b in "${binaries[@]}"; do [[ -e $bindir/$b ]] && inputs+=("$bindir/$b"); done
inputs+=("${libraries[@]}")
while IFS= read -r f; do inputs+=("$f"); done < <(
    find "$services" "$root/qemu-images/guest" "$root/qemu-images/rootfs" -type f | LC_ALL=C sort
)
stamp=$({
    echo "kernel $(basename "$kernel_dir") epoch $epoch"
    [[ -z $reference ]] || echo "reference Dinit: ${binaries[*]}; ${links[*]}"
    for f in "${inputs[@]}"; do
        # The mode counts too: it goes into the image.
        echo "$(stat -c %a "$f") $(sha256sum <"$f" | cut -d' ' -f1) ${f#"$root"/}"
    done
} | sha256sum | cut -d' ' -f1)

initramfs=$out/initramfs.cpio.gz
report() {
    say "kernel:    $out/vmlinux ($(basename "$kernel_dir"), $(stat -L -c %s "$out/vmlinux") bytes)"
    say "initramfs: $initramfs ($(stat -c %s "$initramfs") bytes)"
}
if [[ -e $out/stamp && $(cat "$out/stamp") == "$stamp" && -e $initramfs && -e $out/vmlinux ]]; then
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
done < <("$busybox" --list-full | LC_ALL=C sort)

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
ln -sfn "$kernel_dir/vmlinux" "$out/vmlinux"
echo "$stamp" >"$out/stamp"
say "built"
report
