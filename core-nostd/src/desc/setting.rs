//! The settings of dinit-service(5) "SERVICE PROPERTIES" and "OPTIONS": their names, which
//! accept `+=`, which get variable substitution, and the validation of each value into a typed
//! [`Setting`].

use super::error::{DescErrorKind, Snippet};
use super::name::parse_service_name;
use super::subst::{check_syntax, expand_value, SubstEnv};
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
    /// Post-load: done once the service's env-file has been read; the parser checks the
    /// syntax but leaves the value as written (see `Description::expand_command` and
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

            /// The setting called `name` (`secure-bits` is accepted for `securebits`, the
            /// manual page using both spellings).
            pub fn from_name(name: &[u8]) -> Option<SettingKey> {
                match name {
                    $(n if n == $name.as_bytes() => Some(SettingKey::$variant),)*
                    b"secure-bits" => Some(SettingKey::Securebits),
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
    LogBufferSize => "log-buffer-size",
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
    /// `restart-limit-count`.
    RestartLimitCount(u16),
    /// `start-timeout` (zero: unlimited).
    StartTimeout(Duration),
    /// `stop-timeout` (zero: unlimited).
    StopTimeout(Duration),
    /// `pid-file` (post-load substitution).
    PidFile(&'a [u8]),
    /// `depends-on`, `prepared-by`, `depends-ms`, `waits-for`, `after`, `before` (pre-load
    /// substituted, a valid service name).
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
    /// `chain-to` (pre-load substituted; not checked as a name, since naming an invalid
    /// service must not make this one fail to load).
    ChainTo(&'a [u8]),
    /// `socket-listen` (post-load substitution).
    SocketListen(&'a [u8]),
    /// `socket-permissions`.
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
    /// `log-buffer-size`.
    LogBufferSize(u32),
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
    /// `nice` (clamped to `i32`; the runtime clamps further to the system's range).
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
    /// `securebits` / `securebits +=` (also spelt `secure-bits`).
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
            Setting::LogBufferSize(_) => K::LogBufferSize,
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

const EXPECT_TYPE: &str = "process, bgprocess, scripted, internal or triggered";
const EXPECT_RESTART: &str = "yes, true, on-failure, no or false";
const EXPECT_BOOL: &str = "yes, true, no or false";
const EXPECT_DURATION: &str = "a number of seconds such as 10 or 0.25";
const EXPECT_COUNT: &str = "a whole number such as 3";
const EXPECT_OCTAL: &str = "octal permissions from 0 to 7777, such as 600 or 0644";
const EXPECT_USER: &str = "a user name or a numeric user id";
const EXPECT_GROUP: &str = "a group name or a numeric group id";
/// Must list the names of `signal::NAMES` (a test checks this).
pub(crate) const EXPECT_SIGNAL: &str = "none or a signal name without the SIG prefix: \
     HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT or STOP";
const EXPECT_READY: &str =
    "pipefd:N (a file descriptor number) or pipevar:NAME (an environment variable name)";
const EXPECT_LOG_TYPE: &str = "file, buffer, pipe or none";
const EXPECT_SIZE: &str = "a size in bytes greater than zero";
pub(crate) const EXPECT_OPTION: &str = "runs-on-console, starts-on-console, shares-console, \
     unmask-intr, starts-rwfs, starts-log, pass-cs-fd, start-interruptible, skippable, \
     signal-process-only, always-chain, kill-all-on-stop or no-new-privs";
const EXPECT_LOAD_OPTION: &str = "export-passwd-vars or export-service-name";
const EXPECT_RLIMIT: &str = "soft:hard limits, each a number or '-' for unlimited and either \
     omitted to leave it unchanged, or a single value for both";
const EXPECT_NICE: &str = "a whole number such as -5 or 10";
const EXPECT_IAB: &str = "a comma-separated IAB capability list such as \
     ^cap_net_bind_service,!cap_sys_admin (capability names optionally prefixed by !, ^ or %)";
const EXPECT_SECUREBITS: &str =
    "keep-caps, no-setuid-fixup or noroot, each optionally followed by -locked";
const EXPECT_IOPRIO: &str = "none, idle, realtime:N or best-effort:N with N from 0 to 7";
const EXPECT_OOM: &str = "a whole number from -1000 to 1000";
const EXPECT_TEXT: &str = "text without control characters";

fn invalid(key: SettingKey, found: &[u8], expected: &'static str) -> DescErrorKind {
    DescErrorKind::InvalidValue {
        setting: key.name(),
        found: Snippet::new(found),
        expected,
    }
}

fn out_of_range(key: SettingKey, found: &[u8], min: i64, max: i64) -> DescErrorKind {
    DescErrorKind::OutOfRange {
        setting: key.name(),
        found: Snippet::new(found),
        min,
        max,
    }
}

/// A non-empty run of decimal digits, or `None` (including on overflow).
pub(crate) fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?
                .checked_add(u64::from(b.wrapping_sub(b'0')))
        } else {
            None
        }
    })
}

/// All digits (so a number, possibly too large for u64).
fn all_digits(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(u8::is_ascii_digit)
}

/// An optionally signed decimal integer, saturating at the bounds of i64. `None` if it is not
/// a number at all.
fn parse_signed_saturating(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, text.get(1..).unwrap_or(&[])),
        Some(b'+') => (false, text.get(1..).unwrap_or(&[])),
        _ => (false, text),
    };
    if !all_digits(digits) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |acc, &b| {
        acc.saturating_mul(10)
            .saturating_add(i64::from(b.wrapping_sub(b'0')))
    });
    Some(if negative {
        magnitude.saturating_neg()
    } else {
        magnitude
    })
}

