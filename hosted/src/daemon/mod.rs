//! The daemon: the event loop that connects the engine to the operating system.
//!
//! One thread. The loop waits on one multiplexer ([`Reactor`]) for: signals (through a
//! descriptor), the control socket and its connections, each launched process's exec-status
//! pipe, readiness pipes, and the output pipes of services whose output is buffered; its timeout
//! is the engine's earliest deadline. Every input is handed to the engine
//! ([`ServiceSet`](dinit_core::ServiceSet)) with the current monotonic time; the engine calls
//! back through the runtime's `Host` implementation to launch commands, send signals, read pid files, report events to
//! control connections and log.
//!
//! Allocation: loading service descriptions, accepting connections and changing the global
//! environment allocate; the steady state (starting, stopping and restarting services, process
//! exits, timers, status and list requests) does not — every buffer is reserved when a service
//! is loaded or a connection accepted (see `tests/daemon_noalloc.rs`).

pub mod control;
mod logbuf;
mod logfile;
pub mod options;
mod pids;
mod procs;
pub mod system;

use crate::environ::Environment;
use crate::load::ReadService;
use crate::load::{LoadFailure, Loader, ServiceStore};
use crate::log::{Level, Logger, Sink};
use crate::paths::{
    default_env_file, default_service_dirs, default_socket_path, InstanceKind, ProcessEnv,
};
use crate::reactor::{handled_signals, Interest, Reactor, SignalSource};
use control::Control;
use dinit_core::engine::{CommandKind, Host, LaunchFailed, Notice, PidFileResult};
use dinit_core::profile::ConfiguredSet;
use dinit_core::{Gentle, Instant, Pid, Pin, ServiceEvent, ServiceId, ServiceStatus, ShutdownKind};
use options::DaemonOptions;
use procs::ServiceRt;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Gives memory freed after a load (the parser's scratch buffers, the descriptions read) back
/// to the system, so that the daemon's resident size reflects what it keeps, not what loading
/// needed for a moment.
fn release_free_memory() {
    crate::sys::trim_allocator();
}

/// Has the C allocator map blocks of 16 KiB and more on their own rather than carve them
/// from the heap: the loader's temporary buffers (a description, substitution buffers, the
/// transaction's lists) are that size or more, and freed they are unmapped at once instead
/// of leaving holes between the small blocks a service keeps; and the room reserved per
/// service (the pid table, the exec outcomes: tens of kilobytes with a thousand services)
/// then takes pages only as it is used, where a block carved from the heap may reuse pages
/// that earlier temporaries had touched. (Measured on the static build: with 1000 services
/// loaded 1056-1060 kB at 64 KiB, 1028-1032 at 16 KiB; 8 KiB was no better.)
fn tune_allocator() {
    crate::sys::set_allocator_mmap_threshold(16 * 1024);
}

/// Gives back the stack pages that a burst of work touched and the loop no longer uses: the
/// part of the daemon's own stack below the frame of the event loop (loading a description
/// uses some tens of kilobytes of it, once; a launch a page or two). They are zero pages again
/// the next time they are touched: one `madvise` per turn that did such work (six for the
/// start and stop of 1000 services). Linux only, and only on the main thread (see
/// `sys::release_unused_stack`).
fn release_stack_pages() {
    crate::sys::release_unused_stack();
}

/// Readiness events taken from the multiplexer per wait (more are taken at the next turn).
const EVENTS_PER_WAIT: usize = 64;
/// How long the daemon waits for its log to be written before it exits at start-up (as Dinit).
const LOG_FLUSH_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a multiplexer token refers to (the top byte of the token).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum TokenKind {
    Signals = 1,
    Listener = 2,
    Conn = 3,
    /// Exec status pipe: index = slot * 2 + role (0 start, 1 stop).
    Status = 4,
    /// Readiness pipe of a service.
    Ready = 5,
    /// Output pipe of a service with `log-type = buffer`.
    Output = 6,
}

pub(crate) fn token(kind: TokenKind, index: usize) -> u64 {
    (u64::from(kind as u8) << 56) | (index as u64 & 0x00ff_ffff_ffff_ffff)
}

fn split_token(token: u64) -> (u8, usize) {
    (
        (token >> 56) as u8,
        (token & 0x00ff_ffff_ffff_ffff) as usize,
    )
}

/// Work the host asked for that needs the engine, done after the engine returns.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    /// Services whose `chain-to` target must be started.
    chains: Vec<ServiceId>,
    /// The engine became idle, with this shutdown kind.
    idle: Option<Option<ShutdownKind>>,
    /// `starts-rwfs`: (re)create the control socket.
    reopen_socket: bool,
    /// `starts-log`: open the system log.
    open_syslog: bool,
    /// A service started while the kernel's log is wanted and not open (`/dev` may have come
    /// with it): try again.
    open_kmsg: bool,
    /// Launches whose exec outcome is known but not yet reported to the engine.
    pub(crate) exec_known: Vec<(ServiceId, u8)>,
    /// `exec_known` is being worked through (by an outer call).
    reporting_exec: bool,
    /// The daemon's ends of `pass-cs-fd` connections, to add as control connections.
    pub(crate) new_conns: Vec<rustix::fd::OwnedFd>,
    /// `starts-rwfs`: record the boot in wtmp (once, system manager only).
    log_boot: bool,
    /// Descriptions were loaded or a process launched since the stack was last trimmed (see
    /// [`release_stack_pages`]): both reach deeper into the stack than the wait does. Not after
    /// every control request: the trim and the page faults after it would make a status round
    /// trip several times slower.
    pub(crate) stacks_used: bool,
}

