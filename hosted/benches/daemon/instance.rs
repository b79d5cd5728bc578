//! The implementations under test, the service directories they load, and one running daemon
//! of either, observed from outside (/proc).

use dinit_hosted::ctl::Connection;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Services per group when a flat `boot` is refused.
pub const GROUP: usize = 200;

/// The daemon's environment: a fixed, typical login environment rather than whatever cargo
/// passes down (about 60 `CARGO_*` variables), because the daemon reserves room for the global
/// environment in every service's launch buffers, so its size shows in the memory figures.
/// Both implementations get the same.
const DAEMON_ENV: &[(&str, &str)] = &[
    ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ("HOME", "/root"),
    ("USER", "root"),
    ("LOGNAME", "root"),
    ("SHELL", "/bin/sh"),
    ("TERM", "xterm"),
    ("LANG", "C.UTF-8"),
];

/// One implementation under test: a folder holding its `dinit` and `dinitctl`.
pub struct Impl {
    /// What the report calls it: "ours", "Dinit" or "packaged".
    pub label: &'static str,
    pub bin: PathBuf,
}

impl Impl {
    pub fn dinit(&self) -> PathBuf {
        self.bin.join("dinit")
    }
    pub fn dinitctl(&self) -> PathBuf {
        self.bin.join("dinitctl")
    }
    /// The first line of `dinit --version`, for the report (empty if it has none).
    pub fn version(&self) -> String {
        Command::new(self.dinit())
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map(|o| {
                let text = String::from_utf8_lossy(&o.stdout).into_owned();
                text.lines().next().unwrap_or_default().to_string()
            })
            .unwrap_or_default()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Process,
    Internal,
    /// Internal services, each depending on the next.
    Chain,
    /// Process services, each depending on the next.
    ChainProcess,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Process => "process",
            Kind::Internal => "internal",
            Kind::Chain => "chain",
            Kind::ChainProcess => "chain_process",
        }
    }
    pub fn runs_processes(self) -> bool {
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
pub enum Layout {
    Flat,
    Grouped,
    Chain,
}

impl Layout {
    pub fn label(self) -> &'static str {
        match self {
            Layout::Flat => "flat",
            Layout::Grouped => "groups",
            Layout::Chain => "chain",
        }
    }
}

/// Writes `idle`, `boot` and N services of `kind` into `dir` (emptied first).
pub fn write_services(dir: &Path, kind: Kind, n: usize, layout: Layout) {
    write_services_with(dir, kind.service_text(), n, layout);
}

/// The same with the services' own text given (`type = process\ncommand = ...`).
pub fn write_services_with(dir: &Path, text: &str, n: usize, layout: Layout) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("idle"), "type = internal\n").unwrap();
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

/// A running daemon of either implementation.
pub struct Daemon {
    child: Child,
    pub pid: u32,
    sock: PathBuf,
    dinitctl: PathBuf,
    pub ready: Duration,
}

