#!/bin/sh
# The program of the `recovery` service: the boot failed. It shows the state of the services,
# then gives a shell on the console (under the boot-failure scenario of the QEMU tests it hands
# over to the scenario script instead).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
echo "recovery: the boot failed; the services are:"
dinitctl list
if [ "${dinit_e2e:-}" = recovery ]; then
    exec /usr/libexec/dinit-e2e/e2e.sh
fi
echo "recovery: here is a shell; 'reboot' or 'poweroff' when done."
# cttyhack finds the real terminal behind /dev/console, so the shell gets job control.
exec /bin/cttyhack /bin/sh
