#!/bin/sh
# The `getty` service: a shell on the serial console the kernel writes to (its `console=`: ttyS0
# on a PC, ttyAMA0 on an ARM `virt` machine), so that one image description serves every machine.
# sysfs lists the active consoles, /dev/console's last. exec: dinit supervises getty itself.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
tty=ttyS0
for c in $(cat /sys/class/tty/console/active 2>/dev/null); do
    tty=$c
done
exec /sbin/getty -n -l /bin/sh 115200 "$tty" vt100
