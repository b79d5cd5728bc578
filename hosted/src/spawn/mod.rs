//! Process spawning: `fork`, the child's setup, `execve`, and the report of which setup step
//! failed.
//!
//! # Shape
//!
//! A launch is prepared when the service is loaded and carried out without allocating:
//!
//! 1. Load time: resolve names ([`resolve_user`], [`resolve_group`], [`Iab::parse`],
//!    [`resolve_cgroup_path`]), fill in a [`SpawnConfig`], turn it into a [`SpawnSpec`]
//!    (validated; C strings, environment entries, descriptor numbers and numbers as text all
//!    made up front), and make [`LaunchBuffers`] for it.
//! 2. Launch: [`spawn`] fills the buffers' `argv`/`envp` pointer arrays (within their
//!    reserved capacity), creates the close-on-exec status pipe, blocks every signal, forks,
//!    and restores the mask. It returns a [`Child`]: the pid and the parent's end of the
//!    status pipe ([`ExecStatus`]).
//! 3. The event loop watches the status pipe: end-of-file with no data means `execve`
//!    succeeded ([`ExecOutcome::Started`]); a report means the child failed at some
//!    [`ExecStage`](dinit_core::ExecStage) with some errno ([`ExecOutcome::Failed`]) and
//!    exited with status 127. Either way the child must still be reaped by the caller.
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
// Everything between fork and execve: raw system calls on numbers and pointers prepared
// by the parent, where nothing may allocate or lock (each unsafe block says why it is sound).
#[allow(unsafe_code)]
mod child;
mod ids;
mod reserve;
mod spec;
mod status;

use core::ffi::CStr;
use core::fmt;
use core::ptr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::sys::signal::{self, SignalSet};

use rustix::io::Errno;
use rustix::pipe::{pipe_with, PipeFlags};

pub use caps::{capability_from_name, capability_name, Iab, IabError, Securebits, MAX_CAPABILITY};
pub use cgroup::{own_cgroup, own_cgroup_from, resolve_cgroup_path, CGROUP_ROOT};
pub use ids::{resolve_group, resolve_user, Credentials, IdError};
pub use spec::{
    Console, Input, Ioprio, LaunchBuffers, Limit, Logfile, Output, ReadyNotification, Resource,
    Rlimit, SpawnConfig, SpawnSpec, SpecError, Stdio,
};
pub use status::{ExecFailure, ExecOutcome, ExecStatus};

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

/// Why [`spawn`] could not start a child at all (before `fork`, or `fork` itself). Failures
/// inside the child are reported through [`ExecStatus`] instead.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SpawnError {
    /// The spec needs a descriptor that [`LaunchFds`] does not have.
    MissingFd(FdRole),
    /// The base environment has more entries than the buffers were made for.
    EnvironmentTooLarge {
        /// How many base entries the buffers can take.
        capacity: usize,
    },
    /// The buffers were made for a spec with fewer arguments.
    BuffersTooSmall,
    /// Creating the status pipe failed (descriptor limit).
    StatusPipe(Errno),
    /// `fork` failed (process limit, memory).
    Fork(Errno),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::MissingFd(role) => write!(f, "no {role:?} descriptor passed to launch"),
            SpawnError::EnvironmentTooLarge { capacity } => write!(
                f,
                "environment too large: room for {capacity} global variables"
            ),
            SpawnError::BuffersTooSmall => write!(f, "launch buffers made for another command"),
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

/// Appends to a vector within its reserved capacity only; `false` if it is full.
fn push_within<T>(v: &mut Vec<T>, item: T) -> bool {
    if v.len() < v.capacity() {
        v.push(item);
        true
    } else {
        false
    }
}

/// Launches `spec`: builds `argv`/`envp` in `buffers`, forks, and runs the child's setup and
/// `execve` (see the module documentation). `base_env` is the daemon's global environment
/// (`NAME=value` entries); the spec's own variables take precedence over it. Performs no heap
/// allocation.
///
/// The returned [`Child`] must be watched until its [`ExecStatus`] gives an outcome, and
/// reaped (`waitpid`) in any case.
pub fn spawn<E: AsRef<CStr>>(
    spec: &SpawnSpec,
    buffers: &mut LaunchBuffers,
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

    let result = fill_vectors(spec, buffers, base_env).and_then(|()| {
        // A full descriptor table must not stop a launch (a restart would fail and the
        // service would no longer be supervised): see `reserve`.
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
        let plan = child::ChildPlan {
            spec,
            argv: buffers.argv.as_ptr(),
            envp: buffers.envp.as_ptr(),
            listen_pid: buffers.listen_pid_buffer(),
            status: write.as_raw_fd(),
            notify,
            activation,
            control,
            input,
            output,
            reserve: reserve.raw(),
        };
        let pid = fork_child(&plan)?;
        drop(write);
        // The child makes its own session or group (the parent must not: a child that is
        // already a group leader cannot call setsid), possibly after this returns: signalling
        // its group falls back to the process until then (`daemon::procs::send_signal`), and
        // the child holds every signal blocked until its exec.
        Ok(Child {
            pid,
            status: ExecStatus::new(read),
        })
    });
    // The vectors point into `spec` and `base_env`, which the caller may change next.
    buffers.argv.clear();
    buffers.envp.clear();
    result
}

/// Fills the `argv` and `envp` pointer arrays of `buffers` without allocating.
fn fill_vectors<E: AsRef<CStr>>(
    spec: &SpawnSpec,
    buffers: &mut LaunchBuffers,
    base_env: &[E],
) -> Result<(), SpawnError> {
    buffers.argv.clear();
    if buffers.argv.capacity() <= spec.argc() {
        return Err(SpawnError::BuffersTooSmall);
    }
    for arg in spec.args() {
        push_within(&mut buffers.argv, arg.as_ptr());
    }
    push_within(&mut buffers.argv, ptr::null());

    let full = SpawnError::EnvironmentTooLarge {
        capacity: buffers.base_env_capacity(spec),
    };
    buffers.envp.clear();
    for var in &spec.env {
        if !push_within(&mut buffers.envp, var.as_ptr()) {
            return Err(SpawnError::BuffersTooSmall);
        }
    }
    if spec.fds.activation {
        // The child writes its pid after the prefix.
        let entry = buffers.listen_pid_entry().cast_const().cast();
        if !push_within(&mut buffers.envp, entry) {
            return Err(SpawnError::BuffersTooSmall);
        }
    }
    let listen_pid = variable_name(LISTEN_PID_PREFIX);
    let base_env = if spec.clear_base_env { &[] } else { base_env };
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
        if !overridden && !push_within(&mut buffers.envp, var.as_ptr()) {
            return Err(full);
        }
    }
    if !push_within(&mut buffers.envp, ptr::null()) {
        return Err(full);
    }
    Ok(())
}

/// Forks with every signal blocked (so that no handler of the daemon runs in the child, and
/// the child can take the terminal without SIGTTOU), runs the child, and restores the mask.
fn fork_child(plan: &child::ChildPlan<'_>) -> Result<dinit_core::Pid, SpawnError> {
    let saved = signal::set_thread_mask(&SignalSet::full());
    let started = child::start(plan);
    signal::set_thread_mask(&saved);
    started.map_err(SpawnError::Fork)
}
