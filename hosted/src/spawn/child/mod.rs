//! The child side of a launch: everything between the child's start and `execve`.
//!
//! This code runs either in the daemon's own memory, beside it (`clone(CLONE_VM)`: see
//! [`start`] and the `spawn` module's documentation), or in a `fork` copy of a possibly
//! multi-threaded daemon in which only the forking thread exists. Either way it must be
//! async-signal-safe and more: raw system calls only (through rustix's `linux_raw` backend,
//! or [`raw`] for what rustix lacks; never the C library, which would set the daemon's
//! `errno`), no heap allocation, no locks, no standard I/O, no panics (checked slice access
//! and non-overflowing arithmetic throughout), and no writes outside its own stack and the
//! `LISTEN_PID` entry of its region. Every step either succeeds or ends the child with a
//! report of its stage and errno on the status pipe.
//!
//! The steps, in order (stage in brackets):
//!
//! 0. Close the child's copies of the parent's spare descriptors (`reserve`), so that the
//!    steps below find room in the descriptor table even when the daemon's is full.
//! 1. Move every descriptor the child keeps — the status pipe, the readiness pipe, the
//!    activation socket, the control connection and the stdio pipes — above all target
//!    numbers, then mark every descriptor from 3 up close-on-exec [`ArrangeFds`].
//! 2. Readiness pipe onto `pipefd:N` [`ArrangeFds`] or onto its chosen number for `pipevar`
//!    [`SetNotifyFdVar`].
//! 3. Activation socket onto fd 3, and the child's pid into `LISTEN_PID`
//!    [`SetupActivationSocket`].
//! 4. Control connection onto its number [`SetupControlSocket`].
//! 5. `chdir` [`Chdir`].
//! 6. Process group or session (and the terminal's foreground for a console service), then
//!    fds 0-2: `/dev/null`, the console, a pipe [`SetupStdio`] or the log file
//!    [`OpenLogfile`].
//! 7. Join the cgroup [`EnterCgroup`].
//! 8. Resource limits [`SetRlimits`].
//! 9. Nice (clamped, errors ignored; the autogroup too when the child leads its own session),
//!    OOM score adjustment, I/O priority [`SetPrio`].
//! 10. Supplementary groups, gid, uid [`SetUidGid`].
//! 11. Capabilities (inheritable, bounding, ambient), securebits, no-new-privs [`SetCaps`].
//! 12. Default signal dispositions, then the final signal mask (empty, or just SIGINT for a
//!     console service without `unmask-intr`), then `execve` [`DoExec`].
//!
//! [`ArrangeFds`]: ExecStage::ArrangeFds
//! [`SetNotifyFdVar`]: ExecStage::SetNotifyFdVar
//! [`SetupActivationSocket`]: ExecStage::SetupActivationSocket
//! [`SetupControlSocket`]: ExecStage::SetupControlSocket
//! [`Chdir`]: ExecStage::Chdir
//! [`SetupStdio`]: ExecStage::SetupStdio
//! [`OpenLogfile`]: ExecStage::OpenLogfile
//! [`EnterCgroup`]: ExecStage::EnterCgroup
//! [`SetRlimits`]: ExecStage::SetRlimits
//! [`SetPrio`]: ExecStage::SetPrio
//! [`SetUidGid`]: ExecStage::SetUidGid
//! [`SetCaps`]: ExecStage::SetCaps
//! [`DoExec`]: ExecStage::DoExec

use core::ffi::{c_char, c_int, CStr};
use std::os::fd::{BorrowedFd, IntoRawFd, RawFd};

use dinit_core::ExecStage;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::thread::{CapabilitiesSecureBits, CapabilitySet, CapabilitySets};

use super::spec::{
    PreparedOutput, PreparedStdio, SpawnSpec, ACTIVATION_FD, LISTEN_PID_LEN, LISTEN_PID_PREFIX,
};
use super::status::encode_report;
use super::Input;

mod memory;
mod raw;

#[cfg(test)]
pub(super) use memory::STACK_LEN;
pub(super) use memory::{Layout, Region, StatusPipe};
pub(super) use raw::SHARES_MEMORY;

