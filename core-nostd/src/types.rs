//! The vocabulary shared by the engine, the protocol codec and the runtime: service states,
//! stop reasons, exec stages, events, dependency kinds, shutdown kinds and exit statuses.
//!
//! Where a type travels on the wire, its discriminants are the protocol's numbers
//! (docs/PROTOCOL.md §6), and `wire_enum!` defines it with its conversions: the codec converts
//! with `as u8` and `from_u8` (`from_u16` for the exec stage).

/// Process ID as the operating system gives it; `0` never names a process here.
pub type Pid = i32;

wire_enum! {
    /// The state of a service (dinit(8) "SERVICE ACTIVATION MODEL"; PROTOCOL.md §6.1).
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum ServiceState: u8 {
        /// Not running.
        #[default]
        Stopped = 0,
        /// Waiting for dependencies, the console, its process or readiness.
        Starting = 1,
        /// Up.
        Started = 2,
        /// Waiting for dependents to stop, or for its process to exit.
        Stopping = 3,
    }
}

impl ServiceState {
    /// The upper-case name `dinitctl is-started` prints.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Stopped => "STOPPED",
            Self::Starting => "STARTING",
            Self::Started => "STARTED",
            Self::Stopping => "STOPPING",
        }
    }
}

wire_enum! {
    /// Why a service most recently stopped (PROTOCOL.md §6.2). It persists after the service
    /// starts again; interpret it only when the service is stopped.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum StopReason: u8 {
        /// Stopped normally, or never started.
        #[default]
        Normal = 0,
        /// A hard dependency was restarted.
        DepRestart = 1,
        /// A dependency failed to start, or stopped under it.
        DepFailed = 2,
        /// The process terminated (or the start command failed) before becoming ready.
        Failed = 3,
        /// The process could not be launched.
        ExecFailed = 4,
        /// Start timed out.
        TimedOut = 5,
        /// The process terminated after the service had started.
        Terminated = 6,
    }
}

impl StopReason {
    /// "Failed" in the sense of `dinitctl is-failed`: the service did not manage to start.
    pub const fn is_start_failure(self) -> bool {
        matches!(
            self,
            Self::DepFailed | Self::Failed | Self::ExecFailed | Self::TimedOut
        )
    }
}

wire_enum! {
    /// The step of process setup that failed (PROTOCOL.md §6.3). The runtime's child reports
    /// one of these, with an errno, over its status pipe.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum ExecStage: u16 {
        /// Arranging file descriptors.
        #[default]
        ArrangeFds = 0,
        /// Reading the environment file.
        ReadEnvFile = 1,
        /// Setting the readiness-notification variable.
        SetNotifyFdVar = 2,
        /// Setting up the activation socket.
        SetupActivationSocket = 3,
        /// Setting up the control socket (pass-cs-fd).
        SetupControlSocket = 4,
        /// Changing directory.
        Chdir = 5,
        /// Setting up standard input/output.
        SetupStdio = 6,
        /// Entering the cgroup.
        EnterCgroup = 7,
        /// Setting resource limits.
        SetRlimits = 8,
        /// Setting user/group ID.
        SetUidGid = 9,
        /// Opening the log file.
        OpenLogfile = 10,
        /// Setting capabilities.
        SetCaps = 11,
        /// Setting the I/O (or CPU) priority.
        SetPrio = 12,
        /// Executing the command.
        DoExec = 18,
    }
}

impl ExecStage {
    /// The text `dinitctl status` prints after "Stage:".
    pub const fn description(self) -> &'static str {
        match self {
            Self::ArrangeFds => "arranging file descriptors",
            Self::ReadEnvFile => "reading environment file",
            Self::SetNotifyFdVar => "setting environment variable",
            Self::SetupActivationSocket => "setting up activation socket",
            Self::SetupControlSocket => "setting up control socket",
            Self::Chdir => "changing directory",
            Self::SetupStdio => "setting up standard input/output descriptors",
            Self::EnterCgroup => "entering cgroup",
            Self::SetRlimits => "setting resource limits",
            Self::SetUidGid => "setting user/group ID",
            Self::OpenLogfile => "opening log file",
            Self::SetCaps => "setting capabilities",
            Self::SetPrio => "setting I/O priority",
            Self::DoExec => "executing command",
        }
    }
}

wire_enum! {
    /// A service event, as sent to control-protocol listeners (PROTOCOL.md §6.4).
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum ServiceEvent: u8 {
        /// The service reached STARTED.
        Started = 0,
        /// The service reached STOPPED.
        Stopped = 1,
        /// Its start failed (a STOPPED event follows once it is down).
        FailedStart = 2,
        /// A pending start was abandoned because a stop was requested.
        StartCancelled = 3,
        /// A pending stop was abandoned because a start was requested.
        StopCancelled = 4,
    }
}

wire_enum! {
    /// What to do once every service has stopped (PROTOCOL.md §6.5).
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum ShutdownKind: u8 {
        /// Stop all services but keep the daemon running.
        Remain = 1,
        /// Halt the machine.
        Halt = 2,
        /// Power off.
        Poweroff = 3,
        /// Reboot.
        Reboot = 4,
        /// Restart the service manager without rebooting.
        SoftReboot = 5,
        /// Reboot into a kernel loaded with kexec.
        Kexec = 6,
    }
}