fn parse_duration(key: SettingKey, v: &[u8]) -> Result<Duration, DescErrorKind> {
    Duration::parse_decimal_secs(v).ok_or_else(|| invalid(key, v, EXPECT_DURATION))
}

fn parse_octal(key: SettingKey, v: &[u8]) -> Result<u32, DescErrorKind> {
    if v.is_empty() || v.len() > 12 || !v.iter().all(|b| matches!(b, b'0'..=b'7')) {
        return Err(invalid(key, v, EXPECT_OCTAL));
    }
    let value = v.iter().fold(0u64, |acc, &b| {
        acc.saturating_mul(8)
            .saturating_add(u64::from(b.wrapping_sub(b'0')))
    });
    match u32::try_from(value) {
        Ok(mode) if mode <= 0o7777 => Ok(mode),
        _ => Err(invalid(key, v, EXPECT_OCTAL)),
    }
}

fn parse_id<'v>(
    key: SettingKey,
    v: &'v [u8],
    expected: &'static str,
) -> Result<IdSpec<'v>, DescErrorKind> {
    if all_digits(v) {
        // (uid_t)-1 means "no change" to the system calls that set ids: never an id.
        return match parse_decimal(v).and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n != u32::MAX => Ok(IdSpec::Numeric(n)),
            _ => Err(out_of_range(
                key,
                v,
                0,
                i64::from(u32::MAX).saturating_sub(1),
            )),
        };
    }
    if v.iter()
        .any(|&b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b':')
    {
        return Err(invalid(key, v, expected));
    }
    Ok(IdSpec::Name(v))
}

