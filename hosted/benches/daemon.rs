//! Whole-daemon benchmark: the release `dinit` and `dinitctl` on generated service
//! directories, measured from outside as a user would see them (issue 9).
//!
//! For each scenario (N `process` services running `/bin/sleep 1000`, N `internal` services,
//! and dependency chains), a fresh `dinit -u -q -d DIR -p SOCK --ready-fd FD idle` is started
//! (`idle` is an internal service that keeps the user instance up) and the benchmark measures:
//!
//! - ready time: spawn to the socket path arriving on the ready descriptor;
//! - cold start: wall time of `dinitctl start boot` (the daemon loads N+1 files), and until
//!   every process runs (children of the daemon, from /proc); the daemon's CPU time;
//! - stop: `dinitctl stop boot`, and until every child has been reaped (polling /proc);
//! - warm start and stop (descriptions already loaded);
//! - memory: VmRSS and RssAnon (/proc/PID/status) idle, running and loaded-but-stopped;
//! - control round trips, p50/p99: `dinitctl status`/`list` (whole client process) and raw
//!   protocol requests over one connection (`dinit_hosted::ctl::Connection`);
//! - a flat-memory check: start/stop cycles of one internal and one process service through
//!   the raw protocol for a time budget (about two minutes in all in full mode), printing
//!   RssAnon as it goes and its growth at the end;
//! - the machine's floor: 100 and 1000 `/bin/sleep` started, terminated and reaped by the
//!   benchmark process itself, with no service manager (`floor_*` metrics).
//!
//! Sizes: N = 1, 10, 100, 1000, 2000, 5000 and 10 000 `process` and `internal` services,
//! chains 1000 and 10 000 deep, and a chain of 1000 processes; three fresh daemons per size
//! (one for 10 000 processes), the median reported. Round trips with 10 and 5000 running
//! services. Quick mode: one daemon per size, up to 1000 processes and 5000 internal
//! services, round trips with 10 and 1000, a few seconds of cycles.
//!
//! `boot` depends on all N services. Should the loader refuse a flat `boot` (builds before
//! 2fb164e held at most 256 dependencies per description), the benchmark falls back to a
//! two-level tree (`boot` -> groups of 200 -> services) and says so in the `layout` column; a
//! scenario that still fails is reported and skipped.
//!
//! Usage: `just bench` / `just bench quick`, or
//! `cargo bench -p dinit-hosted --bench daemon [-- quick]`. Environment:
//! - `DINIT_BENCH_BIN_DIR=DIR`: measure the `dinit` and `dinitctl` in DIR (default: the ones
//!   cargo built for this benchmark, i.e. `target/release`), e.g. to compare two builds;
//! - `DINIT_BENCH_ONLY=process:1000,internal,cycles,floor`: run only those scenarios.
//!
//! The daemon runs with a fixed environment ([`DAEMON_ENV`]). Prints tables and
//! `metric=value` lines; asserts nothing about time.

// Benchmark code: a failed step should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dinit_core::proto::{Request, StartFlags, StatusFormat};
use dinit_core::ServiceEvent;
use dinit_hosted::ctl::{Connection, Incoming, LoadReply, Reply};
use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Services per group when a flat `boot` is refused.
const GROUP: usize = 200;

/// The daemon's environment: a fixed, typical login environment rather than whatever cargo
/// passes down (about 60 `CARGO_*` variables), because the daemon reserves room for the global
/// environment in every service's launch buffers, so its size shows in the memory figures.
const DAEMON_ENV: &[(&str, &str)] = &[
    ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ("HOME", "/root"),
    ("USER", "root"),
    ("LOGNAME", "root"),
    ("SHELL", "/bin/sh"),
    ("TERM", "xterm"),
    ("LANG", "C.UTF-8"),
];

// ----- configuration --------------------------------------------------------------------------

struct Config {
    quick: bool,
    bin: PathBuf,
    tmp: PathBuf,
}

impl Config {
    fn dinit(&self) -> PathBuf {
        self.bin.join("dinit")
    }
    fn dinitctl(&self) -> PathBuf {
        self.bin.join("dinitctl")
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Process,
    Internal,
    /// Internal services, each depending on the next.
    Chain,
    /// Process services, each depending on the next.
    ChainProcess,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Process => "process",
            Kind::Internal => "internal",
            Kind::Chain => "chain",
            Kind::ChainProcess => "chain_process",
        }
    }
    fn runs_processes(self) -> bool {
        matches!(self, Kind::Process | Kind::ChainProcess)
    }
    fn service_text(self) -> &'static str {
        if self.runs_processes() {
            "type = process\ncommand = /bin/sleep 1000\n"
        } else {
            "type = internal\n"
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Layout {
    Flat,
    Grouped,
    Chain,
}

impl Layout {
    fn label(self) -> &'static str {
        match self {
            Layout::Flat => "flat",
            Layout::Grouped => "groups",
            Layout::Chain => "chain",
        }
    }
}

