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
//! is), `DINIT_QEMU_TIMEOUT` (seconds per scenario, default 60, 180 on another machine than
//! x86-64). Each machine's console, with host times, is kept in `target/qemu/logs/<scenario>.log`.
//!
//! `DINIT_QEMU_ARCH=aarch64` (or `armv7`, `riscv64`; qemu-images/arch.sh) runs the same scenarios
//! on QEMU's `virt` machine of that architecture, with the image build.sh makes for it in
//! `target/qemu-ARCH` (`just e2e-arch ARCH`). Ctrl-Alt-Del (the PC's keyboard) and the images
//! with the reference Dinit are x86-64 only.
//!
//! The last scenario, `debian_boots_to_a_login_prompt_and_powers_off` (`just e2e-debian`), boots
//! something else: a debootstrapped Debian 12 with our .debs installed, from a disk
//! (qemu-images/debian.sh, in `target/qemu-debian`, `DINIT_DEBIAN_OUT`), logs in on the serial
//! console and powers off; its timeout is 180 s. It needs root, debootstrap and cargo-deb. See
//! qemu-images/README.md, "The Debian image".

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "qemu/boot_bench.rs"]
mod boot_bench;
mod harness;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
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

/// The machine the scenarios boot: `DINIT_QEMU_ARCH`, by the names of qemu-images/arch.sh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arch {
    X86_64,
    Aarch64,
    Armv7,
    Riscv64,
}

impl Arch {
    fn get() -> Arch {
        match std::env::var("DINIT_QEMU_ARCH").as_deref() {
            Err(_) | Ok("" | "x86_64" | "amd64") => Arch::X86_64,
            Ok("aarch64" | "arm64") => Arch::Aarch64,
            Ok("armv7" | "armhf") => Arch::Armv7,
            Ok("riscv64") => Arch::Riscv64,
            Ok(other) => {
                panic!("DINIT_QEMU_ARCH: no machine {other:?} (x86_64, aarch64, armv7, riscv64)")
            }
        }
    }

    /// What `uname -m` says in the guest.
    fn uname(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Armv7 => "armv7l",
            Arch::Riscv64 => "riscv64",
        }
    }

    /// The serial console (qemu-images/arch.sh), where the getty service must give a shell.
    fn tty(self) -> &'static str {
        match self {
            Arch::X86_64 | Arch::Riscv64 => "/dev/ttyS0",
            Arch::Aarch64 | Arch::Armv7 => "/dev/ttyAMA0",
        }
    }

    /// Whether the kernel powers the machine off when asked to halt it: Linux on RISC-V does
    /// (arch/riscv/kernel/reset.c: `machine_halt` calls `do_kernel_power_off`); on a PC and on
    /// ARM the machine stays up, halted.
    fn halt_powers_off(self) -> bool {
        self == Arch::Riscv64
    }

    /// The canonical name (build.sh's and run.sh's `DINIT_QEMU_ARCH`).
    fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Armv7 => "armv7",
            Arch::Riscv64 => "riscv64",
        }
    }

    /// The QEMU program that runs the machine, and the Debian package that has it.
    fn qemu(self) -> (&'static str, &'static str) {
        match self {
            Arch::X86_64 => ("qemu-system-x86_64", "qemu-system-x86"),
            Arch::Aarch64 => ("qemu-system-aarch64", "qemu-system-arm"),
            Arch::Armv7 => ("qemu-system-arm", "qemu-system-arm"),
            Arch::Riscv64 => ("qemu-system-riscv64", "qemu-system-misc"),
        }
    }
}

/// Fails the test unless the machine is a PC: `what` needs it.
fn require_x86_64(what: &str) {
    let arch = Arch::get();
    assert!(
        arch == Arch::X86_64,
        "{what}: x86-64 only, not {}",
        arch.name()
    );
}

fn image_dir() -> PathBuf {
    std::env::var_os("DINIT_QEMU_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| match Arch::get() {
            Arch::X86_64 => workspace().join("target/qemu"),
            arch => workspace().join(format!("target/qemu-{}", arch.name())),
        })
}

