//! Ending every other process in the system: SIGTERM (with SIGCONT, so that a stopped process
//! can act on it), a wait until none is left or the TERM allowance has passed, SIGKILL to what
//! remains, and a wait again.
//!
//! One state machine, [`Sweep`], with two drivers: the daemon's `kill-all-on-stop` (driven by
//! the event loop's timeout, so the daemon keeps serving while it waits; dinit-service(5):
//! "send a TERM signal and then (after a short pause) a KILL signal to all other processes")
//! and the shutdown program's last phase (a blocking loop, nothing else to do). The machine
//! itself neither signals nor looks at processes: its driver does both ([`term_all`],
//! [`kill_all`], [`none_left`]) and tells it what it saw, so that its rules are tested without
//! signalling anything.

use std::path::Path;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{Signal, WaitId, WaitIdOptions};

/// How often the processes are counted while some are left (a child's end also wakes the
/// daemon's loop, which counts again then).
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long each phase may last at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// From SIGTERM to SIGKILL, unless every process has ended before.
    pub term: Duration,
    /// From SIGKILL until the sweep is given up with processes left.
    pub kill: Duration,
}

impl Allowance {
    /// `kill-all-on-stop`: Dinit pauses one second between TERM and KILL; a second more for
    /// the KILLed processes to be gone before the service's stop proceeds. Both end early when
    /// no process is left.
    pub const KILL_ALL_ON_STOP: Allowance = Allowance {
        term: Duration::from_secs(1),
        kill: Duration::from_secs(1),
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Term,
    Kill,
}

/// What the driver does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The sweep goes on.
    Wait {
        /// The TERM allowance has just run out: send SIGKILL to every process first.
        kill: bool,
        /// Poll again by then (or sooner, when a child ends).
        until: Instant,
    },
    /// The sweep is over.
    Done {
        /// Every process had gone (otherwise the KILL allowance ran out with some left: in
        /// uninterruptible sleep, or not ours to signal).
        none_left: bool,
    },
}

/// One sweep, from the SIGTERM its driver has just sent.
#[derive(Clone, Copy, Debug)]
pub struct Sweep {
    phase: Phase,
    deadline: Instant,
    allowance: Allowance,
}

impl Sweep {
    /// A sweep whose SIGTERM (and SIGCONT) were sent at `now`.
    pub fn begin(now: Instant, allowance: Allowance) -> Sweep {
        Sweep {
            phase: Phase::Term,
            deadline: now + allowance.term,
            allowance,
        }
    }

    /// The sweep at `now`, given whether any process is left (`none_left` once every one has
    /// been reaped).
    pub fn poll(&mut self, now: Instant, none_left: bool) -> Step {
        if none_left {
            return Step::Done { none_left: true };
        }
        let mut kill = false;
        if now >= self.deadline {
            match self.phase {
                Phase::Term => {
                    self.phase = Phase::Kill;
                    self.deadline = now + self.allowance.kill;
                    kill = true;
                }
                Phase::Kill => return Step::Done { none_left: false },
            }
        }
        Step::Wait {
            kill,
            until: self.deadline.min(now + POLL_INTERVAL),
        }
    }
}

/// SIGTERM, then SIGCONT, to every process we may signal but init and ourselves.
pub fn term_all() {
    crate::sys::kill_all(Signal::TERM);
    crate::sys::kill_all(Signal::CONT);
}

/// SIGKILL to every process we may signal but init and ourselves.
pub fn kill_all() {
    crate::sys::kill_all(Signal::KILL);
}

/// Whether no other process is left. As process 1 every orphan becomes our child, so "no
/// child at all" (ended ones not yet reaped count) means no process left; otherwise `/proc`
/// is counted (see [`other_processes`]).
pub fn none_left() -> bool {
    if std::process::id() == 1 {
        no_children()
    } else {
        other_processes(Path::new("/proc")) == Some(0)
    }
}

/// True if we have no child, running or ended (the ended ones are left to be reaped by their
/// owner: the daemon's loop tells the engine of them).
fn no_children() -> bool {
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    matches!(
        rustix::process::waitid(WaitId::All, options),
        Err(Errno::CHILD)
    )
}

/// The number of user-space processes other than init and ourselves under `proc` (kernel
/// threads, which carry the `PF_KTHREAD` flag, do not count; zombies do, until reaped).
/// `None` if `proc` cannot be read.
pub fn other_processes(proc: &Path) -> Option<usize> {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let me = std::process::id();
    let mut count = 0;
    for entry in std::fs::read_dir(proc).ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == 1 || pid == me {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces) start at the last ')'.
        let flags = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(6))
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0);
        if flags & PF_KTHREAD == 0 {
            count += 1;
        }
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Allowance = Allowance {
        term: Duration::from_secs(5),
        kill: Duration::from_secs(2),
    };

    #[test]
    fn ends_as_soon_as_nothing_is_left_without_a_kill() {
        let t0 = Instant::now();
        let mut s = Sweep::begin(t0, A);
        assert_eq!(
            s.poll(t0, false),
            Step::Wait {
                kill: false,
                until: t0 + POLL_INTERVAL
            }
        );
        assert_eq!(
            s.poll(t0 + Duration::from_millis(300), true),
            Step::Done { none_left: true }
        );
    }

    #[test]
    fn kills_once_when_the_term_allowance_runs_out_then_gives_up_after_the_kill_allowance() {
        let t0 = Instant::now();
        let mut s = Sweep::begin(t0, A);
        // Never waits past the TERM deadline.
        let near = t0 + A.term - Duration::from_millis(3);
        assert_eq!(
            s.poll(near, false),
            Step::Wait {
                kill: false,
                until: t0 + A.term
            }
        );
        let t1 = t0 + A.term;
        assert_eq!(
            s.poll(t1, false),
            Step::Wait {
                kill: true,
                until: t1 + POLL_INTERVAL
            }
        );
        // KILL is asked for once only.
        assert_eq!(
            s.poll(t1 + Duration::from_secs(1), false),
            Step::Wait {
                kill: false,
                until: t1 + Duration::from_secs(1) + POLL_INTERVAL
            }
        );
        assert_eq!(s.poll(t1 + A.kill, false), Step::Done { none_left: false });
    }

    #[test]
    fn a_late_poll_still_sends_the_kill_before_giving_up() {
        // A driver held up past both allowances still kills before it gives up.
        let t0 = Instant::now();
        let mut s = Sweep::begin(t0, A);
        let late = t0 + A.term + A.kill + Duration::from_secs(10);
        assert!(matches!(s.poll(late, false), Step::Wait { kill: true, .. }));
        assert_eq!(s.poll(late, true), Step::Done { none_left: true });
    }

    #[test]
    fn counting_processes_skips_kernel_threads() {
        let dir = std::env::temp_dir().join(format!("dinit-rs-proc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (pid, flags) in [
            ("1", 0u64),
            ("2", 0x0020_0040),
            ("300", 0x0040_0100),
            ("301", 0),
        ] {
            std::fs::create_dir_all(dir.join(pid)).unwrap();
            std::fs::write(
                dir.join(pid).join("stat"),
                format!("{pid} (a name) with) S 1 1 1 0 -1 {flags} 0 0 0 0\n"),
            )
            .unwrap();
        }
        std::fs::create_dir_all(dir.join("self")).unwrap();
        assert_eq!(other_processes(&dir), Some(2));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(other_processes(Path::new("/nonexistent-proc")), None);
    }
}