// ----- service directories ----------------------------------------------------------------------

fn write_services(dir: &Path, kind: Kind, n: usize, layout: Layout) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("idle"), "type = internal\n").unwrap();
    let text = kind.service_text();
    let mut boot = String::from("type = internal\n");
    match layout {
        Layout::Flat => {
            for i in 0..n {
                std::fs::write(dir.join(format!("s{i}")), text).unwrap();
                writeln!(boot, "depends-on = s{i}").unwrap();
            }
        }
        Layout::Grouped => {
            for g in 0..n.div_ceil(GROUP) {
                let mut group = String::from("type = internal\n");
                for i in g * GROUP..((g + 1) * GROUP).min(n) {
                    std::fs::write(dir.join(format!("s{i}")), text).unwrap();
                    writeln!(group, "depends-on = s{i}").unwrap();
                }
                std::fs::write(dir.join(format!("g{g}")), group).unwrap();
                writeln!(boot, "depends-on = g{g}").unwrap();
            }
        }
        Layout::Chain => {
            writeln!(boot, "depends-on = s0").unwrap();
            for i in 0..n {
                let mut s = String::from(text);
                if i + 1 < n {
                    writeln!(s, "depends-on = s{}", i + 1).unwrap();
                }
                std::fs::write(dir.join(format!("s{i}")), s).unwrap();
            }
        }
    }
    std::fs::write(dir.join("boot"), boot).unwrap();
}

// ----- the daemon -------------------------------------------------------------------------------

struct Daemon {
    child: Child,
    pid: u32,
    sock: PathBuf,
    ready: Duration,
}

