//! What a control connection needs from the daemon: the narrow interface between the protocol
//! ([`super::conn`], `dispatch`) and the service manager. The daemon implements it
//! (`super::daemon_side`); a test or a fuzz target may implement it with a model.

use dinit_core::proto::Malformed;
use dinit_core::{DepKind, Refusal, ServiceEvent, ServiceId, ServiceStatus, ShutdownKind};
pub use dinit_core::{Gentle, Pin};

/// A command acting on one service (`STARTSERVICE`, `STOPSERVICE`, `WAKESERVICE`,
/// `RELEASESERVICE`, `UNPINSERVICE`), with its flags decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start.
    Start {
        /// Also pin it started.
        pin: Pin,
    },
    /// Stop.
    Stop {
        /// Also pin it stopped.
        pin: Pin,
        /// Refuse if active dependents would stop too.
        gentle: Gentle,
    },
    /// Stop and start again (`STOPSERVICE` with the restart flag).
    Restart {
        /// Refuse if active dependents would stop too.
        gentle: Gentle,
    },
    /// Start again if some active dependent wants it.
    Wake {
        /// Also pin it started.
        pin: Pin,
    },
    /// Drop the explicit activation.
    Release {
        /// Also pin it stopped.
        pin: Pin,
    },
    /// Remove pins.
    Unpin,
}

impl Action {
    /// The state the action brings the service to.
    pub fn wanted_state(self) -> dinit_core::ServiceState {
        use dinit_core::ServiceState::{Started, Stopped};
        match self {
            Action::Start { .. } | Action::Restart { .. } | Action::Wake { .. } => Started,
            Action::Stop { .. } | Action::Release { .. } | Action::Unpin => Stopped,
        }
    }
}

/// What an accepted [`Action`] did, where the reply depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acted {
    /// The service was in the state the action wants right after it (`ALREADYSS`).
    AlreadyThere,
    /// Done (or under way).
    Done,
    /// A wake found no started or starting dependent: nothing to do (`NAK`).
    NoActiveDependent,
}

/// A dependency change (`ADDDEP`, `REMDEP`, `ENABLESERVICE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepChange {
    /// Add it.
    Add,
    /// Add it and start the target if the source is active (`enable`).
    Enable,
    /// Remove it.
    Remove,
}

/// Why a signal could not be sent (`SIGNAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalError {
    /// The service has no process.
    NoProcess,
    /// The kernel knows no such signal.
    BadSignal,
    /// kill(2) failed otherwise.
    Failed,
}

/// Why a service could not be found or loaded (`LOADSERVICE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadError {
    /// No description of that name (`NOSERVICE`).
    NotFound,
    /// Its description (or a dependency's) is wrong (`SERVICE_DESC_ERR`).
    Description,
    /// It could not be loaded otherwise (`SERVICE_LOAD_ERR`).
    Load,
}

/// The daemon, as the control protocol sees it.
pub trait Server {
    /// A request could not be parsed (the connection answers `BADREQ` and closes).
    fn bad_request(&mut self, why: Malformed);
    /// A request announced a length larger than any request (the connection closes).
    fn too_large_request(&mut self);
    /// Hands over the service events that happened while this connection was being served
    /// (the connection queues those for its handles before its next reply).
    fn take_events(&mut self, f: &mut dyn FnMut(ServiceId, ServiceEvent, &ServiceStatus));

    /// The loaded service of that name.
    fn find(&mut self, name: &[u8]) -> Option<ServiceId>;
    /// The service of that name, loaded now if it is not (failures are logged).
    fn load(&mut self, name: &[u8]) -> Result<ServiceId, LoadError>;
    /// `id` names a loaded service.
    fn is_loaded(&self, id: ServiceId) -> bool;
    /// Its name.
    fn name(&self, id: ServiceId) -> &[u8];
    /// Its status.
    fn status(&self, id: ServiceId) -> ServiceStatus;
    /// The modification time of its description (seconds, nanoseconds).
    fn mtime(&self, id: ServiceId) -> (i64, i64);
    /// The directory its description was read from.
    fn description_dir(&self, id: ServiceId) -> &[u8];
    /// The first loaded service in listing order.
    fn first(&self) -> Option<ServiceId>;
    /// The loaded service listed after `id`.
    fn next_after(&self, id: ServiceId) -> Option<ServiceId>;
    /// The loader: its working directory and service directories.
    fn loader(&self) -> (Vec<u8>, Vec<Vec<u8>>);

    /// Acts on a service.
    fn act(&mut self, action: Action, id: ServiceId) -> Result<Acted, Refusal>;
    /// The active services that need `id` (after a gentle stop was refused).
    fn hard_dependents(&self, id: ServiceId, f: &mut dyn FnMut(ServiceId));
    /// Sets or clears a triggered service's trigger.
    fn set_trigger(&mut self, id: ServiceId, value: bool) -> Result<(), Refusal>;
    /// Another connection holds a handle on `id` (unload and reload are refused then).
    fn held_elsewhere(&self, id: ServiceId) -> bool;
    /// Unloads a stopped service that nothing depends on.
    fn unload(&mut self, id: ServiceId) -> Result<(), Refusal>;
    /// Reads a service's description again and applies it (a refusal is logged).
    fn reload(&mut self, id: ServiceId) -> bool;
    /// Shuts the system (or the instance) down, or stops every service.
    fn shutdown(&mut self, kind: ShutdownKind);
    /// Changes a dependency; for an addition, whether the same dependency existed already.
    fn change_dependency(
        &mut self,
        change: DepChange,
        kind: DepKind,
        from: ServiceId,
        to: ServiceId,
    ) -> Result<bool, Refusal>;

    /// Sets (`NAME=VALUE`) or unsets (`NAME`) a variable of the global environment; returns
    /// whether it was set before.
    fn set_env(&mut self, var: &[u8]) -> bool;
    /// Sends an encoded environment event to the other connections that listen for them.
    fn env_event(&mut self, packet: &[u8]);
    /// The global environment's `NAME=VALUE\0` entries: their total length.
    fn env_len(&self) -> usize;
    /// The entry at `index`, as (name, value).
    fn env_entry(&self, index: usize) -> Option<(&[u8], &[u8])>;

    /// Sends a signal to a service's process.
    fn signal(&mut self, id: ServiceId, signal: i32) -> Result<(), SignalError>;
    /// The absolute position of the first byte of a service's output buffer, and the number
    /// of bytes it holds (`None`: it has none). Positions count every byte that has left the
    /// buffer's front, so they stay valid while the buffer changes.
    fn log_extent(&self, id: ServiceId) -> Option<(usize, usize)>;
    /// Up to `n` bytes of it from absolute position `at`; fewer (none) if they have left it.
    fn log_bytes(&self, id: ServiceId, at: usize, n: usize) -> &[u8];
    /// Drops what comes before absolute position `at` (sent with `catlog --clear`).
    fn log_discard(&mut self, id: ServiceId, at: usize);
}
