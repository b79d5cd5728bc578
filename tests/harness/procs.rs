//! The process table and /proc, as the tests look at them: children and descendants of a
//! process, process groups, command lines and environments, status fields, descriptors, and
//! whether a process is idle, told without a CPU-time figure (tests/README.md).

use std::path::PathBuf;
use std::time::{Duration, Instant};

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

/// The NUL-separated strings of /proc/PID/FILE (empty if it cannot be read).
fn nul_separated(pid: i32, file: &str) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/{file}"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

pub fn cmdline(pid: i32) -> Vec<String> {
    nul_separated(pid, "cmdline")
}

pub fn environ(pid: i32) -> Vec<String> {
    nul_separated(pid, "environ")
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

/// When the process `pid` started (clock ticks since boot, `/proc/PID/stat` field 22), if it
/// exists: with the pid, it names one process even after the pid is reused (this machine's
/// `pid_max` may be as low as 32768, which a long test run wraps).
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

pub fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a process of this test.
    unsafe { libc::kill(pid, sig) };
}