impl Daemon {
    /// Starts `dinit -u -q -d DIR -p SOCK --ready-fd FD idle` and waits for the ready message.
    fn start(cfg: &Config, dir: &Path, sock: &Path, log: &Path) -> Daemon {
        let _ = std::fs::remove_file(sock);
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 fills the array with two new descriptors. The read end is
        // close-on-exec; the write end is inherited by the daemon (single-threaded benchmark, so
        // no other child can inherit it by accident).
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), 0) }, 0, "pipe2");
        // SAFETY: sets close-on-exec on the read end just created.
        let rc = unsafe { libc::fcntl(fds[0], libc::F_SETFD, libc::FD_CLOEXEC) };
        assert_eq!(rc, 0);
        // SAFETY: the read end is new, and owned from here on.
        let rd = unsafe { OwnedFd::from_raw_fd(fds[0]) };
        // SAFETY: so is the write end.
        let wr = unsafe { OwnedFd::from_raw_fd(fds[1]) };
        let out = File::create(log).unwrap();
        let t0 = Instant::now();
        let child = Command::new(cfg.dinit())
            .env_clear()
            .envs(DAEMON_ENV.iter().copied())
            .args(["-u", "-q", "-d"])
            .arg(dir)
            .arg("-p")
            .arg(sock)
            .arg("--ready-fd")
            .arg(fds[1].to_string())
            .arg("idle")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        drop(wr);
        let mut msg = Vec::new();
        File::from(rd).read_to_end(&mut msg).unwrap();
        let ready = t0.elapsed();
        assert!(
            msg.last() == Some(&0),
            "dinit did not report ready (see {})",
            log.display()
        );
        let pid = child.id();
        Daemon {
            child,
            pid,
            sock: sock.to_path_buf(),
            ready,
        }
    }

    fn ctl(&self, cfg: &Config, args: &[&str]) -> (Duration, bool) {
        let t = Instant::now();
        let st = Command::new(cfg.dinitctl())
            .arg("-p")
            .arg(&self.sock)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        (t.elapsed(), st.success())
    }

    fn children(&self) -> usize {
        let path = format!("/proc/{0}/task/{0}/children", self.pid);
        std::fs::read_to_string(path)
            .map(|s| s.split_ascii_whitespace().count())
            .unwrap_or(0)
    }

    /// Polls until the daemon has exactly `n` children; returns when that happened. Reading
    /// the children list walks them in the kernel, under the lock that fork and exit take, so
    /// the pause between reads is four times the last read (at least 200 µs): the polling
    /// takes at most a fifth of a core from what it measures.
    fn wait_children(&self, n: usize, since: Instant) -> Duration {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let t = Instant::now();
            if self.children() == n {
                return since.elapsed();
            }
            let read = t.elapsed();
            assert!(Instant::now() < deadline, "children never reached {n}");
            std::thread::sleep((read * 4).max(Duration::from_micros(200)));
        }
    }

    /// CPU time used so far by the daemon's current children (fork to exec and beyond).
    fn children_cpu(&self) -> Duration {
        let path = format!("/proc/{0}/task/{0}/children", self.pid);
        let list = std::fs::read_to_string(path).unwrap_or_default();
        list.split_ascii_whitespace()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok())
            .filter_map(|s| s.split_ascii_whitespace().next()?.parse::<u64>().ok())
            .map(Duration::from_nanos)
            .sum()
    }

    /// (VmRSS, RssAnon) in kB.
    fn memory(&self) -> (u64, u64) {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let field = |name: &str| {
            s.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_ascii_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("RssAnon:"))
    }

    /// CPU time the daemon has used (ns on CPU, from /proc/PID/schedstat).
    fn cpu(&self) -> Duration {
        std::fs::read_to_string(format!("/proc/{}/schedstat", self.pid))
            .ok()
            .and_then(|s| s.split_ascii_whitespace().next()?.parse().ok())
            .map(Duration::from_nanos)
            .unwrap_or_default()
    }

    fn connect(&self) -> Connection {
        let mut conn = Connection::new(UnixStream::connect(&self.sock).unwrap());
        conn.query_version().unwrap();
        conn
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM stops every service and ends a user instance; SIGKILL if it does not.
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.pid as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- statistics ---------------------------------------------------------------------------------

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median_of(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(v, 0.5)
}

/// Samples of a repeated operation, in µs.
fn p50_p99(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

/// Results, in insertion order for the table and by name for `metric=value`.
#[derive(Default)]
struct Metrics {
    lines: Vec<(String, f64)>,
}

impl Metrics {
    fn put(&mut self, name: impl Into<String>, v: f64) {
        self.lines.push((name.into(), v));
    }
}

// ----- scenarios ---------------------------------------------------------------------------------

/// The machine's floor for what `start` and `stop` of N `process` services must do, without
/// any service manager: this process starts N `/bin/sleep 1000` itself (each in a session of
/// its own, as the daemon does), then sends each SIGTERM and reaps them all. Times in ms, the
/// median of three rounds; printed beside the daemon's figures so that they can be read
/// against what the kernel itself takes on this machine.
fn floor(sizes: &[usize], m: &mut Metrics) {
    use std::os::unix::process::CommandExt;
    println!();
    println!("floor: N /bin/sleep started, then terminated and reaped, by this process alone");
    println!("{:>6} {:>10} {:>10}", "N", "start ms", "stop ms");
    for &n in sizes {
        let mut starts = Vec::new();
        let mut stops = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let mut children: Vec<Child> = (0..n)
                .map(|_| {
                    Command::new("/bin/sleep")
                        .arg("1000")
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .process_group(0)
                        .spawn()
                        .expect("spawn /bin/sleep")
                })
                .collect();
            starts.push(t.elapsed().as_secs_f64() * 1e3);
            std::thread::sleep(Duration::from_millis(300));
            let t = Instant::now();
            for c in &children {
                // SAFETY: kill(2) on our own child.
                unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            }
            for c in &mut children {
                let _ = c.wait();
            }
            stops.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (start, stop) = (median_of(&mut starts), median_of(&mut stops));
        println!("{n:>6} {start:>10.1} {stop:>10.1}");
        m.put(format!("floor_start_process_{n}_ms"), start);
        m.put(format!("floor_stop_process_{n}_reaped_ms"), stop);
    }
}

/// One cold/warm run on a fresh daemon. All times in ms, memory in kB.
#[derive(Default, Clone)]
struct Run {
    ready: f64,
    cold_start: f64,
    cold_running: f64,
    cold_cpu: f64,
    children_cpu: f64,
    stop: f64,
    reaped: f64,
    warm_start: f64,
    warm_cpu: f64,
    warm_stop: f64,
    warm_reaped: f64,
    idle_mem: (u64, u64),
    running_mem: (u64, u64),
    loaded_mem: (u64, u64),
}

struct Scenario<'a> {
    cfg: &'a Config,
    kind: Kind,
    n: usize,
    dir: PathBuf,
}

impl Scenario<'_> {
    fn daemon(&self) -> Daemon {
        Daemon::start(
            self.cfg,
            &self.dir.join("sd"),
            &self.dir.join("sock"),
            &self.dir.join("log"),
        )
    }

    /// Runs cold and warm start/stop once. `None` if `dinitctl start boot` failed (a layout
    /// the loader refuses). `probe` runs while everything is started.
    fn run(&self, probe: &mut dyn FnMut(&Daemon)) -> Option<Run> {
        let d = self.daemon();
        let procs = if self.kind.runs_processes() {
            self.n
        } else {
            0
        };
        std::thread::sleep(Duration::from_millis(30));
        let mut r = Run {
            ready: ms(d.ready),
            idle_mem: d.memory(),
            ..Run::default()
        };

        let cpu0 = d.cpu();
        let t = Instant::now();
        let (took, ok) = d.ctl(self.cfg, &["start", "boot"]);
        if !ok {
            return None;
        }
        r.cold_start = ms(took);
        r.cold_running = ms(d.wait_children(procs, t));
        r.cold_cpu = ms(d.cpu().saturating_sub(cpu0));
        r.children_cpu = ms(d.children_cpu());
        r.running_mem = d.memory();
        probe(&d);

        let t = Instant::now();
        let (took, ok) = d.ctl(self.cfg, &["stop", "boot"]);
        assert!(ok, "stop boot failed");
        r.stop = ms(took);
        r.reaped = ms(d.wait_children(0, t));
        r.loaded_mem = d.memory();

        let cpu0 = d.cpu();
        let t = Instant::now();
        let (took, ok) = d.ctl(self.cfg, &["start", "boot"]);
        assert!(ok, "warm start boot failed");
        r.warm_start = ms(took);
        d.wait_children(procs, t);
        r.warm_cpu = ms(d.cpu().saturating_sub(cpu0));
        let t = Instant::now();
        let (took, ok) = d.ctl(self.cfg, &["stop", "boot"]);
        assert!(ok, "warm stop boot failed");
        r.warm_stop = ms(took);
        r.warm_reaped = ms(d.wait_children(0, t));
        Some(r)
    }
}

