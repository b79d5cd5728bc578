//! End-to-end boot scenarios: the image of qemu-images/ (a Debian kernel and an initramfs with
//! our static binaries, busybox and the services of distro/image/) booted under
//! `qemu-system-x86_64` with TCG, asserting on the serial console and on how QEMU ends.
//!
//! Each scenario boots its own machine. The kernel command line picks what happens in the guest:
//! `dinit_e2e=NAME` (the kernel passes it to init's environment, dinit to services) chooses the
//! branch of qemu-images/guest/e2e.sh that the `e2e` service runs once `boot` is up, and what
//! follows `--` are dinit's arguments (`-t boot -t e2e`, or `-r -t broken-boot`). The guest
//! prints `E2E: ...` markers; the host stamps every console line as it arrives and prints
//! timings. On a failure the tail of the console is printed.
//!
//! These tests boot virtual machines, so they are `#[ignore]`d: `just e2e` runs them (and builds
//! the image first; each test also runs the builder, a no-op when the image is up to date).
//! Environment: `DINIT_QEMU_OUT` (image folder), `DINIT_QEMU_NO_BUILD=1` (use the image as it
//! is), `DINIT_QEMU_TIMEOUT` (seconds per scenario, default 60). Each machine's console, with host
//! times, is kept in `target/qemu/logs/<scenario>.log`.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::{BufRead, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The services of the boot set (distro/image/boot and what it depends on or waits for).
const BOOT_SET: &[&str] = &["boot", "early-fs", "hostname", "syslog", "getty", "ticker"];

/// Dependent before dependency: the order in which a roll-back must stop them. Only the hard
/// dependencies (`depends-on`) order a stop; as in Dinit, a service that is only waited for
/// (`waits-for`: hostname, syslog, getty and ticker for boot) may stop before its dependent.
const STOP_ORDER: &[(&str, &str)] = &[
    ("e2e", "boot"),
    ("boot", "early-fs"),
    ("syslog", "early-fs"),
    ("getty", "early-fs"),
    ("ticker", "early-fs"),
];

/// The arguments that start the boot set and the scenario driver.
const WITH_DRIVER: &[&str] = &["-t", "boot", "-t", "e2e"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn image_dir() -> PathBuf {
    std::env::var_os("DINIT_QEMU_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/qemu"))
}