/// A failed step: its stage and errno.
type Failure = (ExecStage, i32);

/// Everything the child uses, prepared by the parent before `fork`.
pub(super) struct ChildPlan<'a> {
    pub spec: &'a SpawnSpec,
    /// NULL-terminated argument vector.
    pub argv: *const *const c_char,
    /// NULL-terminated environment vector.
    pub envp: *const *const c_char,
    /// The `LISTEN_PID=` buffer that `envp` points to, which the child completes.
    pub listen_pid: *mut u8,
    /// The status pipe's write end (close-on-exec).
    pub status: RawFd,
    /// Descriptors passed in, by role (-1 for none).
    pub notify: RawFd,
    pub activation: RawFd,
    pub control: RawFd,
    pub input: RawFd,
    pub output: RawFd,
    /// The parent's spare descriptors (-1 for none), which the child closes in its own table
    /// first, so that it has room to open what it needs even when the daemon's table is full.
    pub reserve: [RawFd; super::reserve::RESERVE],
}

/// The default program search path when the child's environment has no `PATH`.
const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Room for a program path built during the `PATH` search (`PATH_MAX`).
const PATH_BUFFER_LEN: usize = 4096;

/// Runs the child's setup and `execve`; never returns.
///
/// # Safety
/// Must be called only in the child just after `fork`, with `plan` prepared by the parent: its
/// pointers valid NULL-terminated vectors of C strings (and a `LISTEN_PID_LEN`-byte buffer).
pub(super) unsafe fn run(plan: &ChildPlan<'_>) -> ! {
    let mut status = plan.status;
    // SAFETY: the caller guarantees the plan's pointers.
    let (stage, errno) = unsafe { setup_and_exec(plan, &mut status) };
    let report = encode_report(stage, errno);
    // SAFETY: `status` is the status pipe's write end, open in this process. A failed write
    // leaves the parent with end-of-file and the exit status 127 to go on; nothing better can
    // be done here.
    let _ = rustix::io::write(unsafe { BorrowedFd::borrow_raw(status) }, &report);
    raw::exit(127)
}

/// Attaches a stage to a rustix error.
trait AtStage<T> {
    fn at(self, stage: ExecStage) -> Result<T, Failure>;
}

impl<T> AtStage<T> for Result<T, Errno> {
    fn at(self, stage: ExecStage) -> Result<T, Failure> {
        self.map_err(|e| (stage, e.raw_os_error()))
    }
}

/// Borrows a descriptor number for one system call.
fn fd(raw: RawFd) -> BorrowedFd<'static> {
    // SAFETY: only used on descriptors this process holds open (those passed to the launch,
    // the ones the child opened, 0-2 of the daemon); a number that is not open only makes the
    // system call fail with EBADF, which is reported.
    unsafe { BorrowedFd::borrow_raw(raw) }
}

/// Writes the decimal digits of `value` to the start of `out`; the count, or `None` if there
/// is no room.
fn write_decimal(mut value: u64, out: &mut [u8]) -> Option<usize> {
    let mut digits = [0u8; 20];
    let mut count = 0usize;
    loop {
        // `value % 10` is below 10, so the narrowing and the addition cannot overflow.
        *digits.get_mut(count)? = b'0'.wrapping_add((value % 10) as u8);
        count = count.wrapping_add(1);
        value /= 10;
        if value == 0 {
            break;
        }
    }
    let out = out.get_mut(..count)?;
    for (slot, digit) in out.iter_mut().zip(digits.get(..count)?.iter().rev()) {
        *slot = *digit;
    }
    Some(count)
}

/// Copies `fd` to a close-on-exec descriptor numbered `high` or above if it is below `high`
/// (so that no target number can clobber it), returning the number to use.
fn move_above(raw: RawFd, high: RawFd) -> Result<RawFd, Failure> {
    if raw < 0 || raw >= high {
        return Ok(raw);
    }
    rustix::io::fcntl_dupfd_cloexec(fd(raw), high)
        .map(IntoRawFd::into_raw_fd)
        .at(ExecStage::ArrangeFds)
}

