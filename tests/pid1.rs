//! `dinit` as PID 1 of a new PID namespace (dinit(8) RUNNING AS SYSTEM MANAGER, SIGNALS;
//! shutdown(8)): orphans are reaped, signals lead to the documented shutdowns, the daemon hands
//! over to `dinit-shutdown --system`, the shutdown hook runs, and reboot(2) — which in a PID
//! namespace ends the namespace's init with SIGHUP (restart) or SIGINT (power off, halt) —
//! ends the run. Recovery on boot failure, soft reboot and container mode too.
//!
//! Each test runs `unshare --pid --fork --mount-proc --mount`; inside, a tmpfs on `/run` keeps
//! the control socket private, and an overlay on `/etc` holds `/etc/dinit/shutdown-hook`, which
//! records its argument and exits 0 (so the host's file systems are never touched). Needs root
//! (CI runs as root); skipped otherwise.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{children_of, require_root, Ended, Instance, Launch};
use std::path::Path;

/// Writes the services (`{dir}` becomes the test directory) and boots `dinit` as PID 1 with
/// `args`, `stdin` as its console input ([`Launch::pid1`]); when a service writes `up` (see
/// [`DAEMON`]), waits for it.
fn boot(services: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Instance {
    let mut launch = Launch::new("pid1", services).pid1().args(args);
    if let Some(text) = stdin {
        launch = launch.console_input(text);
    }
    let p = launch.start();
    if services.iter().any(|(_, text)| text.contains("{dir}/up")) {
        p.wait_file("up", "up");
    }
    p
}

/// reboot(2) in a PID namespace: restart ends init with SIGHUP, power off and halt with
/// SIGINT (pid_namespaces(7)).
const REBOOTED: Ended = Ended::Signal(libc::SIGHUP);
const POWERED_OFF: Ended = Ended::Signal(libc::SIGINT);
/// reboot(2) with halt ends a namespace's init as power off does.
const HALTED: Ended = Ended::Signal(libc::SIGINT);

const BOOT: &str = "type = internal\ndepends-on = daemon\n";
/// A supervised process that records being stopped (by the term signal).
/// It writes `up` once its trap is set: tests that stop it wait for that first.
const DAEMON: &str = "type = process\ncommand = /bin/sh -c \"trap 'echo stopped >> {dir}/stops; exit 0' TERM; echo up > {dir}/up; sleep 1000 & wait\"\n";

#[test]
fn orphans_are_reaped_and_sigterm_halts() {
    require_root!();
    // A service that leaves a short-lived orphan and a long-lived one behind.
    let p = boot(
        &[
            ("boot", "type = internal\ndepends-on = daemon\ndepends-on = forker\n"),
            ("daemon", DAEMON),
            (
                "forker",
                "type = scripted\ncommand = /bin/sh -c \"( (sleep 0.3; echo done > {dir}/short) & ) ; (sleep 1000 &) ; echo forked > {dir}/forked\"\n",
            ),
        ],
        &[],
        None,
    );
    p.wait_file("forked", "forked");
    // The orphans were re-parented to our init; the short one ends (it says so just before)
    // and must be reaped: until it is, it shows as running or as a zombie.
    p.wait_file("short", "done");
    let short_orphan_left = |kids: &[(i32, char)]| {
        kids.iter().any(|&(pid, state)| {
            state == 'Z' || {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                String::from_utf8_lossy(&cmdline).contains("sleep 0.3")
            }
        })
    };
    harness::wait_until(
        "the short orphan to be reaped",
        harness::HANG,
        || !short_orphan_left(&children_of(p.pid)),
        || format!("zombies or the short orphan left: {:?}", children_of(p.pid)),
    );
    let kids = children_of(p.pid);
    assert!(kids.len() >= 2, "the orphan and the service: {kids:?}");
    p.signal(libc::SIGTERM);
    let (ended, r) = p.end();
    eprintln!("console:\n{}", r.console);
    // As Dinit: SIGTERM halts.
    assert_eq!(ended, HALTED, "console:\n{}", r.console);
    assert_eq!(r.hook, "halt\n", "console:\n{}", r.console);
    // Services were rolled back before the system shutdown took over.
    assert_eq!(r.read("stops"), "stopped\n");
    assert!(r.console.contains("[STOPPD] daemon"), "{}", r.console);
    assert!(
        r.console.contains("Sending TERM signal to all processes"),
        "{}",
        r.console
    );
    assert!(
        r.console.contains("Issuing shutdown via kernel"),
        "{}",
        r.console
    );
}

/// The records of the kernel's log (`/dev/kmsg`) as `dmesg -r` shows them: `PRIORITY;TEXT`.
fn kernel_log() -> Vec<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
        .expect("/dev/kmsg (the test machine's kernel log)");
    let mut records = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // "PRI,SEQ,USEC,FLAGS;TEXT\n" and continuation lines.
                let rec = String::from_utf8_lossy(&buf[..n]).into_owned();
                let (head, text) = rec.split_once(';').unwrap_or(("", &rec));
                let pri = head.split(',').next().unwrap_or("");
                records.push(format!("{pri};{}", text.lines().next().unwrap_or("")));
            }
            // EPIPE: records overwritten meanwhile; the next read goes on.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(_) => break,
        }
    }
    records
}