/// Builds the image once per test binary (the builder itself skips an up-to-date image).
fn ensure_image() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let result = BUILT.get_or_init(|| {
        if Command::new("qemu-system-x86_64")
            .arg("--version")
            .output()
            .is_err()
        {
            return Err("qemu-system-x86_64 not found (apt-get install qemu-system-x86)".into());
        }
        if std::env::var_os("DINIT_QEMU_NO_BUILD").is_some() {
            return Ok(());
        }
        let out = Command::new("bash")
            .arg(workspace().join("qemu-images/build.sh"))
            .env("DINIT_QEMU_OUT", image_dir())
            .output()
            .map_err(|e| format!("running qemu-images/build.sh: {e}"))?;
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("qemu-images/build.sh failed ({})", out.status))
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn scenario_timeout() -> Duration {
    let secs = std::env::var("DINIT_QEMU_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// A console line and when the host read it.
#[derive(Clone, Debug)]
struct Line {
    at: Instant,
    text: String,
}

#[derive(Default)]
struct ConsoleState {
    lines: Vec<Line>,
    /// When QEMU closed its output (it exited).
    closed: Option<Instant>,
}

type Console = Arc<(Mutex<ConsoleState>, Condvar)>;

/// Drops terminal control sequences (SeaBIOS clears the screen) and carriage returns.
fn clean(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    // Parameters, then one final letter.
                    while let Some(&p) = chars.peek() {
                        chars.next();
                        if p.is_ascii_alphabetic() {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Reads `source` line by line into the console, stamping each line.
fn pump(source: impl Read, console: Console, prefix: &'static str, closes: bool) {
    let mut reader = std::io::BufReader::new(source);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = Line {
                    at: Instant::now(),
                    text: format!("{prefix}{}", clean(buf.strip_suffix(b"\n").unwrap_or(&buf))),
                };
                let (state, cond) = &*console;
                state.lock().unwrap().lines.push(line);
                cond.notify_all();
            }
        }
    }
    if closes {
        let (state, cond) = &*console;
        state.lock().unwrap().closed = Some(Instant::now());
        cond.notify_all();
    }
}

/// A booted virtual machine.
struct Machine {
    scenario: String,
    child: Child,
    started: Instant,
    deadline: Instant,
    console: Console,
    dir: PathBuf,
}

impl Machine {
    /// Boots the image with `dinit_e2e=<scenario>` and `init_args` for dinit.
    fn boot(scenario: &str, init_args: &[&str]) -> Machine {
        ensure_image();
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dinit-rs-qemu-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut args = vec![format!("dinit_e2e={scenario}")];
        if !init_args.is_empty() {
            args.push("--".into());
            args.extend(init_args.iter().map(|a| a.to_string()));
        }
        eprintln!("qemu[{scenario}]: booting with {}", args.join(" "));
        let started = Instant::now();
        let mut child = Command::new("bash")
            .arg(workspace().join("qemu-images/run.sh"))
            .args(&args)
            .env("DINIT_QEMU_OUT", image_dir())
            .env("DINIT_QEMU_MONITOR", dir.join("monitor"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting qemu-images/run.sh");
        let console: Console = Arc::default();
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let c = console.clone();
        std::thread::spawn(move || pump(out, c, "", true));
        let c = console.clone();
        std::thread::spawn(move || pump(err, c, "qemu stderr: ", false));
        Machine {
            scenario: scenario.into(),
            child,
            started,
            deadline: started + scenario_timeout(),
            console,
            dir,
        }
    }

    fn lines(&self) -> Vec<Line> {
        // (Also called while a failed test unwinds: a poisoned lock still holds the lines.)
        let state = self.console.0.lock().unwrap_or_else(|e| e.into_inner());
        state.lines.clone()
    }

    /// Seconds from QEMU's start to `at`.
    fn secs(&self, at: Instant) -> f64 {
        at.duration_since(self.started).as_secs_f64()
    }

    /// Fails the test, printing the tail of the console with host times.
    fn fail(&self, why: &str) -> ! {
        let lines = self.lines();
        let tail: Vec<String> = lines
            .iter()
            .skip(lines.len().saturating_sub(60))
            .map(|l| format!("  {:7.2} | {}", self.secs(l.at), l.text))
            .collect();
        panic!(
            "qemu[{}]: {why}\n--- the last {} console lines (seconds since QEMU started) ---\n{}",
            self.scenario,
            tail.len(),
            tail.join("\n")
        );
    }

    /// Waits for a console line at or after line `from` that contains `needle`; returns its
    /// index.
    fn wait_for_from(&self, from: usize, needle: &str) -> usize {
        let (state, cond) = &*self.console;
        let mut s = state.lock().unwrap();
        loop {
            if let Some(i) = s
                .lines
                .iter()
                .skip(from)
                .position(|l| l.text.contains(needle))
            {
                return from + i;
            }
            if s.closed.is_some() {
                drop(s);
                self.fail(&format!("QEMU exited before the console showed {needle:?}"));
            }
            let now = Instant::now();
            if now >= self.deadline {
                drop(s);
                self.fail(&format!("timed out waiting for {needle:?}"));
            }
            s = cond.wait_timeout(s, self.deadline - now).unwrap().0;
        }
    }

    fn wait_for(&self, needle: &str) -> usize {
        self.wait_for_from(0, needle)
    }

    fn line(&self, index: usize) -> Line {
        self.lines().swap_remove(index)
    }

    /// The index of the first line at or after `from` containing `needle`, if any yet.
    fn find_from(&self, from: usize, needle: &str) -> Option<usize> {
        self.lines()
            .iter()
            .skip(from)
            .position(|l| l.text.contains(needle))
            .map(|i| from + i)
    }

    /// Waits for QEMU to exit; returns its status and when its output closed.
    fn wait_exit(&mut self) -> (ExitStatus, Instant) {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader sees the end of the output at about the same time.
                let (state, cond) = &*self.console;
                let s = state.lock().unwrap();
                let (s, _) = cond
                    .wait_timeout_while(s, Duration::from_secs(2), |s| s.closed.is_none())
                    .unwrap();
                return (status, s.closed.unwrap_or_else(Instant::now));
            }
            if Instant::now() >= self.deadline {
                self.fail("timed out waiting for QEMU to exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a command to the QEMU monitor and returns its answer.
    fn monitor(&self, command: &str) -> String {
        let path = self.dir.join("monitor");
        let mut stream = loop {
            match UnixStream::connect(&path) {
                Ok(s) => break s,
                Err(_) if Instant::now() < self.deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => self.fail(&format!("cannot reach the QEMU monitor: {e}")),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let read_prompt = |stream: &mut UnixStream| {
            let mut text = Vec::new();
            let mut buf = [0u8; 512];
            while !String::from_utf8_lossy(&text).contains("(qemu)") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => text.extend_from_slice(&buf[..n]),
                }
            }
            clean(&text)
        };
        read_prompt(&mut stream);
        stream.write_all(format!("{command}\n").as_bytes()).unwrap();
        read_prompt(&mut stream)
    }

    /// The `dinitctl list` output printed between the guest's markers (the first such block at
    /// or after line `from`): (state column, name) per service.
    fn list(&self, from: usize) -> Vec<Listed> {
        let begin = self.wait_for_from(from, "E2E: list begin");
        let end = self.wait_for_from(begin, "E2E: list end");
        self.lines()[begin + 1..end]
            .iter()
            .filter_map(|l| parse_list_line(&l.text))
            .collect()
    }

    /// Asserts that the list at or after `from` shows exactly `expected`, all STARTED.
    fn assert_all_started(&self, from: usize, expected: &[&str]) {
        let list = self.list(from);
        let names: BTreeSet<&str> = list.iter().map(|l| l.name.as_str()).collect();
        let want: BTreeSet<&str> = expected.iter().copied().collect();
        if names != want {
            self.fail(&format!("dinitctl list shows {names:?}, expected {want:?}"));
        }
        if let Some(l) = list.iter().find(|l| !l.started()) {
            self.fail(&format!("service {} is not STARTED: [{}]", l.name, l.field));
        }
    }

    /// The names in "[STOPPD] name" lines from line `from` up to line `until`, in order.
    fn stops(&self, from: usize, until: usize) -> Vec<String> {
        self.lines()
            .iter()
            .take(until)
            .skip(from)
            .filter_map(|l| {
                let i = l.text.find("[STOPPD] ")?;
                Some(l.text[i + 9..].trim().to_string())
            })
            .collect()
    }

    /// Asserts that every service of the boot set stopped between lines `from` and `until`,
    /// dependents first.
    fn assert_stop_order(&self, from: usize, until: usize) {
        let stops = self.stops(from, until);
        for name in BOOT_SET {
            if !stops.iter().any(|s| s == name) {
                self.fail(&format!(
                    "{name} was not reported stopped; stops seen: {stops:?}"
                ));
            }
        }
        for (dependent, dependency) in STOP_ORDER {
            let a = stops.iter().position(|s| s == dependent);
            let b = stops.iter().position(|s| s == dependency);
            if let (Some(a), Some(b)) = (a, b) {
                if a > b {
                    self.fail(&format!(
                        "{dependency} stopped before its dependent {dependent}: {stops:?}"
                    ));
                }
            }
        }
    }

    /// Asserts that dinit-shutdown went through unmounting the file systems between lines
    /// `from` and `until` without reporting a failure to make the root read-only.
    fn assert_unmounted(&self, from: usize, until: usize) {
        let lines = self.lines();
        let window = &lines[from..until];
        if !window
            .iter()
            .any(|l| l.text.contains("Unmounting file systems..."))
        {
            self.fail("dinit-shutdown did not unmount the file systems");
        }
        if let Some(l) = window.iter().find(|l| l.text.contains("cannot remount")) {
            self.fail(&format!("file systems left writable: {}", l.text));
        }
    }

    /// Prints boot timings: QEMU start to the kernel's first line, to init, to `boot` started.
    fn report_boot(&self) {
        let lines = self.lines();
        let at = |needle: &str| lines.iter().find(|l| l.text.contains(needle)).map(|l| l.at);
        let (Some(kernel), Some(booted)) = (at("Linux version"), at("[  OK  ] boot")) else {
            return;
        };
        let init = at("Run /sbin/init").unwrap_or(kernel);
        eprintln!(
            "qemu[{}]: timings: QEMU start -> kernel {:.2} s -> init {:.2} s -> boot started {:.2} s (kernel start to all services started: {:.2} s)",
            self.scenario,
            self.secs(kernel),
            self.secs(init),
            self.secs(booted),
            booted.duration_since(kernel).as_secs_f64()
        );
    }

    /// Prints the time from a request (line `request`) to line `end` and to QEMU's exit.
    fn report_shutdown(&self, what: &str, request: Instant, end: Instant, exit: Option<Instant>) {
        let exit = exit
            .map(|e| {
                format!(
                    ", QEMU exited after {:.2} s",
                    e.duration_since(request).as_secs_f64()
                )
            })
            .unwrap_or_default();
        eprintln!(
            "qemu[{}]: timings: {what} {:.2} s after the request{exit}",
            self.scenario,
            end.duration_since(request).as_secs_f64()
        );
    }

    /// A shutdown that ends QEMU: waits for the guest's request, the kernel's `last_line`, QEMU's
    /// clean exit; checks the stop order and prints timings.
    fn expect_shutdown(&mut self, last_line: &str) {
        let request = self.wait_for("E2E: shutdown requested");
        let end = self.wait_for_from(request, last_line);
        self.assert_stop_order(request, end);
        self.assert_unmounted(request, end);
        let (status, closed) = self.wait_exit();
        if !status.success() {
            self.fail(&format!("QEMU exited with {status}"));
        }
        self.report_boot();
        let req = self.line(request).at;
        self.report_shutdown(last_line, req, self.line(end).at, Some(closed));
    }
}

impl Drop for Machine {
    /// Stops QEMU if it still runs and keeps the console in target/qemu/logs/<scenario>.log.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let text: String = self
            .lines()
            .iter()
            .map(|l| format!("{:7.2} | {}\n", self.secs(l.at), l.text))
            .collect();
        let logs = image_dir().join("logs");
        if std::fs::create_dir_all(&logs).is_ok() {
            let _ = std::fs::write(logs.join(format!("{}.log", self.scenario)), text);
        }
    }
}

/// One service in `dinitctl list`: the bracketed state field and the name.
#[derive(Debug, PartialEq)]
struct Listed {
    /// The 8 characters inside the brackets, e.g. "{+}     " or "     {X}".
    field: String,
    name: String,
}

impl Listed {
    fn started(&self) -> bool {
        self.field.as_bytes().get(1) == Some(&b'+')
    }
    fn failed(&self) -> bool {
        self.field.contains('X')
    }
}

/// Parses one `dinitctl list` line, "[{+}     ] name (pid: N)"; the line may carry other console
/// output (a shell prompt) before it.
fn parse_list_line(text: &str) -> Option<Listed> {
    let bytes = text.as_bytes();
    let start = (0..bytes.len()).find(|&i| {
        bytes[i] == b'[' && bytes.get(i + 9) == Some(&b']') && bytes.get(i + 10) == Some(&b' ')
    })?;
    let field = text.get(start + 1..start + 9)?.to_string();
    let rest = text.get(start + 11..)?;
    let name = rest.split(" (").next().unwrap_or(rest).trim().to_string();
    Some(Listed { field, name })
}

// --- the scenarios ----------------------------------------------------------------------------

/// Scenario 1, boot: every service of the boot set reaches STARTED.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn boot_starts_every_service() {
    let m = Machine::boot("boot", WITH_DRIVER);
    m.wait_for("E2E: done");
    let mut expected = BOOT_SET.to_vec();
    expected.push("e2e");
    m.assert_all_started(0, &expected);
    if let Some(i) = m.find_from(0, "[FAILED]") {
        m.fail(&format!("a service failed: {}", m.line(i).text));
    }
    m.report_boot();
}

/// Scenario 2, supervision: a killed service is restarted with a new pid; a service that keeps
/// crashing hits its restart limit and is left stopped, reported as failed.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn supervision_restarts_and_limits() {
    let m = Machine::boot("supervision", WITH_DRIVER);
    m.wait_for("E2E: done");
    let pids = m.line(m.wait_for("E2E: ticker pid ")).text;
    let (old, new) = pids
        .rsplit_once("ticker pid ")
        .and_then(|(_, p)| p.split_once(" -> "))
        .unwrap_or(("", ""));
    if old.trim().is_empty() || new.trim().is_empty() || old.trim() == new.trim() {
        m.fail(&format!("the killed ticker was not restarted: {pids:?}"));
    }
    if m.find_from(0, "service crasher restarting too quickly; stopping")
        .is_none()
    {
        m.fail("the crasher did not hit its restart limit");
    }
    let begin = m.wait_for("E2E: crasher status begin");
    let end = m.wait_for_from(begin, "E2E: crasher status end");
    let status: Vec<String> = m.lines()[begin + 1..end]
        .iter()
        .map(|l| l.text.clone())
        .collect();
    if !status.iter().any(|l| l.contains("State: STOPPED")) {
        m.fail(&format!("crasher is not stopped: {status:?}"));
    }
    let list = m.list(end);
    match list.iter().find(|l| l.name == "crasher") {
        Some(l) if l.failed() => {}
        Some(l) => m.fail(&format!(
            "dinitctl list does not show crasher failed: [{}]",
            l.field
        )),
        None => m.fail("crasher is missing from dinitctl list"),
    }
    m.report_boot();
}

/// Scenario 3, `poweroff`: services stop in reverse dependency order, the file systems are
/// unmounted, the kernel powers down, QEMU exits.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn poweroff_stops_services_and_powers_down() {
    let mut m = Machine::boot("poweroff", WITH_DRIVER);
    m.expect_shutdown("reboot: Power down");
}

/// Scenario 3 with `shutdown -p`.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn shutdown_p_powers_down() {
    let mut m = Machine::boot("shutdown-p", WITH_DRIVER);
    m.expect_shutdown("reboot: Power down");
}

/// Scenario 4, `reboot`: the kernel restarts the machine (with -no-reboot, QEMU exits).
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn reboot_restarts_the_machine() {
    let mut m = Machine::boot("reboot", WITH_DRIVER);
    m.expect_shutdown("reboot: Restarting system");
}

/// Scenario 4 with `shutdown -r`.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn shutdown_r_restarts_the_machine() {
    let mut m = Machine::boot("shutdown-r", WITH_DRIVER);
    m.expect_shutdown("reboot: Restarting system");
}

/// Scenario 5, Ctrl-Alt-Del through the QEMU monitor: the kernel signals dinit (SIGINT), which
/// rolls the services back and reboots.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn ctrl_alt_del_reboots_cleanly() {
    let mut m = Machine::boot("ctrl-alt-del", WITH_DRIVER);
    let ready = m.wait_for("E2E: ready for ctrl-alt-del");
    let sent = Instant::now();
    m.monitor("sendkey ctrl-alt-delete");
    let end = m.wait_for_from(ready, "reboot: Restarting system");
    m.assert_stop_order(ready, end);
    m.assert_unmounted(ready, end);
    let (status, closed) = m.wait_exit();
    if !status.success() {
        m.fail(&format!("QEMU exited with {status}"));
    }
    m.report_boot();
    m.report_shutdown(
        "reboot: Restarting system",
        sent,
        m.line(end).at,
        Some(closed),
    );
}

