#!/usr/bin/env bash
# Boots the Debian image that debian.sh made under QEMU (TCG) with the serial console on this
# terminal: a login prompt once the boot is done (root, password dinit-rs). To quit QEMU:
# Ctrl-A, then X. The disk is opened with snapshot=on: what the guest writes is dropped when
# QEMU exits, so every boot starts from the same, clean file system.
#
#   qemu-images/run-debian.sh [KERNEL-OPTION...] [-- INIT-ARGUMENT...]
#
# Environment: DINIT_DEBIAN_OUT (image folder, default target/qemu-debian), DINIT_DEBIAN_DISK
# (boot this disk image instead, read-write, and keep what the guest writes: the test boots a
# copy of root.ext4 this way to inspect it after the power-off), DINIT_QEMU_MONITOR (a path: the
# QEMU monitor listens there on a Unix socket), DINIT_QEMU_MEM (guest memory, default 256M).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${DINIT_DEBIAN_OUT:-$root/target/qemu-debian}
for f in vmlinux initrd.cpio.gz root.ext4; do
    [[ -e $out/$f ]] || { echo "run-debian: $out/$f is missing: run qemu-images/debian.sh first" >&2; exit 1; }
done
drive="file=$out/root.ext4,if=virtio,format=raw,snapshot=on"
if [[ -n ${DINIT_DEBIAN_DISK:-} ]]; then
    [[ -w $DINIT_DEBIAN_DISK ]] || { echo "run-debian: cannot write $DINIT_DEBIAN_DISK" >&2; exit 1; }
    drive="file=$DINIT_DEBIAN_DISK,if=virtio,format=raw"
fi
monitor=()
if [[ -n ${DINIT_QEMU_MONITOR:-} ]]; then
    monitor=(-monitor "unix:$DINIT_QEMU_MONITOR,server,nowait")
fi
# panic=-1 with -no-reboot: a kernel panic ends QEMU instead of hanging.
exec qemu-system-x86_64 -accel tcg -machine pc -cpu qemu64 -m "${DINIT_QEMU_MEM:-256M}" -smp 1 \
    -nographic -no-reboot -nic none "${monitor[@]}" \
    -kernel "$out/vmlinux" -initrd "$out/initrd.cpio.gz" \
    -drive "$drive" \
    -append "console=ttyS0 root=/dev/vda panic=-1 printk.time=1 $*"
