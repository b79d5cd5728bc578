//! Process spawning: the child's start (`clone(CLONE_VM)` or `fork`), its setup, `execve`,
//! and the report of which setup step failed.
//!
//! # Shape
//!
//! A launch is prepared when the service is loaded and carried out without heap allocation:
//!
//! 1. Load time: resolve names ([`resolve_user`], [`resolve_group`], [`Iab::parse`],
//!    [`resolve_cgroup_path`]), fill in a [`SpawnConfig`], turn it into a [`SpawnSpec`]
//!    (validated; C strings, environment entries, descriptor numbers and numbers as text all
//!    made up front), kept in an `Rc`.
//! 2. Launch: [`spawn`] maps a memory region of the launch's own and lays out the
//!    `argv`/`envp` vectors in it (copying the base environment there), creates the
//!    close-on-exec status pipe, blocks every signal, starts the child and restores the
//!    mask. Where it can (see below) the child starts in the daemon's memory, on a stack in
//!    that region, and nothing is copied; otherwise it is forked. [`spawn`] returns a
//!    [`Child`]: the pid and the parent's end of the status pipe ([`ExecStatus`]), which
//!    holds the region and the spec until the child is done with them.
//! 3. The event loop watches the status pipe: end-of-file with no data means `execve`
//!    succeeded ([`ExecOutcome::Started`]); a report means the child failed at some
//!    [`ExecStage`](dinit_core::ExecStage) with some errno ([`ExecOutcome::Failed`]) and
//!    exited with status 127. Either way the child must still be reaped by the caller.
//!
//! # Starting the child in the daemon's memory
//!
//! `fork` copies the daemon's page tables and descriptor table, and every page the daemon
//! writes while a child still lives is copied again (copy-on-write): during a burst of
//! launches that is most of the daemon's work. `clone(CLONE_VM)` without `CLONE_VFORK` copies
//! no memory, and does not suspend the daemon either (as `vfork` would until the exec: on a
//! busy machine every launch would then wait for the scheduler). The price is that the child
//! runs in the daemon's memory beside it, so:
//!
//! - everything the child reads stays put and unchanged until it has exec'd or exited: the
//!   spec (an `Rc` the status holds), the region (vectors, environment copy, stack, the plan),
//!   released only once the status pipe has given end-of-file (the kernel closes the child's
//!   end only after the child has left this memory);
//! - the child writes only its stack and the `LISTEN_PID` entry in its region;
//! - the child makes only raw system calls, never through the C library, which would write the
//!   daemon's `errno` (the child shares the thread pointer libc finds it through): rustix's
//!   `linux_raw` backend and a few calls of its own in inline assembly, on x86-64, AArch64
//!   and RISC-V 64; other architectures fork;
//! - setup steps the kernel applies to the whole memory rather than the process fork instead:
//!   `oom-score-adj` (set for every process sharing the memory), `run-as` and capabilities
//!   (which clear the memory's "dumpable" flag): [`SpawnSpec`]'s `may_share_memory`.
//!
//! Tests show the parent's `errno` untouched by a failing child, the stack's use (two of its
//! sixteen pages), the spec and environment outliving the caller's copies, and a child's
//! `oom-score-adj` not reaching the parent.
//!
//! # The child
//!
//! The child runs only async-signal-safe code (raw system calls; no allocation, locks, std
//! I/O or panics). Its steps, in order, with the stage each reports on failure:
//!
//! | # | step | stage |
//! |---|---|---|
//! | 0 | close the child's copies of the spare descriptors (see `reserve`) | - |
//! | 1 | move kept descriptors above every target number; mark all from 3 up close-on-exec | `ArrangeFds` |
//! | 2 | readiness pipe onto `pipefd:N` / onto its chosen number for `pipevar:VAR` | `ArrangeFds` / `SetNotifyFdVar` |
//! | 3 | activation socket onto fd 3; write own pid into `LISTEN_PID` | `SetupActivationSocket` |
//! | 4 | control connection onto its number (`DINIT_CS_FD`) | `SetupControlSocket` |
//! | 5 | `chdir(working-dir)` | `Chdir` |
//! | 6 | new session (a console service taking the terminal: session and terminal foreground; sharing the console: new process group); fds 0-2 | `SetupStdio` |
//! | 6' | log file: `open(O_APPEND|O_CREAT|O_NOFOLLOW|O_NONBLOCK)` (a symlink or a FIFO without reader fails), `fchown`, `fchmod` | `OpenLogfile` |
//! | 7 | write own pid to `<cgroup>/cgroup.procs` | `EnterCgroup` |
//! | 8 | `setrlimit` for each `rlimit-*` | `SetRlimits` |
//! | 9 | `nice` (clamped, errors ignored; session autogroup only for a session leader), `oom_score_adj`, `ioprio_set` | `SetPrio` |
//! | 10 | `setgroups`, `setresgid`, `setresuid` (keeping capabilities if they are set next) | `SetUidGid` |
//! | 11 | inheritable set, bounding-set drops, ambient set, securebits; no-new-privs | `SetCaps` |
//! | 12 | default signal dispositions, final signal mask, `execve` (with a `PATH` search) | `DoExec` |
//!
//! The environment is the spec's variables (service variables, then `VAR=<fd>` for
//! `pipevar`, `LISTEN_FDS=1`, `DINIT_CS_FD=<fd>`), `LISTEN_PID=<pid>` (completed in the child),
//! then the base environment passed to [`spawn`] minus any variable the others define.
//!
//! Nothing is skipped silently: what this system cannot do (no cgroup, no ambient
//! capabilities, no `/proc` for `oom-score-adj`, no permission) fails the launch at its stage.

