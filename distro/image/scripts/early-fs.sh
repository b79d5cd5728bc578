#!/bin/sh
# Mounts the early file systems of the `early-fs` service. Each is mounted only if it is not
# already, so the service can be started again (after a recovery or a soft reboot).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
set -e

# mnt TYPE DIR OPTIONS (busybox has no `mountpoint`: look in /proc/mounts, absent until /proc is
# mounted)
mnt() {
    grep -q "^[^ ]* $2 " /proc/mounts 2>/dev/null || mount -t "$1" -o "$3" "$1" "$2"
}

mnt proc /proc nosuid,nodev,noexec
mnt sysfs /sys nosuid,nodev,noexec
mnt devtmpfs /dev nosuid,mode=0755
mnt tmpfs /run nosuid,nodev,mode=0755