/// Scenario 6, soft reboot (`shutdown -s`): the services stop and start again under a new dinit
/// without a kernel reboot; then halt (`dinitctl shutdown`): the kernel halts and QEMU stays up
/// until the test stops it.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn soft_reboot_then_halt() {
    let m = Machine::boot("soft-reboot-halt", WITH_DRIVER);
    let soft = m.wait_for("E2E: shutdown requested: /sbin/shutdown -s");
    let again = m.wait_for_from(soft, "E2E: soft reboot done");
    if let Some(i) = m.find_from(soft, "Linux version") {
        m.fail(&format!("the kernel restarted: {}", m.line(i).text));
    }
    let rebooted = m.wait_for_from(soft, "[  OK  ] boot");
    let mut expected = BOOT_SET.to_vec();
    expected.push("e2e");
    m.assert_all_started(again, &expected);
    let before = m.line(m.wait_for("E2E: ticker pid before: ")).text;
    let after = m
        .line(m.wait_for_from(soft, "E2E: ticker pid after: "))
        .text;
    let pid = |l: &str| l.rsplit(": ").next().unwrap_or("").trim().to_string();
    if pid(&before).is_empty() || pid(&before) == pid(&after) {
        m.fail(&format!(
            "the ticker did not start again: {before:?} / {after:?}"
        ));
    }
    let halt = m.wait_for_from(again, "E2E: shutdown requested: dinitctl shutdown");
    let halted = m.wait_for_from(halt, "reboot: System halted");
    m.assert_stop_order(halt, halted);
    // A halted machine stays up: QEMU must still be running.
    std::thread::sleep(Duration::from_millis(300));
    let mut m = m;
    if let Some(status) = m.child.try_wait().unwrap() {
        m.fail(&format!("QEMU exited ({status}) after a halt"));
    }
    m.report_boot();
    m.report_shutdown(
        "boot started again (soft reboot)",
        m.line(soft).at,
        m.line(rebooted).at,
        None,
    );
    m.report_shutdown(
        "reboot: System halted",
        m.line(halt).at,
        m.line(halted).at,
        None,
    );
}