/// Everything the daemon has besides the engine.
#[derive(Debug)]
pub struct Runtime {
    pub(crate) services: Vec<Option<Box<ServiceRt>>>,
    pub(crate) pids: pids::PidTable,
    /// The global environment (what services get, what substitution reads).
    pub env: Environment,
    /// The environment dinit started with (what `!import` reads).
    pub original_env: Environment,
    /// The global environment as `NAME=VALUE` strings for launches.
    pub(crate) env_strings: Vec<CString>,
    /// Service directories.
    pub dirs: Vec<PathBuf>,
    pub(crate) reactor: Reactor,
    signals: SignalSource,
    /// Logging.
    pub log: Logger,
    pub(crate) control: Control,
    pub(crate) deferred: Deferred,
    /// The `kill-all-on-stop` sweep under way, if any.
    pub(crate) kill_all: Option<procs::KillAll>,
    /// The options it was started with.
    pub opts: DaemonOptions,
    /// System or user instance.
    pub instance: InstanceKind,
    /// Performs system management (shutdown, recovery).
    pub system_manager: bool,
    origin: std::time::Instant,
    /// Set when the loop should end, with the exit status.
    exit: Option<i32>,
    /// A user instance told to reboot ends by SIGINT rather than exiting (as Dinit does: its
    /// parent learns what ended it).
    exit_by_sigint: bool,
    /// The boot was recorded in wtmp.
    boot_logged: bool,
    /// The execs prepared for shutdown and soft reboot.
    exits: system::Exits,
    /// When the recovery service was last started after a boot failure.
    recovery_started: Option<std::time::Instant>,
    /// Process 1 without a log file: the kernel's log is the main log until the system log is
    /// up (see the log module).
    kmsg_wanted: bool,
}

/// The engine and the runtime.
#[derive(Debug)]
pub struct Daemon<'s> {
    /// The engine.
    pub set: &'s mut ConfiguredSet,
    /// The rest.
    pub rt: Runtime,
}

/// The engine's view of the runtime while it processes one input.
pub(crate) struct HostCtx<'a> {
    pub rt: &'a mut Runtime,
}

impl Runtime {
    /// Opens the kernel's log as the main log if it is wanted and the main log is not open
    /// yet; quietly does nothing if `/dev/kmsg` is not there (yet).
    fn open_kmsg(&mut self) {
        if self.kmsg_wanted && self.log.main.is_none() {
            let level = self.opts.log_level.unwrap_or(Level::Notice);
            if let Ok(sink) = Sink::kmsg(level) {
                self.log.main = Some(sink);
            }
        }
    }

    /// The current monotonic time.
    pub(crate) fn now(&self) -> Instant {
        // Offset by a second so that no instant is zero (the engine's "never").
        let ns = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Instant::from_nanos(ns.saturating_add(1_000_000_000))
    }

    pub(crate) fn service(&self, id: ServiceId) -> Option<&ServiceRt> {
        self.services.get(id.index()).and_then(Option::as_deref)
    }

    pub(crate) fn service_mut(&mut self, id: ServiceId) -> Option<&mut ServiceRt> {
        self.services
            .get_mut(id.index())
            .and_then(Option::as_deref_mut)
    }

    /// Drops a service's runtime data (unloaded): its descriptors are unregistered and closed.
    pub(crate) fn forget_service(&mut self, id: ServiceId) {
        if let Some(mut svc) = self.services.get_mut(id.index()).and_then(Option::take) {
            svc.release(&mut self.reactor);
        }
    }

    /// Builds the runtime side of a loaded service (see [`ServiceRt::new`]), and grows the
    /// shared launch buffers for it.
    pub(crate) fn prepare_service(
        &mut self,
        read: ReadService,
    ) -> Result<ServiceRt, crate::spawn::PrepareError> {
        let base = self
            .opts
            .cgroup_path
            .as_ref()
            .map(|p| p.as_os_str().as_bytes());
        ServiceRt::new(read, base, &self.original_env)
    }

    /// Rebuilds the launch environment after a change to the global environment (a launch
    /// copies it into memory of its own, so children still setting up are not affected).
    pub(crate) fn env_changed(&mut self) {
        self.env_strings = env_strings(&self.env);
    }
}

fn env_strings(env: &Environment) -> Vec<CString> {
    env.iter()
        .filter_map(|(k, v)| {
            let mut s = Vec::with_capacity(k.len() + v.len() + 1);
            s.extend_from_slice(k);
            s.push(b'=');
            s.extend_from_slice(v);
            CString::new(s).ok()
        })
        .collect()
}

/// The store the loader fills: builds each service's launch specification as it is loaded.
pub(crate) struct Store<'a> {
    pub(crate) rt: &'a mut Runtime,
}

impl ServiceStore for Store<'_> {
    fn insert(
        &mut self,
        id: ServiceId,
        read: ReadService,
    ) -> Result<(), crate::spawn::PrepareError> {
        let svc = self.rt.prepare_service(read)?;
        let slot = id.index();
        if self.rt.services.len() <= slot {
            self.rt.services.resize_with(slot + 1, || None);
        }
        if let Some(s) = self.rt.services.get_mut(slot) {
            *s = Some(Box::new(svc));
        }
        Ok(())
    }
    fn remove(&mut self, id: ServiceId) {
        self.rt.forget_service(id);
    }
    fn loaded(&mut self) {
        // Room to track the start and stop processes of every loaded service, so that a
        // launch never has to grow the table.
        let slots = self.rt.services.len();
        let want = slots.saturating_mul(2);
        self.rt.pids.reserve_total(want);
        reserve_room(&mut self.rt.deferred.exec_known, want);
        // Room for the events one engine call can cause (a few per service) while a control
        // connection is being served: parking them never allocates either.
        reserve_room(&mut self.rt.control.parked, slots.saturating_mul(4));
    }
}

/// Gives `v` room for `total` items in all. The first time (no room yet) exactly that much;
/// later at least twice the room it had, so that loading services one at a time does not
/// reallocate at each. The items move to a new buffer: `Vec::reserve` would `realloc`, and
/// the C allocator copies the whole old buffer, unused room included, touching as many pages
/// of the new one for nothing.
pub(crate) fn reserve_room<T>(v: &mut Vec<T>, total: usize) {
    let cap = v.capacity();
    if cap >= total {
        return;
    }
    let room = if cap == 0 {
        total
    } else {
        total.max(cap.saturating_mul(2))
    };
    let mut new = Vec::with_capacity(room);
    new.append(v);
    *v = new;
}

