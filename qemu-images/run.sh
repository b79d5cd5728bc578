#!/usr/bin/env bash
# Boots the image that build.sh made under QEMU (TCG: KVM does not work on these machines) with
# the serial console on this terminal. To quit QEMU: Ctrl-A, then X.
#
#   qemu-images/run.sh [KERNEL-OPTION...] [-- INIT-ARGUMENT...]
#
# The arguments are appended to the kernel command line: the kernel passes NAME=VALUE options
# it does not know to init's environment and what follows `--` to init's arguments, e.g.
#   qemu-images/run.sh dinit_e2e=demo -- -t boot -t e2e
#
# Environment: DINIT_QEMU_ARCH (the machine: x86_64, the default, aarch64, armv7 or riscv64;
# qemu-images/arch.sh), DINIT_QEMU_OUT (image folder, default target/qemu, or target/qemu-ARCH
# for another machine than x86_64), DINIT_QEMU_MONITOR (a path:
# the QEMU monitor listens there on a Unix socket), DINIT_QEMU_MEM (guest memory, default 256M),
# DINIT_QEMU_ICOUNT (a number N: the guest's clock counts emulated instructions, 2^N ns each,
# and skips the time the guest idles, so its timings do not depend on the host's load; for the
# boot benchmark, `just bench-boot`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=qemu-images/arch.sh
. "$root/qemu-images/arch.sh"
qemu_arch "${DINIT_QEMU_ARCH:-x86_64}" || {
    echo "run: no machine '${DINIT_QEMU_ARCH:-}' (DINIT_QEMU_ARCH: x86_64, aarch64, armv7, riscv64)" >&2
    exit 1
}
if [[ $arch == x86_64 ]]; then
    out=${DINIT_QEMU_OUT:-$root/target/qemu} build="just image"
else
    out=${DINIT_QEMU_OUT:-$root/target/qemu-$arch} build="DINIT_QEMU_ARCH=$arch qemu-images/build.sh"
fi
for f in "$kernel_file" initramfs.cpio.gz; do
    [[ -e $out/$f ]] || { echo "run: $out/$f is missing: run '$build' first" >&2; exit 1; }
done
monitor=()
if [[ -n ${DINIT_QEMU_MONITOR:-} ]]; then
    monitor=(-monitor "unix:$DINIT_QEMU_MONITOR,server,nowait")
fi
icount=()
if [[ -n ${DINIT_QEMU_ICOUNT:-} ]]; then
    icount=(-icount "shift=$DINIT_QEMU_ICOUNT,sleep=off")
fi
# panic=-1: a kernel panic (e.g. init exiting) reboots at once, and -no-reboot turns that into
# QEMU exiting, so nothing hangs. (On the ARM and RISC-V `virt` machines power-off and reboot go
# through PSCI / SBI, and QEMU exits on both the same way.)
exec "${qemu[@]}" -accel tcg -m "${DINIT_QEMU_MEM:-256M}" -smp 1 \
    -nographic -no-reboot -nic none "${monitor[@]}" "${icount[@]}" \
    -kernel "$out/$kernel_file" -initrd "$out/initramfs.cpio.gz" \
    -append "console=$tty rdinit=/sbin/init panic=-1 printk.time=1 $*"