mod caps;
mod cgroup;
// Everything between the child's start and execve: raw system calls on numbers and pointers
// prepared by the parent, where nothing may allocate or lock; and the launch's memory (each unsafe block says why it is sound).
#[allow(unsafe_code)]
mod child;
mod ids;
mod reserve;
mod spec;
mod status;

use core::ffi::{c_char, CStr};
use core::fmt;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;

use crate::sys::signal::{self, SignalSet};

use rustix::io::Errno;
use rustix::pipe::{pipe_with, PipeFlags};

pub use caps::{capability_from_name, capability_name, Iab, IabError, Securebits, MAX_CAPABILITY};
pub use cgroup::{own_cgroup, own_cgroup_from, resolve_cgroup_path, CGROUP_ROOT};
pub use ids::{resolve_group, resolve_user, Credentials, IdError};
pub use spec::{
    Console, Input, Ioprio, Limit, Logfile, Output, ReadyNotification, Resource, Rlimit,
    SpawnConfig, SpawnSpec, SpecError, Stdio,
};
pub use status::{ExecFailure, ExecOutcome, ExecStatus};

use child::{Layout, Region, StatusPipe};
use spec::{variable_name, LISTEN_PID_PREFIX};

/// The descriptors a launch passes to the child, by role. Which ones are needed depends on
/// the spec; the others are ignored. They may have any numbers (close-on-exec or not); the
/// child puts them where the spec says.
#[derive(Clone, Copy, Debug, Default)]
pub struct LaunchFds<'a> {
    /// The write end of the readiness pipe (`ready-notification`).
    pub notify: Option<BorrowedFd<'a>>,
    /// The listening socket (`socket-listen`).
    pub activation: Option<BorrowedFd<'a>>,
    /// The control connection for `pass-cs-fd`.
    pub control: Option<BorrowedFd<'a>>,
    /// Standard input for [`Input::Pipe`].
    pub input: Option<BorrowedFd<'a>>,
    /// Standard output and error for [`Output::Pipe`].
    pub output: Option<BorrowedFd<'a>>,
}

/// The role of a descriptor in [`LaunchFds`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum FdRole {
    /// [`LaunchFds::notify`].
    Notify,
    /// [`LaunchFds::activation`].
    Activation,
    /// [`LaunchFds::control`].
    Control,
    /// [`LaunchFds::input`].
    Input,
    /// [`LaunchFds::output`].
    Output,
}

/// Why a service's launches could not be prepared when it was loaded (a load error of the
/// service, reported as `Could not load service NAME: ...`).
#[derive(Debug)]
pub enum PrepareError {
    /// `run-as` or `logfile-uid`: no such user (`what` is the setting's value).
    User {
        /// The user as the description names it.
        what: String,
        /// Why it could not be resolved.
        error: IdError,
    },
    /// The group of `run-as` or `logfile-gid`: no such group.
    Group {
        /// The group as the description names it.
        what: String,
        /// Why it could not be resolved.
        error: IdError,
    },
    /// `run-in-cgroup`: a relative path with no cgroup to resolve it against.
    Cgroup(std::path::PathBuf),
    /// `capabilities`: not a capability set.
    Capabilities(IabError),
    /// The launch specification could not be built from the settings.
    Spec(SpecError),
}