fn parse_name(key: SettingKey, v: &[u8]) -> Result<&[u8], DescErrorKind> {
    parse_service_name(v)
        .map(|_| v)
        .map_err(|reason| DescErrorKind::InvalidServiceName {
            setting: key.name(),
            found: Snippet::new(v),
            reason,
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

fn parse_ready(key: SettingKey, v: &[u8]) -> Result<ReadyNotification<'_>, DescErrorKind> {
    if let Some(fd) = v.strip_prefix(b"pipefd:") {
        return match parse_decimal(fd).map(i32::try_from) {
            Some(Ok(fd)) => Ok(ReadyNotification::PipeFd(fd)),
            Some(Err(_)) => Err(out_of_range(key, v, 0, i64::from(i32::MAX))),
            None => Err(invalid(key, v, EXPECT_READY)),
        };
    }
    if let Some(var) = v.strip_prefix(b"pipevar:") {
        if is_valid_env_name(var) {
            return Ok(ReadyNotification::PipeVar(var));
        }
    }
    Err(invalid(key, v, EXPECT_READY))
}

fn parse_limit(side: &[u8]) -> Option<Limit> {
    match side {
        b"" => Some(Limit::Unchanged),
        b"-" => Some(Limit::Unlimited),
        digits => parse_decimal(digits).map(Limit::Value),
    }
}

fn parse_rlimit(key: SettingKey, v: &[u8]) -> Result<Rlimit, DescErrorKind> {
    let limit = match v.iter().position(|&b| b == b':') {
        Some(colon) => {
            let soft = parse_limit(v.get(..colon).unwrap_or(&[]));
            let hard = parse_limit(v.get(colon.saturating_add(1)..).unwrap_or(&[]));
            soft.zip(hard).map(|(soft, hard)| Rlimit { soft, hard })
        }
        None => parse_limit(v).map(|l| Rlimit { soft: l, hard: l }),
    };
    limit.ok_or_else(|| invalid(key, v, EXPECT_RLIMIT))
}

fn check_iab(key: SettingKey, v: &[u8]) -> Result<(), DescErrorKind> {
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
        Err(invalid(key, v, EXPECT_IAB))
    }
}

fn parse_ioprio(key: SettingKey, v: &[u8]) -> Result<Ioprio, DescErrorKind> {
    let level = |rest: &[u8]| -> Result<u8, DescErrorKind> {
        match parse_decimal(rest) {
            Some(n) if n <= 7 => Ok(u8::try_from(n).unwrap_or(7)),
            Some(_) => Err(out_of_range(key, v, 0, 7)),
            None => Err(invalid(key, v, EXPECT_IOPRIO)),
        }
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
                Err(invalid(key, v, EXPECT_IOPRIO))
            }
        }
    }
}

fn check_text(key: SettingKey, v: &[u8], max: usize) -> Result<&[u8], DescErrorKind> {
    if v.iter().any(u8::is_ascii_control) {
        return Err(invalid(key, v, EXPECT_TEXT));
    }
    if v.len() > max {
        return Err(DescErrorKind::TooLong {
            setting: key.name(),
            found: Snippet::new(v),
            max,
        });
    }
    Ok(v)
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
            if tokens.is_empty() {
                return Err(DescErrorKind::MissingValue {
                    setting: key.name(),
                });
            }
            // Post-load substitution happens later, but its syntax errors belong to this line.
            for token in tokens.iter() {
                check_syntax(token).map_err(|error| DescErrorKind::Subst {
                    setting: key.name(),
                    error,
                })?;
            }
            Ok(match key {
                SettingKey::StopCommand => Setting::StopCommand { op, tokens },
                _ => Setting::Command { op, tokens },
            })
        }
        Shape::Words => words(key, op, Tokens::from_writer(lexed)),
        Shape::Text => {
            let text = join_in_place(lexed);
            if text.is_empty() {
                return Err(DescErrorKind::MissingValue {
                    setting: key.name(),
                });
            }
            let text = if key.substitution() == Substitution::PreLoad {
                let expanded =
                    expand_value(text, env, rest).map_err(|error| DescErrorKind::Subst {
                        setting: key.name(),
                        error,
                    })?;
                if expanded.is_empty() {
                    return Err(DescErrorKind::EmptyAfterSubstitution {
                        setting: key.name(),
                    });
                }
                expanded
            } else {
                if key.substitution() == Substitution::PostLoad {
                    check_syntax(text).map_err(|error| DescErrorKind::Subst {
                        setting: key.name(),
                        error,
                    })?;
                }
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
                return Err(invalid(key, bad, EXPECT_OPTION));
            }
            Ok(Setting::Options(OptionList { words }))
        }
        SettingKey::LoadOptions => {
            let mut flags = LoadOptions::empty();
            for w in words.iter() {
                flags = flags.with(match w {
                    b"export-passwd-vars" => LoadOptions::EXPORT_PASSWD_VARS,
                    b"export-service-name" => LoadOptions::EXPORT_SERVICE_NAME,
                    _ => return Err(invalid(key, w, EXPECT_LOAD_OPTION)),
                });
            }
            Ok(Setting::LoadOptions(flags))
        }
        _ => {
            let mut bits = Securebits::empty();
            for w in words.iter() {
                let Some(&(_, flag)) = Securebits::NAMES.iter().find(|(n, _)| n.as_bytes() == w)
                else {
                    return Err(invalid(key, w, EXPECT_SECUREBITS));
                };
                bits = bits.with(flag);
            }
            Ok(Setting::Securebits { op, bits })
        }
    }
}