#[test]
fn the_boot_is_in_the_kernel_log_until_the_system_log_is_up() {
    require_root!();
    // As process 1 without a log file, the main log is /dev/kmsg until a `starts-log`
    // service is up: the boot's messages are in dmesg, with the daemon facility and the
    // main log's priority (notice: 3 << 3 | 5 = 29).
    // A name no earlier run left in the kernel's log (the test's pid repeats: in a PID
    // namespace it is a small number).
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("kmsg-{nanos}");
    let boot_text = format!("type = internal\ndepends-on = {name}\n");
    let p = boot(
        &[
            ("boot", boot_text.as_str()),
            (name.as_str(), "type = internal\n"),
        ],
        &[],
        None,
    );
    let want = format!("29;dinit: service {name} started.");
    harness::wait_until(
        "the service's start in the kernel log",
        harness::HANG,
        || kernel_log().contains(&want),
        || {
            let ours: Vec<String> = kernel_log()
                .into_iter()
                .filter(|r| r.contains("dinit:"))
                .collect();
            format!("dinit's records in the kernel log: {ours:?}")
        },
    );
    p.signal(libc::SIGTERM);
    let (ended, r) = p.end();
    assert_eq!(ended, HALTED, "console:\n{}", r.console);
}

#[test]
fn kill_all_on_stop_ends_every_other_process_while_the_daemon_keeps_serving() {
    require_root!();
    // dinit-service(5) kill-all-on-stop: "Before stopping this service, send a TERM signal and
    // then (after a short pause) a KILL signal to all other processes in the system".
    // Three strays: one that TERM ends, one that ignores TERM (only KILL ends it), and one that
    // answers TERM by asking the daemon for the stopping service's status and then exits: it
    // can only be answered if the daemon serves requests while it waits for the sweep (a
    // daemon that slept through the pause kills it first).
    let dinitctl = env!("CARGO_BIN_EXE_dinitctl");
    let asker = format!(
        "trap '{dinitctl} -p /run/dinitctl status final > {{dir}}/seen 2>&1; exit 0' TERM\n\
         echo $$ > {{dir}}/asker.pid\n\
         while :; do sleep 0.05; done\n"
    );
    let p = boot(
        &[
            ("boot", "type = internal\nwaits-for = strays\n"),
            (
                "strays",
                "type = scripted\ncommand = /bin/sh {dir}/sd/strays.sh\n",
            ),
            (
                "strays.sh",
                "/bin/sh {dir}/sd/asker.sh &\n\
                 /bin/sh {dir}/sd/stubborn.sh &\n\
                 sleep 1000 &\n\
                 echo $! > {dir}/plain.pid\n",
            ),
            ("asker.sh", &asker),
            (
                "stubborn.sh",
                "trap '' TERM\necho $$ > {dir}/stubborn.pid\nexec sleep 1000\n",
            ),
            (
                "final",
                "type = scripted\ncommand = /bin/true\nstop-command = /bin/sh {dir}/sd/check.sh\n\
                 options = kill-all-on-stop\n",
            ),
            (
                "check.sh",
                "for f in asker stubborn plain; do\n\
                 kill -0 $(cat {dir}/$f.pid) 2>/dev/null && echo \"$f alive\" >> {dir}/at-stop\n\
                 done\n\
                 echo checked >> {dir}/at-stop\n",
            ),
        ],
        &[],
        None,
    );
    for f in ["asker.pid", "stubborn.pid", "plain.pid"] {
        p.wait_file(f, "\n");
    }
    p.wait_socket();
    p.ok(&["start", "final"]);
    p.ok(&["stop", "final"]);
    // Every stray was gone when the stop command ran; the stubborn one took the KILL.
    assert_eq!(p.read("at-stop"), "checked\n", "console:\n{}", p.console());
    // The daemon answered during the sweep: the service was still stopping then.
    let seen = p.read("seen");
    assert!(
        seen.contains("STOPPING"),
        "the asker got {seen:?}; console:\n{}",
        p.console()
    );
    assert!(
        p.console()
            .contains("Sending TERM/KILL to all processes..."),
        "{}",
        p.console()
    );
    p.signal(libc::SIGTERM);
    let (ended, r) = p.end();
    assert_eq!(ended, HALTED, "console:\n{}", r.console);
}