impl Daemon {
    /// Starts `dinit -u -q -d DIR -p SOCK --ready-fd FD idle` of `imp` (both implementations
    /// take these options) and waits for the ready message.
    pub fn start(imp: &Impl, dir: &Path, sock: &Path, log: &Path) -> Daemon {
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
        let child = Command::new(imp.dinit())
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
            "{} did not report ready (see {})",
            imp.dinit().display(),
            log.display()
        );
        let pid = child.id();
        Daemon {
            child,
            pid,
            sock: sock.to_path_buf(),
            dinitctl: imp.dinitctl(),
            ready,
        }
    }

    /// The implementation's own `dinitctl -p SOCK ARGS`, input from /dev/null.
    fn ctl_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.dinitctl);
        cmd.arg("-p")
            .arg(&self.sock)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `dinitctl ARGS` (output discarded): its wall time and success.
    pub fn ctl(&self, args: &[&str]) -> (Duration, bool) {
        let t = Instant::now();
        let st = self
            .ctl_command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        (t.elapsed(), st.success())
    }

    /// What `dinitctl ARGS` prints (stdout and stderr), for a note on a failure.
    pub fn ctl_output(&self, args: &[&str]) -> String {
        let out = self.ctl_command(args).output().unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn child_pids(&self) -> String {
        let path = format!("/proc/{0}/task/{0}/children", self.pid);
        std::fs::read_to_string(path).unwrap_or_default()
    }

    pub fn children(&self) -> usize {
        self.child_pids().split_ascii_whitespace().count()
    }

    /// Polls until `done` says yes; returns when that happened, measured from `since`.
    /// Reading the children list walks them in the kernel, under the lock that fork and exit
    /// take, so the pause between reads is four times the last read (at least 200 µs): the
    /// polling takes at most a fifth of a core from what it measures.
    fn poll(&self, what: &str, since: Instant, mut done: impl FnMut() -> bool) -> Duration {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let t = Instant::now();
            if done() {
                return since.elapsed();
            }
            let read = t.elapsed();
            assert!(Instant::now() < deadline, "{what} never happened");
            std::thread::sleep((read * 4).max(Duration::from_micros(200)));
        }
    }

    /// Polls until the daemon has exactly `n` children.
    pub fn wait_children(&self, n: usize, since: Instant) -> Duration {
        self.poll(&format!("{n} children"), since, || self.children() == n)
    }

    /// Polls until the daemon has `n` children that run `comm` (their final program: the
    /// name of what a child runs changes at its `execve`, from the daemon's name or that of a
    /// program it ran first). A child seen running it is not read again.
    pub fn wait_children_running(&self, n: usize, comm: &str, since: Instant) -> Duration {
        let mut seen = std::collections::HashSet::new();
        self.poll(&format!("{n} children running {comm}"), since, || {
            let pids = self.child_pids();
            let pids: Vec<&str> = pids.split_ascii_whitespace().collect();
            if pids.len() < n {
                return false;
            }
            for pid in pids {
                if !seen.contains(pid) {
                    let name = std::fs::read_to_string(format!("/proc/{pid}/comm"));
                    if name.is_ok_and(|c| c.trim_end() == comm) {
                        seen.insert(pid.to_string());
                    }
                }
            }
            seen.len() >= n
        })
    }

    /// CPU time used so far by the daemon's current children (fork to exec and beyond).
    pub fn children_cpu(&self) -> Duration {
        self.child_pids()
            .split_ascii_whitespace()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok())
            .filter_map(|s| s.split_ascii_whitespace().next()?.parse::<u64>().ok())
            .map(Duration::from_nanos)
            .sum()
    }

    /// A numeric field of /proc/PID/status (kB for the memory fields), 0 if absent.
    pub fn status_field(&self, name: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_ascii_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// (VmRSS, RssAnon) in kB.
    pub fn memory(&self) -> (u64, u64) {
        (self.status_field("VmRSS"), self.status_field("RssAnon"))
    }

    /// (voluntary, nonvoluntary) context switches so far.
    pub fn context_switches(&self) -> (u64, u64) {
        (
            self.status_field("voluntary_ctxt_switches"),
            self.status_field("nonvoluntary_ctxt_switches"),
        )
    }

    /// CPU time the daemon has used (ns on CPU, from /proc/PID/schedstat).
    pub fn cpu(&self) -> Duration {
        std::fs::read_to_string(format!("/proc/{}/schedstat", self.pid))
            .ok()
            .and_then(|s| s.split_ascii_whitespace().next()?.parse().ok())
            .map(Duration::from_nanos)
            .unwrap_or_default()
    }

    /// A raw protocol connection (our client library; both daemons speak the protocol),
    /// version negotiated. A reply that does not come within a minute fails the run loudly
    /// instead of hanging it.
    pub fn connect(&self) -> Connection {
        let stream = UnixStream::connect(&self.sock).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut conn = Connection::new(stream);
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
