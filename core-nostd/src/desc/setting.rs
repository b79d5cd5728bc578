//! The settings of dinit-service(5) "SERVICE PROPERTIES" and "OPTIONS": their names, which
//! accept `+=`, which get variable substitution, and the validation of each value into a typed
//! [`Setting`].

use super::cnum;
use super::error::{DescErrorKind, Snippet};
use super::name::parse_service_name;
use super::subst::{expand_value, SubstEnv};
use super::tokens::Tokens;
use crate::config::Options;
use crate::signal;
use crate::time::Duration;
use crate::types::{AutoRestart, DepKind, ServiceKind};

/// `=` (or `:`, which is the same) versus `+=`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Op {
    /// `name = value` or `name: value`.
    Set,
    /// `name += value`.
    Append,
}

/// Which variable substitution a setting's value gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Substitution {
    /// None: the value is used as written.
    None,
    /// Pre-load: done by the parser with the service argument and dinit's environment, before
    /// any service env-file is read.
    PreLoad,
    /// Post-load: done once the service's env-file has been read; the parser leaves the
    /// value as written, syntax errors included (see `Description::expand_command` and
    /// `Description::expand_path`).
    PostLoad,
}

/// How the lexed value of a setting is interpreted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// A command: a list of tokens.
    Command,
    /// White-space separated words, each checked on its own; may be empty.
    Words,
    /// One string: tokens joined with single spaces.
    Text,
}

macro_rules! setting_keys {
    ($($variant:ident => $name:literal,)*) => {
        /// A setting of dinit-service(5).
        #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum SettingKey {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl SettingKey {
            /// Every setting, in the order of the manual page.
            pub const ALL: &'static [SettingKey] = &[$(SettingKey::$variant,)*];

            /// The name as written in service descriptions.
            pub const fn name(self) -> &'static str {
                match self {
                    $(SettingKey::$variant => $name,)*
                }
            }

            /// The setting called `name` (`termsignal`, the old spelling, is accepted for
            /// `term-signal`, as by Dinit).
            pub fn from_name(name: &[u8]) -> Option<SettingKey> {
                match name {
                    $(n if n == $name.as_bytes() => Some(SettingKey::$variant),)*
                    b"termsignal" => Some(SettingKey::TermSignal),
                    _ => None,
                }
            }
        }
    };
}

setting_keys! {
    Type => "type",
    Command => "command",
    StopCommand => "stop-command",
    WorkingDir => "working-dir",
    RunAs => "run-as",
    EnvFile => "env-file",
    Restart => "restart",
    SmoothRecovery => "smooth-recovery",
    RestartDelay => "restart-delay",
    RestartLimitInterval => "restart-limit-interval",
    RestartLimitCount => "restart-limit-count",
    StartTimeout => "start-timeout",
    StopTimeout => "stop-timeout",
    PidFile => "pid-file",
    DependsOn => "depends-on",
    PreparedBy => "prepared-by",
    DependsMs => "depends-ms",
    WaitsFor => "waits-for",
    DependsOnD => "depends-on.d",
    DependsMsD => "depends-ms.d",
    WaitsForD => "waits-for.d",
    After => "after",
    Before => "before",
    ChainTo => "chain-to",
    SocketListen => "socket-listen",
    SocketPermissions => "socket-permissions",
    SocketUid => "socket-uid",
    SocketGid => "socket-gid",
    TermSignal => "term-signal",
    ReadyNotification => "ready-notification",
    LogType => "log-type",
    Logfile => "logfile",
    LogfilePermissions => "logfile-permissions",
    LogfileUid => "logfile-uid",
    LogfileGid => "logfile-gid",
    LogfileMaxSize => "logfile-max-size",
    LogfileRotate => "logfile-rotate",
    LogBufferSize => "log-buffer-size",
    LogBufferKeep => "log-buffer-keep",
    ConsumerOf => "consumer-of",
    Options => "options",
    LoadOptions => "load-options",
    InittabId => "inittab-id",
    InittabLine => "inittab-line",
    RlimitNofile => "rlimit-nofile",
    RlimitCore => "rlimit-core",
    RlimitData => "rlimit-data",
    RlimitAddrspace => "rlimit-addrspace",
    Nice => "nice",
    RunInCgroup => "run-in-cgroup",
    Capabilities => "capabilities",
    Securebits => "securebits",
    Ioprio => "ioprio",
    OomScoreAdj => "oom-score-adj",
}

impl SettingKey {
    /// True for the settings the manual page documents with a `+=` form.
    pub const fn allows_append(self) -> bool {
        matches!(
            self,
            Self::Command | Self::StopCommand | Self::Capabilities | Self::Securebits
        )
    }

    /// The variable substitution the value gets.
    pub const fn substitution(self) -> Substitution {
        match self {
            Self::Command
            | Self::StopCommand
            | Self::WorkingDir
            | Self::PidFile
            | Self::SocketListen
            | Self::Logfile => Substitution::PostLoad,
            Self::EnvFile
            | Self::DependsOn
            | Self::PreparedBy
            | Self::DependsMs
            | Self::WaitsFor
            | Self::DependsOnD
            | Self::DependsMsD
            | Self::WaitsForD
            | Self::After
            | Self::Before
            | Self::ChainTo
            | Self::ConsumerOf => Substitution::PreLoad,
            _ => Substitution::None,
        }
    }

    pub(crate) const fn shape(self) -> Shape {
        match self {
            Self::Command | Self::StopCommand => Shape::Command,
            Self::Options | Self::LoadOptions | Self::Securebits => Shape::Words,
            _ => Shape::Text,
        }
    }
}

/// A user or group, by number or by name (looked up by the runtime).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IdSpec<'a> {
    /// A numeric id.
    Numeric(u32),
    /// A name to look up in the user or group database.
    Name(&'a [u8]),
}