/// Puts `src` on `target` without close-on-exec (what `dup2` does, except when the numbers
/// are equal, where only the flag needs clearing).
fn place(src: RawFd, target: RawFd, stage: ExecStage) -> Result<(), Failure> {
    if src == target {
        return rustix::io::fcntl_setfd(fd(target), rustix::io::FdFlags::empty()).at(stage);
    }
    // rustix's dup2 needs an owned target, which the child does not have for a number that is
    // not open yet.
    raw::dup3(src, target).map_err(|errno| (stage, errno))
}

/// Marks every descriptor from 3 up close-on-exec.
fn cloexec_from_3() -> Result<(), Failure> {
    match raw::cloexec_range(3) {
        Ok(()) => return Ok(()),
        Err(libc::ENOSYS | libc::EINVAL) => {}
        Err(errno) => return Err((ExecStage::ArrangeFds, errno)),
    }
    // Kernels before 5.11: every number below the descriptor limit, one by one.
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(i32::MAX);
    let mut raw: RawFd = 3;
    while raw < limit {
        // Numbers that are not open fail with EBADF and are skipped; setting the flag on a
        // descriptor the child holds (a copy of the parent's) changes nothing in the parent.
        if let Ok(flags) = rustix::io::fcntl_getfd(fd(raw)) {
            if !flags.contains(rustix::io::FdFlags::CLOEXEC) {
                rustix::io::fcntl_setfd(fd(raw), flags | rustix::io::FdFlags::CLOEXEC)
                    .at(ExecStage::ArrangeFds)?;
            }
        }
        raw = raw.saturating_add(1);
    }
    Ok(())
}

/// The pid of this (child) process.
fn own_pid() -> u64 {
    u64::try_from(rustix::process::getpid().as_raw_nonzero().get()).unwrap_or(0)
}

/// Writes `text` to the file at `path` (a `/proc` or cgroup control file).
fn write_control_file(path: &CStr, text: &[u8], stage: ExecStage) -> Result<(), Failure> {
    let file = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()).at(stage)?;
    let written = rustix::io::write(&file, text).at(stage)?;
    if written != text.len() {
        return Err((stage, libc::EIO));
    }
    Ok(())
}

/// # Safety
/// As for [`run`].
unsafe fn setup_and_exec(plan: &ChildPlan<'_>, status: &mut RawFd) -> Failure {
    // SAFETY: forwarded.
    match unsafe { setup(plan, status) } {
        Ok(()) => {}
        Err(failure) => return failure,
    }
    // SAFETY: forwarded.
    unsafe { exec(plan) }
}

/// Steps 1 to 11 and the signal reset.
///
/// # Safety
/// As for [`run`].
unsafe fn setup(plan: &ChildPlan<'_>, status: &mut RawFd) -> Result<(), Failure> {
    let spec = plan.spec;

    // 0-4. Descriptors.
    // SAFETY: forwarded.
    let (input, output) = unsafe { arrange_fds(plan, status) }?;

    // 5. Working directory.
    if let Some(dir) = spec.working_dir() {
        rustix::process::chdir(dir).at(ExecStage::Chdir)?;
    }

    // 6. Process group / session, terminal, standard descriptors.
    setup_stdio(spec, input, output)?;

    // 7. Cgroup.
    if let Some(procs) = &spec.extra().cgroup_procs {
        let mut text = [0u8; 20];
        let len = write_decimal(own_pid(), &mut text).unwrap_or(0);
        let pid = text.get(..len).unwrap_or_default();
        write_control_file(procs, pid, ExecStage::EnterCgroup)?;
    }

    // 8-10. Resource limits, priorities, identity.
    set_rlimits(spec)?;
    set_priorities(spec)?;
    set_identity(spec)?;

    // 11. Capabilities and related flags.
    if spec.changes_capabilities() {
        set_capabilities(spec).at(ExecStage::SetCaps)?;
    }
    if spec.no_new_privs {
        rustix::thread::set_no_new_privs(true).at(ExecStage::SetCaps)?;
    }

    // 12a. Signals: the daemon ignores some (SIGPIPE) and blocks the ones it reads through a
    //      signalfd; the command must start with default dispositions and an open mask.
    reset_signals(spec.masks_sigint())
}

