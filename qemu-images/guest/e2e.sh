#!/bin/sh
# The in-guest half of the QEMU boot scenarios (tests/qemu.rs). The `e2e` service runs this once
# `boot` has started (or `recovery` hands over to it); `dinit_e2e=NAME` on the kernel command
# line picks the scenario. Lines starting "E2E: " are the markers the host waits for; the host
# also reads the daemon's own console messages ("[  OK  ] name", "[STOPPD] name").
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
exec </dev/null >/dev/console 2>&1

say() { echo "E2E: $*"; }

# mark LEVEL TEXT: a marker written into the kernel's log (LEVEL 5, notice, is shown on the
# console at the kernel's default level; 7, debug, is not), so that it carries the kernel's
# clock ("[    5.123456] E2E: TEXT"): the boot benchmark reads guest-side times from these, on
# the same clock as the kernel's own lines.
mark() {
    level=$1
    shift
    echo "<$level>E2E: $*" >/dev/kmsg
}

# `dinitctl list` between markers, for the host to parse.
list() {
    say "list begin"
    dinitctl list
    say "list end"
}

# The pid of a service ("Process ID: N" in `dinitctl status`), or nothing.
pid_of() {
    dinitctl status "$1" | sed -n 's/^ *Process ID: *//p'
}

# retry N COMMAND...: runs COMMAND every 0.1 s until it succeeds, at most N times.
retry() {
    n=$1
    shift
    until "$@"; do
        n=$((n - 1))
        [ "$n" -gt 0 ] || return 1
        sleep 0.1
    done
}

ticker_restarted() {
    new=$(pid_of ticker)
    [ -n "$new" ] && [ "$new" != "$old" ]
}

# The getty service's process has opened its tty (busybox getty makes it its standard input).
getty_opened() {
    readlink "/proc/$(pid_of getty)/fd/0" 2>/dev/null | grep -q '^/dev/tty'
}

crasher_stopped() {
    dinitctl status crasher | grep -q 'State: STOPPED'
}

# Announces a shutdown request (the host times from this line), then makes it. Commands are
# given by path: for a bare `poweroff`, `reboot` or `halt` busybox's shell would run its own
# applets, which only signal PID 1.
request() {
    say "shutdown requested: $*"
    "$@"
    say "$* exited with status $?"
}

case "${dinit_e2e:-}" in
boot)
    list
    # The console log level the init left (process 1 turns the kernel's console output off).
    say "console log level: $(cut -f1 /proc/sys/kernel/printk)"
    say "machine: $(uname -m)"
    retry 100 getty_opened || true
    say "getty on: $(readlink "/proc/$(pid_of getty)/fd/0")"
    # Process 1's messages before the system log was up, in the kernel's log (dinit-rs).
    say "kernel log begin"
    dmesg | grep -F "dinit: service" | sed 's/^\[[^]]*\] *//'
    say "kernel log end"
    say "done"
    ;;
demo)
    list
    request /sbin/poweroff
    ;;
supervision)
    old=$(pid_of ticker)
    say "killing ticker (pid $old)"
    kill -KILL "$old"
    retry 50 ticker_restarted || say "ticker was not restarted"
    say "ticker pid $old -> $(pid_of ticker)"
    dinitctl start crasher
    retry 100 crasher_stopped || say "crasher still running"
    say "crasher status begin"
    dinitctl status crasher
    say "crasher status end"
    list
    say "done"
    ;;
poweroff) request /sbin/poweroff ;;
shutdown-p) request /sbin/shutdown -p ;;
reboot) request /sbin/reboot ;;
shutdown-r) request /sbin/shutdown -r ;;
ctrl-alt-del)
    list
    say "ready for ctrl-alt-del"
    ;;
soft-reboot-halt)
    # The root file system is the initramfs, kept across a soft reboot: a file there tells the
    # second run of this script from the first.
    if [ ! -e /soft-rebooted ]; then
        : >/soft-rebooted
        say "ticker pid before: $(pid_of ticker)"
        request /sbin/shutdown -s
    else
        say "soft reboot done"
        say "ticker pid after: $(pid_of ticker)"
        list
        request dinitctl shutdown
    fi
    ;;
bench)
    # The side-by-side boot benchmark (`just bench-boot`), the same for dinit-rs and Dinit.
    # This service starts once `boot` has: its first line marks the boot set all started.
    # Both inits turn the kernel's console output off when they start as process 1, so the
    # mark goes into the kernel's log unseen, and is shown (with its time) by reading the log
    # back; then the console gets the kernel's default level again, so that both consoles
    # show the same kernel lines from here on, and a second of quiet lets the services settle
    # before the timed shutdown.
    mark 7 "all started"
    dmesg | grep -F "E2E: all started"
    list
    dmesg -n 7
    sleep 1
    mark 5 "shutdown requested: /sbin/poweroff"
    /sbin/poweroff
    say "/sbin/poweroff exited with status $?"
    ;;
recovery)
    say "recovery reached"
    list
    request /sbin/poweroff
    ;;
*)
    say "unknown scenario '${dinit_e2e:-}'"
    ;;
esac