impl Host for HostCtx<'_> {
    fn spawn(
        &mut self,
        service: ServiceId,
        command: CommandKind,
        _on_console: bool,
    ) -> Result<Pid, LaunchFailed> {
        self.rt.deferred.stacks_used = true;
        procs::launch(self.rt, service, command).map_err(|e| {
            let name = Name(name_in(&self.rt.services, service));
            if let procs::LaunchError::Spawn(cause) = &e {
                self.rt
                    .log
                    .logf(Level::Debug, format_args!("{name}: cannot launch: {cause}"));
            }
            self.rt.log.logf(Level::Error, format_args!("{name}: {e}"));
            LaunchFailed
        })
    }

    fn signal(&mut self, _service: ServiceId, pid: Pid, signal: i32, group: bool) {
        procs::send_signal(pid, signal, group);
    }

    fn read_pid_file(&mut self, service: ServiceId) -> PidFileResult {
        procs::read_pid_file(self.rt, service)
    }

    fn event(&mut self, service: ServiceId, event: ServiceEvent, status: &ServiceStatus) {
        if event == ServiceEvent::Started && self.rt.kmsg_wanted && self.rt.log.main.is_none() {
            self.rt.deferred.open_kmsg = true;
        }
        Daemon::broadcast_event(self.rt, service, event, status);
    }

    fn notice(&mut self, notice: Notice) {
        self.rt.handle_notice(notice);
    }
}

/// Displays a service name (bytes) without allocating.
pub(crate) struct Name<'a>(pub(crate) &'a [u8]);

impl std::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

fn name_in(services: &[Option<Box<ServiceRt>>], id: ServiceId) -> &[u8] {
    services
        .get(id.index())
        .and_then(Option::as_deref)
        .map(|s| &*s.data.name)
        .unwrap_or(b"?")
}

impl Runtime {
    /// How Dinit words a status in its log lines: "with exit code N" or "due to signal N"
    /// (after `terminated`, `failed`, ...). None for a clean exit.
    fn status_words(status: dinit_core::ExitStatus) -> Option<(&'static str, i32)> {
        match status {
            dinit_core::ExitStatus::Exited(0) | dinit_core::ExitStatus::None => None,
            dinit_core::ExitStatus::Exited(c) => Some(("with exit code", c)),
            dinit_core::ExitStatus::Signaled(sig) | dinit_core::ExitStatus::Dumped(sig) => {
                Some(("due to signal", sig))
            }
        }
    }

    /// Acts on a notice of the engine: Dinit's log line for it, word for word (tests/compat
    /// compares the logs), and what it asks of the runtime.
    fn handle_notice(&mut self, notice: Notice) {
        match notice {
            Notice::Started(id) => self.service_started(id),
            Notice::Stopped(id) => self.service_stopped(id),
            Notice::FailedToStart {
                service,
                dependency,
            } => self.log_failed_to_start(service, dependency),
            Notice::Terminated(id, status) => self.service_terminated(id, status),
            Notice::StartCommandFailed(id, status) => self.log_start_command_failed(id, status),
            Notice::StartCancelled(id, status) => self.log_start_cancelled(id, status),
            Notice::ExecFailed {
                service,
                stage,
                errno,
            } => self.log.logf(
                Level::Error,
                format_args!(
                    "{}: execution failed - {}: {}",
                    Name(name_in(&self.services, service)),
                    stage.description(),
                    crate::log::Errno(errno)
                ),
            ),
            Notice::RestartLimitReached(id) => self.log.logf(
                Level::Error,
                format_args!(
                    "Service {} restarting too quickly; stopping.",
                    Name(name_in(&self.services, id))
                ),
            ),
            Notice::StartTimedOut(id, pid) => self.log.logf(
                Level::Warn,
                format_args!(
                    "Service {} with pid {pid} exceeded allowed start time; cancelling.",
                    Name(name_in(&self.services, id))
                ),
            ),
            Notice::Interrupting(id, pid) => self.log.logf(
                Level::Warn,
                format_args!(
                    "Interrupting start of service {} with pid {pid} (with SIGINT).",
                    Name(name_in(&self.services, id))
                ),
            ),
            Notice::StopTimedOut(id, pid, stop_pid) => self.log_stop_timed_out(id, pid, stop_pid),
            Notice::StopCommandFailed(id, status) => self.log_stop_command_failed(id, status),
            Notice::ConsoleAcquired(_) => self.log.console_held = true,
            Notice::ConsoleReleased(_) => self.console_released(),
            Notice::RootFsWritable(_) => {
                self.deferred.reopen_socket = true;
                self.deferred.log_boot = true;
            }
            Notice::LogReady(_) => self.deferred.open_syslog = true,
            Notice::ChainTo(id) => self.deferred.chains.push(id),
            Notice::KillAll(id) => self.begin_kill_all(id),
            Notice::Idle { shutdown } => self.deferred.idle = Some(shutdown),
            Notice::PropagationLimit => self.log.log(
                Level::Error,
                b"internal error: service propagation exceeded its bound; remaining work dropped",
            ),
        }
    }

    /// A service started: logged, and recorded in utmp if it has an inittab id.
    fn service_started(&mut self, id: ServiceId) {
        let name = name_in(&self.services, id);
        self.log
            .service_state("  OK  ", name, Level::Notice, "started.");
        if let Some(svc) = self.service_mut(id) {
            let pid = svc.main_pid();
            svc.utmp_started(pid);
        }
    }

    /// A service stopped: logged, and its utmp entry closed.
    fn service_stopped(&mut self, id: ServiceId) {
        let name = name_in(&self.services, id);
        self.log
            .service_state("STOPPD", name, Level::Notice, "stopped.");
        if let Some(svc) = self.service_mut(id) {
            svc.utmp_ended();
        }
    }

    /// A service failed to start. The console line is a warning when only a dependency
    /// failed; the main log has it as an error either way.
    fn log_failed_to_start(&mut self, id: ServiceId, dependency: bool) {
        let console = if dependency {
            Level::Warn
        } else {
            Level::Error
        };
        let name = name_in(&self.services, id);
        self.log
            .service_state_at("FAILED", name, console, Level::Error, "failed to start.");
    }