/// Builds the image once per test binary (the builder itself skips an up-to-date image).
fn ensure_image() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let result = BUILT.get_or_init(|| {
        let (qemu, package) = Arch::get().qemu();
        if Command::new(qemu).arg("--version").output().is_err() {
            return Err(format!("{qemu} not found (apt-get install {package})"));
        }
        if std::env::var_os("DINIT_QEMU_NO_BUILD").is_some() {
            return Ok(());
        }
        let out = Command::new("bash")
            .arg(workspace().join("qemu-images/build.sh"))
            .env("DINIT_QEMU_ARCH", Arch::get().name())
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
    // An ARM or RISC-V guest is emulated instruction by instruction too, but its kernel does more
    // before init under TCG (armhf's zImage decompresses itself): a wider margin.
    let default = if Arch::get() == Arch::X86_64 { 60 } else { 180 };
    let secs = std::env::var("DINIT_QEMU_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
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
    /// The console's last line while it has no newline yet (a prompt such as "login: ").
    partial: String,
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

/// Reads `source` into the console, stamping each line as it is completed. The console itself
/// (`closes`: QEMU's standard output) also publishes its unfinished last line, for prompts.
fn pump(mut source: impl Read, console: Console, prefix: &'static str, closes: bool) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        let at = Instant::now();
        let (state, cond) = &*console;
        let mut s = state.lock().unwrap();
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let text = format!("{prefix}{}", clean(&line[..end]));
            s.lines.push(Line { at, text });
        }
        if closes {
            s.partial = clean(&pending);
        }
        cond.notify_all();
    }
    let (state, cond) = &*console;
    let mut s = state.lock().unwrap();
    if !pending.is_empty() {
        let text = format!("{prefix}{}", clean(&pending));
        s.lines.push(Line {
            at: Instant::now(),
            text,
        });
    }
    if closes {
        s.partial.clear();
        s.closed = Some(Instant::now());
    }
    cond.notify_all();
}

/// A booted virtual machine.
struct Machine {
    scenario: String,
    child: Child,
    started: Instant,
    deadline: Instant,
    console: Console,
    dir: PathBuf,
    /// Where the console is kept when the machine is dropped.
    logs: PathBuf,
    /// The serial console's input (the Debian machine is logged into; the others read nothing).
    input: Option<ChildStdin>,
}

impl Machine {
    /// Boots the image with `dinit_e2e=<scenario>` and `init_args` for dinit.
    fn boot(scenario: &str, init_args: &[&str]) -> Machine {
        ensure_image();
        Machine::boot_image(&image_dir(), scenario, scenario, init_args, None)
    }

    /// Boots the image in folder `image` (qemu-images/run.sh) with `dinit_e2e=<scenario>` and
    /// `init_args` for its init; `icount` runs the guest's clock on emulated instructions
    /// (run.sh's `DINIT_QEMU_ICOUNT`). The console is kept as `<image>/logs/<label>.log`.
    fn boot_image(
        image: &Path,
        label: &str,
        scenario: &str,
        init_args: &[&str],
        icount: Option<u32>,
    ) -> Machine {
        let dir = harness::fresh_dir("qemu");
        let mut args = vec![format!("dinit_e2e={scenario}")];
        if !init_args.is_empty() {
            args.push("--".into());
            args.extend(init_args.iter().map(|a| a.to_string()));
        }
        eprintln!("qemu[{label}]: booting with {}", args.join(" "));
        let mut run = Command::new("bash");
        run.arg(workspace().join("qemu-images/run.sh"))
            .args(&args)
            .env("DINIT_QEMU_ARCH", Arch::get().name())
            .env("DINIT_QEMU_OUT", image)
            .env("DINIT_QEMU_MONITOR", dir.join("monitor"))
            .env_remove("DINIT_QEMU_ICOUNT")
            .stdin(Stdio::null());
        if let Some(shift) = icount {
            run.env("DINIT_QEMU_ICOUNT", shift.to_string());
        }
        Machine::start(label, run, dir, image.join("logs"), scenario_timeout())
    }

    /// Starts `run` (a run script: QEMU with the serial console on its standard output) and
    /// reads its console.
    fn start(
        scenario: &str,
        mut run: Command,
        dir: PathBuf,
        logs: PathBuf,
        timeout: Duration,
    ) -> Machine {
        let started = Instant::now();
        let mut child = run
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the QEMU run script");
        let console: Console = Arc::default();
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let c = console.clone();
        std::thread::spawn(move || pump(out, c, "", true));
        let c = console.clone();
        std::thread::spawn(move || pump(err, c, "qemu stderr: ", false));
        let input = child.stdin.take();
        Machine {
            scenario: scenario.into(),
            child,
            started,
            deadline: started + timeout,
            console,
            dir,
            logs,
            input,
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
    /// Stops QEMU if it still runs and keeps the console in `<logs>/<scenario>.log`
    /// (target/qemu/logs, target/qemu-debian/logs).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let text: String = self
            .lines()
            .iter()
            .map(|l| format!("{:7.2} | {}\n", self.secs(l.at), l.text))
            .collect();
        if std::fs::create_dir_all(&self.logs).is_ok() {
            let _ = std::fs::write(self.logs.join(format!("{}.log", self.scenario)), text);
        }
    }
}

/// One service in `dinitctl list`: the bracketed state field and the name.
#[derive(Debug, PartialEq)]
struct Listed {
    /// The 8 characters inside the brackets, e.g. "{+}     " or "     {X}".
    field: String,
    name: String,
    /// The process id, for a running process service ("(pid: N)").
    pid: Option<u32>,
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
    let pid = rest
        .split_once("(pid: ")
        .and_then(|(_, p)| p.split(')').next()?.trim().parse().ok());
    Some(Listed { field, name, pid })
}

// --- the scenarios ----------------------------------------------------------------------------

/// Scenario 1, boot: every service of the boot set reaches STARTED.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn boot_starts_every_service() {
    let m = Machine::boot("boot", WITH_DRIVER);
    m.wait_for("E2E: done");
    // As Dinit, process 1 turned the kernel's non-critical console output off: the console
    // level is the minimum (1), not the kernel's default (7).
    let level = m.line(m.wait_for("E2E: console log level: ")).text;
    assert!(
        level.ends_with("console log level: 1"),
        "console output not turned off: {level}"
    );
    // The machine is the one asked for (DINIT_QEMU_ARCH), and our programs run on it.
    let machine = m.line(m.wait_for("E2E: machine: ")).text;
    let want = format!("E2E: machine: {}", Arch::get().uname());
    if !machine.ends_with(&want) {
        m.fail(&format!("expected {want:?}, the guest says {machine:?}"));
    }
    // The shell of the getty service is on this machine's serial console.
    let getty = m.line(m.wait_for("E2E: getty on: ")).text;
    let want = format!("E2E: getty on: {}", Arch::get().tty());
    if !getty.ends_with(&want) {
        m.fail(&format!("expected {want:?}, the guest says {getty:?}"));
    }
    // Until the system log was up, process 1's messages went to the kernel's log: `dmesg`
    // in the guest shows services of the boot set started (those after early-fs, which
    // mounts /dev, and up to syslog, which takes the main log over).
    let begin = m.wait_for("E2E: kernel log begin");
    let end = m.wait_for_from(begin, "E2E: kernel log end");
    let kernel_log: Vec<String> = m
        .lines()
        .into_iter()
        .skip(begin + 1)
        .take(end - begin - 1)
        .map(|l| l.text)
        .collect();
    let started = |name: &str| {
        kernel_log
            .iter()
            .any(|l| l.contains(&format!("dinit: service {name} started.")))
    };
    if !BOOT_SET.iter().any(|s| started(s)) {
        m.fail(&format!(
            "no service of the boot set started in the guest's kernel log: {kernel_log:?}"
        ));
    }
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
    if m.find_from(
        0,
        "dinit: Service crasher restarting too quickly; stopping.",
    )
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
    // (QEMU's ARM and RISC-V `virt` machines have no keyboard for `sendkey`.)
    require_x86_64("Ctrl-Alt-Del");
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
/// until the test stops it (on RISC-V the kernel powers the machine off instead, and QEMU exits).
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
    let mut m = m;
    if Arch::get().halt_powers_off() {
        // Linux on RISC-V turns a halt into a power-off: QEMU exits by itself, cleanly.
        let (status, _) = m.wait_exit();
        if !status.success() {
            m.fail(&format!("QEMU exited with {status} after a halt"));
        }
    } else {
        // A halted machine stays up: QEMU must still be running. (The pause proves that
        // something does not happen: on a loaded machine it may prove less, never fail wrongly.)
        std::thread::sleep(Duration::from_millis(300));
        if let Some(status) = m.child.try_wait().unwrap() {
            m.fail(&format!("QEMU exited ({status}) after a halt"));
        }
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

// --- the boot benchmark's images (tests/qemu/boot_bench.rs) ----------------------------------

/// The benchmark's scenario on our image: boot set started, services stopped in order,
/// power-down, and every figure readable (no time asserted).
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn bench_scenario_runs_on_our_image() {
    require_x86_64("the boot benchmark");
    boot_bench::check(boot_bench::Init::Ours);
}

/// The same image with the reference Dinit as process 1 (qemu-images/reference.sh dynamic:
/// Dinit's own binaries and shared libraries) boots the same service set to all started and
/// powers off cleanly, so that `just bench-boot` cannot rot unnoticed.
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn reference_dinit_boots_and_powers_off() {
    require_x86_64("the reference Dinit's image");
    boot_bench::check(boot_bench::Init::Dinit);
}

/// As above, with Dinit linked statically (qemu-images/reference.sh static).
#[test]
#[ignore = "boots a QEMU machine: run with `just e2e`"]
fn reference_dinit_static_boots_and_powers_off() {
    require_x86_64("the reference Dinit's image");
    boot_bench::check(boot_bench::Init::DinitStatic);
}

/// The benchmark itself (`just bench-boot N`): `DINIT_BENCH_BOOT_N` boots of each image
/// (default 3) in each mode of `DINIT_BENCH_BOOT_MODES` (default `tcg,icount`), interleaved;
/// prints the tables. Asserts no time. Not part of `just e2e`.
#[test]
#[ignore = "the boot benchmark: run with `just bench-boot`"]
fn bench_boot_side_by_side() {
    require_x86_64("the boot benchmark");
    let n = std::env::var("DINIT_BENCH_BOOT_N")
        .ok()
        .map(|s| s.parse().expect("DINIT_BENCH_BOOT_N: a number"))
        .unwrap_or(3);
    assert!(n > 0, "DINIT_BENCH_BOOT_N must be at least 1");
    let modes: Vec<boot_bench::Mode> = std::env::var("DINIT_BENCH_BOOT_MODES")
        .unwrap_or_else(|_| "tcg,icount".into())
        .split(',')
        .map(|m| {
            boot_bench::Mode::parse(m.trim())
                .unwrap_or_else(|| panic!("DINIT_BENCH_BOOT_MODES: no mode {m:?} (tcg, icount)"))
        })
        .collect();
    boot_bench::run(n, &modes);
}

// --- checks that need no virtual machine ------------------------------------------------------

/// The image's service set loads cleanly, every service of it. dinit-check also warns about
/// every command it cannot find; on the build machine the image's scripts and busybox's
/// programs are not where the image puts them: those warnings, and only those, are expected.
#[test]
fn image_services_pass_dinit_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_dinit-check"))
        .arg("-d")
        .arg(workspace().join("distro/image"))
        .args(["boot", "e2e", "crasher", "recovery", "broken-boot"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Where the image build (qemu-images/build.sh) puts what the services run.
    let in_image = |program: &str| -> bool {
        let root = workspace();
        if let Some(script) = program.strip_prefix("/etc/dinit.d/scripts/") {
            return root.join("distro/image/scripts").join(script).is_file();
        }
        program == "/usr/libexec/dinit-e2e/e2e.sh"
            || ["/sbin/syslogd", "/bin/hostname"].contains(&program)
    };
    let mut absent = 0;
    for line in stderr.lines() {
        if line == "Secondary checks complete." {
            continue;
        }
        let program = line
            .split_once(": warning: could not stat command executable '")
            .and_then(|(_, rest)| rest.strip_suffix("': No such file or directory"));
        match program {
            Some(p) if !std::path::Path::new(p).exists() && in_image(p) => absent += 1,
            _ => panic!("dinit-check: {line}\n{stdout}{stderr}"),
        }
    }
    let verdict = if absent == 0 {
        "No problems found."
    } else {
        "One or more errors/warnings issued."
    };
    assert!(
        out.status.code() == Some(i32::from(absent > 0))
            && stdout.ends_with(&format!("{verdict}\n")),
        "dinit-check: {}\n{stdout}{stderr}",
        out.status
    );
}

/// The shell scripts of the image parse.
#[test]
fn image_scripts_parse() {
    let root = workspace();
    let mut scripts = vec![("sh", root.join("qemu-images/guest/e2e.sh"))];
    for entry in std::fs::read_dir(root.join("distro/image/scripts")).unwrap() {
        scripts.push(("sh", entry.unwrap().path()));
    }
    for builder in ["build.sh", "run.sh", "reference.sh", "arch.sh"] {
        scripts.push(("bash", root.join("qemu-images").join(builder)));
    }
    for (shell, script) in scripts {
        let out = Command::new(shell).arg("-n").arg(&script).output().unwrap();
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
        (l.name.as_str(), l.started(), l.failed(), l.pid),
        ("syslog", true, false, Some(87))
    );
    let l = parse_list_line("dinit-rs:~# [[+]     ] boot").unwrap();
    assert_eq!((l.name.as_str(), l.started(), l.pid), ("boot", true, None));
    let l = parse_list_line("[     {X}] crasher (exit status: 1)").unwrap();
    assert_eq!(
        (l.name.as_str(), l.started(), l.failed()),
        ("crasher", false, true)
    );
    assert_eq!(parse_list_line("E2E: list end"), None);
}

// --- the Debian scenario ----------------------------------------------------------------------
//
// qemu-images/debian.sh makes an ext4 disk image of a debootstrapped Debian 12 minbase root with
// our .debs installed (dinit-rs-init makes /sbin/init our dinit, dinit-rs brings the service set
// of distro/dinit.d), and an initramfs that loads the virtio and ext4 modules, mounts the disk
// read-only and switches to it; qemu-images/run-debian.sh boots them, the disk opened with
// snapshot=on so that every boot starts from the same clean file system. The test then does what
// a user does: logs in as root on the serial console's login prompt (agetty, login, PAM, bash),
// looks at the system, and types `poweroff`.

/// The services of distro/dinit.d whose programs are not in minbase, by the package that has
/// them. Without it they fail, and are only waited for (`system` and `boot` start without them).
const DEBIAN_OPTIONAL: &[(&str, &[&str])] = &[
    ("udev", &["udevd", "udev-trigger", "udev-settle"]),
    ("rsyslog", &["syslog"]),
    ("ifupdown", &["network"]),
];

/// The services expected to fail: those of DEBIAN_OPTIONAL whose package is not installed. The
/// image is minbase unless DINIT_DEBIAN_PACKAGES names more packages (qemu-images/debian.sh;
/// e.g. "udev rsyslog ifupdown kmod", with DINIT_DEBIAN_OUT set to another folder).
fn debian_absent() -> Vec<&'static str> {
    let extra = std::env::var("DINIT_DEBIAN_PACKAGES").unwrap_or_default();
    DEBIAN_OPTIONAL
        .iter()
        .filter(|(package, _)| !extra.split_whitespace().any(|p| p == *package))
        .flat_map(|(_, services)| services.iter().copied())
        .collect()
}

/// The services that must start: the rest of the boot set, the gettys of boot.d included.
const DEBIAN_STARTED: &[&str] = &[
    "boot",
    "system",
    "early-filesystems",
    "rootfscheck",
    "root-rw",
    "filesystems",
    "modules",
    "hostname",
    "swap",
    "serial-getty@ttyS0",
    "getty@tty1",
    "getty@tty2",
    "getty@tty3",
    "getty@tty4",
    "getty@tty5",
    "getty@tty6",
];

/// Dependent before dependency (the `depends-on` edges of distro/dinit.d) when stopping; an edge
/// counts when both services stopped (udevd and the others only with their package).
const DEBIAN_STOP_ORDER: &[(&str, &str)] = &[
    ("boot", "system"),
    ("serial-getty@ttyS0", "system"),
    ("getty@tty1", "system"),
    ("getty@tty2", "system"),
    ("getty@tty3", "system"),
    ("getty@tty4", "system"),
    ("getty@tty5", "system"),
    ("getty@tty6", "system"),
    ("network", "system"),
    ("system", "filesystems"),
    ("system", "root-rw"),
    ("system", "early-filesystems"),
    ("syslog", "filesystems"),
    ("swap", "filesystems"),
    ("filesystems", "root-rw"),
    ("root-rw", "rootfscheck"),
    ("rootfscheck", "early-filesystems"),
    ("modules", "early-filesystems"),
];

/// What the test writes into /root before the power-off, and reads back from the disk after it.
const DEBIAN_MARKER: &str = "written before the power-off";

/// The image's root password (qemu-images/debian.sh).
const DEBIAN_PASSWORD: &str = "dinit-rs";

fn debian_dir() -> PathBuf {
    std::env::var_os("DINIT_DEBIAN_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/qemu-debian"))
}

fn require_qemu() {
    if Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("qemu-system-x86_64 not found (apt-get install qemu-system-x86)");
    }
}

/// Builds the Debian image (qemu-images/debian.sh: a no-op when it is up to date, else the
/// packages, a copy of the cached debootstrap root, mkfs.ext4); returns how long that took.
fn ensure_debian_image() -> Duration {
    let start = Instant::now();
    if std::env::var_os("DINIT_QEMU_NO_BUILD").is_some() {
        return start.elapsed();
    }
    let out = Command::new("bash")
        .arg(workspace().join("qemu-images/debian.sh"))
        .env("DINIT_DEBIAN_OUT", debian_dir())
        .output()
        .expect("running qemu-images/debian.sh");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "qemu-images/debian.sh failed ({})",
        out.status
    );
    start.elapsed()
}

