# The machines the boot image can be built for, one table for build.sh and run.sh (sourced by
# both; see qemu-images/README.md, "Other architectures").
#
#   qemu_arch NAME   sets the variables below for NAME: x86_64 (also amd64), aarch64 (arm64),
#                    armv7 (armhf), riscv64; returns 1 for any other name
#
#   arch          the canonical name (the image's default folder is target/qemu-$arch, but
#                 target/qemu for x86_64)
#   triple        the Rust target of the binaries (scripts/cross.sh's name for it)
#   deb_arch      Debian's name, for `apt-get download PACKAGE:$deb_arch`
#   deb_suite     empty: the kernel and busybox come from the machine's own apt sources (Debian
#                 12, the architecture added with dpkg --add-architecture); else the Debian
#                 release to take them from through a private apt configuration in the download
#                 cache (riscv64: Debian 12 has no riscv64 port, Debian 13 has)
#   kernel_meta   Debian's kernel metapackage for the machine (the kernel is what it depends on)
#   kernel_file   the kernel's file name in the image folder: vmlinux (x86-64: the ELF unpacked
#                 from the bzImage), Image (arm64 and riscv64: Debian ships it uncompressed),
#                 zImage (armhf: it decompresses itself)
#   tty           the serial console's device name
#   qemu_user     the qemu-user emulator that runs the machine's programs on this host (none
#                 for x86_64)
#   qemu          the QEMU command and the machine's options, as an array
qemu_arch() {
    case $1 in
    x86_64 | amd64)
        arch=x86_64 triple=x86_64-unknown-linux-gnu deb_arch=amd64 deb_suite= kernel_meta=linux-image-amd64
        kernel_file=vmlinux tty=ttyS0 qemu_user=
        qemu=(qemu-system-x86_64 -machine pc -cpu qemu64)
        ;;
    aarch64 | arm64)
        # cortex-a53 rather than `max`: every feature `max` adds (pointer authentication above
        # all) is emulated instruction by instruction under TCG, and slower.
        arch=aarch64 triple=aarch64-unknown-linux-gnu deb_arch=arm64 deb_suite= kernel_meta=linux-image-arm64
        kernel_file=Image tty=ttyAMA0 qemu_user=qemu-aarch64
        qemu=(qemu-system-aarch64 -machine virt -cpu cortex-a53)
        ;;
    armv7 | armhf)
        # Debian's armmp kernel has CONFIG_ARCH_VIRT; QEMU gives it the machine's device tree.
        # highmem=off: without LPAE the kernel cannot reach the PCIe window QEMU otherwise puts
        # above 4 GiB, and says so on the console at error level.
        arch=armv7 triple=armv7-unknown-linux-gnueabihf deb_arch=armhf deb_suite= kernel_meta=linux-image-armmp
        kernel_file=zImage tty=ttyAMA0 qemu_user=qemu-arm
        qemu=(qemu-system-arm -machine virt,highmem=off -cpu cortex-a15)
        ;;
    riscv64)
        # `-bios default`: the OpenSBI firmware that qemu-system-data carries. Debian 12 has no
        # riscv64 port: its kernel and busybox come from Debian 13.
        arch=riscv64 triple=riscv64gc-unknown-linux-gnu deb_arch=riscv64 deb_suite=trixie kernel_meta=linux-image-riscv64
        kernel_file=Image tty=ttyS0 qemu_user=qemu-riscv64
        qemu=(qemu-system-riscv64 -machine virt -bios default)
        ;;
    *) return 1 ;;
    esac
}