impl fmt::Display for PrepareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrepareError::User { what, error } => write!(f, "run-as {what}: {error}"),
            PrepareError::Group { what, error } => write!(f, "group {what}: {error}"),
            PrepareError::Cgroup(path) => {
                write!(
                    f,
                    "run-in-cgroup {}: cannot resolve the path",
                    path.display()
                )
            }
            PrepareError::Capabilities(e) => write!(f, "capabilities: {e}"),
            PrepareError::Spec(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PrepareError {}

/// Why [`spawn`] could not start a child at all (before its start, or the start itself). Failures
/// inside the child are reported through [`ExecStatus`] instead.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SpawnError {
    /// The spec needs a descriptor that [`LaunchFds`] does not have.
    MissingFd(FdRole),
    /// Mapping the launch's memory (vectors, environment, the child's stack) failed.
    Memory(Errno),
    /// Creating the status pipe failed (descriptor limit).
    StatusPipe(Errno),
    /// `clone` or `fork` failed (process limit, memory).
    Fork(Errno),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::MissingFd(role) => write!(f, "no {role:?} descriptor passed to launch"),
            SpawnError::Memory(e) => write!(f, "mapping the launch's memory: {e}"),
            SpawnError::StatusPipe(e) => write!(f, "creating the status pipe: {e}"),
            SpawnError::Fork(e) => write!(f, "fork: {e}"),
        }
    }
}

impl std::error::Error for SpawnError {}

/// A launched child.
#[derive(Debug)]
pub struct Child {
    /// Its process id (also its process group id, unless the spec said otherwise).
    pub pid: dinit_core::Pid,
    /// The parent's end of its status pipe, to learn whether `execve` succeeded.
    pub status: ExecStatus,
}

/// A close-on-exec pipe whose write end goes to a child and whose read end the daemon's event
/// loop reads (readiness notification, `log-type = buffer`): `(read end, write end)`, the read
/// end non-blocking, the write end blocking as programs expect of their output.
///
/// Non-blocking mode belongs to the open pipe end, which a child shares: a pipe whose read end
/// goes to another child must come from [`consumer_pipe`] instead.
pub fn child_pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let (read, write) = pipe_with(PipeFlags::CLOEXEC)?;
    rustix::io::ioctl_fionbio(&read, true)?;
    Ok((read, write))
}

/// A close-on-exec pipe from one child to another (`log-type = pipe` feeding the standard
/// input of a `consumer-of` service, [`Input::Pipe`]): `(read end, write end)`, both blocking,
/// as programs expect of their standard descriptors.
pub fn consumer_pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    pipe_with(PipeFlags::CLOEXEC)
}

/// Returns the number of a descriptor the spec needs, or -1 when it does not need it.
fn needed(wanted: bool, fd: Option<BorrowedFd<'_>>, role: FdRole) -> Result<RawFd, SpawnError> {
    match (wanted, fd) {
        (false, _) => Ok(-1),
        (true, Some(fd)) => Ok(fd.as_raw_fd()),
        (true, None) => Err(SpawnError::MissingFd(role)),
    }
}

/// Launches `spec`: lays out `argv`/`envp` in a memory region of the launch's own, starts the
/// child, and has it run its setup and `execve` (see the module documentation). `base_env` is
/// the daemon's global environment (`NAME=value` entries, copied into the region); the spec's
/// own variables take precedence over it. Performs no heap allocation.
///
/// The returned [`Child`] must be watched until its [`ExecStatus`] gives an outcome, and
/// reaped (`waitpid`) in any case. Its status keeps the region, and the spec alive, until the
/// child is done with them.
pub fn spawn<E: AsRef<CStr>>(
    spec: &Rc<SpawnSpec>,
    fds: &LaunchFds<'_>,
    base_env: &[E],
) -> Result<Child, SpawnError> {
    let notify = needed(spec.fds.notify.is_some(), fds.notify, FdRole::Notify)?;
    let activation = needed(spec.fds.activation, fds.activation, FdRole::Activation)?;
    let control = needed(spec.fds.control.is_some(), fds.control, FdRole::Control)?;
    let (wants_input, wants_output) = match &spec.stdio {
        spec::PreparedStdio::Detached { input, output } => {
            (*input == Input::Pipe, *output == spec::PreparedOutput::Pipe)
        }
        spec::PreparedStdio::Console(_) => (false, false),
    };
    let input = needed(wants_input, fds.input, FdRole::Input)?;
    let output = needed(wants_output, fds.output, FdRole::Output)?;

    let base_env = if spec.clear_base_env { &[] } else { base_env };
    let shared = child::SHARES_MEMORY && spec.may_share_memory();
    let mut region = Region::map(layout(spec, base_env, shared)).map_err(SpawnError::Memory)?;
    fill_vectors(spec, &mut region, base_env)?;

    // A full descriptor table must not stop a launch (a restart would fail and the service
    // would no longer be supervised): see `reserve`.
    let mut reserve = reserve::Reserve::take();
    let flags = PipeFlags::CLOEXEC | PipeFlags::NONBLOCK;
    let (read, write) = match pipe_with(flags) {
        Err(Errno::MFILE) | Err(Errno::NFILE) => {
            reserve.release(2);
            pipe_with(flags)
        }
        other => other,
    }
    .map_err(SpawnError::StatusPipe)?;
    let (argv, envp, listen_pid) = region.vectors();
    let plan = child::ChildPlan {
        spec,
        argv,
        envp,
        listen_pid,
        status: write.as_raw_fd(),
        notify,
        activation,
        control,
        input,
        output,
        reserve: reserve.raw(),
    };
    let pid = start_child(&plan, shared.then_some(&mut region))?;
    drop(write);
    // The child makes its own session or group (the parent must not: a child that is already
    // a group leader cannot call setsid), possibly after this returns: signalling its group
    // falls back to the process until then (`daemon::procs::send_signal`), and the child holds
    // every signal blocked until its exec.
    let pipe = if shared {
        StatusPipe::holding(read, region, Rc::clone(spec))
    } else {
        // A forked child has its own copy of everything.
        drop(region);
        StatusPipe::plain(read)
    };
    Ok(Child {
        pid,
        status: ExecStatus::from_pipe(pipe),
    })
}

