//! The harness shared by tests/faults.rs and tests/security.rs: a real `dinit -u` on a temporary
//! service directory, socket and log, started with whatever the test needs around it (a
//! descriptor limit, supplementary groups, another standard output, a wrapper such as
//! `unshare`), driven by our `dinitctl`, and observed through /proc.
//!
//! Included with `#[path]` by each test crate; not every crate uses every helper.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const DINIT: &str = env!("CARGO_BIN_EXE_dinit");
pub const DINITCTL: &str = env!("CARGO_BIN_EXE_dinitctl");
/// How long a command may go unanswered before a test calls the daemon blocked: a hang
/// detector, generous enough for a loaded machine (tests assert no figures).
pub const HANG: Duration = Duration::from_secs(20);

pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// Returns from the test, with a message, when not running as root (CI runs as root).
#[allow(unused_macros)] // (not every crate that includes this file uses it)
macro_rules! require_root {
    ($why:expr) => {
        if !instance::is_root() {
            eprintln!("skipped: needs root ({}); CI runs as root", $why);
            return;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use require_root;

pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "dinit-rs-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("sd")).unwrap();
    d
}

/// How to start the daemon.
pub struct Launch {
    dir: PathBuf,
    extra: Vec<String>,
    nofile: Option<u64>,
    groups: Option<Vec<u32>>,
    stdout: Option<Stdio>,
    log_file: bool,
    wrapper: Vec<String>,
    env: Vec<(String, String)>,
    system: bool,
}

impl Launch {
    /// Writes the services (`{dir}` in their text becomes the instance's directory; a `boot`
    /// service, internal, is added unless given) into a new temporary directory.
    pub fn new(tag: &str, services: &[(&str, &str)]) -> Launch {
        let dir = temp_dir(tag);
        if !services.iter().any(|(n, _)| *n == "boot") {
            std::fs::write(dir.join("sd").join("boot"), "type = internal\n").unwrap();
        }
        for (name, text) in services {
            write_service(&dir, name, text);
        }
        Launch {
            dir,
            extra: Vec::new(),
            nofile: None,
            groups: None,
            stdout: None,
            log_file: true,
            wrapper: Vec::new(),
            env: Vec::new(),
            system: false,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// More daemon arguments (`{dir}` is replaced).
    pub fn args(mut self, args: &[&str]) -> Launch {
        let d = self.dir.to_str().unwrap().to_owned();
        self.extra
            .extend(args.iter().map(|a| a.replace("{dir}", &d)));
        self
    }

    /// RLIMIT_NOFILE (soft and hard) of the daemon.
    pub fn nofile(mut self, n: u64) -> Launch {
        self.nofile = Some(n);
        self
    }

    /// Supplementary groups of the daemon (root only).
    pub fn groups(mut self, groups: &[u32]) -> Launch {
        self.groups = Some(groups.to_vec());
        self
    }

    /// The daemon's standard output and error (default: the file `console`).
    pub fn stdout(mut self, out: Stdio) -> Launch {
        self.stdout = Some(out);
        self
    }

    /// No `-l`: the main log is syslog (`/dev/log`) if there is one.
    pub fn no_log_file(mut self) -> Launch {
        self.log_file = false;
        self
    }

    /// Runs the daemon through `program args...` (for instance `unshare --time ...`).
    pub fn wrap(mut self, words: &[&str]) -> Launch {
        let d = self.dir.to_str().unwrap().to_owned();
        self.wrapper = words.iter().map(|w| w.replace("{dir}", &d)).collect();
        self
    }

    /// `-s` instead of `-u`, and no `-p`: the system instance's default socket, `/run/dinitctl`.
    /// Only inside a wrapper that gives the daemon a `/run` of its own (a mount namespace);
    /// the instance's `sock` is then that socket seen through `/proc/PID/root`.
    pub fn system(mut self) -> Launch {
        self.system = true;
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Launch {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Starts the daemon and waits until its socket answers.
    pub fn start(self) -> Instance {
        let Launch {
            dir,
            extra,
            nofile,
            groups,
            stdout,
            log_file,
            wrapper,
            env,
            system,
        } = self;
        assert!(
            !system || !wrapper.is_empty(),
            "a system instance needs a /run of its own"
        );
        let sock = dir.join("sock");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(DINIT);
                c
            }
            None => Command::new(DINIT),
        };
        if system {
            cmd.args(["-s", "-d"]).arg(dir.join("sd"));
        } else {
            cmd.args(["-u", "-d"])
                .arg(dir.join("sd"))
                .arg("-p")
                .arg(&sock);
        }
        if log_file {
            cmd.arg("-l").arg(dir.join("log"));
        }
        cmd.args(&extra);
        // Services whose programs read the locale (sleep, sh) must not map a large locale
        // archive: some tests limit the address space.
        cmd.env("LC_ALL", "C").env_remove("LANG");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        match stdout {
            Some(out) => {
                cmd.stdout(out);
            }
            None => {
                let out = std::fs::File::create(dir.join("console")).unwrap();
                cmd.stdout(out.try_clone().unwrap()).stderr(out);
            }
        }
        if nofile.is_some() || groups.is_some() {
            let limit_and_groups = move || {
                if let Some(n) = nofile {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    // SAFETY: setrlimit reads a complete rlimit from a local.
                    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if let Some(g) = &groups {
                    // SAFETY: setgroups reads `g.len()` group ids from the vector.
                    if unsafe { libc::setgroups(g.len(), g.as_ptr()) } != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            };
            // SAFETY: the hook makes only async-signal-safe calls (setrlimit, setgroups)
            // between fork and exec, and allocates nothing (the group list is made here).
            unsafe { cmd.pre_exec(limit_and_groups) };
        }
        let child = cmd.spawn().unwrap();
        let wrapped = !wrapper.is_empty();
        let mut inst = Instance {
            dir,
            sock,
            child: Some(child),
            pid: 0,
        };
        let top = inst.child.as_ref().unwrap().id() as i32;
        let find_daemon = || {
            std::iter::once(top)
                .chain(descendants(top))
                .find(|&p| exe_of(p).as_deref() == Some(Path::new(DINIT)))
        };
        if system {
            let mut found = None;
            inst.wait_for("the daemon", || {
                found = find_daemon();
                found.is_some()
            });
            inst.pid = found.unwrap_or(0);
            inst.sock = PathBuf::from(format!("/proc/{}/root/run/dinitctl", inst.pid));
        }
        inst.wait_for("the control socket", || {
            std::os::unix::net::UnixStream::connect(&inst.sock).is_ok()
        });
        if !system {
            inst.pid = if wrapped {
                find_daemon().expect("the daemon among the wrapper's descendants")
            } else {
                top
            };
        }
        inst
    }
}

pub fn write_service(dir: &Path, name: &str, text: &str) {
    let path = dir.join("sd").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text.replace("{dir}", dir.to_str().unwrap())).unwrap();
}

pub struct Instance {
    pub dir: PathBuf,
    pub sock: PathBuf,
    child: Option<Child>,
    /// The daemon's pid (not the wrapper's).
    pub pid: i32,
}

impl Instance {
    /// The usual instance: `dinit -u` with `-l log`, console to a file.
    pub fn start(tag: &str, services: &[(&str, &str)]) -> Instance {
        Launch::new(tag, services).start()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        self.read("log")
    }

    pub fn write_service(&self, name: &str, text: &str) {
        write_service(&self.dir, name, text);
    }

    /// Runs dinitctl; returns stdout+stderr and the exit status.
    pub fn ctl(&self, args: &[&str]) -> (String, i32) {
        let out = Command::new(DINITCTL)
            .arg("-p")
            .arg(&self.sock)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (text, out.status.code().unwrap_or(-1))
    }

    /// Runs dinitctl and measures how long it took. A command that has not answered after
    /// [`HANG`] is a hang (the daemon is blocked): it is killed and the test fails.
    pub fn timed_ctl(&self, args: &[&str]) -> (String, i32, Duration) {
        let t = Instant::now();
        let mut child = Command::new(DINITCTL)
            .arg("-p")
            .arg(&self.sock)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > HANG {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "dinitctl {args:?} got no answer in {HANG:?}: the daemon is blocked; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let took = t.elapsed();
        let out = child.wait_with_output().unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (text, out.status.code().unwrap_or(-1), took)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let (out, status) = self.ctl(args);
        assert_eq!(
            status,
            0,
            "dinitctl {args:?} failed:\n{out}\nlog:\n{}",
            self.log()
        );
        out
    }

    /// [`Instance::ok`] for a daemon whose descriptor table is full or has only just been
    /// freed: a connection it refuses (accepted and closed at once, before any request is
    /// read, as it must while it has no descriptor for it) is tried again; any other failure
    /// fails the test, and so does a refusal still there after 30 s.
    pub fn ok_when_served(&self, args: &[&str]) -> String {
        let mut out = String::new();
        self.wait_for(&format!("dinitctl {args:?} to be served"), || {
            let (text, status) = self.ctl(args);
            if status == 0 {
                out = text;
                return true;
            }
            assert!(
                refused(&text),
                "dinitctl {args:?} failed:\n{text}\nlog:\n{}",
                tail(&self.log(), 4000)
            );
            false
        });
        out
    }

    pub fn wait_for(&self, what: &str, cond: impl FnMut() -> bool) {
        self.wait_for_within(what, Duration::from_secs(30), cond);
    }

    pub fn wait_for_within(&self, what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
        let start = Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; log:\n{}",
                tail(&self.log(), 4000)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `dinitctl status SVC`; a connection the daemon refuses (its descriptor table full) is
    /// tried again (for up to 30 s), since it tells nothing of the service.
    pub fn status(&self, svc: &str) -> String {
        let mut out = String::new();
        self.wait_for(&format!("the daemon to answer `status {svc}`"), || {
            out = self.ctl(&["status", svc]).0;
            !refused(&out)
        });
        out
    }

    pub fn pid_of(&self, svc: &str) -> Option<i32> {
        self.status(svc).lines().find_map(|l| {
            l.trim()
                .strip_prefix("Process ID: ")
                .and_then(|p| p.parse().ok())
        })
    }

    pub fn state(&self, svc: &str) -> String {
        self.status(svc)
            .lines()
            .find_map(|l| l.trim().strip_prefix("State: ").map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The daemon's CPU time so far (to print; never asserted: see [`wait_idle`]).
    pub fn cpu_time(&self) -> Duration {
        cpu_time(self.pid)
    }

    /// Waits until the daemon is idle: it neither spins nor keeps waking up ([`wait_idle`]).
    pub fn wait_idle(&self, what: &str) {
        wait_idle(self.pid, what);
    }

    pub fn fd_count(&self) -> usize {
        fd_count(self.pid)
    }

    /// Sends `sig` to the daemon.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the daemon this test started.
        unsafe { libc::kill(self.pid, sig) };
    }

    /// Stops the daemon (SIGTERM: services are stopped first), waits for it.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        self.signal(libc::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal(libc::SIGKILL);
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What dinitctl prints when the daemon closed the connection at once: it refuses connections
/// while its descriptor or connection table is full (docs/SECURITY.md).
pub fn refused(out: &str) -> bool {
    out.contains("control socket read failure or protocol error")
        || out.contains("control socket write error")
}

pub fn tail(s: &str, n: usize) -> &str {
    let mut at = s.len().saturating_sub(n);
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[at..]
}

// ---------------------------------------------------------------------------------------------
// /proc

/// `(pid, state, ppid, pgid)` of every process.
pub fn processes() -> Vec<(i32, char, i32, i32)> {
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
        let ppid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let pgid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push((pid, state, ppid, pgid));
    }
    out
}

/// `(pid, state)` of the children of `ppid`.
pub fn children_of(ppid: i32) -> Vec<(i32, char)> {
    processes()
        .into_iter()
        .filter(|p| p.2 == ppid)
        .map(|p| (p.0, p.1))
        .collect()
}

/// Every descendant of `pid`.
pub fn descendants(pid: i32) -> Vec<i32> {
    let all = processes();
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for q in all.iter().filter(|q| q.2 == p) {
            out.push(q.0);
            frontier.push(q.0);
        }
    }
    out
}

/// Live (not zombie) members of process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|p| p.3 == pgid && p.1 != 'Z')
        .map(|p| p.0)
        .collect()
}

pub fn exe_of(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

pub fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

pub fn environ(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// A line of /proc/PID/status, after `key:`, trimmed.
pub fn status_field(pid: i32, key: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .and_then(|r| r.strip_prefix(':'))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default()
}

/// A `kB` figure of /proc/PID/status (VmRSS, RssAnon, VmSize...), in bytes.
pub fn status_kb(pid: i32, key: &str) -> u64 {
    status_field(pid, key)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

pub fn cpu_time(pid: i32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let ticks = field(11) + field(12);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

// ---------------------------------------------------------------------------------------------
// Idleness, without a CPU-time figure

/// What a process was seen doing over about a second: in how many of [`IDLE_SAMPLES`] looks at
/// its scheduler state (/proc/PID/stat, field 3) it was asleep (`S`: blocked in a system call,
/// such as the daemon's `epoll_wait`), and how many times it went to sleep meanwhile (its
/// voluntary context switches, /proc/PID/status), i.e. how many times it had woken up.
#[derive(Debug, Clone, Copy)]
pub struct Activity {
    pub samples: u32,
    pub asleep: u32,
    pub wakeups: u64,
}

/// Looks at the state this many times, [`IDLE_PERIOD`] apart.
pub const IDLE_SAMPLES: u32 = 50;
pub const IDLE_PERIOD: Duration = Duration::from_millis(20);
/// More wake-ups than this in one watch are activity, not idleness.
pub const IDLE_MAX_WAKEUPS: u64 = 10;

impl Activity {
    /// Idle: asleep in at least half the samples, and woken a few times at most.
    ///
    /// Neither figure depends on how loaded the machine is, unlike CPU time spent in a
    /// second: a process that spins is runnable (`R`) in every sample (waiting for a CPU is
    /// `R` too), however little CPU it gets; one that keeps waking up (a timer, or a readiness
    /// that never clears taken turn after turn through a blocking wait) counts a voluntary
    /// context switch for each turn. An idle process blocked in `epoll_wait` is `S`
    /// throughout and does not wake at all, loaded machine or not.
    pub fn idle(&self) -> bool {
        self.asleep * 2 >= self.samples && self.wakeups <= IDLE_MAX_WAKEUPS
    }
}

/// The scheduler state of `pid` (`R`, `S`, `D`, `Z`...); `?` if it cannot be read.
pub fn sched_state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|s| s.chars().next())
        .unwrap_or('?')
}

/// Watches `pid` for [`IDLE_SAMPLES`] samples (about a second on an idle machine, longer on a
/// loaded one, which changes nothing for an idle process).
pub fn watch(pid: i32) -> Activity {
    let switches = || {
        status_field(pid, "voluntary_ctxt_switches")
            .parse::<u64>()
            .unwrap_or(0)
    };
    let before = switches();
    let mut asleep = 0;
    for _ in 0..IDLE_SAMPLES {
        if sched_state(pid) == 'S' {
            asleep += 1;
        }
        std::thread::sleep(IDLE_PERIOD);
    }
    Activity {
        samples: IDLE_SAMPLES,
        asleep,
        wakeups: switches().saturating_sub(before),
    }
}

/// Waits until `pid` is seen idle for a whole watch ([`Activity::idle`]), after whatever it
/// was finishing; fails when it is still busy after 30 s (it spins, or keeps waking up).
pub fn wait_idle(pid: i32, what: &str) {
    let start = Instant::now();
    loop {
        let seen = watch(pid);
        if seen.idle() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}: the process {pid} is not idle: {seen:?} (asleep in at least half the \
             samples, at most {IDLE_MAX_WAKEUPS} wake-ups, for idleness)"
        );
    }
}

pub fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Has the other end of `s` closed it? True as soon as it has, even with data left unread
/// here (so a client that never reads can see that it was disconnected without reading, which
/// would make room for more).
pub fn peer_closed(s: &impl std::os::fd::AsRawFd) -> bool {
    let mut p = libc::pollfd {
        fd: s.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n == 1 && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
}

pub fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a process of this test.
    unsafe { libc::kill(pid, sig) };
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