/// `ready-notification`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReadyNotification<'a> {
    /// `pipefd:N`: the write end of a pipe on descriptor N.
    PipeFd(i32),
    /// `pipevar:NAME`: a pipe on a descriptor named by environment variable NAME.
    PipeVar(&'a [u8]),
}

/// `log-type`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LogType {
    /// `none`: output is discarded (the default).
    #[default]
    None,
    /// `file`: appended to `logfile`.
    File,
    /// `buffer`: kept in memory, up to `log-buffer-size`.
    Buffer,
    /// `pipe`: to a pipe read by a `consumer-of` service.
    Pipe,
}

impl LogType {
    /// The name used by the setting.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::File => "file",
            Self::Buffer => "buffer",
            Self::Pipe => "pipe",
        }
    }
}

/// `log-buffer-keep` (a dinit-rs extension): what a full log buffer keeps.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LogBufferKeep {
    /// `oldest`: further output is discarded once the buffer is full (the default, and
    /// Dinit's only behaviour: "If the buffer becomes full, further output from the service
    /// process will be discarded").
    #[default]
    Oldest,
    /// `newest`: the oldest lines are dropped to make room, so the buffer holds the latest
    /// output.
    Newest,
}

impl LogBufferKeep {
    /// The name used by the setting.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Oldest => "oldest",
            Self::Newest => "newest",
        }
    }
}

/// `load-options` flags.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LoadOptions(u8);

impl LoadOptions {
    /// `export-passwd-vars`: USER, LOGNAME, HOME, SHELL, UID and GID in the load environment.
    pub const EXPORT_PASSWD_VARS: LoadOptions = LoadOptions(1);
    /// `export-service-name`: DINIT_SERVICE in the load environment.
    pub const EXPORT_SERVICE_NAME: LoadOptions = LoadOptions(2);

    /// No flags.
    pub const fn empty() -> Self {
        LoadOptions(0)
    }
    /// True if every flag of `other` is set.
    pub const fn contains(self, other: LoadOptions) -> bool {
        self.0 & other.0 == other.0
    }
    /// `self` with `other`'s flags added.
    #[must_use]
    pub const fn with(self, other: LoadOptions) -> Self {
        LoadOptions(self.0 | other.0)
    }
    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

/// `securebits` flags, with Linux's bit values (`SECBIT_*` of `<linux/securebits.h>`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Securebits(u8);

impl Securebits {
    /// `noroot`
    pub const NOROOT: Securebits = Securebits(1 << 0);
    /// `noroot-locked`
    pub const NOROOT_LOCKED: Securebits = Securebits(1 << 1);
    /// `no-setuid-fixup`
    pub const NO_SETUID_FIXUP: Securebits = Securebits(1 << 2);
    /// `no-setuid-fixup-locked`
    pub const NO_SETUID_FIXUP_LOCKED: Securebits = Securebits(1 << 3);
    /// `keep-caps`
    pub const KEEP_CAPS: Securebits = Securebits(1 << 4);
    /// `keep-caps-locked`
    pub const KEEP_CAPS_LOCKED: Securebits = Securebits(1 << 5);

    /// The flag names and values.
    pub const NAMES: [(&'static str, Securebits); 6] = [
        ("keep-caps", Self::KEEP_CAPS),
        ("keep-caps-locked", Self::KEEP_CAPS_LOCKED),
        ("no-setuid-fixup", Self::NO_SETUID_FIXUP),
        ("no-setuid-fixup-locked", Self::NO_SETUID_FIXUP_LOCKED),
        ("noroot", Self::NOROOT),
        ("noroot-locked", Self::NOROOT_LOCKED),
    ];

    /// No flags.
    pub const fn empty() -> Self {
        Securebits(0)
    }
    /// The bits, as `prctl(PR_SET_SECUREBITS)` takes them.
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// True if every flag of `other` is set.
    pub const fn contains(self, other: Securebits) -> bool {
        self.0 & other.0 == other.0
    }
    /// `self` with `other`'s flags added.
    #[must_use]
    pub const fn with(self, other: Securebits) -> Self {
        Securebits(self.0 | other.0)
    }
}

/// `ioprio`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Ioprio {
    /// `none`: no class.
    None,
    /// `idle`.
    Idle,
    /// `realtime:N`, N from 0 to 7.
    Realtime(u8),
    /// `best-effort:N`, N from 0 to 7.
    BestEffort(u8),
}

/// The resource of an `rlimit-*` setting.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Resource {
    /// `rlimit-nofile` (`RLIMIT_NOFILE`).
    Nofile = 0,
    /// `rlimit-core` (`RLIMIT_CORE`).
    Core = 1,
    /// `rlimit-data` (`RLIMIT_DATA`).
    Data = 2,
    /// `rlimit-addrspace` (`RLIMIT_AS`).
    Addrspace = 3,
}

impl Resource {
    /// All four, in this order.
    pub const ALL: [Resource; 4] = [Self::Nofile, Self::Core, Self::Data, Self::Addrspace];

    /// The setting.
    pub const fn key(self) -> SettingKey {
        match self {
            Self::Nofile => SettingKey::RlimitNofile,
            Self::Core => SettingKey::RlimitCore,
            Self::Data => SettingKey::RlimitData,
            Self::Addrspace => SettingKey::RlimitAddrspace,
        }
    }
}

/// One side of a resource limit.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Limit {
    /// Omitted: left as inherited.
    #[default]
    Unchanged,
    /// `-`: no limit (`RLIM_INFINITY`).
    Unlimited,
    /// A number.
    Value(u64),
}

/// A `soft:hard` resource limit (dinit-service(5) "RESOURCE LIMITS").
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rlimit {
    /// The soft (effective) limit.
    pub soft: Limit,
    /// The hard limit.
    pub hard: Limit,
}