/// The median of each field over several runs.
fn median_run(runs: &[Run]) -> Run {
    let med = |f: &dyn Fn(&Run) -> f64| median_of(&mut runs.iter().map(f).collect::<Vec<_>>());
    let medm = |f: &dyn Fn(&Run) -> (u64, u64)| {
        let a = med(&|r| f(r).0 as f64) as u64;
        let b = med(&|r| f(r).1 as f64) as u64;
        (a, b)
    };
    Run {
        ready: med(&|r| r.ready),
        cold_start: med(&|r| r.cold_start),
        cold_running: med(&|r| r.cold_running),
        cold_cpu: med(&|r| r.cold_cpu),
        children_cpu: med(&|r| r.children_cpu),
        stop: med(&|r| r.stop),
        reaped: med(&|r| r.reaped),
        warm_start: med(&|r| r.warm_start),
        warm_cpu: med(&|r| r.warm_cpu),
        warm_stop: med(&|r| r.warm_stop),
        warm_reaped: med(&|r| r.warm_reaped),
        idle_mem: medm(&|r| r.idle_mem),
        running_mem: medm(&|r| r.running_mem),
        loaded_mem: medm(&|r| r.loaded_mem),
    }
}

/// Control round trips while `n` services are started: `dinitctl status/list` as whole
/// processes, and raw requests on one connection. Times in µs.
fn round_trips(cfg: &Config, d: &Daemon, n: usize, m: &mut Metrics, table: &mut String) {
    let (ctl_reps, raw_reps, list_reps) = match (cfg.quick, n > 1000) {
        (true, _) => (50, 2000, 20),
        (false, false) => (300, 20_000, 300),
        (false, true) => (300, 20_000, 50),
    };
    let mut rows: Vec<(String, usize, f64, f64)> = Vec::new();

    let sample_ctl = |args: &[&str], reps: usize| {
        (0..reps)
            .map(|_| {
                let (t, ok) = d.ctl(cfg, args);
                assert!(ok, "dinitctl {args:?} failed");
                t.as_secs_f64() * 1e6
            })
            .collect::<Vec<_>>()
    };
    let (p50, p99) = p50_p99(sample_ctl(&["status", "s0"], ctl_reps));
    rows.push(("status_dinitctl".into(), ctl_reps, p50, p99));
    let (p50, p99) = p50_p99(sample_ctl(&["list"], list_reps.min(ctl_reps)));
    rows.push(("list_dinitctl".into(), list_reps.min(ctl_reps), p50, p99));

    let mut conn = d.connect();
    let handle = match conn.load_service(b"s0", true).unwrap() {
        LoadReply::Record { handle, .. } => handle,
        other => panic!("find s0: {other:?}"),
    };
    let req = conn.status_request(handle);
    let samples: Vec<f64> = (0..raw_reps)
        .map(|_| {
            let t = Instant::now();
            let reply = conn.request(&req).unwrap();
            let us = t.elapsed().as_secs_f64() * 1e6;
            assert!(matches!(reply, Reply::ServiceStatus(_)), "{reply:?}");
            us
        })
        .collect();
    let (p50, p99) = p50_p99(samples);
    rows.push(("status_raw".into(), raw_reps, p50, p99));

    let list_raw_reps = if n > 1000 { list_reps } else { raw_reps / 10 };
    let samples: Vec<f64> = (0..list_raw_reps)
        .map(|_| {
            let t = Instant::now();
            conn.send(&Request::ListServices5).unwrap();
            let mut entries = 0usize;
            loop {
                match conn.recv(StatusFormat::Status14).unwrap() {
                    Incoming::Reply(Reply::ListDone) => break,
                    Incoming::Reply(Reply::SvcInfo { .. }) => entries += 1,
                    other => panic!("unexpected during list: {other:?}"),
                }
            }
            let us = t.elapsed().as_secs_f64() * 1e6;
            assert!(entries > n, "list returned {entries} entries");
            us
        })
        .collect();
    let (p50, p99) = p50_p99(samples);
    rows.push(("list_raw".into(), list_raw_reps, p50, p99));

    for (name, reps, p50, p99) in rows {
        writeln!(table, "{name:<16} {n:>6} {reps:>7} {p50:>10.1} {p99:>10.1}").unwrap();
        m.put(format!("{name}_{n}_p50_us"), p50);
        m.put(format!("{name}_{n}_p99_us"), p99);
    }
}