    /// A service's process ended: its utmp entry closed, and an unclean end logged.
    fn service_terminated(&mut self, id: ServiceId, status: dinit_core::ExitStatus) {
        if let Some(svc) = self.service_mut(id) {
            svc.utmp_ended();
        }
        let name = Name(name_in(&self.services, id));
        match status {
            dinit_core::ExitStatus::Exited(0) | dinit_core::ExitStatus::None => {}
            dinit_core::ExitStatus::Exited(c) => self.log.logf(
                Level::Error,
                format_args!("Service {name} process terminated with exit code {c}"),
            ),
            dinit_core::ExitStatus::Signaled(sig) | dinit_core::ExitStatus::Dumped(sig) => {
                self.log.logf(
                    Level::Error,
                    format_args!("Service {name} terminated due to signal {sig}"),
                )
            }
        }
    }

    fn log_start_command_failed(&mut self, id: ServiceId, status: dinit_core::ExitStatus) {
        let Some((words, n)) = Runtime::status_words(status) else {
            return;
        };
        let verb = if words == "due to signal" {
            "terminated"
        } else {
            "failed"
        };
        self.log.logf(
            Level::Error,
            format_args!(
                "Service {} command {verb} {words} {n}",
                Name(name_in(&self.services, id))
            ),
        );
    }

    fn log_start_cancelled(&mut self, id: ServiceId, status: dinit_core::ExitStatus) {
        let name = Name(name_in(&self.services, id));
        match status {
            dinit_core::ExitStatus::Exited(c) if c != 0 => self.log.logf(
                Level::Notice,
                format_args!("Service {name} start cancelled; exit code {c}"),
            ),
            dinit_core::ExitStatus::Signaled(sig) | dinit_core::ExitStatus::Dumped(sig) => {
                self.log.logf(
                    Level::Notice,
                    format_args!("Service {name} start cancelled from signal {sig}"),
                )
            }
            _ => {}
        }
    }

    fn log_stop_timed_out(&mut self, id: ServiceId, pid: Pid, stop_pid: Pid) {
        let name = Name(name_in(&self.services, id));
        if pid != 0 {
            self.log.logf(
                Level::Warn,
                format_args!("Service {name} with pid {pid} exceeded allowed stop time; killing."),
            );
        }
        if stop_pid != 0 {
            self.log.logf(
                Level::Warn,
                format_args!(
                    "Service {name} stop command, with pid {stop_pid}, exceeded allowed stop \
                     time; killing."
                ),
            );
        }
    }

    /// A stop command failed: for a scripted service a warning; for a process service an
    /// error, worded differently (as in Dinit).
    fn log_stop_command_failed(&mut self, id: ServiceId, status: dinit_core::ExitStatus) {
        let Some((words, n)) = Runtime::status_words(status) else {
            return;
        };
        let scripted = self.service(id).is_some_and(|s| s.scripted);
        let name = Name(name_in(&self.services, id));
        if scripted {
            let verb = if words == "due to signal" {
                "terminated"
            } else {
                "failed"
            };
            self.log.logf(
                Level::Warn,
                format_args!("Service {name} stop command {verb} {words} {n}"),
            );
        } else {
            self.log.logf(
                Level::Error,
                format_args!("Service {name} stop command terminated {words} {n}"),
            );
        }
    }

    /// A console service let the terminal go: the daemon takes it back, and the log lines
    /// held back meanwhile go out.
    fn console_released(&mut self) {
        procs::reclaim_terminal();
        self.log.console_held = false;
        self.log.flush();
    }
}

/// The logger as the daemon starts: the console at its level (unless quiet), and whether
/// service messages go there. A console that could not be set up gives a warning to log once
/// the other outputs are open.
fn startup_logger(opts: &DaemonOptions) -> (Logger, Option<String>) {
    let mut log = Logger::new();
    let console_level = opts.console_level.unwrap_or(Level::Notice);
    let mut console_warning = None;
    if !opts.quiet || console_level != Level::None {
        match Sink::console(console_level) {
            Ok(s) => log.console = Some(s),
            Err(e) => console_warning = Some(format!("no console output: {e}")),
        }
    }
    log.service_messages = !opts.quiet;
    (log, console_warning)
}

/// Sets the process up for the event loop: a child subreaper, SIGPIPE ignored, the signal
/// source and the multiplexer watching it. Fails with the reason logged (a system that cannot
/// set up its event loop cannot run at all).
fn event_loop_setup(
    log: &mut Logger,
    system_manager: bool,
) -> Result<(SignalSource, Reactor), StartupError> {
    let mut fatal = |what: &'static str, error: std::io::Error| {
        let e = StartupError::Setup { what, error };
        log.logf(Level::Error, format_args!("{e}"));
        log.flush_for(LOG_FLUSH_LIMIT);
        e
    };
    // Reparented descendants (daemons of bgprocess services) become our children, so that
    // they can be supervised and reaped.
    #[cfg(target_os = "linux")]
    {
        // prctl(PR_SET_CHILD_SUBREAPER, 1): rustix passes the flag as a pid, and the kernel
        // reads any non-zero value as "on".
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::Pid::INIT));
    }
    // Writes to closed sockets and pipes return EPIPE instead.
    crate::sys::signal::ignore(rustix::process::Signal::PIPE);
    let signals = SignalSource::new(handled_signals(system_manager))
        .map_err(|e| fatal("signal handling", e))?;
    let mut reactor = Reactor::new(EVENTS_PER_WAIT).map_err(|e| fatal("event loop", e))?;
    reactor
        .add(signals.fd(), token(TokenKind::Signals, 0), Interest::READ)
        .map_err(|e| fatal("event loop", e))?;
    Ok((signals, reactor))
}

/// What a system manager prepares at start-up for leaving: the execs of the shutdown program
/// and of itself, with its command line and the environment it started with.
fn prepare_exits(original_env: &Environment) -> system::Exits {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let args: Vec<std::ffi::OsString> = args.collect();
    let env: Vec<(Vec<u8>, Vec<u8>)> = original_env
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    system::Exits::prepare(&argv0, &args, &env)
}