#[test]
fn two_kill_all_on_stop_services_stopping_together_both_wait_for_the_sweep() {
    require_root!();
    // Both stops are asked for in one command (their common dependent goes): the second joins
    // the sweep the first began, and each stop command runs once no stray is left.
    let check = |name: &str| {
        format!(
            "type = scripted\ncommand = /bin/true\nstop-command = /bin/sh {{dir}}/sd/check.sh {{dir}}/{name}\noptions = kill-all-on-stop\n"
        )
    };
    let (one, two) = (check("one.out"), check("two.out"));
    let p = boot(
        &[
            ("boot", "type = internal\nwaits-for = strays\n"),
            (
                "strays",
                "type = scripted\ncommand = /bin/sh {dir}/sd/stubborn.sh\n",
            ),
            (
                "stubborn.sh",
                "(trap '' TERM; exec sleep 1000) &\necho $! > {dir}/stubborn.pid\n",
            ),
            (
                "check.sh",
                "kill -0 $(cat {dir}/stubborn.pid) 2>/dev/null && echo alive >> $1\necho checked >> $1\n",
            ),
            ("one", &one),
            ("two", &two),
            ("both", "type = internal\ndepends-on = one\ndepends-on = two\n"),
        ],
        &[],
        None,
    );
    p.wait_file("stubborn.pid", "\n");
    p.wait_socket();
    p.ok(&["start", "both"]);
    p.ok(&["stop", "both"]);
    p.wait_for("both stops", || {
        p.read("one.out").contains("checked") && p.read("two.out").contains("checked")
    });
    assert_eq!(p.read("one.out"), "checked\n", "{}", p.console());
    assert_eq!(p.read("two.out"), "checked\n", "{}", p.console());
    assert_eq!(p.state("one"), "STOPPED");
    assert_eq!(p.state("two"), "STOPPED");
    p.signal(libc::SIGTERM);
    let (ended, r) = p.end();
    assert_eq!(ended, HALTED, "console:\n{}", r.console);
}

#[test]
fn sigint_reboots() {
    require_root!();
    let p = boot(&[("boot", BOOT), ("daemon", DAEMON)], &[], None);
    p.wait_socket();
    p.signal(libc::SIGINT);
    let (ended, r) = p.end();
    assert_eq!(ended, REBOOTED, "console:\n{}", r.console);
    assert_eq!(r.hook, "reboot\n");
    assert_eq!(r.read("stops"), "stopped\n");
    assert!(r.console.contains("[STOPPD] daemon"), "{}", r.console);
}

#[test]
fn sigquit_shuts_down_without_rolling_back() {
    require_root!();
    let p = boot(&[("boot", BOOT), ("daemon", DAEMON)], &[], None);
    p.wait_socket();
    p.signal(libc::SIGQUIT);
    let (ended, r) = p.end();
    assert_eq!(ended, POWERED_OFF, "console:\n{}", r.console);
    assert_eq!(r.hook, "poweroff\n");
    // The process got the kill-all's SIGTERM, but the service was never stopped.
    assert!(
        !r.console.contains("[STOPPD]"),
        "no service roll-back on SIGQUIT:\n{}",
        r.console
    );
    assert!(
        r.console.contains("Sending TERM signal to all processes"),
        "{}",
        r.console
    );
}

#[test]
fn dinitctl_shutdown_halts() {
    require_root!();
    let p = boot(&[("boot", BOOT), ("daemon", DAEMON)], &[], None);
    p.wait_socket();
    let (out, status) = p.ctl(&["shutdown"]).merged();
    assert_eq!(status, 0, "{out}");
    assert_eq!(out, "Shutting down dinit...\nConnection closed.\n");
    let (ended, r) = p.end();
    assert_eq!(
        ended, POWERED_OFF,
        "halt ends init with SIGINT too; console:\n{}",
        r.console
    );
    assert_eq!(r.hook, "halt\n");
    assert_eq!(r.read("stops"), "stopped\n");
    assert!(r.console.contains("[STOPPD] daemon"), "{}", r.console);
}

