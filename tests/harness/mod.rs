//! The one harness of the integration tests (tests/README.md): every test file that starts a
//! daemon, runs a client or needs a seeded generator takes it from here with `mod harness;`.
//!
//! - [`Launch`] builds an instance: `dinit -u` on a temporary service directory and socket
//!   (the default), a system instance (`-s`, inside a wrapper that gives it a `/run` of its
//!   own), or `dinit` as PID 1 of a new PID and mount namespace ([`Launch::pid1`]). It gives an
//!   [`Instance`]: `dinitctl` runs ([`Instance::ctl`], [`Instance::expect`], [`Instance::ok`]),
//!   the state of a service, waits on a condition with a hang detector ([`Instance::wait_for`]).
//! - [`procs`]: the process table and /proc (children, descendants, process groups, idleness
//!   without a CPU-time figure).
//! - [`fake_daemon`]: a scripted fake daemon for the client tests (`ctl_*`).
//! - [`Rng`]: the seeded generator of the randomised tests.
//!
//! Deadlines here are hang detectors (tens of seconds), never measures: no test asserts a time.

// Each test crate uses a part of the harness.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod fake_daemon;
mod instance;
pub mod procs;

pub use instance::{write_service, write_services, Ended, Finished, Instance, Launch};
pub use procs::*;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const DINIT: &str = env!("CARGO_BIN_EXE_dinit");
pub const DINITCTL: &str = env!("CARGO_BIN_EXE_dinitctl");
pub const DINIT_MONITOR: &str = env!("CARGO_BIN_EXE_dinit-monitor");
pub const DINIT_SHUTDOWN: &str = env!("CARGO_BIN_EXE_dinit-shutdown");
pub const DINIT_CHECK: &str = env!("CARGO_BIN_EXE_dinit-check");

/// How long a command may go unanswered before a test calls the daemon blocked: a hang
/// detector, generous enough for a loaded machine (tests assert no figures).
pub const HANG: Duration = Duration::from_secs(20);
/// How long [`wait_for`] waits for a condition before the test fails: a hang detector too.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// Returns from the test, with a message, when not running as root (CI runs as root).
macro_rules! require_root {
    () => {
        $crate::harness::require_root!("PID and mount namespaces")
    };
    ($why:expr) => {
        if !$crate::harness::is_root() {
            eprintln!("skipped: needs root ({}); CI runs as root", $why);
            return;
        }
    };
}
pub(crate) use require_root;

/// A new empty directory `dinit-rs-TAG-PID-N` under the temporary directory.
pub fn fresh_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "dinit-rs-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// [`fresh_dir`] with an empty service directory `sd` in it.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = fresh_dir(tag);
    std::fs::create_dir_all(d.join("sd")).unwrap();
    d
}

/// A scratch directory, removed when dropped.
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    pub fn new(tag: &str) -> TestDir {
        TestDir {
            path: fresh_dir(tag),
        }
    }

    pub fn sock(&self) -> PathBuf {
        self.path.join("sock")
    }

    /// Writes a file (creating directories).
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Polls `cond` (a short pause between looks) until it holds; fails the test, with `what`
/// and `context()`, when it still does not after `limit` (a hang detector, never a measure).
#[track_caller]
pub fn wait_until(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {what}; {}",
            context()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// [`wait_until`] with the usual deadline, [`WAIT`].
#[track_caller]
pub fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    wait_until(what, WAIT, cond, String::new);
}

/// Waits for `child` to exit; kills it and returns None when it has not after `limit` (a
/// hang detector).
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What one program run printed, and its exit status (-1: killed by a signal).
#[derive(Debug, PartialEq, Eq)]
pub struct Out {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Out {
    /// stdout, stderr, exit status.
    pub fn triple(&self) -> (&str, &str, i32) {
        (&self.stdout, &self.stderr, self.code)
    }