impl Machine {
    /// Boots the Debian image with the serial console's input connected to the test. The disk
    /// is a private copy of the image's, written by the guest (not `snapshot=on`), so that the
    /// test can look at the file system once the machine is off: `debian_disk()`.
    fn boot_debian() -> Machine {
        require_qemu();
        let dir = std::env::temp_dir().join(format!("dinit-rs-qemu-debian-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let disk = dir.join("root.ext4");
        let copied = Command::new("cp")
            .arg("--sparse=always")
            .arg(debian_dir().join("root.ext4"))
            .arg(&disk)
            .status()
            .expect("running cp");
        assert!(copied.success(), "cannot copy the Debian disk image");
        let timeout = std::env::var("DINIT_QEMU_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(Duration::from_secs(180), Duration::from_secs);
        let mut run = Command::new("bash");
        run.arg(workspace().join("qemu-images/run-debian.sh"))
            .env("DINIT_DEBIAN_OUT", debian_dir())
            .env("DINIT_DEBIAN_DISK", &disk)
            .stdin(Stdio::piped());
        eprintln!("qemu[debian]: booting the Debian image");
        Machine::start("debian", run, dir, debian_dir().join("logs"), timeout)
    }

    /// The disk the Debian machine booted from (its own copy).
    fn debian_disk(&self) -> PathBuf {
        self.dir.join("root.ext4")
    }

    /// Waits until the console shows `needle` at or after line `from`, in a complete line or in
    /// the unfinished last one (a prompt); returns the index of the first line after it, where
    /// to look next, and when it was seen.
    fn wait_for_prompt(&self, from: usize, needle: &str) -> (usize, Instant) {
        self.wait_for_prompt_until(from, needle, self.deadline)
            .unwrap_or_else(|| self.fail(&format!("timed out waiting for {needle:?}")))
    }

    /// `wait_for_prompt`, giving up (None) at `until`.
    fn wait_for_prompt_until(
        &self,
        from: usize,
        needle: &str,
        until: Instant,
    ) -> Option<(usize, Instant)> {
        let (state, cond) = &*self.console;
        let mut s = state.lock().unwrap();
        loop {
            if let Some(i) = s
                .lines
                .iter()
                .skip(from)
                .position(|l| l.text.contains(needle))
            {
                return Some((from + i + 1, s.lines[from + i].at));
            }
            if s.partial.contains(needle) {
                return Some((s.lines.len(), Instant::now()));
            }
            if s.closed.is_some() {
                drop(s);
                self.fail(&format!("QEMU exited before the console showed {needle:?}"));
            }
            let now = Instant::now();
            if now >= until.min(self.deadline) {
                return None;
            }
            s = cond
                .wait_timeout(s, until.min(self.deadline) - now)
                .unwrap()
                .0;
        }
    }

    /// Types `text` on the serial console.
    fn type_line(&mut self, text: &str) -> Instant {
        let input = self.input.as_mut().expect("the console's input");
        if let Err(e) = input
            .write_all(format!("{text}\n").as_bytes())
            .and_then(|()| input.flush())
        {
            self.fail(&format!("cannot type on the console: {e}"));
        }
        Instant::now()
    }

    /// Types a shell command and waits for the line `marker` it prints; returns that line's
    /// index. The marker must not be in the command as typed, which the console echoes: the
    /// commands print theirs with `echo` and quotes in the middle (`E2E:" root fs"`).
    fn shell(&mut self, from: usize, command: &str, marker: &str) -> usize {
        self.type_line(command);
        self.wait_for_from(from, marker)
    }
}

/// The names in "[FAILED] name" lines.
fn failed_services(lines: &[Line]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| Some(l.text[l.text.find("[FAILED] ")? + 9..].trim().to_string()))
        .collect()
}

/// The Debian scenario: a debootstrapped Debian 12 with dinit-rs-init as its init boots to the
/// serial console's login prompt, which agetty serves under dinit's supervision; root logs in
/// and finds dinit as process 1 and the services in their states; `poweroff` stops every service
/// in order, unmounts, makes the root file system read-only, and the kernel powers the machine
/// down; the disk is left clean, with what was written before the power-off on it.
#[test]
#[ignore = "builds a Debian image and boots it under QEMU: run with `just e2e-debian`"]
fn debian_boots_to_a_login_prompt_and_powers_off() {
    require_x86_64("the Debian image");
    let scenario_start = Instant::now();
    let build = ensure_debian_image();
    let mut m = Machine::boot_debian();

    // The boot: the initramfs mounts the disk read-only and hands over to /sbin/init (dinit),
    // rootfscheck checks the disk, root-rw makes it writable, agetty prompts on ttyS0.
    let (after_login_prompt, prompt_at) = m.wait_for_prompt(0, "dinit-debian login: ");
    // (`boot` may come after the prompt: it also waits for the network.)
    let booted = m.wait_for("[  OK  ] boot");
    let boot_lines = m.lines()[..booted].to_vec();
    let checked = m.wait_for("rootfscheck: checking the root file system");
    let fsck = m.wait_for_from(checked, "debian-root: clean");
    // root-rw's `mount -o remount,rw /` (the kernel's own report of it is not on the console:
    // process 1 turns the kernel's non-critical console output off, as Dinit does; the file
    // written in the session below shows the disk writable).
    m.wait_for_from(fsck, "[  OK  ] root-rw");
    for name in DEBIAN_STARTED {
        m.wait_for(&format!("[  OK  ] {name}"));
    }
    let absent = debian_absent();
    let failed = failed_services(&boot_lines);
    let expected: BTreeSet<String> = absent.iter().map(|s| s.to_string()).collect();
    if failed != expected {
        m.fail(&format!(
            "failed services {failed:?}; expected exactly those not installed: {expected:?}"
        ));
    }

    // Log in as root, as a user would.
    let login_at = m.type_line("root");
    let (after_password, _) = m.wait_for_prompt(after_login_prompt, "Password: ");
    // PAM prints "Password: " and only then turns echo off with TCSAFLUSH, which drops what
    // arrived in between, and nothing on the serial line shows when it has: the pause makes
    // the first try likely to land, the retry below (on the prompt, not on time) makes the
    // test right whatever the load.
    std::thread::sleep(Duration::from_millis(300));
    m.type_line(DEBIAN_PASSWORD);
    let shell_prompt = "root@dinit-debian:~# ";
    let retry_at = Instant::now() + Duration::from_secs(30);
    let (after_shell, shell_at) =
        match m.wait_for_prompt_until(after_password, shell_prompt, retry_at) {
            Some(seen) => seen,
            None if m.find_from(after_password, "Login incorrect").is_none() => {
                eprintln!("qemu[debian]: no shell 30 s after the password; typing it again");
                m.type_line(DEBIAN_PASSWORD);
                m.wait_for_prompt(after_password, shell_prompt)
            }
            None => m.fail("the login was refused"),
        };
    let who = m.shell(
        after_shell,
        r#"echo "E2E: $(id -un) on $(tty)""#,
        "E2E: root on ",
    );
    if !m.line(who).text.ends_with("E2E: root on /dev/ttyS0") {
        m.fail(&format!("logged in where? {}", m.line(who).text));
    }
    // Process 1 is our dinit (/sbin/init is dinit-rs-init's link to it); the shell's parent is
    // the login process that agetty became, whose pid is the one dinit supervises.
    let pid1 = m.shell(
        who,
        r#"echo E2E:" pid1" $(readlink /proc/1/exe) E2E:" session" $PPID $(cat /proc/$PPID/comm)"#,
        "E2E: pid1 ",
    );
    let text = m.line(pid1).text;
    let words: Vec<&str> = text[text.find("E2E: pid1 ").unwrap()..]
        .split_whitespace()
        .collect();
    let (session_pid, session_comm) = match words[..] {
        ["E2E:", "pid1", "/usr/sbin/dinit", "E2E:", "session", pid, comm] => {
            (pid.parse::<u32>().ok(), comm)
        }
        _ => m.fail(&format!(
            "process 1 is not /usr/sbin/dinit, or no session: {text}"
        )),
    };
    if session_comm != "login" {
        m.fail(&format!("the shell's parent is not login: {text}"));
    }
    // The root file system is the disk, checked and now writable; a file written to it now
    // must be on the disk after the power-off.
    let mount = m.shell(
        pid1,
        &format!(
            r#"echo {DEBIAN_MARKER} >/root/e2e-marker && echo E2E:" root fs" $(findmnt -rno FSTYPE,OPTIONS /)"#
        ),
        "E2E: root fs ",
    );
    let options = m.line(mount).text;
    if !options.contains("E2E: root fs ext4 rw,") {
        m.fail(&format!(
            "the root file system is not ext4 read-write: {options}"
        ));
    }
    // dinitctl talks to the system instance: every service in its expected state.
    let listed = m.shell(
        mount,
        r#"echo E2E: list" "begin; dinitctl list; echo E2E: list" "end"#,
        "E2E: list end",
    );
    let list = m.list(mount);
    let names: BTreeSet<&str> = list.iter().map(|l| l.name.as_str()).collect();
    let optional = DEBIAN_OPTIONAL.iter().flat_map(|(_, s)| s.iter());
    let want: BTreeSet<&str> = DEBIAN_STARTED.iter().chain(optional).copied().collect();
    if names != want {
        m.fail(&format!("dinitctl list shows {names:?}, expected {want:?}"));
    }
    for l in &list {
        let expected = if absent.contains(&l.name.as_str()) {
            l.failed()
        } else {
            l.started()
        };
        if !expected {
            m.fail(&format!(
                "{} is in an unexpected state: [{}]",
                l.name, l.field
            ));
        }
    }
    let serial = list.iter().find(|l| l.name == "serial-getty@ttyS0");
    if serial.and_then(|l| l.pid).is_none() || serial.and_then(|l| l.pid) != session_pid {
        m.fail(&format!(
            "the login session ({session_pid:?}) is not serial-getty@ttyS0's process: {serial:?}"
        ));
    }
    // Nothing the daemon or a service complained about on the console so far.
    if let Some(l) = m.lines()[..listed].iter().find(|l| {
        let text = l.text.strip_prefix("dinit: ").unwrap_or(&l.text);
        text.starts_with("cannot ") || text.contains("log messages were lost")
    }) {
        m.fail(&format!("a problem was reported: {}", l.text));
    }

    // poweroff (/sbin/poweroff: dinit-shutdown asks dinit over its socket).
    let request_at = m.type_line("poweroff");
    let request = m.wait_for_from(listed, "Issuing shutdown command...");
    let end = m.wait_for_from(request, "reboot: Power down");
    let stops = m.stops(request, end);
    let optional = DEBIAN_OPTIONAL.iter().flat_map(|(_, s)| s.iter());
    let started = DEBIAN_STARTED
        .iter()
        .chain(optional.filter(|s| !absent.contains(s)));
    for name in started {
        if !stops.iter().any(|s| s == name) {
            m.fail(&format!(
                "{name} was not reported stopped; stops: {stops:?}"
            ));
        }
    }
    for (dependent, dependency) in DEBIAN_STOP_ORDER {
        let a = stops.iter().position(|s| s == dependent);
        let b = stops.iter().position(|s| s == dependency);
        if let (Some(a), Some(b)) = (a, b) {
            if a > b {
                m.fail(&format!(
                    "{dependency} stopped before its dependent {dependent}: {stops:?}"
                ));
            }
        }
    }
    // dinit-shutdown unmounts, then remounts what is left (the root) read-only before the
    // power-off. The kernel's report of the remount is not on the console (its non-critical
    // output is off, as under Dinit): the disk, checked below, shows it, since ext4 clears
    // `needs_recovery` only when the file system is unmounted or made read-only.
    m.assert_unmounted(request, end);
    let (status, closed) = m.wait_exit();
    if !status.success() {
        m.fail(&format!("QEMU exited with {status}"));
    }

    // The disk after the power-off: ext4 clears the journal's `needs_recovery` flag only when
    // the file system is unmounted or made read-only (a machine killed while running leaves it
    // set); e2fsck finds nothing to fix; the file written in the session is there.
    let disk = m.debian_disk();
    let super_block = tool_output(&m, "dumpe2fs", &["-h".as_ref(), disk.as_os_str()]);
    let field = |name: &str| {
        super_block
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (state, features) = (field("Filesystem state:"), field("Filesystem features:"));
    if state != "clean" || features.contains("needs_recovery") {
        m.fail(&format!(
            "the disk was not left clean: state {state:?}, features {features:?}"
        ));
    }
    let marker = tool_output(
        &m,
        "debugfs",
        &[
            "-R".as_ref(),
            "cat /root/e2e-marker".as_ref(),
            disk.as_os_str(),
        ],
    );
    if marker.trim() != DEBIAN_MARKER {
        m.fail(&format!(
            "/root/e2e-marker on the disk after the power-off: {marker:?}"
        ));
    }
    tool_output(&m, "e2fsck", &["-fn".as_ref(), disk.as_os_str()]);

    let at = |needle: &str| {
        boot_lines
            .iter()
            .find(|l| l.text.contains(needle))
            .map_or(m.started, |l| l.at)
    };
    let kernel = at("Linux version");
    let mounted = at("EXT4-fs (vda): mounted filesystem");
    eprintln!(
        "qemu[debian]: timings: image {:.1} s; QEMU start -> kernel {:.2} s -> root mounted by the initramfs {:.2} s -> boot started {:.2} s -> login prompt {:.2} s",
        build.as_secs_f64(),
        m.secs(kernel),
        m.secs(mounted),
        m.secs(m.line(booted).at),
        m.secs(prompt_at),
    );
    eprintln!(
        "qemu[debian]: timings: login to shell prompt {:.2} s; poweroff to `reboot: Power down` {:.2} s, QEMU exited after {:.2} s; whole scenario {:.1} s",
        shell_at.duration_since(login_at).as_secs_f64(),
        m.line(end).at.duration_since(request_at).as_secs_f64(),
        closed.duration_since(request_at).as_secs_f64(),
        scenario_start.elapsed().as_secs_f64(),
    );
    eprintln!(
        "qemu[debian]: the disk after the power-off: state {state}, no journal to recover, e2fsck -fn passes, the session's file is on it"
    );
}

/// Runs an e2fsprogs tool on the machine's disk; fails the test unless it succeeds. Returns its
/// standard output.
fn tool_output(m: &Machine, tool: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = match Command::new(tool).args(args).output() {
        Ok(out) => out,
        Err(e) => m.fail(&format!("cannot run {tool}: {e}")),
    };
    if !out.status.success() {
        m.fail(&format!(
            "{tool} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The Debian image's scripts parse (the initramfs's /init is busybox sh; the builders are bash).
#[test]
fn debian_image_scripts_parse() {
    let root = workspace();
    for (shell, script) in [
        ("sh", "qemu-images/debian/init"),
        ("bash", "qemu-images/debian.sh"),
        ("bash", "qemu-images/run-debian.sh"),
    ] {
        let out = Command::new(shell)
            .arg("-n")
            .arg(root.join(script))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