/// Start/stop cycles of one service through the raw protocol, for `budget` or `max` cycles,
/// whichever ends first; RssAnon at ten evenly spaced moments. Growth is reported from the
/// start and from the first of those moments (after the first launch has touched the pages it
/// needs once).
fn cycles(cfg: &Config, kind: Kind, budget: Duration, max: usize, m: &mut Metrics) {
    let dir = cfg.tmp.join(format!("cycles-{}", kind.label()));
    let sd = dir.join("sd");
    write_services(&sd, kind, 1, Layout::Flat);
    let d = Daemon::start(cfg, &sd, &dir.join("sock"), &dir.join("log"));
    let mut conn = d.connect();
    let handle = match conn.load_service(b"s0", false).unwrap() {
        LoadReply::Record { handle, .. } => handle,
        other => panic!("load s0: {other:?}"),
    };
    let label = kind.label();
    println!(
        "start/stop cycles of one {label} service (raw protocol, up to {} s or {max} cycles): \
         RssAnon / VmRSS in kB",
        budget.as_secs()
    );
    let (rss0, anon0) = d.memory();
    println!("  {:>8} cycles: {anon0:>6} {rss0:>6}", 0);
    m.put(format!("cycles_{label}_rssanon_kb_0"), anon0 as f64);
    let t0 = Instant::now();
    let step = budget / 10;
    let mut next_sample = step;
    let mut first_anon: Option<u64> = None;
    let mut last_anon = anon0;
    let mut max_anon = anon0;
    let mut done = 0;
    while done < max {
        for (req, want) in [
            (
                Request::StartService {
                    flags: StartFlags::NONE,
                    handle,
                },
                ServiceEvent::Started,
            ),
            (
                Request::StopService {
                    flags: StartFlags::NONE,
                    handle,
                },
                ServiceEvent::Stopped,
            ),
        ] {
            let reply = conn.request(&req).unwrap();
            // ACK, or ALREADYSS when the service reached the state before the reply (an
            // internal service starts and stops at once).
            assert!(
                matches!(reply, Reply::Ack | Reply::AlreadySs),
                "cycle {done}: {req:?}: reply {reply:?}"
            );
            let already = reply == Reply::AlreadySs;
            let seen = |conn: &Connection| {
                already
                    || conn
                        .events()
                        .iter()
                        .any(|e| e.handle == handle && e.kind() == Some(want))
            };
            while !seen(&conn) {
                if let Incoming::Event(e) = conn.recv(StatusFormat::Status14).unwrap() {
                    if e.handle == handle && e.kind() == Some(want) {
                        break;
                    }
                }
            }
            conn.clear_events();
        }
        done += 1;
        let elapsed = t0.elapsed();
        if elapsed >= next_sample || done == max {
            next_sample += step;
            let (rss, anon) = d.memory();
            first_anon.get_or_insert(anon);
            max_anon = max_anon.max(anon);
            last_anon = anon;
            println!(
                "  {done:>8} cycles: {anon:>6} {rss:>6}  ({:.0} s)",
                elapsed.as_secs_f64()
            );
            if elapsed >= budget {
                break;
            }
        }
    }
    let per = t0.elapsed().as_secs_f64() * 1e6 / done as f64;
    let growth = last_anon as i64 - anon0 as i64;
    let growth_warm = last_anon as i64 - first_anon.unwrap_or(anon0) as i64;
    println!(
        "  {per:.1} µs per start+stop cycle; RssAnon growth over {done} cycles: {growth} kB \
         ({growth_warm} kB after the first sample)"
    );
    m.put(format!("cycles_{label}_count"), done as f64);
    m.put(format!("cycles_{label}_us_per_cycle"), per);
    m.put(
        format!("cycles_{label}_rssanon_kb_first"),
        first_anon.unwrap_or(anon0) as f64,
    );
    m.put(format!("cycles_{label}_rssanon_kb_last"), last_anon as f64);
    m.put(format!("cycles_{label}_rssanon_max_kb"), max_anon as f64);
    m.put(format!("cycles_{label}_rssanon_growth_kb"), growth as f64);
    m.put(
        format!("cycles_{label}_rssanon_growth_after_first_kb"),
        growth_warm as f64,
    );
}

