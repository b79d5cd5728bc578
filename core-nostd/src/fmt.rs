//! `ufmt` formatting for the public types: tiny `uDisplay`/`uDebug` implementations usable from
//! the core, the daemon and board firmware without `core::fmt`'s code size.

use crate::engine::{CapacityError, Refusal, ServiceId};
use crate::types::{
    DepKind, ExecStage, ExitStatus, ServiceEvent, ServiceKind, ServiceState, ShutdownKind,
    StopReason,
};
use ufmt::{uDebug, uDisplay, uWrite, Formatter};

macro_rules! display_as_str {
    ($($ty:ty => $f:expr;)*) => {$(
        impl uDisplay for $ty {
            fn fmt<W: uWrite + ?Sized>(&self, f: &mut Formatter<'_, W>) -> Result<(), W::Error> {
                let text: fn(&$ty) -> &'static str = $f;
                f.write_str(text(self))
            }
        }
        impl uDebug for $ty {
            fn fmt<W: uWrite + ?Sized>(&self, f: &mut Formatter<'_, W>) -> Result<(), W::Error> {
                <$ty as uDisplay>::fmt(self, f)
            }
        }
    )*};
}

display_as_str! {
    ServiceState => |s| s.name();
    ServiceKind => |k| k.name();
    DepKind => |k| k.setting_name();
    ExecStage => |s| s.description();
    StopReason => |r| match r {
        StopReason::Normal => "normal",
        StopReason::DepRestart => "dependency restarted",
        StopReason::DepFailed => "dependency failed/terminated",
        StopReason::Failed => "failed to start",
        StopReason::ExecFailed => "could not be launched",
        StopReason::TimedOut => "start timed out",
        StopReason::Terminated => "terminated",
    };
    ServiceEvent => |e| match e {
        ServiceEvent::Started => "started",
        ServiceEvent::Stopped => "stopped",
        ServiceEvent::FailedStart => "failed to start",
        ServiceEvent::StartCancelled => "start cancelled",
        ServiceEvent::StopCancelled => "stop cancelled",
    };
    ShutdownKind => |k| match k {
        ShutdownKind::Remain => "remain",
        ShutdownKind::Halt => "halt",
        ShutdownKind::Poweroff => "poweroff",
        ShutdownKind::Reboot => "reboot",
        ShutdownKind::SoftReboot => "soft-reboot",
        ShutdownKind::Kexec => "kexec",
    };
    Refusal => |r| match r {
        Refusal::UnknownService => "service not loaded",
        Refusal::ShuttingDown => "shutdown in progress",
        Refusal::PinnedStopped => "service is pinned stopped",
        Refusal::PinnedStarted => "service is pinned started",
        Refusal::HasDependents => "service has active dependents",
        Refusal::NotStarted => "service not started",
        Refusal::NotTriggered => "service is not of 'triggered' type",
        Refusal::NotStopped => "service not stopped",
        Refusal::HasDependencies => "service is a dependency of another service",
        Refusal::SameService => "a service cannot depend on itself",
        Refusal::CycleOrState => "circular dependency or wrong state",
        Refusal::NoSuchDependency => "no such dependency",
        Refusal::Incompatible => "incompatible change for a running service",
        Refusal::Capacity(_) => "a table is full",
    };
}

impl uDisplay for ExitStatus {
    /// In the words of `dinitctl status`: `exited - status N`, `signalled - signal N`.
    fn fmt<W: uWrite + ?Sized>(&self, f: &mut Formatter<'_, W>) -> Result<(), W::Error> {
        match *self {
            ExitStatus::None => f.write_str("no status"),
            ExitStatus::Exited(code) => ufmt::uwrite!(f, "exited - status {}", code),
            ExitStatus::Signaled(sig) => ufmt::uwrite!(f, "signalled - signal {}", sig),
            ExitStatus::Dumped(_) => f.write_str("unknown reason"),
        }
    }
}

impl uDebug for ExitStatus {
    fn fmt<W: uWrite + ?Sized>(&self, f: &mut Formatter<'_, W>) -> Result<(), W::Error> {
        <ExitStatus as uDisplay>::fmt(self, f)
    }
}

impl uDisplay for CapacityError {
    fn fmt<W: uWrite + ?Sized>(&self, f: &mut Formatter<'_, W>) -> Result<(), W::Error> {
        match *self {
            CapacityError::Services { capacity } => ufmt::uwrite!(
                f,
                "service table full: {} services; build with a larger bound",
                capacity
            ),
            CapacityError::Edges { capacity } => ufmt::uwrite!(
                f,
                "dependency table full: {} dependencies; build with a larger bound",
                capacity
            ),
            CapacityError::Names { capacity } => ufmt::uwrite!(
                f,
                "service name storage full: {} bytes; build with a larger bound",
                capacity
            ),
        }
    }
}

impl uDebug for ServiceId {
    fn fmt<W: uWrite + ?Sized>(&self, f: &mut Formatter<'_, W>) -> Result<(), W::Error> {
        ufmt::uwrite!(f, "ServiceId({})", self.index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show<T: uDisplay>(v: T) -> heapless::String<96> {
        let mut s = heapless::String::new();
        ufmt::uwrite!(s, "{}", v).unwrap();
        s
    }

    #[test]
    fn formats_like_dinitctl() {
        assert_eq!(show(ServiceState::Stopping).as_str(), "STOPPING");
        assert_eq!(show(ExitStatus::Exited(3)).as_str(), "exited - status 3");
        assert_eq!(
            show(ExitStatus::Signaled(9)).as_str(),
            "signalled - signal 9"
        );
        assert_eq!(show(ExecStage::DoExec).as_str(), "executing command");
        assert_eq!(
            show(CapacityError::Services { capacity: 64 }).as_str(),
            "service table full: 64 services; build with a larger bound"
        );
    }
}