/// The room a launch of `spec` needs.
fn layout<E: AsRef<CStr>>(spec: &SpawnSpec, base_env: &[E], stack: bool) -> Layout {
    let text = base_env
        .iter()
        .map(|e| e.as_ref().to_bytes_with_nul().len())
        .fold(0usize, usize::saturating_add);
    Layout {
        argv: spec.argc().saturating_add(1),
        envp: spec
            .env
            .len()
            .saturating_add(usize::from(spec.fds.activation))
            .saturating_add(base_env.len())
            .saturating_add(1),
        text,
        stack,
    }
}

/// Fills the `argv` and `envp` vectors of `region` (zeroed, so each ends with its NULL).
fn fill_vectors<E: AsRef<CStr>>(
    spec: &SpawnSpec,
    region: &mut Region,
    base_env: &[E],
) -> Result<(), SpawnError> {
    let too_small = SpawnError::Memory(Errno::NOMEM);
    for (slot, arg) in region.argv().iter_mut().zip(spec.args()) {
        *slot = arg.as_ptr();
    }
    // The last entry stays NULL.
    let capacity = region.envp().len().saturating_sub(1);
    let mut next = 0usize;
    let mut push = |region: &mut Region, entry: *const c_char| -> Result<(), SpawnError> {
        let slot = region
            .envp()
            .get_mut(next)
            .filter(|_| next < capacity)
            .ok_or(too_small)?;
        *slot = entry;
        next = next.saturating_add(1);
        Ok(())
    };
    for var in &spec.env {
        push(region, var.as_ptr())?;
    }
    if spec.fds.activation {
        // The child writes its pid after the prefix.
        let buffer = region.listen_pid();
        for (slot, &byte) in buffer.iter_mut().zip(LISTEN_PID_PREFIX) {
            *slot = byte;
        }
        let entry = buffer.as_ptr().cast();
        push(region, entry)?;
    }
    let listen_pid = variable_name(LISTEN_PID_PREFIX);
    for var in base_env {
        let var = var.as_ref();
        let bytes = var.to_bytes();
        if !bytes.contains(&b'=') {
            continue;
        }
        let name = variable_name(bytes);
        let overridden = spec.env.iter().any(|e| variable_name(e.as_bytes()) == name)
            || (spec.fds.activation && name == listen_pid)
            || spec
                .extra()
                .hidden_base_env
                .iter()
                .any(|h| h.as_slice() == name);
        if !overridden {
            let copy = region.copy(var).ok_or(too_small)?;
            push(region, copy)?;
        }
    }
    Ok(())
}