/// Steps 0 to 4: room in the descriptor table, the kept descriptors out of the way, then the
/// readiness pipe, the activation socket (and `LISTEN_PID`) and the control connection on
/// their numbers. Returns where the standard input and output pipes now are.
///
/// # Safety
/// As for [`run`].
unsafe fn arrange_fds(plan: &ChildPlan<'_>, status: &mut RawFd) -> Result<(RawFd, RawFd), Failure> {
    let spec = plan.spec;
    let high = spec.fds.high;

    // 0. Room in the descriptor table (the parent keeps its copies of these).
    for raw in plan.reserve {
        if raw >= 0 {
            // A spare descriptor of the parent's reserve, used by nothing here.
            raw::close(raw);
        }
    }

    // 1. Keep every descriptor we need out of the way of the target numbers, then make sure
    //    nothing else from the daemon survives exec.
    *status = move_above(*status, high)?;
    let notify = move_above(plan.notify, high)?;
    let activation = move_above(plan.activation, high)?;
    let control = move_above(plan.control, high)?;
    let input = move_above(plan.input, high)?;
    let output = move_above(plan.output, high)?;
    cloexec_from_3()?;

    // 2. Readiness pipe.
    if let Some((target, by_var)) = spec.fds.notify {
        let stage = if by_var {
            ExecStage::SetNotifyFdVar
        } else {
            ExecStage::ArrangeFds
        };
        place(notify, target, stage)?;
    }

    // 3. Activation socket.
    if spec.fds.activation {
        let stage = ExecStage::SetupActivationSocket;
        place(activation, ACTIVATION_FD, stage)?;
        // SAFETY: the parent made `listen_pid` point to a LISTEN_PID_LEN-byte buffer that only
        // this process uses now; the environment vector points to its start.
        let buffer = unsafe { core::slice::from_raw_parts_mut(plan.listen_pid, LISTEN_PID_LEN) };
        let digits = buffer
            .get_mut(LISTEN_PID_PREFIX.len()..)
            .ok_or((stage, libc::ENOMEM))?;
        let count = write_decimal(own_pid(), digits).ok_or((stage, libc::ENOMEM))?;
        *digits.get_mut(count).ok_or((stage, libc::ENOMEM))? = 0;
    }

    // 4. Control connection.
    if let Some(target) = spec.fds.control {
        place(control, target, ExecStage::SetupControlSocket)?;
    }
    Ok((input, output))
}

/// Step 8: the resource limits.
fn set_rlimits(spec: &SpawnSpec) -> Result<(), Failure> {
    for &(resource, limit) in &spec.extra().rlimits {
        let resource = super::spec::rustix_resource(resource);
        let current = rustix::process::getrlimit(resource);
        let pick = |wanted: super::Limit, now: Option<u64>| match wanted {
            super::Limit::Unchanged => now,
            super::Limit::Unlimited => None,
            super::Limit::Value(v) => Some(v),
        };
        let new = rustix::process::Rlimit {
            current: pick(limit.soft, current.current),
            maximum: pick(limit.hard, current.maximum),
        };
        rustix::process::setrlimit(resource, new).at(ExecStage::SetRlimits)?;
    }
    Ok(())
}

/// Step 9: priorities. `nice` is best effort by definition (dinit-service(5)): out-of-range
/// values are clamped at load time and failures are ignored, for the autogroup too. The
/// autogroup belongs to the whole session, so it is set only when the child leads a session
/// of its own; otherwise it would re-prioritise the daemon's session.
fn set_priorities(spec: &SpawnSpec) -> Result<(), Failure> {
    if let Some((nice, text)) = &spec.extra().nice {
        let _ = rustix::process::setpriority_process(None, *nice);
        let own_session =
            raw::own_session() == Ok(rustix::process::getpid().as_raw_nonzero().get());
        if own_session {
            let _ = write_control_file(c"/proc/self/autogroup", text, ExecStage::SetPrio);
        }
    }
    if let Some(text) = &spec.extra().oom_score_adj {
        write_control_file(c"/proc/self/oom_score_adj", text, ExecStage::SetPrio)?;
    }
    if let Some(value) = spec.extra().ioprio {
        raw::ioprio_set(value).map_err(|errno| (ExecStage::SetPrio, errno))?;
    }
    Ok(())
}