    /// Standard output followed by standard error.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// [`Out::text`] and the exit status.
    pub fn merged(&self) -> (String, i32) {
        (self.text(), self.code)
    }
}

/// Waits for a spawned child (with piped output), killing it and failing the test when it has
/// not finished after [`WAIT`] (a hang detector).
pub fn wait_output(mut child: Child) -> Out {
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let Some(status) = wait_exit(&mut child, WAIT) else {
        panic!("the program did not finish within {WAIT:?}");
    };
    Out {
        stdout: String::from_utf8_lossy(&out_t.join().expect("join")).into_owned(),
        stderr: String::from_utf8_lossy(&err_t.join().expect("join")).into_owned(),
        code: status.code().unwrap_or(-1),
    }
}

/// Runs `cmd` with its output captured (its standard input as the command says: inherited
/// unless set) under the hang detector of [`wait_output`]. A program just copied may still be
/// busy (ETXTBSY: another test thread's child holds it open between fork and exec): it is
/// tried again.
pub fn capture(cmd: &mut Command) -> Out {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let child = loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && start.elapsed() < WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.unwrap_or_else(|e| panic!("running {cmd:?}: {e}")),
        }
    };
    wait_output(child)
}

/// [`capture`] with an empty standard input.
pub fn output_of(cmd: &mut Command) -> Out {
    capture(cmd.stdin(Stdio::null()))
}

/// Runs our `dinitctl` with `args`, the test's environment without the variables that would
/// choose a connection for it (plus `env`), and whatever `setup` adds.
pub fn run_ctl(args: &[&str], env: &[(&str, &str)], setup: impl FnOnce(&mut Command)) -> Out {
    let mut cmd = Command::new(DINITCTL);
    cmd.args(args)
        .env_remove("DINIT_SOCKET_PATH")
        .env_remove("DINIT_CS_FD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    setup(&mut cmd);
    output_of(&mut cmd)
}

/// Runs a program with a clean environment (`PATH` only) plus `env`, in working directory
/// `dir` if given.
pub fn run_program_in(
    dir: Option<&Path>,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Out {
    let mut cmd = Command::new(program);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.args(args).env_clear().env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    output_of(&mut cmd)
}

/// [`run_program_in`] in the current directory.
pub fn run_program(program: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
    run_program_in(None, program, args, env)
}

/// What dinitctl prints when the daemon closed the connection at once: it refuses connections
/// while its descriptor or connection table is full (docs/SECURITY.md).
pub fn refused(out: &str) -> bool {
    out.contains("control socket read failure or protocol error")
        || out.contains("control socket write error")
}

/// The last `n` bytes of `s` (at a character boundary), for failure messages.
pub fn tail(s: &str, n: usize) -> &str {
    let mut at = s.len().saturating_sub(n);
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[at..]
}

/// xorshift64*: a small seeded generator, so that a failing run can be repeated.
pub struct Rng(pub u64);

/// The seed of a randomised test: `DINIT_TEST_SEED` if set, else `default`; printed, so that a
/// failing run can be repeated.
pub fn test_seed(default: u64) -> u64 {
    let seed = std::env::var("DINIT_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    eprintln!("seed: {seed} (set DINIT_TEST_SEED to repeat another)");
    seed
}

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Random bytes (the high byte of each draw, the best of xorshift64*) that never hold
    /// SHUTDOWN (10): anyone who may connect may shut the daemon down, and a random stream
    /// would sooner or later ask for it.
    pub fn garbage(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| match (self.next() >> 56) as u8 {
                10 => 0xff,
                b => b,
            })
            .collect()
    }
}

/// Latency samples.
#[derive(Default)]
pub struct Latencies(pub Vec<Duration>);

impl Latencies {
    pub fn add(&mut self, d: Duration) {
        self.0.push(d);
    }
    pub fn percentile(&self, p: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let i = ((v.len() - 1) as f64 * p).round() as usize;
        v[i.min(v.len() - 1)]
    }
    pub fn max(&self) -> Duration {
        self.0.iter().copied().max().unwrap_or_default()
    }
    pub fn summary(&self) -> String {
        format!(
            "{} samples, p50 {:?}, p99 {:?}, max {:?}",
            self.0.len(),
            self.percentile(0.5),
            self.percentile(0.99),
            self.max()
        )
    }
}