wire_enum! {
    /// The relationship a dependency edge expresses (dinit-service(5) "SERVICE DEPENDENCIES";
    /// the numbers are the protocol's, PROTOCOL.md §6.6). An edge always points from the
    /// service that waits (`from`, the dependent) to the service waited for (`to`, the
    /// dependency).
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum DepKind: u8 {
        /// `depends-on`: hard. Starting `from` starts `to`; stopping `to` stops `from`.
        #[default]
        Regular = 0,
        /// `waits-for`: `from` waits for `to` to start or fail, and then starts regardless.
        WaitsFor = 2,
        /// `depends-ms`: `to` must start before `from` does; afterwards it may stop freely.
        Milestone = 3,
        /// `before` declared by `to` ("`to` before `from`"): ordering only.
        Before = 4,
        /// `after` declared by `from` ("`from` after `to`"): ordering only.
        After = 5,
        /// `prepared-by`: like `Regular`, and `to` is restarted whenever `from` restarts.
        PreparedBy = 6,
    }
}

impl DepKind {
    /// Ordering-only edges (`before`/`after`) neither start nor hold their target.
    pub const fn is_ordering(self) -> bool {
        matches!(self, Self::Before | Self::After)
    }

    /// The keyword used in service descriptions.
    pub const fn setting_name(self) -> &'static str {
        match self {
            Self::Regular => "depends-on",
            Self::WaitsFor => "waits-for",
            Self::Milestone => "depends-ms",
            Self::Before => "before",
            Self::After => "after",
            Self::PreparedBy => "prepared-by",
        }
    }
}

/// Service types (dinit-service(5) "SERVICE TYPES").
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ServiceKind {
    /// A name other services mention (through `before`/`after`) that has no description
    /// loaded. Placeholders never start and are not listed.
    #[default]
    Placeholder = 0,
    /// No process; starts and stops at once.
    Internal = 1,
    /// A single supervised process.
    Process = 2,
    /// A self-backgrounding daemon, found through its pid file.
    Bgprocess = 3,
    /// Start and stop commands.
    Scripted = 4,
    /// Like internal, but starts only once triggered.
    Triggered = 5,
}

impl ServiceKind {
    /// The name used by the `type` setting.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Placeholder => "placeholder",
            Self::Internal => "internal",
            Self::Process => "process",
            Self::Bgprocess => "bgprocess",
            Self::Scripted => "scripted",
            Self::Triggered => "triggered",
        }
    }

    /// Services that run a process (and so can have a pid, exit status and log).
    pub const fn runs_process(self) -> bool {
        matches!(self, Self::Process | Self::Bgprocess | Self::Scripted)
    }
}

/// The `restart` setting.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum AutoRestart {
    /// `yes`/`true`: restart whenever it stops other than by command (the default).
    #[default]
    Yes = 0,
    /// `on-failure`: restart a process or bgprocess only after a failure exit.
    OnFailure = 1,
    /// `no`/`false`.
    No = 2,
}

/// How a process ended, in the terms of `waitid(2)`'s `si_code`/`si_status`
/// (PROTOCOL.md §6.9), or `None` when no process has ended yet.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ExitStatus {
    /// No termination recorded.
    #[default]
    None,
    /// Exited with this status (`CLD_EXITED`).
    Exited(i32),
    /// Killed by this signal (`CLD_KILLED`).
    Signaled(i32),
    /// Killed by this signal, with a core dump (`CLD_DUMPED`).
    Dumped(i32),
}

impl ExitStatus {
    /// `si_code` as the protocol carries it: 1 exited, 2 killed, 3 dumped, 0 none.
    pub const fn si_code(self) -> i32 {
        match self {
            Self::None => 0,
            Self::Exited(_) => 1,
            Self::Signaled(_) => 2,
            Self::Dumped(_) => 3,
        }
    }

    /// `si_status`: the exit status or the signal number, 0 if none.
    pub const fn si_status(self) -> i32 {
        match self {
            Self::None => 0,
            Self::Exited(v) | Self::Signaled(v) | Self::Dumped(v) => v,
        }
    }

    /// From the protocol's pair; unknown codes map to `None`.
    pub const fn from_si(code: i32, status: i32) -> Self {
        match code {
            1 => Self::Exited(status),
            2 => Self::Signaled(status),
            3 => Self::Dumped(status),
            _ => Self::None,
        }
    }

    /// Exited with status 0.
    pub const fn is_clean(self) -> bool {
        matches!(self, Self::Exited(0))
    }

    /// A failure in the sense of `restart = on-failure`: a non-zero exit, or death by a signal
    /// other than those that signal deliberate termination (HUP, INT, USR1, USR2, TERM).
    pub fn is_failure(self) -> bool {
        match self {
            Self::None => false,
            Self::Exited(code) => code != 0,
            Self::Signaled(sig) | Self::Dumped(sig) => {
                !crate::signal::is_deliberate_termination(sig)
            }
        }
    }
}