/// Step 10: identity: supplementary groups, then the group, then the user (after which the
/// privilege to change groups is gone).
fn set_identity(spec: &SpawnSpec) -> Result<(), Failure> {
    let Some(creds) = &spec.extra().run_as else {
        return Ok(());
    };
    let stage = ExecStage::SetUidGid;
    if spec.changes_capabilities() && !creds.uid.is_root() {
        // Keep the permitted capabilities across the uid change so that step 11 can still set
        // them up; execve clears this flag again.
        rustix::thread::set_keep_capabilities(true).at(stage)?;
    }
    rustix::thread::set_thread_groups(&creds.groups).at(stage)?;
    if let Some(gid) = creds.gid {
        rustix::thread::set_thread_res_gid(gid, gid, gid).at(stage)?;
    }
    rustix::thread::set_thread_res_uid(creds.uid, creds.uid, creds.uid).at(stage)
}

/// Step 6.
fn setup_stdio(spec: &SpawnSpec, input: RawFd, output: RawFd) -> Result<(), Failure> {
    match &spec.stdio {
        PreparedStdio::Console(console) => console_stdio(spec, console.exclusive),
        PreparedStdio::Detached {
            input: stdin,
            output: stdout,
        } => detached_stdio(spec, *stdin, stdout, input, output),
    }
}

/// Step 6 for a console service: the terminal's foreground (`exclusive`) or a process group
/// of its own, and the daemon's descriptors 0-2.
fn console_stdio(spec: &SpawnSpec, exclusive: bool) -> Result<(), Failure> {
    let stage = ExecStage::SetupStdio;
    if exclusive {
        take_terminal()?;
    } else if spec.new_process_group {
        rustix::process::setpgid(None, None).at(stage)?;
    }
    // The daemon's own descriptors 0-2 are the console; make sure they survive exec (and that
    // they are open at all).
    for raw in 0..3 {
        rustix::io::fcntl_setfd(fd(raw), rustix::io::FdFlags::empty()).at(stage)?;
    }
    Ok(())
}

