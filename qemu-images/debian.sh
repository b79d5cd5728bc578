#!/usr/bin/env bash
# Builds the Debian image of the QEMU Debian scenario: a debootstrapped Debian 12 minbase root
# with our packages (dinit-rs, dinit-rs-init) installed, as an ext4 disk image, and a small
# initramfs that loads the disk and file system modules the Debian kernel lacks, mounts the root
# read-only and hands over to its /sbin/init (dinit). See qemu-images/README.md, "The Debian
# image".
#
#   qemu-images/debian.sh        build into target/qemu-debian/ (a no-op when no input changed)
#
# Output: root.ext4 (the disk), initrd.cpio.gz, vmlinux (a link to the kernel that build.sh
# fetches), stamp. Environment:
#   DINIT_DEBIAN_OUT   output folder (default: <workspace>/target/qemu-debian)
#   DINIT_QEMU_CACHE   download cache, shared with build.sh (default ~/.cache/dinit-rs-qemu)
#   DEBIAN_MIRROR      passed on to packaging/debian-root.sh
#   DINIT_DEBIAN_PACKAGES  more packages to install into the root from the Debian archive, e.g.
#                      "udev rsyslog ifupdown kmod" (by hand; with DINIT_DEBIAN_OUT elsewhere)
#   SOURCE_DATE_EPOCH  the date of every file in the disk and the initramfs (default: when the
#                      cached Debian root was made)
#
# Needs root (chroot, dpkg in the root, device nodes, file owners), debootstrap (through
# packaging/debian-root.sh), cargo-deb (through packaging/build.sh), e2fsprogs 1.43 or later
# (mkfs.ext4 -d), cpio, gzip.
set -euo pipefail
umask 022

ws=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${DINIT_DEBIAN_OUT:-$ws/target/qemu-debian}
cache=${DINIT_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dinit-rs-qemu}
export DINIT_QEMU_CACHE=$cache
here=$ws/qemu-images/debian
# More Debian packages to install from the archive (e.g. "udev rsyslog ifupdown kmod"): by hand
# only; the scenario boots minbase as it is.
extra=${DINIT_DEBIAN_PACKAGES:-}

# The modules that reach an ext4 file system on a virtio disk, dependencies first: the Debian
# kernel builds all of them as modules (CONFIG_VIRTIO_PCI, CONFIG_VIRTIO_BLK, CONFIG_EXT4_FS,
# CONFIG_JBD2, CONFIG_CRC16 and CONFIG_CRYPTO_CRC32C are `m`). crc32c_generic: ext4's metadata
# checksums ask the crypto API for crc32c, and the qemu64 CPU has no SSE 4.2 for crc32c-intel.
modules=(
    drivers/virtio/virtio_ring
    drivers/virtio/virtio
    drivers/virtio/virtio_pci_modern_dev
    drivers/virtio/virtio_pci_legacy_dev
    drivers/virtio/virtio_pci
    drivers/block/virtio_blk
    lib/crc16
    crypto/crc32c_generic
    fs/mbcache
    fs/jbd2/jbd2
    fs/ext4/ext4
)

# The test image's root password ("dinit-rs"), SHA-512 crypt with a fixed salt so that the image
# is reproducible: `openssl passwd -6 -salt dinitrsqemu dinit-rs`. A throw-away machine with no
# network; the scenario logs in with it on the serial console.
# shellcheck disable=SC2016 # a crypt string: the dollars are literal
root_hash='$6$dinitrsqemu$gRkGr3PIRZgy6sCDwy4sj6ewgJCG6tldGG3qploOoMODNwiWq6mRAXdeoaGiE8q/mM76E.LDGbqwzzzfzP0pO1'
# Fixed file system identity (reproducibility).
fs_uuid=5d1a7c4e-0b9f-4c1e-9a4e-d1417d1417d1

say() { echo "debian-image: $*" >&2; }
die() {
    echo "debian-image: error: $*" >&2
    exit 1
}
# elapsed: seconds since the script started, for the log.
start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start)) s"; }

