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

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root for PID and mount namespaces (CI runs as root)");
            return;
        }
    };
}

struct Pid1 {
    dir: PathBuf,
    child: Child,
    /// The host pid of the namespace's PID 1.
    init: i32,
}

fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "dinit-rs-pid1-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("sd")).unwrap();
    std::fs::create_dir_all(d.join("ovl")).unwrap();
    d
}

/// Host pids whose parent is `ppid`, with their state letter.
fn children_of(ppid: i32) -> Vec<(i32, char)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let parent: i32 = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if parent == ppid {
            out.push((pid, state));
        }
    }
    out
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > timeout {
            eprintln!("timed out waiting for {what}");
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

impl Pid1 {
    /// Writes the services (`{dir}` becomes the test directory) and boots `dinit` as PID 1
    /// with `args`, `stdin` as its console input.
    fn boot(services: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Pid1 {
        let dir = temp_dir();
        let d = dir.to_str().unwrap();
        for (name, text) in services {
            std::fs::write(dir.join("sd").join(name), text.replace("{dir}", d)).unwrap();
        }
        std::fs::write(
            dir.join("hook"),
            format!("#!/bin/sh\necho \"$1\" >> {d}/hook.out\nexit 0\n"),
        )
        .unwrap();
        let dinit = env!("CARGO_BIN_EXE_dinit");
        let script = format!(
            "set -e\n\
             mount -t tmpfs tmpfs {d}/ovl\n\
             mkdir {d}/ovl/u {d}/ovl/w\n\
             mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/ovl/u,workdir={d}/ovl/w /etc\n\
             mkdir -p /etc/dinit\n\
             cp {d}/hook /etc/dinit/shutdown-hook\n\
             chmod 755 /etc/dinit/shutdown-hook\n\
             mount -t tmpfs tmpfs /run\n\
             exec {dinit} -d {d}/sd {args}\n",
            args = args.join(" ").replace("{dir}", d),
        );
        std::fs::write(dir.join("init.sh"), script).unwrap();
        let console = std::fs::File::create(dir.join("console")).unwrap();
        let mut child = Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--mount-proc",
                "--mount",
                "--propagation",
                "private",
            ])
            .arg("/bin/sh")
            .arg(dir.join("init.sh"))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(console.try_clone().unwrap())
            .stderr(console)
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        let unshare = i32::try_from(child.id()).unwrap();
        let mut init = 0;
        // A boot that fails and is answered at once may have ended before it is seen.
        let mut over = false;
        wait_until("the namespace's init", Duration::from_secs(20), || {
            init = children_of(unshare).first().map_or(0, |c| c.0);
            over = init == 0 && matches!(child.try_wait(), Ok(Some(_)));
            init != 0 || over
        });
        let p = Pid1 { dir, child, init };
        assert!(
            p.init != 0 || over,
            "no init process; console:\n{}",
            p.console()
        );
        if services.iter().any(|(_, text)| text.contains("{dir}/up")) {
            p.wait_file("up", "up");
        }
        p
    }

    fn console(&self) -> String {
        std::fs::read_to_string(self.dir.join("console")).unwrap_or_default()
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap_or_default()
    }

    fn wait_file(&self, rel: &str, content: &str) {
        let ok = wait_until(rel, Duration::from_secs(20), || {
            self.read(rel).contains(content)
        });
        assert!(
            ok,
            "{rel} never contained {content:?} (has {:?}); console:\n{}",
            self.read(rel),
            self.console()
        );
    }

    /// The control socket inside the namespace, reached through the init's root.
    fn socket(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root/run/dinitctl", self.init))
    }

    fn ctl(&self, args: &[&str]) -> (String, i32) {
        let out = Command::new(env!("CARGO_BIN_EXE_dinitctl"))
            .arg("-p")
            .arg(self.socket())
            .args(args)
            .output()
            .unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (text, out.status.code().unwrap_or(-1))
    }

    fn wait_socket(&self) {
        let ok = wait_until("the control socket", Duration::from_secs(20), || {
            std::os::unix::net::UnixStream::connect(self.socket()).is_ok()
        });
        assert!(ok, "no control socket; console:\n{}", self.console());
    }

    /// Runs a program inside the namespaces (as a process of the booted system would).
    fn run_inside(&self, program: &str, args: &[&str]) -> std::process::Output {
        Command::new("nsenter")
            .arg("-t")
            .arg(self.init.to_string())
            .args(["-m", "-p", "--"])
            .arg(program)
            .args(args)
            .output()
            .unwrap()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of our test's namespace init.
        unsafe { libc::kill(self.init, sig) };
    }

    /// Waits for the run to end; returns the signal that ended the namespace's init (as
    /// unshare reports it: killed by it, or exit status 128 + it), or the exit status.
    fn end(mut self) -> (Ended, Pid1Result) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("the system did not go down; console:\n{}", self.console());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let ended = match (status.signal(), status.code()) {
            (Some(s), _) => Ended::Signal(s),
            (None, Some(c)) if c > 128 => Ended::Signal(c - 128),
            (None, Some(c)) => Ended::Exit(c),
            _ => Ended::Exit(-1),
        };
        let result = Pid1Result {
            console: self.console(),
            hook: self.read("hook.out"),
            dir: self.dir.clone(),
        };
        self.init = 0;
        (ended, result)
    }
}

