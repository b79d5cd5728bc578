//! What the engine needs to know of a service description: its type, the options and settings
//! that shape its activation, restart and stop behaviour. Commands, paths, environment and
//! the other process settings belong to the runtime, which keeps them beside the engine and
//! looks them up by [`ServiceId`](crate::ServiceId) when asked to spawn.

use crate::time::Duration;
use crate::types::{AutoRestart, ServiceKind};

/// The `options` of dinit-service(5) "OPTIONS" that the engine acts on, plus those the
/// runtime needs and which are cheapest to keep here (one bit each).
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Options(u32);

impl Options {
    /// `runs-on-console`: holds the console exclusively while running.
    pub const RUNS_ON_CONSOLE: Options = Options(1 << 0);
    /// `starts-on-console`: holds the console exclusively while starting.
    pub const STARTS_ON_CONSOLE: Options = Options(1 << 1);
    /// `shares-console`: uses the console without holding it.
    pub const SHARES_CONSOLE: Options = Options(1 << 2);
    /// `unmask-intr`: SIGINT unmasked for console services (runtime).
    pub const UNMASK_INTR: Options = Options(1 << 3);
    /// `start-interruptible`: a start may be cancelled with SIGINT.
    pub const START_INTERRUPTIBLE: Options = Options(1 << 4);
    /// `skippable`: a start command killed by SIGINT counts as started (skipped).
    pub const SKIPPABLE: Options = Options(1 << 5);
    /// `signal-process-only`: signal the process, not its process group.
    pub const SIGNAL_PROCESS_ONLY: Options = Options(1 << 6);
    /// `always-chain`: start the `chain-to` service whatever the reason of the stop.
    pub const ALWAYS_CHAIN: Options = Options(1 << 7);
    /// `kill-all-on-stop`: TERM then KILL every other process before stopping.
    pub const KILL_ALL_ON_STOP: Options = Options(1 << 8);
    /// `starts-rwfs`: the root file system is writable once this service has started.
    pub const STARTS_RWFS: Options = Options(1 << 9);
    /// `starts-log`: the system log daemon is up once this service has started.
    pub const STARTS_LOG: Options = Options(1 << 10);
    /// `pass-cs-fd`: hand the process a control connection (runtime).
    pub const PASS_CS_FD: Options = Options(1 << 11);
    /// `no-new-privs` (runtime).
    pub const NO_NEW_PRIVS: Options = Options(1 << 12);

    /// No options.
    pub const fn empty() -> Self {
        Options(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// From raw bits (unknown bits are kept; they have no effect).
    pub const fn from_bits(bits: u32) -> Self {
        Options(bits)
    }

    /// True if every bit of `other` is set.
    pub const fn contains(self, other: Options) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with `other`'s bits added.
    #[must_use]
    pub const fn with(self, other: Options) -> Self {
        Options(self.0 | other.0)
    }

    /// `self` with `other`'s bits removed.
    #[must_use]
    pub const fn without(self, other: Options) -> Self {
        Options(self.0 & !other.0)
    }

    /// Sets a console option with the exclusivity dinit-service(5) describes:
    /// `shares-console` unsets both `runs-on-console` and `starts-on-console`, and either of
    /// those unsets `shares-console`.
    #[must_use]
    pub const fn with_console_option(self, opt: Options) -> Self {
        if opt.0 == Self::SHARES_CONSOLE.0 {
            self.without(Self::RUNS_ON_CONSOLE)
                .without(Self::STARTS_ON_CONSOLE)
                .with(opt)
        } else {
            self.without(Self::SHARES_CONSOLE).with(opt)
        }
    }
}

impl core::fmt::Debug for Options {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Options({:#x})", self.0)
    }
}

/// The engine's view of one service description.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServiceConfig {
    /// `type`.
    pub kind: ServiceKind,
    /// `options`.
    pub options: Options,
    /// `restart`.
    pub restart: AutoRestart,
    /// `smooth-recovery`.
    pub smooth_recovery: bool,
    /// `restart-delay`: minimum time between automatic restarts (default 0.2 s).
    pub restart_delay: Duration,
    /// `restart-limit-interval` (default 10 s).
    pub restart_limit_interval: Duration,
    /// `restart-limit-count`: automatic restarts allowed within the interval; 0 disables the
    /// limit (default 3).
    pub restart_limit_count: u16,
    /// `start-timeout`; zero means unlimited (default 60 s).
    pub start_timeout: Duration,
    /// `stop-timeout`; zero means unlimited (default 10 s).
    pub stop_timeout: Duration,
    /// `term-signal`; 0 means `none` (do not signal, wait for the process to exit).
    pub term_signal: i32,
    /// A `stop-command` is set.
    pub has_stop_command: bool,
    /// `ready-notification` is set (process services then start on readiness, not on exec).
    pub ready_notification: bool,
}

impl ServiceConfig {
    /// The defaults of dinit-service(5) for a service of `kind`.
    pub const fn new(kind: ServiceKind) -> Self {
        ServiceConfig {
            kind,
            options: Options::empty(),
            restart: AutoRestart::Yes,
            smooth_recovery: false,
            restart_delay: Duration::from_millis(200),
            restart_limit_interval: Duration::from_secs(10),
            restart_limit_count: 3,
            start_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(10),
            term_signal: crate::signal::TERM,
            has_stop_command: false,
            ready_notification: false,
        }
    }

    /// All-zero configuration: the contents of an empty record slot.
    pub(crate) const ZERO: ServiceConfig = ServiceConfig {
        kind: ServiceKind::Placeholder,
        options: Options::empty(),
        restart: AutoRestart::Yes,
        smooth_recovery: false,
        restart_delay: Duration::ZERO,
        restart_limit_interval: Duration::ZERO,
        restart_limit_count: 0,
        start_timeout: Duration::ZERO,
        stop_timeout: Duration::ZERO,
        term_signal: 0,
        has_stop_command: false,
        ready_notification: false,
    };

    /// A placeholder's configuration (never started).
    pub const fn placeholder() -> Self {
        let mut c = Self::new(ServiceKind::Placeholder);
        c.restart = AutoRestart::No;
        c
    }

    /// The console is held exclusively while starting (and, with `runs-on-console`, while
    /// running).
    pub const fn needs_console_to_start(&self) -> bool {
        self.options.contains(Options::STARTS_ON_CONSOLE)
            || self.options.contains(Options::RUNS_ON_CONSOLE)
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self::new(ServiceKind::Internal)
    }
}