/// Scenario 7, boot failure: the boot service cannot start, and with `-r` dinit starts
/// `recovery`.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn boot_failure_starts_recovery() {
    let mut m = Machine::boot("recovery", &["-r", "-t", "broken-boot"]);
    let failed = m.wait_for("[FAILED] broken");
    let reached = m.wait_for_from(failed, "E2E: recovery reached");
    let list = m.list(reached);
    if !list.iter().any(|l| l.name == "recovery" && l.started()) {
        m.fail(&format!("recovery is not in dinitctl list: {list:?}"));
    }
    let request = m.wait_for_from(reached, "E2E: shutdown requested");
    let end = m.wait_for_from(request, "reboot: Power down");
    let (status, closed) = m.wait_exit();
    if !status.success() {
        m.fail(&format!("QEMU exited with {status}"));
    }
    eprintln!(
        "qemu[recovery]: timings: recovery reached {:.2} s after QEMU start",
        m.secs(m.line(reached).at)
    );
    m.report_shutdown(
        "reboot: Power down",
        m.line(request).at,
        m.line(end).at,
        Some(closed),
    );
}

// --- checks that need no virtual machine ------------------------------------------------------

/// The image's service set loads cleanly, every service of it.
#[test]
fn image_services_pass_dinit_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_dinit-check"))
        .arg("-d")
        .arg(workspace().join("distro/image"))
        .args(["boot", "e2e", "crasher", "recovery", "broken-boot"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("No problems found."),
        "dinit-check: {}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shell scripts of the image parse.
#[test]
fn image_scripts_parse() {
    let root = workspace();
    let mut scripts = vec![root.join("qemu-images/guest/e2e.sh")];
    for entry in std::fs::read_dir(root.join("distro/image/scripts")).unwrap() {
        scripts.push(entry.unwrap().path());
    }
    for script in scripts {
        let out = Command::new("sh").arg("-n").arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn list_lines_parse() {
    let l = parse_list_line("[{+}     ] syslog (pid: 87)").unwrap();
    assert_eq!(
        (l.name.as_str(), l.started(), l.failed()),
        ("syslog", true, false)
    );
    let l = parse_list_line("dinit-rs:~# [[+]     ] boot").unwrap();
    assert_eq!((l.name.as_str(), l.started()), ("boot", true));
    let l = parse_list_line("[     {X}] crasher (exit status: 1)").unwrap();
    assert_eq!(
        (l.name.as_str(), l.started(), l.failed()),
        ("crasher", false, true)
    );
    assert_eq!(parse_list_line("E2E: list end"), None);
}