impl Drop for Pid1 {
    /// A failed test must not leave its namespace running: killing its init ends it all.
    fn drop(&mut self) {
        if self.init != 0 {
            // SAFETY: kill(2) on our namespace's init.
            unsafe { libc::kill(self.init, libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Signal(i32),
    Exit(i32),
}

/// What a finished run left behind.
struct Pid1Result {
    console: String,
    hook: String,
    dir: PathBuf,
}

impl Drop for Pid1Result {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Pid1Result {
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap_or_default()
    }
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
    let p = Pid1::boot(
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
    let reaped = wait_until(
        "the short orphan to be reaped",
        Duration::from_secs(20),
        || !short_orphan_left(&children_of(p.init)),
    );
    let kids = children_of(p.init);
    assert!(reaped, "zombies or the short orphan left: {kids:?}");
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
    let p = Pid1::boot(
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
    assert_eq!(p.ctl(&["start", "final"]).1, 0, "{}", p.console());
    let (out, code) = p.ctl(&["stop", "final"]);
    assert_eq!(code, 0, "{out}\nconsole:\n{}", p.console());
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
fn sigint_reboots() {
    require_root!();
    let p = Pid1::boot(&[("boot", BOOT), ("daemon", DAEMON)], &[], None);
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
    let p = Pid1::boot(&[("boot", BOOT), ("daemon", DAEMON)], &[], None);
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
    let p = Pid1::boot(&[("boot", BOOT), ("daemon", DAEMON)], &[], None);
    p.wait_socket();
    let (out, status) = p.ctl(&["shutdown"]);
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
    let p = Pid1::boot(&[("boot", BOOT), ("daemon", DAEMON)], &[], None);
    p.wait_socket();
    let out = p.run_inside(env!("CARGO_BIN_EXE_dinit-shutdown"), &["-r"]);
    let text = String::from_utf8_lossy(&out.stdout);
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
    let p = Pid1::boot(
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
    let out = p.run_inside(env!("CARGO_BIN_EXE_dinit-shutdown"), &["-s"]);
    assert!(out.status.success() || out.status.signal().is_some());
    p.wait_file("marks", "started\nstarted\n");
    p.wait_file("up", "up");
    p.wait_file("hook.out", "soft\n");
    // The same process (PID 1 of the namespace) runs the new daemon.
    assert!(children_of(p.init).iter().any(|(_, s)| *s != 'Z'));
    p.wait_socket();
    let (out, status) = p.ctl(&["list"]);
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
    let p = Pid1::boot(
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
    let p = Pid1::boot(
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
    let p = Pid1::boot(&[("boot", BOOT), ("daemon", DAEMON)], &["-o"], None);
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