/// The `options` words and their flags (dinit-service(5) "OPTIONS").
pub const OPTION_NAMES: [(&str, Options); 13] = [
    ("runs-on-console", Options::RUNS_ON_CONSOLE),
    ("starts-on-console", Options::STARTS_ON_CONSOLE),
    ("shares-console", Options::SHARES_CONSOLE),
    ("unmask-intr", Options::UNMASK_INTR),
    ("starts-rwfs", Options::STARTS_RWFS),
    ("starts-log", Options::STARTS_LOG),
    ("pass-cs-fd", Options::PASS_CS_FD),
    ("start-interruptible", Options::START_INTERRUPTIBLE),
    ("skippable", Options::SKIPPABLE),
    ("signal-process-only", Options::SIGNAL_PROCESS_ONLY),
    ("always-chain", Options::ALWAYS_CHAIN),
    ("kill-all-on-stop", Options::KILL_ALL_ON_STOP),
    ("no-new-privs", Options::NO_NEW_PRIVS),
];

fn option_by_name(word: &[u8]) -> Option<Options> {
    OPTION_NAMES
        .iter()
        .find(|(n, _)| n.as_bytes() == word)
        .map(|&(_, o)| o)
}

/// The validated words of one `options` line, applied in order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OptionList<'a> {
    words: Tokens<'a>,
}

impl<'a> OptionList<'a> {
    /// The words as written.
    pub const fn words(&self) -> Tokens<'a> {
        self.words
    }

    /// Each word's flag, in order.
    pub fn iter(&self) -> impl Iterator<Item = Options> + 'a {
        self.words.iter().filter_map(option_by_name)
    }

    /// `base` with these options set in order, the console options excluding each other as
    /// the manual page describes (see [`Options::with_console_option`]).
    pub fn apply_to(&self, base: Options) -> Options {
        self.iter().fold(base, |acc, o| {
            if o == Options::RUNS_ON_CONSOLE
                || o == Options::STARTS_ON_CONSOLE
                || o == Options::SHARES_CONSOLE
            {
                acc.with_console_option(o)
            } else {
                acc.with(o)
            }
        })
    }
}