/// Why the daemon could not start. The reason has been logged already (on the console, as
/// Dinit logs it: `dinit: ` and the message on standard output), so the caller only exits;
/// displayed, it is that message.
#[derive(Debug)]
pub enum StartupError {
    /// The event loop, its signals or timers could not be set up (`what` failed).
    Setup {
        /// What failed.
        what: &'static str,
        /// Why.
        error: std::io::Error,
    },
    /// No control socket path was given and none can be derived.
    NoSocketPath,
    /// The control socket could not be opened.
    Socket(control::SocketError),
    /// The log file (`-l`) could not be opened.
    LogFile(std::io::Error),
    /// The environment file (`-e`) could not be read.
    EnvFile {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = crate::ctl::format::io_error_text;
        match self {
            StartupError::Setup { what, error } => write!(f, "{what}: {}", text(error)),
            StartupError::NoSocketPath => f.write_str(
                "cannot determine control socket directory (set XDG_RUNTIME_DIR or HOME, or \
                 use -p)",
            ),
            StartupError::Socket(e) => write!(f, "{e}"),
            StartupError::LogFile(e) => write!(f, "Opening log file failed: {}", text(e)),
            StartupError::EnvFile { path, error } => write!(
                f,
                "Cannot read environment file '{}': {}",
                path.display(),
                text(error)
            ),
        }
    }
}

impl std::error::Error for StartupError {}

impl<'s> Daemon<'s> {
    /// Sets the daemon up from its options, in Dinit's order: logging to the console, signals,
    /// the control socket, the log file, the environment file. A failure is logged, and is fatal
    /// unless this is the system manager (which carries on without what failed, except the
    /// control socket, which only a read-only file system excuses). The engine must be empty.
    pub fn new(
        set: &'s mut ConfiguredSet,
        opts: DaemonOptions,
        is_pid1: bool,
    ) -> Result<Self, StartupError> {
        let instance = opts
            .instance
            .unwrap_or_else(InstanceKind::default_for_current_user);
        let system_manager = opts.system_manager.unwrap_or(is_pid1);
        tune_allocator();
        let original_env = Environment::from_process();
        let dirs = if opts.service_dirs.is_empty() {
            default_service_dirs(instance, &ProcessEnv)
        } else {
            opts.service_dirs.clone()
        };

        let (mut log, console_warning) = startup_logger(&opts);
        let opts_log_file_none = opts.log_file.is_none();
        let (signals, reactor) = event_loop_setup(&mut log, system_manager)?;

        let socket_path = opts
            .socket_path
            .clone()
            .or_else(|| default_socket_path(instance, &ProcessEnv));
        let env = original_env.clone();
        let env_strings = env_strings(&env);
        let mut rt = Runtime {
            services: Vec::new(),
            pids: pids::PidTable::default(),
            env,
            original_env,
            env_strings,
            dirs,
            reactor,
            signals,
            log,
            control: Control {
                listener: None,
                path: socket_path,
                ..Control::default()
            },
            deferred: Deferred {
                chains: Vec::with_capacity(64),
                ..Deferred::default()
            },
            opts,
            instance,
            system_manager,
            origin: std::time::Instant::now(),
            kill_all: None,
            exit: None,
            exit_by_sigint: false,
            boot_logged: false,
            exits: system::Exits::default(),
            recovery_started: None,
            kmsg_wanted: is_pid1 && opts_log_file_none,
        };
        if let Some(w) = console_warning {
            rt.log.log(Level::Warn, w.as_bytes());
        }
        if system_manager {
            rt.exits = prepare_exits(&rt.original_env);
        }
        let mut daemon = Daemon { set, rt };
        if let Err(e) = daemon.open_socket_and_logs() {
            // The failure was logged: flush that before exiting.
            daemon.rt.log.flush_for(LOG_FLUSH_LIMIT);
            return Err(e);
        }
        // After the kernel's console output was turned off with the control socket: the
        // kernel would otherwise print each record on the console, beside our own line.
        daemon.rt.open_kmsg();
        if system_manager {
            system::system_manager_setup();
        }
        Ok(daemon)
    }

    /// The start-up steps once the runtime exists: the control socket, the log file, the
    /// environment file, and syslog for an instance without a log file. Each failure is
    /// logged; a system manager carries on where it can.
    fn open_socket_and_logs(&mut self) -> Result<(), StartupError> {
        let system_manager = self.rt.system_manager;
        self.open_control_socket(true)?;
        let log_level = self.rt.opts.log_level.unwrap_or(Level::Notice);
        if let Some(path) = self.rt.opts.log_file.clone() {
            match Sink::file(&path, log_level) {
                Ok(s) => self.rt.log.main = Some(s),
                Err(e) => {
                    let e = StartupError::LogFile(e);
                    self.rt.log.logf(Level::Error, format_args!("{e}"));
                    if !system_manager {
                        return Err(e);
                    }
                }
            }
        }
        if let Err(e) = self.read_env_file() {
            if !system_manager {
                return Err(e);
            }
        }
        if !system_manager && self.rt.opts.log_file.is_none() {
            // A user or service-manager instance logs to syslog when one is there.
            if let Ok(s) = Sink::syslog(std::path::Path::new("/dev/log"), log_level) {
                self.rt.log.main = Some(s);
            }
        }
        Ok(())
    }