/// Starts the child with every signal blocked (so that no handler of the daemon runs in the
/// child, and the child can take the terminal without SIGTTOU), and restores the mask.
fn start_child(
    plan: &child::ChildPlan<'_>,
    region: Option<&mut Region>,
) -> Result<dinit_core::Pid, SpawnError> {
    let saved = signal::set_thread_mask(&SignalSet::full());
    let started = child::start(plan, region);
    signal::set_thread_mask(&saved);
    started.map_err(SpawnError::Fork)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dinit_core::ExecStage;

    /// The children these tests start are reaped by them (not by a harness).
    fn reap(pid: dinit_core::Pid) {
        let pid = rustix::process::Pid::from_raw(pid).unwrap();
        let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
    }

    /// This thread's `errno`.
    #[allow(unsafe_code)]
    fn errno() -> i32 {
        // SAFETY: glibc's and musl's accessor for the calling thread's errno.
        let location = unsafe { libc::__errno_location() };
        // SAFETY: that location is valid for this thread's life.
        unsafe { *location }
    }

    /// Sets this thread's `errno`.
    #[allow(unsafe_code)]
    fn set_errno(value: i32) {
        // SAFETY: as above.
        let location = unsafe { libc::__errno_location() };
        // SAFETY: as above.
        unsafe { *location = value };
    }

    /// A child started in the daemon's memory must leave the daemon's `errno` alone while
    /// its setup steps fail (it shares the thread pointer through which libc finds `errno`).
    /// The failing `chdir` and the `PATH` search of a missing program fail many system calls.
    #[test]
    fn a_child_in_shared_memory_leaves_the_parents_errno_alone() {
        let mut config = SpawnConfig::new(["dinit-no-such-program"]);
        config
            .env
            .push((b"PATH".to_vec(), b"/a:/b:/c:/d:/e:/f:/g:/h".to_vec()));
        let searched = Rc::new(SpawnSpec::new(&config).unwrap());
        config.working_dir = Some(b"/nonexistent/dinit-test".to_vec());
        let chdir = Rc::new(SpawnSpec::new(&config).unwrap());
        let none: [&CStr; 0] = [];
        for (spec, stage) in [(&searched, ExecStage::DoExec), (&chdir, ExecStage::Chdir)] {
            set_errno(12345);
            let mut child = spawn(spec, &LaunchFds::default(), &none).unwrap();
            // Waiting makes raw system calls only (rustix), so errno is still ours to check.
            let outcome = child.status.wait().unwrap();
            let errno = errno();
            assert_eq!(
                outcome,
                ExecOutcome::Failed(ExecFailure {
                    stage,
                    errno: libc::ENOENT
                })
            );
            // Where the child is a `fork` copy (armv7, mips, ...) it cannot reach the
            // parent's errno, and glibc's `fork` may itself set errno while succeeding (it
            // does on MIPS under qemu-user: EAGAIN): nothing of ours to check there.
            if child::SHARES_MEMORY {
                assert_eq!(errno, 12345, "the child wrote the parent's errno");
            }
            reap(child.pid);
        }
    }

    /// The child's stack: the deepest setup (a log file, a cgroup-less `PATH` search through
    /// every entry) touches well under half of it.
    #[test]
    fn the_child_stack_has_room_to_spare() {
        if !child::SHARES_MEMORY {
            return;
        }
        let dir = std::env::temp_dir().join(format!("dinit-stack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = SpawnConfig::new(["dinit-no-such-program"]);
        config
            .env
            .push((b"PATH".to_vec(), b"/a:/b:/c:/usr/bin:/bin".to_vec()));
        config.stdio = Stdio::Detached {
            input: Input::Null,
            output: Output::Logfile(Logfile {
                path: dir.join("log").into_os_string().into_encoded_bytes(),
                mode: 0o600,
                uid: None,
                gid: None,
            }),
        };
        let spec = Rc::new(SpawnSpec::new(&config).unwrap());
        let none: [&CStr; 0] = [];
        let mut child = spawn(&spec, &LaunchFds::default(), &none).unwrap();
        assert!(matches!(
            child.status.wait().unwrap(),
            ExecOutcome::Failed(_)
        ));
        // The report came before the end-of-file: the region is still held, and the pages
        // the child touched are still there to count.
        let touched = child.status.stack_pages_touched().unwrap();
        let pages = child::STACK_LEN / 4096;
        assert!(touched > 0, "the child ran on another stack");
        assert!(touched * 2 < pages, "{touched} of {pages} stack pages used");
        reap(child.pid);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A setup step the kernel applies to every process sharing the memory must not reach the
    /// daemon: such launches fork (`SpawnSpec::may_share_memory`).
    #[test]
    fn oom_score_adj_of_a_child_is_not_the_daemons() {
        let before = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
        let mut config = SpawnConfig::new(["/bin/true"]);
        let wanted: i16 = if before.trim() == "1000" { 999 } else { 1000 };
        config.oom_score_adj = Some(wanted);
        let spec = Rc::new(SpawnSpec::new(&config).unwrap());
        assert!(!spec.may_share_memory());
        let none: [&CStr; 0] = [];
        let mut child = spawn(&spec, &LaunchFds::default(), &none).unwrap();
        assert_eq!(child.status.wait().unwrap(), ExecOutcome::Started);
        reap(child.pid);
        let after = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
        assert_eq!(before, after);
    }
}