/// Step 6 for a service detached from the console: a session of its own, then `/dev/null`,
/// the pipes or the log file on descriptors 0-2.
fn detached_stdio(
    spec: &SpawnSpec,
    stdin: Input,
    stdout: &PreparedOutput,
    input: RawFd,
    output: RawFd,
) -> Result<(), Failure> {
    let stage = ExecStage::SetupStdio;
    if spec.new_process_group {
        rustix::process::setsid().at(stage)?;
    }
    let need_null = stdin == Input::Null || *stdout == PreparedOutput::Null;
    let null = if need_null {
        rustix::fs::open(
            c"/dev/null",
            OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
        .at(stage)?
        .into_raw_fd()
    } else {
        -1
    };
    match stdin {
        Input::Null => place(null, 0, stage)?,
        Input::Pipe => place(input, 0, stage)?,
    }
    match stdout {
        PreparedOutput::Null => {
            place(null, 1, stage)?;
            place(null, 2, stage)?;
        }
        PreparedOutput::Pipe => {
            place(output, 1, stage)?;
            place(output, 2, stage)?;
        }
        PreparedOutput::Logfile {
            path,
            mode,
            uid,
            gid,
        } => {
            let log = ExecStage::OpenLogfile;
            let raw = open_log_file(path, *mode, *uid, *gid)?;
            place(raw, 1, log)?;
            place(raw, 2, log)?;
            if raw > 2 {
                // The log file's temporary descriptor, ours to close.
                raw::close(raw);
            }
        }
    }
    if null > 2 {
        // The temporary /dev/null descriptor, ours to close.
        raw::close(null);
    }
    Ok(())
}

/// Opens the log file for a service's output, with its owner and mode set: the descriptor
/// (close-on-exec, blocking).
fn open_log_file(
    path: &CStr,
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<RawFd, Failure> {
    let log = ExecStage::OpenLogfile;
    // The file is opened with the daemon's privileges, and its owner and mode are changed
    // next: a symbolic link planted at the path must not redirect that to another file
    // (O_NOFOLLOW: the open fails with ELOOP). The open must not wait either: opening a FIFO
    // without a reader would block the launch for good, with the service never started nor
    // failed (O_NONBLOCK: ENXIO instead, reported; cleared again below for the service).
    let file = rustix::fs::open(
        path,
        OFlags::WRONLY
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::CLOEXEC
            | OFlags::NOCTTY
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK,
        Mode::from_raw_mode(mode),
    )
    .at(log)?;
    let flags = rustix::fs::fcntl_getfl(&file).at(log)?;
    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK).at(log)?;
    // Owner first: a change of owner clears set-id bits, which the mode then restores.
    if uid.is_some() || gid.is_some() {
        rustix::fs::fchown(
            &file,
            uid.map(rustix::fs::Uid::from_raw_unchecked),
            gid.map(rustix::fs::Gid::from_raw_unchecked),
        )
        .at(log)?;
    }
    // The mode given at creation is reduced by the umask, and an existing file keeps its old
    // one: set it explicitly.
    rustix::fs::fchmod(&file, Mode::from_raw_mode(mode)).at(log)?;
    Ok(file.into_raw_fd())
}

/// Makes the child the foreground of the console terminal (fd 0), if it is a terminal.
fn take_terminal() -> Result<(), Failure> {
    let stage = ExecStage::SetupStdio;
    let terminal = fd(0);
    if !rustix::termios::isatty(terminal) {
        // No terminal to take; the child still gets a session of its own.
        rustix::process::setsid().at(stage)?;
        return Ok(());
    }
    // Session ids as the kernel gives them: 0 when the session's leader is outside this PID
    // namespace (a daemon started by `unshare --pid` without `setsid`), which rustix's
    // non-zero `Pid` cannot hold.
    let own_session = raw::own_session().map_err(|errno| (stage, errno))?;
    if raw::terminal_session(0) == Ok(own_session) {
        // The terminal already controls the daemon's session (a user-mode daemon started
        // from a shell): a new session could not have it, so take a new process group in
        // this session instead.
        rustix::process::setpgid(None, None).at(stage)?;
    } else {
        rustix::process::setsid().at(stage)?;
        rustix::process::ioctl_tiocsctty(terminal).at(stage)?;
    }
    // SIGTTOU is blocked here (the parent blocked every signal around fork), so a background
    // group may make itself the foreground.
    rustix::termios::tcsetpgrp(terminal, rustix::process::getpid()).at(stage)
}

/// Step 11: the IAB vectors and securebits.
fn set_capabilities(spec: &SpawnSpec) -> Result<(), Errno> {
    if let Some(iab) = spec.extra().capabilities {
        // capset silently drops capabilities the kernel does not know from the inheritable
        // set; asking about each one in the bounding set fails (EINVAL) for those instead.
        for cap in bits(iab.inheritable | iab.ambient | iab.blocked) {
            rustix::thread::capability_is_in_bounding_set(cap)?;
        }
    }
    let current = rustix::thread::capabilities(None)?;
    // Raise the effective set to the permitted one, which a uid change may have emptied: the
    // bounding-set and securebits changes below need CAP_SETPCAP in effect. Nothing of this
    // survives exec except what the kernel derives from the inheritable and ambient sets.
    let inheritable = match spec.extra().capabilities {
        Some(iab) => CapabilitySet::from_bits_retain(iab.inheritable),
        None => current.inheritable,
    };
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: current.permitted,
            permitted: current.permitted,
            inheritable,
        },
    )?;
    if let Some(iab) = spec.extra().capabilities {
        for cap in bits(iab.blocked) {
            rustix::thread::remove_capability_from_bounding_set(cap)?;
        }
        rustix::thread::clear_ambient_capability_set()?;
        for cap in bits(iab.ambient) {
            rustix::thread::configure_capability_in_ambient_set(cap, true)?;
        }
    }
    if let Some(securebits) = spec.extra().securebits {
        rustix::thread::set_capabilities_secure_bits(CapabilitiesSecureBits::from_bits_retain(
            u32::from(securebits.bits()),
        ))?;
    }
    Ok(())
}