    /// Applies the environment file (`-e`, or the system manager's default, which may be
    /// missing) to the global environment. Lines that are not valid are skipped and logged,
    /// as by Dinit; a file that cannot be read is logged, and returned as the error.
    fn read_env_file(&mut self) -> Result<(), StartupError> {
        let given = self.rt.opts.env_file.clone();
        let Some(path) = given.clone().or_else(|| {
            self.rt
                .system_manager
                .then(|| default_env_file(InstanceKind::System))
                .flatten()
        }) else {
            return Ok(());
        };
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if given.is_some() || e.kind() != std::io::ErrorKind::NotFound => {
                // The path as bytes (the error's Display would not keep a non-UTF-8 name).
                let mut msg = b"Cannot read environment file '".to_vec();
                msg.extend_from_slice(path.as_os_str().as_bytes());
                msg.extend_from_slice(b"': ");
                msg.extend_from_slice(crate::ctl::format::io_error_text(&e).as_bytes());
                self.rt.log.log(Level::Error, &msg);
                return Err(StartupError::EnvFile { path, error: e });
            }
            Err(_) => return Ok(()),
        };
        let original = self.rt.original_env.clone();
        for skipped in self.rt.env.apply_env_file(&text, &original) {
            let msg = if skipped.bad_command {
                format!(
                    "Unknown command in environment file (line {})",
                    skipped.line
                )
            } else {
                format!(
                    "Invalid environment variable setting in environment file (line {})",
                    skipped.line
                )
            };
            self.rt.log.log(Level::Warn, msg.as_bytes());
        }
        self.rt.env_strings = env_strings(&self.rt.env);
        Ok(())
    }

    /// Opens (or re-opens) the control socket. At start-up a live socket or any failure is
    /// fatal, except for a system instance on a read-only file system (retried when the file
    /// system becomes writable, or on SIGUSR1). A failure is logged in Dinit's words, and
    /// returned.
    fn open_control_socket(&mut self, at_startup: bool) -> Result<(), StartupError> {
        let Some(path) = self.rt.control.path.clone() else {
            let e = StartupError::NoSocketPath;
            self.rt.log.logf(Level::Error, format_args!("{e}"));
            return Err(e);
        };
        if let Some(l) = &self.rt.control.listener {
            // Already open: re-create it only if its file has vanished.
            if std::fs::symlink_metadata(&path).is_ok() {
                return Ok(());
            }
            let _ = self.rt.reactor.remove(l);
            self.rt.control.listener = None;
        }
        let error = match control::open_socket(&path) {
            Ok(fd) => match self
                .rt
                .reactor
                .add(&fd, token(TokenKind::Listener, 0), Interest::READ)
            {
                Ok(()) => {
                    self.rt.control.listener = Some(fd);
                    // At start-up readiness is reported once the initial services are
                    // started (`start_initial`); a socket opened later reports it at once.
                    if !at_startup {
                        self.report_ready(&path);
                    }
                    return Ok(());
                }
                Err(e) => control::SocketError::Watch(e),
            },
            Err(e) => e,
        };
        // At start-up a system instance on a read-only file system tries again later,
        // silently, as Dinit's does; any other failure is logged.
        let read_only = matches!(&error, control::SocketError::Bind(e)
            if e.raw_os_error() == Some(libc::EROFS));
        if at_startup && read_only && self.rt.instance == InstanceKind::System {
            return Ok(());
        }
        self.rt.log.logf(Level::Error, format_args!("{error}"));
        // Fatal at start-up, except that the system manager carries on without a socket
        // unless another instance holds it (Dinit's would exit, and so halt the machine).
        let fatal = at_startup
            && (!self.rt.system_manager || matches!(error, control::SocketError::AlreadyActive));
        if fatal {
            Err(StartupError::Socket(error))
        } else {
            Ok(())
        }
    }

    /// `--ready-fd`: writes the socket path and a NUL, then closes the descriptor.
    fn report_ready(&mut self, path: &std::path::Path) {
        let Some(fd) = self.rt.opts.ready_fd.take() else {
            return;
        };
        let mut msg = path.as_os_str().as_bytes().to_vec();
        msg.push(0);
        crate::sys::fd::hand_back_inherited(fd, &msg);
    }

    /// Loads a service (and what it needs) into the engine.
    pub fn load_service(&mut self, name: &[u8]) -> Result<ServiceId, Box<LoadFailure>> {
        // Loaded already (what `dinitctl start` or `stop` of a loaded service asks): as the
        // loader would answer, without its set-up and the clean-up after it.
        if let Some(id) = self.set.find(name) {
            return Ok(id);
        }
        let dirs = self.rt.dirs.clone();
        let env = self.rt.env.clone();
        let original = self.rt.original_env.clone();
        let mut loader = Loader::new(&dirs, &env);
        loader.original_env = &original;
        let result = loader
            .load(self.set, &mut Store { rt: &mut self.rt }, name)
            .map_err(|error| {
                Box::new(LoadFailure {
                    error,
                    within: std::mem::take(&mut loader.failed_within),
                })
            });
        for w in &loader.warnings {
            self.rt.log.logf(Level::Warn, format_args!("{w}"));
        }
        drop(loader);
        release_free_memory();
        // The loader's frames, below this one, are gone: give their pages back now, before the
        // reply that a client may act on (and measure after) goes out; what the frames between
        // here and the loop used goes at the top of the next turn.
        release_stack_pages();
        self.rt.deferred.stacks_used = true;
        result
    }

    /// Loads and starts the initial services (default `boot`). Returns how many started.
    pub fn start_initial(&mut self) -> usize {
        let mut names = self.rt.opts.services.clone();
        if names.is_empty() {
            names.push(b"boot".to_vec());
        }
        let mut started = 0;
        for name in names {
            match self.load_service(&name) {
                Ok(id) => {
                    if self
                        .with_engine(|set, now, host| set.start(id, Pin::NoPin, now, host))
                        .is_ok()
                    {
                        started += 1;
                    }
                }
                Err(e) => self.log_load_failure(&name, &e, true),
            }
        }
        // Readiness (`--ready-fd`) once the services are started, as Dinit reports it; if the
        // socket could not be opened yet, when it is.
        if self.rt.control.listener.is_some() {
            if let Some(path) = self.rt.control.path.clone() {
                self.report_ready(&path);
            }
        }
        started
    }

    /// Logs the failure to load `name` as Dinit does, at start-up (`startup`: `NAME: error
    /// loading: ...`) or for a client (`Could not load service NAME: ...`).
    pub(crate) fn log_load_failure(&mut self, name: &[u8], f: &LoadFailure, startup: bool) {
        let name = String::from_utf8_lossy(crate::load::base_name(name));
        let last = if f.within.is_empty() {
            if startup {
                f.error.startup_message()
            } else {
                f.error.to_string()
            }
        } else if startup {
            format!("{name}: error loading: could not load dependency.")
        } else {
            format!("Could not load service {name}: could not load dependency.")
        };
        self.log_load_failure_chain(f, &last);
    }

    /// Logs a failure inside a dependency as Dinit does (the failing service first, then each
    /// service whose loading it interrupted, "could not load dependency"), then `last`: what
    /// became of the service asked for.
    fn log_load_failure_chain(&mut self, f: &LoadFailure, last: &str) {
        if let Some((_, inner)) = f.within.split_last() {
            self.rt.log.logf(Level::Error, format_args!("{}", f.error));
            for w in inner {
                self.rt.log.logf(
                    Level::Error,
                    format_args!(
                        "Could not load service {}: could not load dependency.",
                        String::from_utf8_lossy(crate::load::base_name(w))
                    ),
                );
            }
        }
        self.rt.log.logf(Level::Error, format_args!("{last}"));
    }

    /// Starts a loaded service (as `dinitctl start` does).
    pub fn start_service(&mut self, id: ServiceId) -> Result<(), dinit_core::Refusal> {
        self.with_engine(|set, now, host| set.start(id, Pin::NoPin, now, host))
    }

    /// Stops a service, with its dependents (as `dinitctl stop --force` does).
    pub fn stop_service(&mut self, id: ServiceId) -> Result<(), dinit_core::Refusal> {
        self.with_engine(|set, now, host| set.stop(id, Pin::NoPin, Gentle::Force, now, host))
    }

    /// Restarts a service, with its dependents (as `dinitctl restart --force` does).
    pub fn restart_service(&mut self, id: ServiceId) -> Result<(), dinit_core::Refusal> {
        self.with_engine(|set, now, host| set.restart(id, Gentle::Force, now, host))
    }

    /// The one way into the engine: runs `f` with the engine, the current time and the host,
    /// then finishes the turn (`after_engine`: the work the host had to leave until the engine
    /// returned).
    pub(crate) fn with_engine<R>(
        &mut self,
        f: impl FnOnce(&mut ConfiguredSet, Instant, &mut HostCtx<'_>) -> R,
    ) -> R {
        let now = self.rt.now();
        let r = f(self.set, now, &mut HostCtx { rt: &mut self.rt });
        self.after_engine();
        r
    }

    /// Work queued by the host during an engine call: pass-cs-fd connections to add, chain-to
    /// targets to start (the one engine call made here directly, in a bounded loop rather than
    /// through [`Daemon::with_engine`], which comes here), the boot record, the control
    /// socket and log to open, the engine having become idle.
    fn after_engine(&mut self) {
        while let Some(fd) = self.rt.deferred.new_conns.pop() {
            self.add_connection(fd);
        }
        self.follow_chains();
        if std::mem::take(&mut self.rt.deferred.log_boot)
            && self.rt.system_manager
            && !self.rt.boot_logged
        {
            crate::utmp::boot();
            self.rt.boot_logged = true;
        }
        if std::mem::take(&mut self.rt.deferred.reopen_socket) {
            self.root_fs_writable();
        }
        if std::mem::take(&mut self.rt.deferred.open_syslog) && self.rt.opts.log_file.is_none() {
            let level = self.rt.opts.log_level.unwrap_or(Level::Notice);
            match Sink::syslog(std::path::Path::new("/dev/log"), level) {
                Ok(s) => {
                    self.rt.log.main = Some(s);
                    self.rt.kmsg_wanted = false;
                }
                Err(e) => self
                    .rt
                    .log
                    .logf(Level::Warn, format_args!("cannot open /dev/log: {e}")),
            }
        }
        if std::mem::take(&mut self.rt.deferred.open_kmsg) {
            self.rt.open_kmsg();
        }
        if let Some(shutdown) = self.rt.deferred.idle.take() {
            // A chain-to started above by the last active service makes the set active again:
            // the daemon keeps running (the engine reports idle again when that one stops).
            if self.set.active_count() == 0 {
                self.idle(shutdown);
            }
        }
    }

    /// Starts the `chain-to` services of those that stopped (at most 1024 a turn).
    fn follow_chains(&mut self) {
        let mut guard = 0;
        while let Some(id) = self.rt.deferred.chains.pop() {
            guard += 1;
            if guard > 1024 {
                break;
            }
            let Some(target) = self.set.chain_to(id).map(<[u8]>::to_vec) else {
                continue;
            };
            match self.load_service(&target) {
                Ok(t) => {
                    let now = self.rt.now();
                    if let Err(e) =
                        self.set
                            .start(t, Pin::NoPin, now, &mut HostCtx { rt: &mut self.rt })
                    {
                        self.rt.log.logf(
                            Level::Warn,
                            format_args!("chain-to {}: {e:?}", String::from_utf8_lossy(&target)),
                        );
                    }
                }
                Err(f) => {
                    let target = String::from_utf8_lossy(&target);
                    let last = if f.within.is_empty() {
                        format!(
                            "Couldn't chain to service {target}: couldn't load {}: {}",
                            String::from_utf8_lossy(crate::load::base_name(f.error.service())),
                            f.error.message()
                        )
                    } else {
                        format!(
                            "Couldn't chain to service {target}: couldn't load {target}: could \
                             not load dependency."
                        )
                    };
                    self.log_load_failure_chain(&f, &last);
                }
            }
        }
    }

    /// The root file system became writable: the control socket is opened (if it could not
    /// be before), and a log file that could not be opened at boot is tried again.
    fn root_fs_writable(&mut self) {
        let _ = self.open_control_socket(false);
        if let (Some(path), None) = (self.rt.opts.log_file.clone(), &self.rt.log.main) {
            let level = self.rt.opts.log_level.unwrap_or(Level::Notice);
            match Sink::file(&path, level) {
                Ok(s) => self.rt.log.main = Some(s),
                Err(e) => self.rt.log.logf(
                    Level::Error,
                    format_args!(
                        "Opening log file failed: {}",
                        crate::ctl::format::io_error_text(&e)
                    ),
                ),
            }
        }
    }

    /// No service is active any more.
    fn idle(&mut self, shutdown: Option<ShutdownKind>) {
        match shutdown {
            Some(ShutdownKind::Remain) => {
                // Keep serving: services may be started again.
                self.set.clear_shutdown();
            }
            _ if !self.rt.system_manager => {
                self.rt.exit_by_sigint = shutdown == Some(ShutdownKind::Reboot);
                self.rt.exit = Some(0);
            }
            Some(kind) => self.system_shutdown(kind),
            None => self.boot_failure(),
        }
    }

    /// Runs the event loop until the daemon should exit; returns the exit status. A service
    /// manager that is not the system manager ends when no service is active ("Once all
    /// services stop, the dinit daemon will itself terminate", dinit(8)), with status 0 even
    /// if none became active at all (the initial services could not be loaded or failed at
    /// once: each failure has been logged), as Dinit does.
    pub fn run(&mut self) -> i32 {
        if self.set.active_count() == 0 && self.rt.exit.is_none() {
            if self.rt.system_manager {
                self.boot_failure();
            } else {
                self.rt.exit = Some(0);
            }
        }
        while self.rt.exit.is_none() {
            self.turn();
        }
        self.finish();
        if self.rt.exit_by_sigint {
            crate::reactor::restore_default_signals();
            // With the default disposition just restored, this ends the process.
            crate::sys::signal::raise(rustix::process::Signal::INT);
        }
        self.rt.exit.unwrap_or(0)
    }

    /// One iteration of the loop: wait, then handle what is ready.
    pub fn turn(&mut self) {
        // Exec outcomes learnt during launches outside the loop (the initial services): report
        // them, and do not wait before what that sends goes out.
        let launched_outside = !self.rt.deferred.exec_known.is_empty();
        self.report_known_exec_outcomes();
        if std::mem::take(&mut self.rt.deferred.stacks_used) {
            release_stack_pages();
        }
        let mut timeout = self.set.next_deadline().map(|d| {
            let now = self.rt.now();
            // Round up to whole milliseconds so that the wait never ends just before the
            // deadline and spins.
            let ns = d.saturating_since(now).as_nanos();
            std::time::Duration::from_millis(ns.div_ceil(1_000_000))
        });
        if self.rt.log.pending() {
            // A log destination was not writable: try again shortly rather than watching it.
            let retry = std::time::Duration::from_millis(50);
            timeout = Some(timeout.map_or(retry, |t| t.min(retry)));
        }
        if let Some(k) = &self.rt.kill_all {
            let poll = k
                .next_poll
                .saturating_duration_since(std::time::Instant::now());
            timeout = Some(timeout.map_or(poll, |t| t.min(poll)));
        }
        if launched_outside {
            timeout = Some(std::time::Duration::ZERO);
        }
        let mut ready: [(u64, crate::reactor::Readiness); EVENTS_PER_WAIT] =
            [(0, Default::default()); EVENTS_PER_WAIT];
        let mut count = 0usize;
        let waited = self.rt.reactor.wait(timeout, &mut |t, r| {
            if let Some(slot) = ready.get_mut(count) {
                *slot = (t, r);
                count += 1;
            }
        });
        if let Err(e) = waited {
            self.rt
                .log
                .logf(Level::Error, format_args!("event loop: {e}"));
        }
        for &(t, r) in ready.iter().take(count) {
            self.dispatch(t, r);
        }
        if self.set.next_deadline().is_some_and(|d| d <= self.rt.now()) {
            self.with_engine(|set, now, host| set.handle_timers(now, host));
        }
        self.advance_kill_all();
        // Exec outcomes of this turn's launches (see `procs::launch`), after the replies to the
        // commands that caused them.
        self.report_known_exec_outcomes();
        // Events queued for connections by anything above go out now.
        for slot in 0..self.rt.control.clients.len() {
            let waiting = self
                .rt
                .control
                .clients
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.conn.has_output());
            if waiting {
                self.service_connection(slot);
            }
        }
        self.rt.log.flush();
    }

    fn dispatch(&mut self, t: u64, r: crate::reactor::Readiness) {
        let (kind, index) = split_token(t);
        match kind {
            k if k == TokenKind::Signals as u8 => self.handle_signals(),
            k if k == TokenKind::Listener as u8 => self.accept_connections(),
            k if k == TokenKind::Conn as u8 => self.connection_ready(index, r.readable || r.hangup),
            k if k == TokenKind::Status as u8 => {
                self.exec_status_ready(index / 2, (index % 2) as u8)
            }
            k if k == TokenKind::Ready as u8 => self.readiness_ready(index),
            k if k == TokenKind::Output as u8 => self.output_ready(index),
            _ => {}
        }
    }

    fn handle_signals(&mut self) {
        let mut pending: [i32; 32] = [0; 32];
        let mut n = 0;
        self.rt.signals.drain(&mut |s| {
            if let Some(slot) = pending.get_mut(n) {
                *slot = s;
                n += 1;
            }
        });
        for &sig in pending.iter().take(n) {
            match sig {
                libc::SIGCHLD => self.reap_children(),
                libc::SIGINT => self.request_shutdown(if self.rt.system_manager {
                    ShutdownKind::Reboot
                } else {
                    ShutdownKind::Halt
                }),
                // dinit(8): SIGTERM "stops services and halts the system" (a user instance
                // or service manager exits: a halt request does that there).
                libc::SIGTERM => self.request_shutdown(ShutdownKind::Halt),
                libc::SIGQUIT if self.rt.system_manager => self.immediate_shutdown(),
                libc::SIGUSR1 => {
                    let _ = self.open_control_socket(false);
                }
                _ => {}
            }
        }
        // Something may have changed without a SIGCHLD being coalesced: reaping is cheap.
        self.reap_children();
    }

    /// Before exit: close the control socket and remove its file, flush the logs.
    pub(crate) fn finish(&mut self) {
        if let Some(l) = self.rt.control.listener.take() {
            let _ = self.rt.reactor.remove(&l);
            if let Some(p) = &self.rt.control.path {
                let _ = std::fs::remove_file(p);
            }
        }
        self.rt.log.flush();
    }
}