fn text_setting(key: SettingKey, op: Op, v: &[u8]) -> Result<Setting<'_>, DescErrorKind> {
    use SettingKey as K;
    Ok(match key {
        K::Type => Setting::Type(match v {
            b"process" => ServiceKind::Process,
            b"bgprocess" => ServiceKind::Bgprocess,
            b"scripted" => ServiceKind::Scripted,
            b"internal" => ServiceKind::Internal,
            b"triggered" => ServiceKind::Triggered,
            _ => return Err(invalid(key, v, EXPECT_TYPE)),
        }),
        K::WorkingDir => Setting::WorkingDir(v),
        K::RunAs => Setting::RunAs(parse_id(key, v, EXPECT_USER)?),
        K::EnvFile => Setting::EnvFile(v),
        K::Restart => Setting::Restart(match v {
            b"yes" | b"true" => AutoRestart::Yes,
            b"on-failure" => AutoRestart::OnFailure,
            b"no" | b"false" => AutoRestart::No,
            _ => return Err(invalid(key, v, EXPECT_RESTART)),
        }),
        K::SmoothRecovery => Setting::SmoothRecovery(match v {
            b"yes" | b"true" => true,
            b"no" | b"false" => false,
            _ => return Err(invalid(key, v, EXPECT_BOOL)),
        }),
        K::RestartDelay => Setting::RestartDelay(parse_duration(key, v)?),
        K::RestartLimitInterval => Setting::RestartLimitInterval(parse_duration(key, v)?),
        K::StartTimeout => Setting::StartTimeout(parse_duration(key, v)?),
        K::StopTimeout => Setting::StopTimeout(parse_duration(key, v)?),
        K::RestartLimitCount => {
            if !all_digits(v) {
                return Err(invalid(key, v, EXPECT_COUNT));
            }
            match parse_decimal(v).map(u16::try_from) {
                Some(Ok(n)) => Setting::RestartLimitCount(n),
                _ => return Err(out_of_range(key, v, 0, i64::from(u16::MAX))),
            }
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
        K::ChainTo => Setting::ChainTo(v),
        K::SocketListen => Setting::SocketListen(v),
        K::SocketPermissions => Setting::SocketPermissions(parse_octal(key, v)?),
        K::SocketUid => Setting::SocketUid(parse_id(key, v, EXPECT_USER)?),
        K::SocketGid => Setting::SocketGid(parse_id(key, v, EXPECT_GROUP)?),
        K::TermSignal => Setting::TermSignal(match v {
            b"none" => 0,
            _ => signal::by_name(v).ok_or_else(|| invalid(key, v, EXPECT_SIGNAL))?,
        }),
        K::ReadyNotification => Setting::ReadyNotification(parse_ready(key, v)?),
        K::LogType => Setting::LogType(match v {
            b"file" => LogType::File,
            b"buffer" => LogType::Buffer,
            b"pipe" => LogType::Pipe,
            b"none" => LogType::None,
            _ => return Err(invalid(key, v, EXPECT_LOG_TYPE)),
        }),
        K::Logfile => Setting::Logfile(v),
        K::LogfilePermissions => Setting::LogfilePermissions(parse_octal(key, v)?),
        K::LogfileUid => Setting::LogfileUid(parse_id(key, v, EXPECT_USER)?),
        K::LogfileGid => Setting::LogfileGid(parse_id(key, v, EXPECT_GROUP)?),
        K::LogBufferSize => {
            if !all_digits(v) {
                return Err(invalid(key, v, EXPECT_SIZE));
            }
            match parse_decimal(v).map(u32::try_from) {
                Some(Ok(0)) => return Err(invalid(key, v, EXPECT_SIZE)),
                Some(Ok(n)) => Setting::LogBufferSize(n),
                _ => return Err(out_of_range(key, v, 1, i64::from(u32::MAX))),
            }
        }
        K::ConsumerOf => Setting::ConsumerOf(parse_name(key, v)?),
        K::InittabId => Setting::InittabId(check_text(key, v, INITTAB_ID_MAX)?),
        K::InittabLine => Setting::InittabLine(check_text(key, v, INITTAB_LINE_MAX)?),
        K::RlimitNofile => rlimit(key, Resource::Nofile, v)?,
        K::RlimitCore => rlimit(key, Resource::Core, v)?,
        K::RlimitData => rlimit(key, Resource::Data, v)?,
        K::RlimitAddrspace => rlimit(key, Resource::Addrspace, v)?,
        K::Nice => {
            let n = parse_signed_saturating(v).ok_or_else(|| invalid(key, v, EXPECT_NICE))?;
            Setting::Nice(i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX }))
        }
        K::RunInCgroup => Setting::RunInCgroup(v),
        K::Capabilities => {
            check_iab(key, v)?;
            Setting::Capabilities { op, iab: v }
        }
        K::Ioprio => Setting::Ioprio(parse_ioprio(key, v)?),
        K::OomScoreAdj => {
            let n = parse_signed_saturating(v).ok_or_else(|| invalid(key, v, EXPECT_OOM))?;
            match i16::try_from(n) {
                Ok(adj) if (-1000..=1000).contains(&adj) => Setting::OomScoreAdj(adj),
                _ => return Err(out_of_range(key, v, -1000, 1000)),
            }
        }
        // Command-shaped and word-shaped settings never get here.
        K::Command | K::StopCommand | K::Options | K::LoadOptions | K::Securebits => {
            return Err(DescErrorKind::Custom(
                "internal error: setting of the wrong shape",
            ))
        }
    })
}

