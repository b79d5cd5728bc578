//! A snapshot of one service's status: what `dinitctl status` and `list` show and what the
//! control protocol's status block (PROTOCOL.md §3.3) carries.

use crate::types::{ExecStage, ExitStatus, Pid, ServiceState, StopReason};

/// The status flags byte (PROTOCOL.md §6.8).
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StatusFlags(u8);

impl StatusFlags {
    /// Waiting to acquire the console.
    pub const WAITING_FOR_CONSOLE: u8 = 0x01;
    /// Holding the console.
    pub const HAS_CONSOLE: u8 = 0x02;
    /// The start was skipped (a skippable service interrupted).
    pub const START_SKIPPED: u8 = 0x04;
    /// Marked active (explicitly started).
    pub const MARKED_ACTIVE: u8 = 0x08;
    /// Has a process; the pid is valid.
    pub const HAS_PID: u8 = 0x10;

    /// From the protocol byte (bits 5-7 are ignored).
    pub const fn from_bits(bits: u8) -> Self {
        StatusFlags(bits & 0x1f)
    }

    /// The protocol byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True if `flag` (one of the associated constants) is set.
    pub const fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }

    /// `self` with `flag` set.
    #[must_use]
    pub const fn with(self, flag: u8) -> Self {
        StatusFlags(self.0 | flag)
    }
}

/// Everything the status block says about a service at one moment.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServiceStatus {
    /// Current state.
    pub state: ServiceState,
    /// Target state (only STOPPED or STARTED).
    pub target: ServiceState,
    /// Flags; `HAS_PID` says whether `pid` is valid.
    pub flags: StatusFlags,
    /// Reason for the most recent stop.
    pub stop_reason: StopReason,
    /// For `StopReason::ExecFailed`: the failed setup stage and its errno.
    pub exec_failure: Option<(ExecStage, i32)>,
    /// The running process (see `flags`).
    pub pid: Pid,
    /// How the most recent process ended.
    pub exit: ExitStatus,
}

impl ServiceStatus {
    /// The pid, if the service has a process.
    pub const fn pid(&self) -> Option<Pid> {
        if self.flags.has(StatusFlags::HAS_PID) {
            Some(self.pid)
        } else {
            None
        }
    }

    /// The `is-failed` test of dinitctl(8): stopped because of a start failure, a timeout or a
    /// dependency failure.
    pub const fn is_failed(&self) -> bool {
        matches!(self.state, ServiceState::Stopped) && self.stop_reason.is_start_failure()
    }

    /// The `X` marker of `dinitctl list`: stopped after a start failure, or after the process
    /// terminated with an error status or a signal.
    pub fn shows_failed(&self) -> bool {
        match self.stop_reason {
            StopReason::Normal => false,
            StopReason::Terminated => !self.exit.is_clean(),
            _ => true,
        }
    }
}