/// The single-capability sets of the bits of `set`.
fn bits(set: u64) -> impl Iterator<Item = CapabilitySet> {
    (0..64u32)
        .filter(move |&n| set & (1u64 << n) != 0)
        .map(|n| CapabilitySet::from_bits_retain(1u64 << n))
}

/// Step 12a: default dispositions for every signal, then the final mask.
fn reset_signals(mask_sigint: bool) -> Result<(), Failure> {
    // Raw system calls, because the C library refuses to touch the signals it reserves (32
    // and 33 with glibc), which the daemon may have inherited as ignored.
    for signal in 1..=raw::LAST_SIGNAL {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        raw::default_disposition(signal).map_err(|errno| (ExecStage::DoExec, errno))?;
    }
    let mask: &[c_int] = if mask_sigint { &[libc::SIGINT] } else { &[] };
    raw::set_mask(mask).map_err(|errno| (ExecStage::DoExec, errno))
}

/// Step 12b: `execve`, searching `PATH` when the program has no slash. Returns only on
/// failure.
///
/// # Safety
/// As for [`run`].
unsafe fn exec(plan: &ChildPlan<'_>) -> Failure {
    let stage = ExecStage::DoExec;
    let Some(program) = plan.spec.program() else {
        return (stage, libc::ENOENT);
    };
    let name = program.to_bytes();
    if name.contains(&b'/') {
        // SAFETY: argv and envp are valid NULL-terminated vectors (the caller's guarantee).
        return (stage, unsafe { raw::execve(program, plan.argv, plan.envp) });
    }

    // SAFETY: envp is a valid NULL-terminated vector of C strings.
    let search = unsafe { find_path(plan.envp) }.unwrap_or(DEFAULT_PATH);
    let mut candidate = [0u8; PATH_BUFFER_LEN];
    let mut denied = false;
    let mut last = libc::ENOENT;
    for dir in search.split(|&b| b == b':') {
        // An empty entry is the current directory.
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let Some(len) = join_path(&mut candidate, dir, name) else {
            last = libc::ENAMETOOLONG;
            continue;
        };
        let Some(path) = candidate.get(..=len) else {
            continue;
        };
        let Ok(path) = CStr::from_bytes_with_nul(path) else {
            continue;
        };
        // SAFETY: as above.
        let errno = unsafe { raw::execve(path, plan.argv, plan.envp) };
        match errno {
            libc::EACCES => denied = true,
            libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG => last = errno,
            // Found but not runnable: that is the answer.
            _ => return (stage, errno),
        }
    }
    (stage, if denied { libc::EACCES } else { last })
}

/// The value of `PATH` in a NULL-terminated environment vector.
///
/// # Safety
/// `envp` must be a valid NULL-terminated vector of C strings.
unsafe fn find_path<'a>(envp: *const *const c_char) -> Option<&'a [u8]> {
    let mut entry = envp;
    loop {
        // SAFETY: `entry` is within the vector, whose end is marked by a NULL pointer.
        let item = unsafe { *entry };
        if item.is_null() {
            return None;
        }
        // SAFETY: every non-NULL entry is a C string.
        let text = unsafe { CStr::from_ptr(item) }.to_bytes();
        if let Some(value) = text.strip_prefix(b"PATH=") {
            return Some(value);
        }
        // SAFETY: this entry was not the terminator, so the next one is in the vector.
        entry = unsafe { entry.add(1) };
    }
}

/// Writes `dir/name` and a NUL into `out`; the length without the NUL.
fn join_path(out: &mut [u8], dir: &[u8], name: &[u8]) -> Option<usize> {
    let total = dir.len().checked_add(1)?.checked_add(name.len())?;
    out.get_mut(..dir.len())?.copy_from_slice(dir);
    *out.get_mut(dir.len())? = b'/';
    out.get_mut(dir.len().checked_add(1)?..total)?
        .copy_from_slice(name);
    *out.get_mut(total)? = 0;
    Some(total)
}