/// Scenario sizes per kind.
type Plan = [(Kind, &'static [usize])];

/// The 1, 5 and 15 minute load averages: other work on the machine skews wall times.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| {
            s.split_ascii_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick")
        || std::env::var("DINIT_BENCH_MODE").is_ok_and(|m| m == "quick");
    let bin = std::env::var_os("DINIT_BENCH_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_BIN_EXE_dinit"))
                .parent()
                .unwrap()
                .to_path_buf()
        });
    let tmp = std::env::temp_dir().join(format!("dinit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let cfg = Config { quick, bin, tmp };
    let started = Instant::now();

    println!(
        "daemon benchmark ({} mode): {} ",
        if quick { "quick" } else { "full" },
        cfg.dinit().display()
    );
    println!("  load average at start: {}", load_average());
    for b in ["dinit", "dinitctl"] {
        let len = std::fs::metadata(cfg.bin.join(b))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("  {b}: {len} bytes");
    }

    // The sizes of each kind, and the sizes at which control round trips are measured (with
    // that many process services running).
    const QUICK: &Plan = &[
        (Kind::Process, &[1, 10, 100, 1000]),
        (Kind::Internal, &[1, 10, 100, 1000, 5000]),
        (Kind::Chain, &[1000, 10000]),
    ];
    const FULL: &Plan = &[
        (Kind::Process, &[1, 10, 100, 1000, 2000, 5000, 10000]),
        (Kind::Internal, &[1, 10, 100, 1000, 2000, 5000, 10000]),
        (Kind::Chain, &[1000, 10000]),
        (Kind::ChainProcess, &[1000]),
    ];
    let (sizes, rt_sizes): (&Plan, &[usize]) = if quick {
        (QUICK, &[10, 1000])
    } else {
        (FULL, &[10, 5000])
    };
    let mut plan: Vec<(Kind, usize)> = sizes
        .iter()
        .flat_map(|&(k, ns)| ns.iter().map(move |&n| (k, n)))
        .collect();
    // DINIT_BENCH_ONLY=process:1000,internal,cycles runs only those parts (a kind alone: all
    // its sizes; `cycles`: the start/stop cycles).
    let only: Vec<(String, Option<usize>)> = std::env::var("DINIT_BENCH_ONLY")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once(':') {
            Some((k, n)) => (k.to_string(), n.parse().ok()),
            None => (s.to_string(), None),
        })
        .collect();
    if !only.is_empty() {
        plan.retain(|(k, n)| {
            only.iter()
                .any(|(ok, on)| ok == k.label() && on.is_none_or(|on| on == *n))
        });
    }
    let run_cycles = only.is_empty() || only.iter().any(|(k, _)| k == "cycles");
    let run_floor = only.is_empty() || only.iter().any(|(k, _)| k == "floor");

    let mut m = Metrics::default();
    let mut times = String::new();
    let mut mem = String::new();
    let mut rt_table = String::new();
    // The largest flat fan-in the loader accepted / the smallest it refused.
    let mut flat_refused_at: Option<usize> = None;
    let mut ready_all = Vec::new();

    for (kind, n) in plan {
        // Three fresh daemons per size (the median is reported), one in quick mode and for
        // 10 000 processes (a run there takes most of a minute on a shared machine).
        let reps = if quick || (kind.runs_processes() && n >= 10_000) {
            1
        } else {
            3
        };
        let mut layout = match kind {
            Kind::Chain | Kind::ChainProcess => Layout::Chain,
            _ if flat_refused_at.is_some_and(|r| n >= r) => Layout::Grouped,
            _ => Layout::Flat,
        };
        let dir = cfg.tmp.join(format!("{}-{n}", kind.label()));
        let mut runs = Vec::new();
        let mut rt_n = rt_sizes.contains(&n) && kind == Kind::Process;
        let mut failed = false;
        while runs.len() < reps && !failed {
            write_services(&dir.join("sd"), kind, n, layout);
            let sc = Scenario {
                cfg: &cfg,
                kind,
                n,
                dir: dir.clone(),
            };
            let mut probe = |d: &Daemon| {
                if std::mem::take(&mut rt_n) {
                    round_trips(&cfg, d, n, &mut m, &mut rt_table);
                }
            };
            match sc.run(&mut probe) {
                Some(r) => runs.push(r),
                None if layout == Layout::Flat => {
                    println!(
                        "  note: `dinitctl start boot` refused a flat boot with {n} dependencies; \
                         using groups of {GROUP}"
                    );
                    flat_refused_at = Some(flat_refused_at.map_or(n, |r| r.min(n)));
                    layout = Layout::Grouped;
                }
                None => {
                    // Report and go on: a benchmark shows what fails, it does not stop there.
                    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(3).collect();
                    println!(
                        "  note: `dinitctl start boot` failed for {} {n} ({}); daemon log: {}",
                        kind.label(),
                        layout.label(),
                        tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
                    );
                    failed = true;
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        let label = kind.label();
        if failed {
            writeln!(
                times,
                "{label:<13} {n:>5} {:<6} FAILED (see note above)",
                layout.label()
            )
            .unwrap();
            m.put(format!("start_{label}_{n}_failed"), 1.0);
            continue;
        }
        ready_all.extend(runs.iter().map(|r| r.ready));
        let r = median_run(&runs);
        let per = |v: f64| v * 1e3 / n as f64;
        // What each loaded service adds to the daemon's private memory, in bytes.
        let anon_per_service = (r.loaded_mem.1 as f64 - r.idle_mem.1 as f64) * 1024.0 / n as f64;
        writeln!(
            times,
            "{label:<13} {n:>5} {:<6} {:>6.1} | {:>9.1} {:>9.1} {:>7.1} {:>8.1} {:>7.0} {:>7.1} | {:>7.1} {:>7.1} | {:>9.1} {:>7.1} {:>7.1} {:>7.1}",
            layout.label(),
            r.ready,
            r.cold_start,
            r.cold_running,
            r.cold_cpu,
            r.children_cpu,
            per(r.cold_start),
            per(r.cold_cpu),
            r.stop,
            r.reaped,
            r.warm_start,
            r.warm_cpu,
            r.warm_stop,
            r.warm_reaped,
        )
        .unwrap();
        writeln!(
            mem,
            "{label:<13} {n:>5} | {:>7} {:>7} | {:>7} {:>7} | {:>7} {:>7} | {:>7.0}",
            r.idle_mem.0,
            r.idle_mem.1,
            r.running_mem.0,
            r.running_mem.1,
            r.loaded_mem.0,
            r.loaded_mem.1,
            anon_per_service,
        )
        .unwrap();
        let k = format!("{label}_{n}");
        m.put(format!("ready_{k}_ms"), r.ready);
        m.put(format!("start_{k}_ms"), r.cold_start);
        m.put(format!("start_{k}_running_ms"), r.cold_running);
        m.put(format!("start_{k}_daemon_cpu_ms"), r.cold_cpu);
        m.put(format!("start_{k}_children_cpu_ms"), r.children_cpu);
        m.put(format!("start_{k}_us_per_service"), per(r.cold_start));
        m.put(
            format!("start_{k}_daemon_cpu_us_per_service"),
            per(r.cold_cpu),
        );
        m.put(format!("stop_{k}_ms"), r.stop);
        m.put(format!("stop_{k}_reaped_ms"), r.reaped);
        m.put(format!("warm_start_{k}_ms"), r.warm_start);
        m.put(format!("warm_start_{k}_daemon_cpu_ms"), r.warm_cpu);
        m.put(format!("warm_stop_{k}_ms"), r.warm_stop);
        m.put(format!("warm_stop_{k}_reaped_ms"), r.warm_reaped);
        m.put(format!("vmrss_kb_{k}_idle"), r.idle_mem.0 as f64);
        m.put(format!("rssanon_kb_{k}_idle"), r.idle_mem.1 as f64);
        m.put(format!("vmrss_kb_{k}_running"), r.running_mem.0 as f64);
        m.put(format!("rssanon_kb_{k}_running"), r.running_mem.1 as f64);
        m.put(format!("vmrss_kb_{k}_loaded"), r.loaded_mem.0 as f64);
        m.put(format!("rssanon_kb_{k}_loaded"), r.loaded_mem.1 as f64);
        m.put(format!("rssanon_bytes_per_service_{k}"), anon_per_service);
        eprintln!(
            "  done: {label} {n} ({:.0} s so far)",
            started.elapsed().as_secs_f64()
        );
    }
    m.put("ready_ms", median_of(&mut ready_all));

    println!();
    println!(
        "start/stop (ms; median of {} fresh daemons, 1 for 10 000 processes)",
        if quick { 1 } else { 3 }
    );
    println!(
        "{:<13} {:>5} {:<6} {:>6} | {:>9} {:>9} {:>7} {:>8} {:>7} {:>7} | {:>7} {:>7} | {:>9} {:>7} {:>7} {:>7}",
        "kind", "N", "layout", "ready", "cold", "running", "cpu", "children", "µs/svc", "cpu/svc",
        "stop", "reaped", "warm", "cpu", "stop", "reaped"
    );
    print!("{times}");
    println!(
        "(cold: `dinitctl start boot` on a fresh daemon, loading N+1 files; running: until the"
    );
    println!(" daemon has N children; cpu: the daemon's CPU time; children: the CPU time of its");
    println!(" children, fork to exec to sleeping; µs/svc: cold / N; cpu/svc: the daemon's CPU");
    println!(" time / N, in µs; reaped: until it has no child left)");
    println!();
    println!("memory (kB; VmRSS / RssAnon)");
    println!(
        "{:<13} {:>5} | {:>15} | {:>15} | {:>15} | {:>7}",
        "kind", "N", "idle", "running", "loaded, stopped", "B/svc"
    );
    print!("{mem}");
    println!("(B/svc: RssAnon loaded and stopped minus RssAnon idle, per service, in bytes)");
    println!();
    println!("control round trips (µs)");
    println!(
        "{:<16} {:>6} {:>7} {:>10} {:>10}",
        "request", "N", "samples", "p50", "p99"
    );
    print!("{rt_table}");
    println!();

    // Full mode: about two minutes of cycles in all (the issue asks for flat memory over
    // 100 000 cycles; internal services get there in seconds, process services as far as 90 s
    // of fork, exec and kill allow).
    let (int_budget, int_max, proc_budget, proc_max) = if quick {
        (
            Duration::from_secs(2),
            20_000,
            Duration::from_secs(3),
            1_000,
        )
    } else {
        (
            Duration::from_secs(30),
            2_000_000,
            Duration::from_secs(90),
            100_000,
        )
    };
    if run_cycles {
        cycles(&cfg, Kind::Internal, int_budget, int_max, &mut m);
        cycles(&cfg, Kind::Process, proc_budget, proc_max, &mut m);
    }
    if run_floor {
        floor(&[100, 1000], &mut m);
    }

    let _ = std::fs::remove_dir_all(&cfg.tmp);
    println!("load average at the end: {}", load_average());
    let total = started.elapsed().as_secs_f64();
    m.put("bench_daemon_total_s", total);
    println!();
    for (k, v) in &m.lines {
        if v.fract() == 0.0 {
            println!("{k}={v:.0}");
        } else {
            println!("{k}={v:.3}");
        }
    }
}
