//! The engine's outputs: what it asks of the runtime ("host") while it processes an input.
//!
//! The engine is sans-I/O: it never calls the operating system. Whenever a transition needs the
//! outside world (launch a command, send a signal, read a pid file, tell listeners about an
//! event, log), it calls the [`Host`] it was given with the input. The calls arrive in the order
//! the transitions happen, so an event is never lost or reordered; nothing is buffered inside
//! the engine, so there is no output queue to overflow however large the cascade.
//!
//! A host must not call back into the engine from these methods (it cannot: the engine is
//! mutably borrowed). Work that needs the engine, such as loading the target of a `chain-to`,
//! is recorded and done after the input returns.

use super::ServiceId;
use crate::status::ServiceStatus;
use crate::types::{ExecStage, ExitStatus, Pid, ServiceEvent, ShutdownKind};

/// Which of a service's commands to launch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CommandKind {
    /// `command`: the service process, bgprocess launcher or scripted start command.
    Start,
    /// `stop-command`.
    Stop,
}

/// A command could not be launched: what it needs could not be prepared (an activation
/// socket, a pipe) or the child process could not be created. The host has reported why (it
/// knows the details; the engine only needs to know that nothing runs).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LaunchFailed;

/// What the runtime found in a bgprocess service's pid file.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PidFileResult {
    /// A live process, now supervised as the service's process.
    Running(Pid),
    /// A pid whose process no longer exists.
    NotRunning,
    /// The file is missing, unreadable or does not hold a pid.
    Invalid,
}

/// Things the engine reports that are not service events.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Notice {
    /// The service started (log "started").
    Started(ServiceId),
    /// The service stopped, other than after a failed start (log "stopped").
    Stopped(ServiceId),
    /// The service failed to start; `dependency` if only because a dependency failed (logged
    /// as a warning rather than an error).
    FailedToStart {
        /// The service.
        service: ServiceId,
        /// Failed only because a dependency did.
        dependency: bool,
    },
    /// The main process of a process or bgprocess service (or a bgprocess launcher) ended by
    /// itself, while the service was starting or started (not because it was being stopped).
    /// The log reports the status when it is not a clean exit.
    Terminated(ServiceId, ExitStatus),
    /// The start command of a scripted service failed (exited non-zero or was killed by a
    /// signal, other than a skipped start).
    StartCommandFailed(ServiceId, ExitStatus),
    /// A start command interrupted by the engine (SIGINT) has ended with this status.
    StartCancelled(ServiceId, ExitStatus),
    /// A command of the service could not be executed: the setup `stage` that failed, and why.
    ExecFailed {
        /// The service.
        service: ServiceId,
        /// The setup stage that failed.
        stage: ExecStage,
        /// The error number.
        errno: i32,
    },
    /// It restarted too often within `restart-limit-interval`; it will not restart again.
    RestartLimitReached(ServiceId),
    /// The start of the process with this pid took longer than `start-timeout`; it is being
    /// cancelled.
    StartTimedOut(ServiceId, Pid),
    /// A start still under way is being interrupted: SIGINT to the process (group) with this
    /// pid.
    Interrupting(ServiceId, Pid),
    /// The stop timed out; the main process (pid, 0 if none) and the stop command (pid, 0 if
    /// none) are being killed with SIGKILL.
    StopTimedOut(ServiceId, Pid, Pid),
    /// The stop command failed (it still counts as stopped once the processes are gone).
    StopCommandFailed(ServiceId, ExitStatus),
    /// The service now holds the console (give it the terminal's foreground group).
    ConsoleAcquired(ServiceId),
    /// The service released the console (take the terminal back; flush buffered output).
    ConsoleReleased(ServiceId),
    /// A `starts-rwfs` service started: (re)create the control socket, log boot to wtmp.
    RootFsWritable(ServiceId),
    /// A `starts-log` service started: begin logging to the system log.
    LogReady(ServiceId),
    /// Start the service named by this service's `chain-to` (the host loads it, then calls
    /// [`ServiceSet::start`](super::ServiceSet::start) once this input has returned).
    ChainTo(ServiceId),
    /// `kill-all-on-stop`: signal every other process in the system (TERM, a pause, KILL)
    /// before this service's stop proceeds.
    KillAll(ServiceId),
    /// No service is active any more. `shutdown` is the kind requested, if any; without one,
    /// the daemon has nothing left to do (a system manager then offers recovery).
    Idle {
        /// The shutdown requested, if one was.
        shutdown: Option<ShutdownKind>,
    },
    /// A propagation ran past its iteration bound (an engine defect, never expected): the
    /// remaining queued work was dropped so that the daemon keeps running.
    PropagationLimit,
}

/// The runtime side of the engine. The hosted crate implements it over real processes; the
/// simulator and the tests implement it over fakes.
pub trait Host {
    /// Launches `command` of `service` (fork; the child sets up and execs). Returns the child's
    /// pid, or that nothing could be launched (reported by the host). Whether exec itself succeeds is reported
    /// later through [`ServiceSet::exec_succeeded`](super::ServiceSet::exec_succeeded) or
    /// [`ServiceSet::exec_failed`](super::ServiceSet::exec_failed). `on_console` says the
    /// process gets the console for its standard streams.
    fn spawn(
        &mut self,
        service: ServiceId,
        command: CommandKind,
        on_console: bool,
    ) -> Result<Pid, LaunchFailed>;

    /// Sends `signal` to `pid`, or to its process group if `group`.
    fn signal(&mut self, service: ServiceId, pid: Pid, signal: i32, group: bool);

    /// Reads the pid file of a bgprocess service whose launcher has just exited successfully.
    fn read_pid_file(&mut self, service: ServiceId) -> PidFileResult;

    /// A service event, with the service's status at that moment.
    fn event(&mut self, service: ServiceId, event: ServiceEvent, status: &ServiceStatus);

    /// Anything else worth knowing.
    fn notice(&mut self, notice: Notice);
}

/// A host for engine steps that provably call nothing (undoing a load: the services it added
/// were never active). Calls, were there any, would be dropped.
pub(super) struct Silent;

impl Host for Silent {
    fn spawn(&mut self, _: ServiceId, _: CommandKind, _: bool) -> Result<Pid, LaunchFailed> {
        Err(LaunchFailed)
    }
    fn signal(&mut self, _: ServiceId, _: Pid, _: i32, _: bool) {}
    fn read_pid_file(&mut self, _: ServiceId) -> PidFileResult {
        PidFileResult::Invalid
    }
    fn event(&mut self, _: ServiceId, _: ServiceEvent, _: &ServiceStatus) {}
    fn notice(&mut self, _: Notice) {}
}