// Starting the child.

/// Where a child started in the daemon's memory begins: `run` on the plan placed in its
/// launch's region.
extern "C" fn child_entry(plan: *mut core::ffi::c_void) -> c_int {
    // SAFETY: `plan` is the copy `start` placed in the launch's region, which stays mapped
    // and unchanged, with the spec it refers to alive, until this child has left the
    // daemon's memory (see `memory`).
    let plan = unsafe { &*plan.cast::<ChildPlan<'static>>() };
    // SAFETY: we are the child, with the plan the parent prepared.
    unsafe { run(plan) }
}

/// Starts the child process running [`run`]`(plan)`; returns its pid.
///
/// With a `region` (a spec that may share memory, on an architecture where the child's
/// system calls leave `errno` alone: [`raw::SHARES_MEMORY`]), the child is started with
/// `clone(CLONE_VM)` on its own stack in the region: nothing of the daemon's memory is
/// copied, and the daemon goes on at once (the next launch, the event loop) while the child
/// sets up and execs on whatever CPU is free. Otherwise a plain `fork`, as Dinit does: the
/// kernel copies the daemon's page tables and descriptor table, and the daemon's next writes
/// to its memory fault while the child lives. Either way the outcome arrives later through
/// the status pipe, and the child runs with every signal blocked and ends in `execve` or
/// `exit_group`.
///
/// (Until issue 16 the child was started with `clone(CLONE_VM | CLONE_VFORK)`, which suspends
/// the daemon until the child has exec'd: on a busy machine every launch then waited for the
/// scheduler to run the child, and starting 1000 services took 4 to 12 times longer than
/// Dinit; see docs/PERFORMANCE.md.)
pub(super) fn start(
    plan: &ChildPlan<'_>,
    region: Option<&mut Region>,
) -> Result<dinit_core::Pid, Errno> {
    let pid = match region {
        Some(region) if raw::SHARES_MEMORY => {
            let (slot, top) = region.place_plan(plan);
            // SAFETY: the child runs `child_entry` on its own stack (the region's stack area,
            // whose top is 16-byte aligned) in the daemon's memory, reading only the plan, the
            // region and the spec, which the caller keeps unchanged until the child is done
            // (the status pipe's end-of-file), and writing only its stack and the region's
            // LISTEN_PID buffer. Its system calls are raw (no errno, no locks, no allocation);
            // without CLONE_FILES, CLONE_FS or CLONE_SIGHAND its descriptors, working
            // directory and signal dispositions are its own.
            unsafe {
                libc::clone(
                    child_entry,
                    top.cast(),
                    libc::CLONE_VM | libc::SIGCHLD,
                    slot.cast(),
                )
            }
        }
        _ => {
            // SAFETY: after fork the child runs only `run`, which is async-signal-safe and
            // never returns; the daemon is single-threaded, so no lock is held by another
            // thread at the fork.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: we are the child, just after fork, with (a copy of) the plan the
                // parent prepared.
                unsafe { run(plan) }
            }
            pid
        }
    };
    if pid < 0 {
        // rustix only represents errno values 1 to 4095.
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        let errno = if (1..4096).contains(&errno) {
            errno
        } else {
            libc::EIO
        };
        return Err(Errno::from_raw_os_error(errno));
    }
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        let mut buf = [0u8; 20];
        let n = write_decimal(0, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"0");
        let n = write_decimal(4_194_304, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"4194304");
        let n = write_decimal(u64::MAX, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"18446744073709551615");
        assert_eq!(write_decimal(123, &mut buf[..2]), None);
    }

    #[test]
    fn paths() {
        let mut buf = [0u8; 16];
        let n = join_path(&mut buf, b"/bin", b"sh").unwrap();
        assert_eq!(&buf[..=n], b"/bin/sh\0");
        assert_eq!(join_path(&mut buf, b"/a/very/long/dir", b"x"), None);
    }
}