/// One setting, validated. Values borrow from the parser's scratch buffer and are valid only
/// for the duration of the callback (or until the next `Parser::next_item`).
///
/// Values of [`Substitution::PreLoad`] settings are already substituted; values of
/// [`Substitution::PostLoad`] settings (`command`, `stop-command`, `working-dir`, `pid-file`,
/// `socket-listen`, `logfile`) are as written, to be expanded once the service's environment is
/// known.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Setting<'a> {
    /// `type`.
    Type(ServiceKind),
    /// `command` / `command +=` (post-load substitution).
    Command {
        /// `=` or `+=`.
        op: Op,
        /// The arguments.
        tokens: Tokens<'a>,
    },
    /// `stop-command` / `stop-command +=` (post-load substitution).
    StopCommand {
        /// `=` or `+=`.
        op: Op,
        /// The arguments.
        tokens: Tokens<'a>,
    },
    /// `working-dir` (post-load substitution).
    WorkingDir(&'a [u8]),
    /// `run-as`.
    RunAs(IdSpec<'a>),
    /// `env-file` (pre-load substituted).
    EnvFile(&'a [u8]),
    /// `restart`.
    Restart(AutoRestart),
    /// `smooth-recovery`.
    SmoothRecovery(bool),
    /// `restart-delay`.
    RestartDelay(Duration),
    /// `restart-limit-interval`.
    RestartLimitInterval(Duration),
    /// `restart-limit-count` (Dinit accepts up to 2^31-1; kept as `u16`, saturating: more
    /// restarts than that in one interval are as good as unlimited).
    RestartLimitCount(u16),
    /// `start-timeout` (zero: unlimited).
    StartTimeout(Duration),
    /// `stop-timeout` (zero: unlimited).
    StopTimeout(Duration),
    /// `pid-file` (post-load substitution).
    PidFile(&'a [u8]),
    /// `depends-on`, `prepared-by`, `depends-ms`, `waits-for`, `after`, `before` (pre-load
    /// substituted, a valid service name: not empty, not beginning with `.` or `@`).
    Dependency {
        /// Which relationship.
        kind: DepKind,
        /// The service.
        name: &'a [u8],
    },
    /// `depends-on.d`, `depends-ms.d`, `waits-for.d` (pre-load substituted).
    DependencyDir {
        /// [`DepKind::Regular`], [`DepKind::Milestone`] or [`DepKind::WaitsFor`].
        kind: DepKind,
        /// The directory, relative to the fragment that names it unless absolute.
        path: &'a [u8],
    },
    /// `chain-to` (pre-load substituted; a valid service name, which need not exist).
    ChainTo(&'a [u8]),
    /// `socket-listen` (post-load substitution).
    SocketListen(&'a [u8]),
    /// `socket-permissions` (the permission bits of the octal value).
    SocketPermissions(u32),
    /// `socket-uid`.
    SocketUid(IdSpec<'a>),
    /// `socket-gid`.
    SocketGid(IdSpec<'a>),
    /// `term-signal`; 0 for `none`.
    TermSignal(i32),
    /// `ready-notification`.
    ReadyNotification(ReadyNotification<'a>),
    /// `log-type`.
    LogType(LogType),
    /// `logfile` (post-load substitution).
    Logfile(&'a [u8]),
    /// `logfile-permissions`.
    LogfilePermissions(u32),
    /// `logfile-uid`.
    LogfileUid(IdSpec<'a>),
    /// `logfile-gid`.
    LogfileGid(IdSpec<'a>),
    /// `logfile-max-size` in bytes (a dinit-rs extension).
    LogfileMaxSize(u64),
    /// `logfile-rotate` (a dinit-rs extension): the rotated files kept, 0 to 99.
    LogfileRotate(u8),
    /// `log-buffer-size` (0 to 2^31-1).
    LogBufferSize(u32),
    /// `log-buffer-keep` (a dinit-rs extension).
    LogBufferKeep(LogBufferKeep),
    /// `consumer-of` (pre-load substituted, a valid service name).
    ConsumerOf(&'a [u8]),
    /// `options` (additive).
    Options(OptionList<'a>),
    /// `load-options` (additive).
    LoadOptions(LoadOptions),
    /// `inittab-id`.
    InittabId(&'a [u8]),
    /// `inittab-line`.
    InittabLine(&'a [u8]),
    /// `rlimit-nofile`, `rlimit-core`, `rlimit-data`, `rlimit-addrspace`.
    Rlimit {
        /// Which resource.
        resource: Resource,
        /// The limits.
        limit: Rlimit,
    },
    /// `nice` (from -2^30 to 2^30-1 as in Dinit; the runtime clamps to the system's range).
    Nice(i32),
    /// `run-in-cgroup`.
    RunInCgroup(&'a [u8]),
    /// `capabilities` / `capabilities +=`: an IAB string.
    Capabilities {
        /// `=` or `+=` (which joins with a comma).
        op: Op,
        /// The IAB text.
        iab: &'a [u8],
    },
    /// `securebits` / `securebits +=`.
    Securebits {
        /// `=` (replace) or `+=` (add).
        op: Op,
        /// The flags.
        bits: Securebits,
    },
    /// `ioprio`.
    Ioprio(Ioprio),
    /// `oom-score-adj`.
    OomScoreAdj(i16),
    /// `@meta enable-via NAME` (a valid service name).
    EnableVia(&'a [u8]),
}

impl Setting<'_> {
    /// The setting's key, or `None` for `@meta enable-via`.
    pub fn key(&self) -> Option<SettingKey> {
        use SettingKey as K;
        Some(match *self {
            Setting::Type(_) => K::Type,
            Setting::Command { .. } => K::Command,
            Setting::StopCommand { .. } => K::StopCommand,
            Setting::WorkingDir(_) => K::WorkingDir,
            Setting::RunAs(_) => K::RunAs,
            Setting::EnvFile(_) => K::EnvFile,
            Setting::Restart(_) => K::Restart,
            Setting::SmoothRecovery(_) => K::SmoothRecovery,
            Setting::RestartDelay(_) => K::RestartDelay,
            Setting::RestartLimitInterval(_) => K::RestartLimitInterval,
            Setting::RestartLimitCount(_) => K::RestartLimitCount,
            Setting::StartTimeout(_) => K::StartTimeout,
            Setting::StopTimeout(_) => K::StopTimeout,
            Setting::PidFile(_) => K::PidFile,
            Setting::Dependency { kind, .. } => match kind {
                DepKind::Regular => K::DependsOn,
                DepKind::PreparedBy => K::PreparedBy,
                DepKind::Milestone => K::DependsMs,
                DepKind::WaitsFor => K::WaitsFor,
                DepKind::After => K::After,
                DepKind::Before => K::Before,
            },
            Setting::DependencyDir { kind, .. } => match kind {
                DepKind::Milestone => K::DependsMsD,
                DepKind::WaitsFor => K::WaitsForD,
                _ => K::DependsOnD,
            },
            Setting::ChainTo(_) => K::ChainTo,
            Setting::SocketListen(_) => K::SocketListen,
            Setting::SocketPermissions(_) => K::SocketPermissions,
            Setting::SocketUid(_) => K::SocketUid,
            Setting::SocketGid(_) => K::SocketGid,
            Setting::TermSignal(_) => K::TermSignal,
            Setting::ReadyNotification(_) => K::ReadyNotification,
            Setting::LogType(_) => K::LogType,
            Setting::Logfile(_) => K::Logfile,
            Setting::LogfilePermissions(_) => K::LogfilePermissions,
            Setting::LogfileUid(_) => K::LogfileUid,
            Setting::LogfileGid(_) => K::LogfileGid,
            Setting::LogfileMaxSize(_) => K::LogfileMaxSize,
            Setting::LogfileRotate(_) => K::LogfileRotate,
            Setting::LogBufferSize(_) => K::LogBufferSize,
            Setting::LogBufferKeep(_) => K::LogBufferKeep,
            Setting::ConsumerOf(_) => K::ConsumerOf,
            Setting::Options(_) => K::Options,
            Setting::LoadOptions(_) => K::LoadOptions,
            Setting::InittabId(_) => K::InittabId,
            Setting::InittabLine(_) => K::InittabLine,
            Setting::Rlimit { resource, .. } => resource.key(),
            Setting::Nice(_) => K::Nice,
            Setting::RunInCgroup(_) => K::RunInCgroup,
            Setting::Capabilities { .. } => K::Capabilities,
            Setting::Securebits { .. } => K::Securebits,
            Setting::Ioprio(_) => K::Ioprio,
            Setting::OomScoreAdj(_) => K::OomScoreAdj,
            Setting::EnableVia(_) => return None,
        })
    }
}

/// Longest `inittab-id` (the `ut_id` field of Linux's utmp record).
pub const INITTAB_ID_MAX: usize = 4;
/// Longest `inittab-line` (the `ut_line` field of Linux's utmp record).
pub const INITTAB_LINE_MAX: usize = 32;

/// The signal names `term-signal` accepts (Dinit's list); `none` and `NONE` mean no signal.
const TERM_SIGNALS: [(&str, i32); 11] = [
    ("none", 0),
    ("NONE", 0),
    ("HUP", signal::HUP),
    ("INT", signal::INT),
    ("QUIT", signal::QUIT),
    ("KILL", signal::KILL),
    ("USR1", signal::USR1),
    ("USR2", signal::USR2),
    ("TERM", signal::TERM),
    ("CONT", signal::CONT),
    ("STOP", signal::STOP),
];

/// A number read as `std::stoull`, which must be whole and at most `max`.
fn parse_unum(v: &[u8], max: u64) -> Result<u64, DescErrorKind> {
    match cnum::stoull(v) {
        Ok((n, end)) if n <= max && end == v.len() => Ok(n),
        _ => Err(DescErrorKind::InvalidNumber),
    }
}

/// The most rotated log files `logfile-rotate` keeps.
pub const MAX_LOGFILE_ROTATE: u8 = 99;

/// The smallest `logfile-max-size`: a limit below it would rotate at nearly every line.
pub const MIN_LOGFILE_MAX_SIZE: u64 = 1024;

/// A size in bytes: a whole number with an optional suffix `K`, `M` or `G` (powers of 1024;
/// `k`, `m`, `g` too), at least [`MIN_LOGFILE_MAX_SIZE`] and at most 2^62.
fn parse_size(v: &[u8]) -> Result<u64, DescErrorKind> {
    let (digits, shift) = match v.split_last() {
        Some((b'k' | b'K', rest)) => (rest, 10),
        Some((b'm' | b'M', rest)) => (rest, 20),
        Some((b'g' | b'G', rest)) => (rest, 30),
        _ => (v, 0),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(DescErrorKind::InvalidSize);
    }
    let n = parse_unum(digits, (1u64 << 62) >> shift).map_err(|_| DescErrorKind::InvalidSize)?;
    let bytes = n << shift;
    if bytes < MIN_LOGFILE_MAX_SIZE {
        return Err(DescErrorKind::InvalidSize);
    }
    Ok(bytes)
}

/// A number read as `std::stoll`, which must be whole and within `min..=max`.
fn parse_snum(v: &[u8], min: i64, max: i64) -> Result<i64, DescErrorKind> {
    match cnum::stoll(v) {
        Ok((n, end)) if (min..=max).contains(&n) && end == v.len() => Ok(n),
        _ => Err(DescErrorKind::InvalidNumber),
    }
}

/// Octal permissions, read as `std::stoi(v, &end, 8)`. A negative value is accepted (as by
/// Dinit) and keeps only the permission bits.
fn parse_perms(key: SettingKey, v: &[u8]) -> Result<u32, DescErrorKind> {
    match cnum::stoi_octal(v) {
        Ok((n, end)) if end == v.len() => Ok(u32::from_ne_bytes(n.to_ne_bytes()) & 0o7777),
        _ => Err(DescErrorKind::InvalidPermissions {
            setting: key.name(),
        }),
    }
}

/// A user (`group: false`) or group id: a number if the value starts like one, else a name
/// for the runtime to look up.
fn parse_id(key: SettingKey, v: &[u8], group: bool) -> Result<IdSpec<'_>, DescErrorKind> {
    let bad = |with_setting: bool| {
        if group {
            DescErrorKind::InvalidGroupId {
                setting: key.name(),
            }
        } else {
            DescErrorKind::InvalidUserId {
                setting: with_setting.then_some(key.name()),
            }
        }
    };
    match cnum::stoull(v) {
        Ok((n, end)) if end == v.len() => {
            u32::try_from(n).map(IdSpec::Numeric).map_err(|_| bad(true))
        }
        Ok(_) => Err(bad(true)),
        Err(cnum::CNumError::Range) => Err(bad(false)),
        Err(cnum::CNumError::Invalid) => Ok(IdSpec::Name(v)),
    }
}

/// A decimal number of seconds, with `.` or `,` before the fraction (digits past the
/// nanosecond are ignored). An empty value is zero.
fn parse_time(key: SettingKey, v: &[u8]) -> Result<Duration, DescErrorKind> {
    let bad = DescErrorKind::InvalidTime {
        setting: key.name(),
    };
    // Dinit's bound: the seconds must stay below a tenth of the largest time_t before each
    // further digit.
    const MAX_SECS: u64 = (i64::MAX / 10).unsigned_abs();
    let mut secs: u64 = 0;
    let mut rest = v;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b == b'.' || b == b',' {
            break;
        }
        if !b.is_ascii_digit() {
            return Err(bad);
        }
        if secs >= MAX_SECS {
            return Err(DescErrorKind::TimeTooLarge {
                setting: key.name(),
            });
        }
        secs = secs
            .saturating_mul(10)
            .saturating_add(u64::from(b.wrapping_sub(b'0')));
    }
    let mut nanos: u64 = 0;
    let mut scale: u64 = 100_000_000;
    for &b in rest {
        if !b.is_ascii_digit() {
            return Err(bad);
        }
        nanos = nanos.saturating_add(u64::from(b.wrapping_sub(b'0')).saturating_mul(scale));
        scale /= 10;
    }
    Ok(Duration::from_nanos(
        secs.saturating_mul(1_000_000_000).saturating_add(nanos),
    ))
}

/// `soft:hard` resource limits, as Dinit reads them: each side a number (with `strtoull`'s
/// prefixes) or `-` for unlimited; `N` alone sets both; an omitted side is left unchanged.
fn parse_rlimit(key: SettingKey, v: &[u8]) -> Result<Rlimit, DescErrorKind> {
    let bad = DescErrorKind::InvalidRlimit {
        setting: key.name(),
    };
    let too_large = DescErrorKind::RlimitTooLarge {
        setting: key.name(),
    };
    let number = |text: &[u8]| -> Result<(u64, usize), DescErrorKind> {
        match cnum::strtoull(text) {
            (Err(_), _) => Err(too_large),
            (Ok(_), 0) => Err(bad),
            (Ok(n), end) => Ok((n, end)),
        }
    };
    if v.is_empty() {
        return Err(bad);
    }
    let mut limit = Rlimit::default();
    let mut rest = v;
    if rest.first() != Some(&b':') {
        let (soft, used) = if rest.first() == Some(&b'-') {
            (Limit::Unlimited, 1)
        } else {
            let (n, used) = number(rest)?;
            (Limit::Value(n), used)
        };
        limit.soft = soft;
        rest = rest.get(used..).unwrap_or(&[]);
        if rest.is_empty() {
            limit.hard = soft;
            return Ok(limit);
        }
        if rest.first() != Some(&b':') {
            return Err(bad);
        }
    }
    // At the ':'.
    rest = rest.get(1..).unwrap_or(&[]);
    if rest.is_empty() {
        return Ok(limit);
    }
    if rest.first() == Some(&b'-') {
        if rest.len() != 1 {
            return Err(bad);
        }
        limit.hard = Limit::Unlimited;
    } else {
        // (Dinit ignores what follows the hard limit's number.)
        limit.hard = Limit::Value(number(rest)?.0);
    }
    Ok(limit)
}

fn check_iab(v: &[u8]) -> Result<(), DescErrorKind> {
    let ok = v.split(|&b| b == b',').all(|item| {
        let name_start = item
            .iter()
            .position(|b| !matches!(b, b'!' | b'^' | b'%'))
            .unwrap_or(item.len());
        let name = item.get(name_start..).unwrap_or(&[]);
        !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if ok {
        Ok(())
    } else {
        Err(DescErrorKind::InvalidCapabilities {
            value: Snippet::new(v),
        })
    }
}

fn parse_ioprio(v: &[u8]) -> Result<Ioprio, DescErrorKind> {
    let level = |rest: &[u8]| -> Result<u8, DescErrorKind> {
        parse_unum(rest, 7).map(|n| u8::try_from(n).unwrap_or(7))
    };
    match v {
        b"none" => Ok(Ioprio::None),
        b"idle" => Ok(Ioprio::Idle),
        _ => {
            if let Some(rest) = v.strip_prefix(b"realtime:") {
                level(rest).map(Ioprio::Realtime)
            } else if let Some(rest) = v.strip_prefix(b"best-effort:") {
                level(rest).map(Ioprio::BestEffort)
            } else {
                Err(DescErrorKind::InvalidIoprio {
                    value: Snippet::new(v),
                })
            }
        }
    }
}

fn parse_ready(v: &[u8]) -> Result<ReadyNotification<'_>, DescErrorKind> {
    if let Some(fd) = v.strip_prefix(b"pipefd:") {
        let n = parse_unum(fd, i32::MAX.unsigned_abs().into())?;
        return Ok(ReadyNotification::PipeFd(
            i32::try_from(n).unwrap_or(i32::MAX),
        ));
    }
    if let Some(var) = v.strip_prefix(b"pipevar:") {
        if var.is_empty() {
            return Err(DescErrorKind::InvalidPipevar);
        }
        return Ok(ReadyNotification::PipeVar(var));
    }
    Err(DescErrorKind::InvalidReadyNotification {
        value: Snippet::new(v),
    })
}

/// True for the names `pipevar:` and the environment file accept: non-empty, without `=`,
/// white space or control characters.
pub fn is_valid_env_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b != b'=' && !b.is_ascii_whitespace() && !b.is_ascii_control())
}

/// Joins NUL-terminated tokens with single spaces, in place.
fn join_in_place(lexed: &mut [u8]) -> &[u8] {
    for b in lexed.iter_mut() {
        if *b == 0 {
            *b = b' ';
        }
    }
    let len = lexed.len().saturating_sub(1);
    lexed.get(..len).unwrap_or(&[])
}

/// Interprets the lexed value of `key`: `lexed` holds its NUL-terminated tokens; `rest` is
/// free scratch space for pre-load substitution.
pub(crate) fn interpret<'s>(
    key: SettingKey,
    op: Op,
    lexed: &'s mut [u8],
    env: &SubstEnv<'_>,
    rest: &'s mut [u8],
) -> Result<Setting<'s>, DescErrorKind> {
    match key.shape() {
        Shape::Command => {
            let tokens = Tokens::from_writer(lexed);
            Ok(match key {
                SettingKey::StopCommand => Setting::StopCommand { op, tokens },
                _ => Setting::Command { op, tokens },
            })
        }
        Shape::Words => words(key, op, Tokens::from_writer(lexed)),
        Shape::Text => {
            let text = join_in_place(lexed);
            let text = if key.substitution() == Substitution::PreLoad {
                expand_value(text, env, rest).map_err(|error| DescErrorKind::Subst {
                    setting: key.name(),
                    error,
                })?
            } else {
                text
            };
            text_setting(key, op, text)
        }
    }
}

fn words(key: SettingKey, op: Op, words: Tokens<'_>) -> Result<Setting<'_>, DescErrorKind> {
    match key {
        SettingKey::Options => {
            if let Some(bad) = words.iter().find(|w| option_by_name(w).is_none()) {
                return Err(DescErrorKind::UnknownOption {
                    word: Snippet::new(bad),
                });
            }
            Ok(Setting::Options(OptionList { words }))
        }
        SettingKey::LoadOptions => {
            let mut flags = LoadOptions::empty();
            for w in words.iter() {
                flags = flags.with(match w {
                    b"export-passwd-vars" => LoadOptions::EXPORT_PASSWD_VARS,
                    b"export-service-name" => LoadOptions::EXPORT_SERVICE_NAME,
                    // Accepted for compatibility; substitution is always on.
                    b"sub-vars" => LoadOptions::empty(),
                    _ => {
                        return Err(DescErrorKind::UnknownLoadOption {
                            word: Snippet::new(w),
                        })
                    }
                });
            }
            Ok(Setting::LoadOptions(flags))
        }
        _ => {
            let mut bits = Securebits::empty();
            for w in words.iter() {
                let Some(&(_, flag)) = Securebits::NAMES.iter().find(|(n, _)| n.as_bytes() == w)
                else {
                    return Err(DescErrorKind::UnknownSecurebit {
                        word: Snippet::new(w),
                    });
                };
                bits = bits.with(flag);
            }
            Ok(Setting::Securebits { op, bits })
        }
    }
}

/// A service named by a dependency setting must pass the name check (Dinit's messages differ
/// by setting).
fn dep(key: SettingKey, kind: DepKind, v: &[u8]) -> Result<Setting<'_>, DescErrorKind> {
    if parse_service_name(v).is_err() {
        let name = Snippet::new(v);
        return Err(match kind {
            DepKind::Before | DepKind::After => DescErrorKind::InvalidServiceName { name },
            _ => DescErrorKind::InvalidDependencyName { name },
        });
    }
    let _ = key;
    Ok(Setting::Dependency { kind, name: v })
}

// A dispatch table: one arm per setting key, each a line or two.
#[allow(clippy::too_many_lines)]
fn text_setting(key: SettingKey, op: Op, v: &[u8]) -> Result<Setting<'_>, DescErrorKind> {
    use SettingKey as K;
    Ok(match key {
        K::Type => Setting::Type(match v {
            b"process" => ServiceKind::Process,
            b"bgprocess" => ServiceKind::Bgprocess,
            b"scripted" => ServiceKind::Scripted,
            b"internal" => ServiceKind::Internal,
            b"triggered" => ServiceKind::Triggered,
            _ => return Err(DescErrorKind::InvalidType),
        }),
        K::WorkingDir => Setting::WorkingDir(v),
        K::RunAs => Setting::RunAs(parse_id(key, v, false)?),
        K::EnvFile => Setting::EnvFile(v),
        K::Restart => Setting::Restart(match v {
            b"yes" | b"true" => AutoRestart::Yes,
            b"on-failure" => AutoRestart::OnFailure,
            b"no" | b"false" => AutoRestart::No,
            _ => return Err(DescErrorKind::InvalidRestart),
        }),
        K::SmoothRecovery => Setting::SmoothRecovery(match v {
            b"yes" | b"true" => true,
            b"no" | b"false" => false,
            _ => return Err(DescErrorKind::InvalidSmoothRecovery),
        }),
        K::RestartDelay => Setting::RestartDelay(parse_time(key, v)?),
        K::RestartLimitInterval => Setting::RestartLimitInterval(parse_time(key, v)?),
        K::StartTimeout => Setting::StartTimeout(parse_time(key, v)?),
        K::StopTimeout => Setting::StopTimeout(parse_time(key, v)?),
        K::RestartLimitCount => {
            let n = parse_unum(v, i32::MAX.unsigned_abs().into())?;
            Setting::RestartLimitCount(u16::try_from(n).unwrap_or(u16::MAX))
        }
        K::PidFile => Setting::PidFile(v),
        K::DependsOn => dep(key, DepKind::Regular, v)?,
        K::PreparedBy => dep(key, DepKind::PreparedBy, v)?,
        K::DependsMs => dep(key, DepKind::Milestone, v)?,
        K::WaitsFor => dep(key, DepKind::WaitsFor, v)?,
        K::After => dep(key, DepKind::After, v)?,
        K::Before => dep(key, DepKind::Before, v)?,
        K::DependsOnD => Setting::DependencyDir {
            kind: DepKind::Regular,
            path: v,
        },
        K::DependsMsD => Setting::DependencyDir {
            kind: DepKind::Milestone,
            path: v,
        },
        K::WaitsForD => Setting::DependencyDir {
            kind: DepKind::WaitsFor,
            path: v,
        },
        K::ChainTo => {
            if parse_service_name(v).is_err() {
                return Err(DescErrorKind::InvalidChainTo {
                    name: Snippet::new(v),
                });
            }
            Setting::ChainTo(v)
        }
        K::SocketListen => Setting::SocketListen(v),
        K::SocketPermissions => Setting::SocketPermissions(parse_perms(key, v)?),
        K::SocketUid => Setting::SocketUid(parse_id(key, v, false)?),
        K::SocketGid => Setting::SocketGid(parse_id(key, v, true)?),
        K::TermSignal => Setting::TermSignal(
            TERM_SIGNALS
                .iter()
                .find(|(n, _)| n.as_bytes() == v)
                .map(|&(_, s)| s)
                .ok_or(DescErrorKind::UnknownSignal {
                    value: Snippet::new(v),
                })?,
        ),
        K::ReadyNotification => Setting::ReadyNotification(parse_ready(v)?),
        K::LogType => Setting::LogType(match v {
            b"file" => LogType::File,
            b"buffer" => LogType::Buffer,
            b"pipe" => LogType::Pipe,
            b"none" => LogType::None,
            _ => return Err(DescErrorKind::InvalidLogType),
        }),
        K::Logfile => Setting::Logfile(v),
        K::LogfilePermissions => Setting::LogfilePermissions(parse_perms(key, v)?),
        K::LogfileUid => Setting::LogfileUid(parse_id(key, v, false)?),
        K::LogfileGid => Setting::LogfileGid(parse_id(key, v, true)?),
        K::LogfileMaxSize => Setting::LogfileMaxSize(parse_size(v)?),
        K::LogfileRotate => {
            let n = parse_unum(v, u64::from(MAX_LOGFILE_ROTATE))?;
            Setting::LogfileRotate(u8::try_from(n).unwrap_or(MAX_LOGFILE_ROTATE))
        }
        K::LogBufferSize => {
            let n = parse_unum(v, u64::from(u32::MAX / 2))?;
            Setting::LogBufferSize(u32::try_from(n).unwrap_or(u32::MAX / 2))
        }
        K::LogBufferKeep => Setting::LogBufferKeep(match v {
            b"oldest" => LogBufferKeep::Oldest,
            b"newest" => LogBufferKeep::Newest,
            _ => return Err(DescErrorKind::InvalidLogBufferKeep),
        }),
        K::ConsumerOf => {
            if parse_service_name(v).is_err() {
                return Err(DescErrorKind::InvalidServiceName {
                    name: Snippet::new(v),
                });
            }
            Setting::ConsumerOf(v)
        }
        K::InittabId | K::InittabLine => {
            let max = if key == K::InittabId {
                INITTAB_ID_MAX
            } else {
                INITTAB_LINE_MAX
            };
            if v.len() > max {
                return Err(DescErrorKind::InittabTooLong {
                    setting: key.name(),
                });
            }
            if key == K::InittabId {
                Setting::InittabId(v)
            } else {
                Setting::InittabLine(v)
            }
        }
        K::RlimitNofile => rlimit(key, Resource::Nofile, v)?,
        K::RlimitCore => rlimit(key, Resource::Core, v)?,
        K::RlimitData => rlimit(key, Resource::Data, v)?,
        K::RlimitAddrspace => rlimit(key, Resource::Addrspace, v)?,
        K::Nice => {
            let n = parse_snum(v, i64::from(i32::MIN / 2), i64::from(i32::MAX / 2))?;
            Setting::Nice(i32::try_from(n).unwrap_or(0))
        }
        K::RunInCgroup => Setting::RunInCgroup(v),
        K::Capabilities => {
            check_iab(v)?;
            Setting::Capabilities { op, iab: v }
        }
        K::Ioprio => Setting::Ioprio(parse_ioprio(v)?),
        K::OomScoreAdj => {
            let n = parse_snum(v, -1000, 1000)?;
            Setting::OomScoreAdj(i16::try_from(n).unwrap_or(0))
        }
        // Command-shaped and word-shaped settings never get here.
        K::Command | K::StopCommand | K::Options | K::LoadOptions | K::Securebits => {
            return Err(DescErrorKind::Custom(
                "internal error: setting of the wrong shape",
            ))
        }
    })
}

fn rlimit(key: SettingKey, resource: Resource, v: &[u8]) -> Result<Setting<'_>, DescErrorKind> {
    Ok(Setting::Rlimit {
        resource,
        limit: parse_rlimit(key, v)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &k in SettingKey::ALL {
            assert_eq!(SettingKey::from_name(k.name().as_bytes()), Some(k));
        }
        assert_eq!(SettingKey::ALL.len(), 54);
        assert_eq!(
            SettingKey::from_name(b"termsignal"),
            Some(SettingKey::TermSignal)
        );
        assert_eq!(SettingKey::from_name(b"secure-bits"), None);
        assert_eq!(SettingKey::from_name(b"Type"), None);
    }

    #[test]
    fn term_signals_are_the_engine_signals_and_none() {
        for (name, num) in signal::NAMES {
            assert!(TERM_SIGNALS.contains(&(name, num)), "{name}");
        }
    }

    #[test]
    fn appendable_settings_are_the_documented_four() {
        let n = SettingKey::ALL.iter().filter(|k| k.allows_append()).count();
        assert_eq!(n, 4);
    }

    #[test]
    fn times_as_dinit_reads_them() {
        let t = |v: &[u8]| parse_time(SettingKey::StartTimeout, v).map(Duration::as_nanos);
        assert_eq!(t(b""), Ok(0));
        assert_eq!(t(b"10"), Ok(10_000_000_000));
        assert_eq!(t(b"0,25"), Ok(250_000_000));
        assert_eq!(t(b".5"), Ok(500_000_000));
        assert_eq!(t(b"1.1234567891"), Ok(1_123_456_789));
        assert_eq!(
            t(b"1.2.3"),
            Err(DescErrorKind::InvalidTime {
                setting: "start-timeout"
            })
        );
        assert_eq!(
            t(b"99999999999999999999"),
            Err(DescErrorKind::TimeTooLarge {
                setting: "start-timeout"
            })
        );
    }

    #[test]
    fn rlimits_as_dinit_reads_them() {
        let r = |v: &[u8]| parse_rlimit(SettingKey::RlimitCore, v);
        let lim = |soft, hard| Ok(Rlimit { soft, hard });
        assert_eq!(r(b"5"), lim(Limit::Value(5), Limit::Value(5)));
        assert_eq!(r(b"-"), lim(Limit::Unlimited, Limit::Unlimited));
        assert_eq!(r(b":7"), lim(Limit::Unchanged, Limit::Value(7)));
        assert_eq!(r(b"7:"), lim(Limit::Value(7), Limit::Unchanged));
        assert_eq!(r(b"0x10:-"), lim(Limit::Value(16), Limit::Unlimited));
        assert_eq!(r(b"1:2:3"), lim(Limit::Value(1), Limit::Value(2)));
        let bad = Err(DescErrorKind::InvalidRlimit {
            setting: "rlimit-core",
        });
        for v in [&b""[..], b"x", b"1:x", b"1:-x", b"5x", b"--"] {
            assert_eq!(r(v), bad, "{v:?}");
        }
        assert_eq!(
            r(b"99999999999999999999999"),
            Err(DescErrorKind::RlimitTooLarge {
                setting: "rlimit-core"
            })
        );
    }

    #[test]
    fn ids_are_numbers_when_they_start_like_one() {
        let u = |v: &'static [u8]| parse_id(SettingKey::RunAs, v, false);
        assert_eq!(u(b"0"), Ok(IdSpec::Numeric(0)));
        assert_eq!(u(b"0x10"), Ok(IdSpec::Numeric(16)));
        assert_eq!(u(b"root"), Ok(IdSpec::Name(b"root")));
        let bad = Err(DescErrorKind::InvalidUserId {
            setting: Some("run-as"),
        });
        assert_eq!(u(b"12abc"), bad);
        assert_eq!(u(b"-1"), bad);
        assert_eq!(u(b"99999999999"), bad);
        assert_eq!(
            u(b"999999999999999999999999"),
            Err(DescErrorKind::InvalidUserId { setting: None })
        );
        assert_eq!(
            parse_id(SettingKey::SocketGid, b"999999999999999999999999", true),
            Err(DescErrorKind::InvalidGroupId {
                setting: "socket-gid"
            })
        );
    }
}