# --- prerequisites -----------------------------------------------------------------------------
((EUID == 0)) || die "must run as root (chroot and dpkg into the image's root, device nodes)"
missing=()
for tool in mkfs.ext4 debugfs dumpe2fs e2fsck cpio gzip chroot dpkg-deb apt-get sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (on Debian: apt-get install e2fsprogs cpio)"
mkdir -p "$out" "$cache"

# --- the kernel and busybox: the same as the busybox image's (build.sh downloads them) ---------
# (The PC's, whatever DINIT_QEMU_ARCH says: this image is x86-64 only.)
mapfile -t fetched < <(DINIT_QEMU_ARCH=x86_64 "$ws/qemu-images/build.sh" --fetch)
((${#fetched[@]} == 2)) || die "qemu-images/build.sh --fetch failed"
kernel_dir=${fetched[0]}
busybox=${fetched[1]}/bin/busybox
[[ -x $busybox && -e $kernel_dir/vmlinux ]] || die "build.sh --fetch gave no kernel or busybox"

# The modules come from the same kernel package (build.sh keeps only its vmlinux).
kernel_base=$(basename "$kernel_dir") # linux-image-6.1.0-NN-amd64_VERSION, ':' as %3a
moddir=$cache/debian-modules/$kernel_base
if [[ ! -e $moddir/.complete ]]; then
    pkg=${kernel_base%%_*}
    version=${kernel_base#*_}
    version=${version//%3a/:}
    say "downloading $pkg $version for its modules"
    rm -rf "$moddir"
    tmp=$(mktemp -d "$cache/download.XXXXXX")
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "$pkg=$version" >/dev/null) ||
        die "apt-get download $pkg=$version failed"
    mkdir -p "$tmp/x" "$moddir"
    patterns=()
    for m in "${modules[@]}"; do patterns+=("./lib/modules/*/kernel/$m.ko"); done
    dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp/x" --wildcards "${patterns[@]}" './boot/config-*'
    for m in "${modules[@]}"; do
        install -m 644 "$tmp"/x/lib/modules/*/kernel/"$m.ko" "$moddir/"
    done
    install -m 644 "$tmp"/x/boot/config-* "$moddir/"
    rm -rf "$tmp"
    : >"$moddir/.complete"
fi

# --- the Debian root and our packages ----------------------------------------------------------
base=$("$ws/packaging/debian-root.sh")
# File dates: SOURCE_DATE_EPOCH, or when the cached root was made (not 0: e2fsprogs takes a
# fake time of 0 as none).
epoch=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$base/.complete")}
((epoch > 0)) || die "SOURCE_DATE_EPOCH must be positive"
say "building the packages (packaging/build.sh deb) ($(elapsed))"
"$ws/packaging/build.sh" deb >"$out/packages.log" 2>&1 || {
    tail -n 30 "$out/packages.log" >&2
    die "packaging/build.sh deb failed (log: $out/packages.log)"
}
ver=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ws/Cargo.toml" | head -n 1)
deb_main=$ws/target/packages/dinit-rs_${ver}-1_$(dpkg --print-architecture).deb
deb_init=$ws/target/packages/dinit-rs-init_${ver}-1_all.deb
[[ -f $deb_main && -f $deb_init ]] || die "the packages were not built: $deb_main, $deb_init"

# --- inputs and their hash: rebuild only when one changed --------------------------------------
# A .deb's bytes change with every build (file dates), so what counts is its control files, its
# file list (modes, owners, sizes, link targets; no dates) and its files' contents.
deb_digest() {
    dpkg-deb --ctrl-tarfile "$1" | tar -xO | sha256sum
    dpkg-deb -c "$1" | awk '{ $4 = $5 = ""; print }'
    dpkg-deb --fsys-tarfile "$1" | tar -xO | sha256sum
}
stamp=$({
    echo "kernel $kernel_base busybox $(sha256sum <"$busybox") epoch $epoch extra $extra"
    echo "root $(cat "$base/.complete" "$base/var/lib/dpkg/status" | sha256sum)"
    deb_digest "$deb_main"
    deb_digest "$deb_init"
    for f in "$ws/qemu-images/debian.sh" $(find "$here" -type f | LC_ALL=C sort); do
        echo "$(stat -c %a "$f") $(sha256sum <"$f" | cut -d' ' -f1) ${f#"$ws"/}"
    done
} | sha256sum | cut -d' ' -f1)

report() {
    say "disk:      $out/root.ext4 ($(du -k --apparent-size "$out/root.ext4" | cut -f1) KiB, $(du -k "$out/root.ext4" | cut -f1) KiB used)"
    say "initramfs: $out/initrd.cpio.gz ($(stat -c %s "$out/initrd.cpio.gz") bytes)"
    say "kernel:    $out/vmlinux -> $kernel_dir/vmlinux"
}
if [[ -e $out/stamp && $(cat "$out/stamp") == "$stamp" && -e $out/root.ext4 && -e $out/initrd.cpio.gz ]]; then
    say "up to date ($(elapsed))"
    report
    exit 0
fi
rm -f "$out/stamp"

stage=$out/stage
initrd_stage=$out/initrd.stage
cleanup() { rm -rf "$stage" "$initrd_stage"; }
trap cleanup EXIT
cleanup

# --- the root: minbase, trimmed, with our packages ----------------------------------------------
say "copying the Debian root ($(elapsed))"
cp -a --reflink=auto "$base" "$stage"
rm -f "$stage/.complete"
if [[ -n $extra ]]; then
    # More of Debian, from the archive (network needed; the versions are the archive's of the
    # day, so such an image is not reproducible). policy-rc.d keeps maintainer scripts from
    # starting daemons in the chroot; resolv.conf lets apt reach the mirror.
    say "installing $extra from the Debian archive ($(elapsed))"
    printf '#!/bin/sh\nexit 101\n' >"$stage/usr/sbin/policy-rc.d"
    chmod 755 "$stage/usr/sbin/policy-rc.d"
    cp -L /etc/resolv.conf "$stage/etc/resolv.conf"
    # shellcheck disable=SC2086 # a list of package names
    chroot "$stage" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $extra \
        >"$out/apt.log" 2>&1 || {
        tail -n 30 "$out/apt.log" >&2
        die "apt-get install $extra failed in the root (log: $out/apt.log)"
    }
    rm -f "$stage/usr/sbin/policy-rc.d" "$stage/etc/resolv.conf" "$stage"/var/cache/apt/archives/*.deb
fi
# What a boot test never reads: documentation, manual pages, translations, apt's package lists
# (about 100 of the root's 175 MB). Removed before our packages go in, so theirs stay complete.
rm -rf "$stage"/usr/share/{doc,man,info,locale}/* "$stage"/var/lib/apt/lists/* \
    "$stage"/var/cache/apt/*.bin
cp "$deb_main" "$deb_init" "$stage/tmp/"
say "installing dinit-rs and dinit-rs-init ($(elapsed))"
chroot "$stage" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
    dpkg -i "/tmp/$(basename "$deb_main")" "/tmp/$(basename "$deb_init")" >"$out/dpkg.log" 2>&1 || {
    cat "$out/dpkg.log" >&2
    die "dpkg -i failed in the root"
}
rm -f "$stage"/tmp/*.deb
# The machine: its name, its root file system (fsck pass 1: rootfscheck checks it at boot), the
# root password. Files under qemu-images/debian/rootfs/ are copied over the root.
(cd "$here/rootfs" && find . -type f -printf '%P\n') | while IFS= read -r f; do
    install -D -m 644 "$here/rootfs/$f" "$stage/$f"
done
sed -i "s|^root:[^:]*:|root:$root_hash:|" "$stage/etc/shadow"
# Logs and backups of this build (they hold the date): not part of the image.
rm -f "$stage"/var/log/*.log "$stage"/var/lib/dpkg/*-old "$stage"/var/cache/debconf/*-old
root_kib=$(du -sk "$stage" | cut -f1)

# --- the disk ----------------------------------------------------------------------------------
# mkfs.ext4 -d copies a folder into the new file system: no loop device, no mount. Room for the
# logs the boot writes (the scenario boots with snapshot=on, so the image itself never changes).
# The same root gives the same bytes: fixed UUID and hash seed, every mtime set to the epoch,
# E2FSPROGS_FAKE_TIME for the creation times mke2fs and debugfs write (e2fsprogs 1.47.0 has no
# SOURCE_DATE_EPOCH), and debugfs for what mke2fs copies from the staged files and touch cannot
# set: their ctime, and their atime (reading them may update it).
say "making the ext4 image ($(elapsed))"
find "$stage" -exec touch -h -d "@$epoch" {} +
size_kib=$((root_kib + root_kib / 4 + 64 * 1024))
img=$out/root.ext4.tmp
rm -f "$img"
export E2FSPROGS_FAKE_TIME=$epoch
mkfs.ext4 -q -F -t ext4 -L debian-root -U "$fs_uuid" -m 0 -E "root_owner=0:0,hash_seed=$fs_uuid" \
    -d "$stage" "$img" "${size_kib}k" >/dev/null
super=$(dumpe2fs -h "$img" 2>/dev/null)
used=$(($(sed -n 's/^Inode count: *//p' <<<"$super") - $(sed -n 's/^Free inodes: *//p' <<<"$super")))
# mke2fs -d hands out inode numbers in order: the used ones are 1..used.
first_free=$(debugfs -R ffi "$img" 2>/dev/null | sed -n 's/^Free inode found: *//p')
((first_free == used + 1)) || die "unexpected inode allocation in the image (first free $first_free, $used used)"
for ((i = 1; i <= used; i++)); do
    echo "set_inode_field <$i> ctime @$epoch"
    echo "set_inode_field <$i> atime @$epoch"
done >"$out/debugfs.cmds"
debugfs -w -f "$out/debugfs.cmds" "$img" >/dev/null 2>&1 || die "debugfs could not fix the image's dates"
rm -f "$out/debugfs.cmds"
e2fsck -fn "$img" >"$out/e2fsck.log" 2>&1 || {
    cat "$out/e2fsck.log" >&2
    die "the new image does not pass e2fsck"
}
unset E2FSPROGS_FAKE_TIME
mv "$img" "$out/root.ext4"

# --- the initramfs -----------------------------------------------------------------------------
say "making the initramfs ($(elapsed))"
mkdir -p "$initrd_stage"/{bin,dev,proc,sys,run,root,lib/modules}
install -m 755 "$busybox" "$initrd_stage/bin/busybox"
for applet in sh mount insmod sleep cat switch_root poweroff; do
    ln -s busybox "$initrd_stage/bin/$applet"
done
install -m 755 "$here/init" "$initrd_stage/init"
for m in "${modules[@]}"; do
    install -m 644 "$moddir/$(basename "$m").ko" "$initrd_stage/lib/modules/"
    basename "$m" >>"$initrd_stage/lib/modules/order"
done
mknod -m 600 "$initrd_stage/dev/console" c 5 1
find "$initrd_stage" -exec touch -h -d "@$epoch" {} +
(cd "$initrd_stage" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    cpio --create --format=newc --reproducible --owner=0:0 --quiet) |
    gzip -9 -n >"$out/initrd.cpio.gz.tmp"
mv "$out/initrd.cpio.gz.tmp" "$out/initrd.cpio.gz"
ln -sfn "$kernel_dir/vmlinux" "$out/vmlinux"
echo "$stamp" >"$out/stamp"
say "built in $(elapsed): root $((root_kib / 1024)) MiB"
report