#[test]
fn the_shutdown_command_asks_the_daemon_to_reboot() {
    require_root!();
    let p = boot(&[("boot", BOOT), ("daemon", DAEMON)], &[], None);
    p.wait_socket();
    let out = p.run_inside(harness::DINIT_SHUTDOWN, &["-r"]);
    let text = &out.stdout;
    assert!(text.contains("Issuing shutdown command..."), "{text}");
    let (ended, r) = p.end();
    assert_eq!(ended, REBOOTED, "console:\n{}", r.console);
    assert_eq!(r.hook, "reboot\n");
    assert_eq!(r.read("stops"), "stopped\n");
    assert!(r.console.contains("[STOPPD] daemon"), "{}", r.console);
}

#[test]
fn soft_reboot_restarts_the_services_in_the_same_init() {
    require_root!();
    let p = boot(
        &[
            (
                "boot",
                "type = internal\ndepends-on = daemon\ndepends-on = mark\n",
            ),
            ("daemon", DAEMON),
            (
                "mark",
                "type = scripted\ncommand = /bin/sh -c \"echo started >> {dir}/marks\"\n",
            ),
        ],
        &[],
        None,
    );
    p.wait_file("marks", "started");
    p.wait_socket();
    std::fs::remove_file(p.dir.join("up")).unwrap();
    let out = p.run_inside(harness::DINIT_SHUTDOWN, &["-s"]);
    // (Exit status 0, or killed by a signal: -1.)
    assert!(out.code == 0 || out.code == -1, "{out:?}");
    p.wait_file("marks", "started\nstarted\n");
    p.wait_file("up", "up");
    p.wait_file("hook.out", "soft\n");
    // The same process (PID 1 of the namespace) runs the new daemon.
    assert!(children_of(p.pid).iter().any(|(_, s)| *s != 'Z'));
    p.wait_socket();
    let (out, status) = p.ctl(&["list"]).merged();
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("[[+]     ] boot"), "{out}");
    p.signal(libc::SIGTERM);
    let (ended, r) = p.end();
    assert_eq!(ended, HALTED, "console:\n{}", r.console);
    assert_eq!(r.hook, "soft\nhalt\n");
    assert_eq!(r.read("stops"), "stopped\nstopped\n");
}

#[test]
fn boot_failure_starts_recovery_with_dash_r() {
    require_root!();
    let p = boot(
        &[
            ("boot", "type = internal\ndepends-on = broken\n"),
            ("broken", "type = process\ncommand = /nonexistent/program\n"),
            (
                "recovery",
                "type = process\ncommand = /bin/sh -c \"echo recovering > {dir}/recovery; exec sleep 1000\"\n",
            ),
        ],
        &["-r"],
        None,
    );
    p.wait_file("recovery", "recovering");
    assert!(!p.console().contains("Choose:"), "no prompt with -r");
    p.signal(libc::SIGTERM);
    let (ended, r) = p.end();
    assert_eq!(ended, HALTED, "console:\n{}", r.console);
    assert_eq!(r.hook, "halt\n");
}

#[test]
fn boot_failure_asks_on_the_console() {
    require_root!();
    let p = boot(
        &[
            ("boot", "type = internal\ndepends-on = broken\n"),
            ("broken", "type = process\ncommand = /nonexistent/program\n"),
            (
                "recovery",
                "type = process\ncommand = /bin/sh -c \"echo recovering > {dir}/recovery; exec sleep 1000\"\n",
            ),
        ],
        &[],
        Some("what\np\n"),
    );
    let (ended, r) = p.end();
    assert_eq!(
        ended, POWERED_OFF,
        "answered (p)ower off; console:\n{}",
        r.console
    );
    assert_eq!(
        r.console.matches("Choose:").count(),
        2,
        "asked again after a bad answer"
    );
    assert_eq!(r.read("recovery"), "");
    assert_eq!(r.hook, "poweroff\n");
}

#[test]
fn container_mode_exits_instead_of_shutting_down() {
    require_root!();
    let p = boot(&[("boot", BOOT), ("daemon", DAEMON)], &["-o"], None);
    p.wait_socket();
    p.signal(libc::SIGTERM);
    let (ended, r) = p.end();
    assert_eq!(ended, Ended::Exit(0), "console:\n{}", r.console);
    assert_eq!(r.hook, "", "no system shutdown in a container");
    assert_eq!(r.read("stops"), "stopped\n");
    assert!(r.console.contains("[STOPPD] daemon"), "{}", r.console);
}

#[test]
fn namespace_helpers_exist() {
    // The tests above rely on these tools of util-linux.
    require_root!();
    for tool in ["unshare", "nsenter", "mount"] {
        let found = std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .any(|d| Path::new(d).join(tool).exists());
        assert!(found, "{tool} is needed");
    }
}