fn dep(key: SettingKey, kind: DepKind, v: &[u8]) -> Result<Setting<'_>, DescErrorKind> {
    Ok(Setting::Dependency {
        kind,
        name: parse_name(key, v)?,
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
        assert_eq!(SettingKey::ALL.len(), 51);
        assert_eq!(
            SettingKey::from_name(b"secure-bits"),
            Some(SettingKey::Securebits)
        );
        assert_eq!(SettingKey::from_name(b"Type"), None);
    }

    #[test]
    fn signal_message_lists_every_signal() {
        for (name, _) in signal::NAMES {
            assert!(EXPECT_SIGNAL.contains(name), "{name}");
        }
    }

    #[test]
    fn option_message_lists_every_option() {
        for (name, _) in OPTION_NAMES {
            assert!(EXPECT_OPTION.contains(name), "{name}");
        }
    }

    #[test]
    fn appendable_settings_are_the_documented_four() {
        let n = SettingKey::ALL.iter().filter(|k| k.allows_append()).count();
        assert_eq!(n, 4);
    }

    #[test]
    fn signed_numbers_saturate() {
        assert_eq!(parse_signed_saturating(b"-5"), Some(-5));
        assert_eq!(parse_signed_saturating(b"+5"), Some(5));
        assert_eq!(
            parse_signed_saturating(b"99999999999999999999"),
            Some(i64::MAX)
        );
        assert_eq!(parse_signed_saturating(b"-"), None);
        assert_eq!(parse_signed_saturating(b""), None);
        assert_eq!(parse_signed_saturating(b"1x"), None);
    }
}
