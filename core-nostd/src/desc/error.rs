//! Errors of the description parser, the environment-file parser, the assembled description
//! and variable substitution.
//!
//! Every error carries the line it was found on and a message a user can act on; the caller
//! adds the file name. Messages quote the offending text through a [`Snippet`], a short copy
//! that needs no allocation and no borrow of the input.

use core::fmt;

use super::setting::SettingKey;

use super::subst::SubstError;

/// How many bytes of offending text an error message quotes.
pub const SNIPPET_BYTES: usize = 80;

/// A short copy of offending input, quoted by error messages. Longer text is cut at
/// [`SNIPPET_BYTES`] bytes and shown with a trailing `...`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Snippet {
    bytes: [u8; SNIPPET_BYTES],
    len: u8,
    truncated: bool,
}

impl Snippet {
    /// Copies up to [`SNIPPET_BYTES`] bytes of `text`.
    pub fn new(text: &[u8]) -> Self {
        let mut bytes = [0u8; SNIPPET_BYTES];
        let mut len: u8 = 0;
        for (dst, &src) in bytes.iter_mut().zip(text.iter()) {
            *dst = src;
            len = len.saturating_add(1);
        }
        Snippet {
            bytes,
            len,
            truncated: text.len() > SNIPPET_BYTES,
        }
    }

    /// The copied bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// True if the original text was longer than the copy.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

/// Writes bytes as text: valid UTF-8 as is (control characters escaped), other bytes as
/// `\xNN`. For debugging output.
pub(crate) fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

/// Writes bytes as text as Dinit would print them: valid UTF-8 as is, control characters
/// included; bytes that are not UTF-8 (which a formatter cannot carry) as `\xNN`.
pub(crate) fn write_raw(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        f.write_str(chunk.valid())?;
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_raw(f, self.as_bytes())?;
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        write_escaped(f, self.as_bytes())?;
        f.write_str("\"")
    }
}

/// What went wrong. The messages are Dinit's, word for word (dinit-check(8) and the daemon's
/// log print them), so that a description checked by either implementation reads the same.
///
/// Some errors make the rest of the file unreadable ([`DescErrorKind::is_fatal`]); the others
/// concern one setting, which keeps its earlier value, and reading goes on with the next line.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DescErrorKind {
    /// A line that is neither a setting (`name = value`, `name: value`, `name += value`), a
    /// meta-command nor a comment. Fatal.
    BadlyFormedLine,
    /// `@something` that is not `@include`, `@include-opt` or `@meta`. Fatal.
    BadMetaCommand,
    /// The file ends with a backslash that would continue the line. Fatal.
    EofAfterBackslash,
    /// A line continued with a trailing backslash is followed by a line that does not begin
    /// with white space. Fatal.
    ContinuationNotIndented,
    /// `@include` or `@include-opt` without exactly one path. Fatal.
    IncludeArgument {
        /// `true` for `@include-opt`.
        optional: bool,
    },
    /// Variable substitution failed in the path of an `@include`. Fatal.
    IncludeSubst {
        /// `true` for `@include-opt`.
        optional: bool,
        /// Why.
        error: SubstError,
    },
    /// No such setting in dinit-service(5).
    UnknownSetting {
        /// The name as written.
        name: Snippet,
    },
    /// `+=` used with a setting that cannot be appended to.
    AppendNotAllowed {
        /// The name as written.
        name: Snippet,
    },
    /// A double quote is not closed before the end of the line.
    UnterminatedQuote,
    /// A `#` that does not follow white space (a comment must be separated from the value).
    HashNotSeparated,
    /// A NUL byte in a setting's value (outside comments).
    NulByte,
    /// A value does not fit in the parser's scratch buffer.
    ValueTooLong {
        /// The buffer's size in bytes.
        capacity: usize,
    },
    /// Variable substitution failed. The only error that names the setting instead of the
    /// line ([`DescErrorKind::has_position`]).
    Subst {
        /// The setting.
        setting: &'static str,
        /// Why.
        error: SubstError,
    },
    /// `type` is not one of the five types.
    InvalidType,
    /// `restart` is not yes, true, no, false or on-failure.
    InvalidRestart,
    /// `smooth-recovery` is not yes, true, no or false.
    InvalidSmoothRecovery,
    /// `log-type` is not file, buffer, pipe or none.
    InvalidLogType,
    /// `log-buffer-keep` is not oldest or newest.
    InvalidLogBufferKeep,
    /// `logfile-max-size` is not a size (digits, an optional K, M or G) from 1024 bytes up.
    InvalidSize,
    /// A number (`nice`, `oom-score-adj`, `restart-limit-count`, `log-buffer-size`,
    /// `pipefd:N`, the level of `ioprio`) that is not a number or is out of range.
    InvalidNumber,
    /// `socket-permissions` or `logfile-permissions` is not an octal number. (Dinit's message
    /// is the setting's name alone.)
    InvalidPermissions {
        /// The setting.
        setting: &'static str,
    },
    /// A time (timeouts, delays, intervals) that is not a decimal number of seconds.
    InvalidTime {
        /// The setting.
        setting: &'static str,
    },
    /// A time too large to represent.
    TimeTooLarge {
        /// The setting.
        setting: &'static str,
    },
    /// An `rlimit-*` value that is not `soft:hard` limits.
    InvalidRlimit {
        /// The setting.
        setting: &'static str,
    },
    /// An `rlimit-*` limit too large for the system.
    RlimitTooLarge {
        /// The setting.
        setting: &'static str,
    },
    /// A numeric user id with trailing characters or out of range; `setting` is `None` when
    /// the number does not even fit 64 bits (Dinit's message then omits the setting).
    InvalidUserId {
        /// The setting.
        setting: Option<&'static str>,
    },
    /// A numeric group id with trailing characters or out of range.
    InvalidGroupId {
        /// The setting.
        setting: &'static str,
    },
    /// A user name not in the user database (found by the runtime, which looks it up).
    UnknownUser {
        /// The setting.
        setting: &'static str,
        /// The name.
        name: Snippet,
    },
    /// A group name not in the group database (found by the runtime).
    UnknownGroup {
        /// The setting.
        setting: &'static str,
        /// The name.
        name: Snippet,
    },
    /// `depends-on`, `depends-ms`, `waits-for` or `prepared-by` names an invalid service
    /// name (empty, or beginning with `.` or `@`).
    InvalidDependencyName {
        /// The name.
        name: Snippet,
    },
    /// `before`, `after` or `consumer-of` names an invalid service name.
    InvalidServiceName {
        /// The name.
        name: Snippet,
    },
    /// `chain-to` names an invalid service name.
    InvalidChainTo {
        /// The name.
        name: Snippet,
    },
    /// `consumer-of` names the service itself (found by the loader, which knows the name).
    OwnConsumer,
    /// `ioprio` is not none, idle, realtime:N or best-effort:N.
    InvalidIoprio {
        /// The value.
        value: Snippet,
    },
    /// An unknown word in `options`.
    UnknownOption {
        /// The word.
        word: Snippet,
    },
    /// An unknown word in `load-options`.
    UnknownLoadOption {
        /// The word.
        word: Snippet,
    },
    /// `term-signal` names no supported signal.
    UnknownSignal {
        /// The value.
        value: Snippet,
    },
    /// `ready-notification = pipevar:` without a name.
    InvalidPipevar,
    /// `ready-notification` is neither `pipefd:N` nor `pipevar:NAME`.
    InvalidReadyNotification {
        /// The value.
        value: Snippet,
    },
    /// `inittab-id` or `inittab-line` longer than the utmp record field.
    InittabTooLong {
        /// The setting.
        setting: &'static str,
    },
    /// `capabilities` is not a valid IAB capability list.
    InvalidCapabilities {
        /// The value.
        value: Snippet,
    },
    /// An unknown word in `securebits`.
    UnknownSecurebit {
        /// The word.
        word: Snippet,
    },
    /// The description lists more dependencies than the assembled description can hold.
    TooManyDependencies {
        /// How many it can hold.
        capacity: usize,
    },
    /// The description's strings do not fit in the assembled description's storage.
    StorageFull {
        /// The storage size in bytes.
        capacity: usize,
    },
    /// An error raised by a caller-provided sink.
    Custom(&'static str),
}

impl DescErrorKind {
    /// True if the rest of the file cannot be read after this error: the description as a
    /// whole fails to load (dinit-check's "Unable to load service").
    pub const fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::BadlyFormedLine
                | Self::BadMetaCommand
                | Self::EofAfterBackslash
                | Self::ContinuationNotIndented
                | Self::IncludeArgument { .. }
                | Self::IncludeSubst { .. }
        )
    }

    /// False for the errors Dinit reports with the setting's name rather than the file and
    /// line (variable substitution errors).
    pub const fn has_position(&self) -> bool {
        !matches!(self, Self::Subst { .. } | Self::IncludeSubst { .. })
    }

    /// The setting an error without a position concerns.
    pub const fn setting(&self) -> Option<&'static str> {
        match self {
            Self::Subst { setting, .. } => Some(setting),
            Self::IncludeSubst {
                optional: false, ..
            } => Some("include"),
            Self::IncludeSubst { optional: true, .. } => Some("include-opt"),
            _ => None,
        }
    }
}

impl fmt::Display for DescErrorKind {
    // A table: one message per error kind, in Dinit's words.
    #[allow(clippy::too_many_lines)]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DescErrorKind as K;
        const NUMBER: &str =
            "specified value contains invalid numeric characters or is outside allowed range.";
        const USER_ID: &str =
            "specified user id contains invalid numeric characters or is outside allowed range.";
        const GROUP_ID: &str =
            "specified group id contains invalid numeric characters or is outside allowed range.";
        match *self {
            K::BadlyFormedLine => f.write_str("badly formed line."),
            K::BadMetaCommand => f.write_str("bad meta command"),
            K::EofAfterBackslash => {
                f.write_str("end-of-file follows backslash escape character (`\\')")
            }
            K::ContinuationNotIndented => f.write_str(
                "line following line-continuation backslash (`\\') does not begin with \
                 whitespace character",
            ),
            K::IncludeArgument { optional } => write!(
                f,
                "'@{}' requires a single argument",
                if optional { "include-opt" } else { "include" }
            ),
            K::IncludeSubst { error, .. } => write!(f, "{error}"),
            K::UnknownSetting { name } => write!(f, "unknown setting: '{name}'."),
            K::AppendNotAllowed { name } => write!(f, "cannot use '+=' with setting '{name}'"),
            K::UnterminatedQuote => f.write_str("unterminated quoted string"),
            K::HashNotSeparated => f.write_str(
                "hashmark (`#') comment must be separated from setting value by whitespace",
            ),
            K::NulByte => f.write_str("unexpected NUL byte"),
            K::ValueTooLong { capacity } => write!(
                f,
                "value too long: more than the parser's buffer of {capacity} bytes"
            ),
            K::Subst { error, .. } => write!(f, "{error}"),
            K::InvalidType => f.write_str(
                "service type must be one of: \"scripted\", \"process\", \"bgprocess\", \
                 \"internal\" or \"triggered\"",
            ),
            K::InvalidRestart => f.write_str(
                "restart must be one of: \"yes\", \"true\", \"no\", \"false\" or \"on-failure\"",
            ),
            K::InvalidSmoothRecovery => f.write_str(
                "smooth-recovery must be one of: \"yes\", \"true\", \"no\" or \"false\"",
            ),
            K::InvalidLogType => {
                f.write_str("log type must be one of: \"file\", \"buffer\", \"pipe\", or \"none\"")
            }
            K::InvalidSize => f.write_str(
                "logfile-max-size must be a number of bytes, with an optional K, M or G, of \
                 at least 1024",
            ),
            K::InvalidLogBufferKeep => {
                f.write_str("log-buffer-keep must be one of: \"oldest\" or \"newest\"")
            }
            K::InvalidNumber => f.write_str(NUMBER),
            K::InvalidPermissions { setting } => f.write_str(setting),
            K::InvalidTime { setting } => write!(f, "bad value for {setting}"),
            K::TimeTooLarge { setting } => write!(f, "too-large value for {setting}"),
            K::InvalidRlimit { setting } => write!(f, "{setting}: bad value."),
            K::RlimitTooLarge { setting } => write!(f, "{setting}: too-large value."),
            K::InvalidUserId {
                setting: Some(setting),
            } => write!(f, "{setting}: {USER_ID}"),
            K::InvalidUserId { setting: None } => f.write_str(USER_ID),
            K::InvalidGroupId { setting } => write!(f, "{setting}: {GROUP_ID}"),
            K::UnknownUser { setting, name } => write!(
                f,
                "{setting}: specified user \"{name}\" does not exist in system database."
            ),
            K::UnknownGroup { setting, name } => write!(
                f,
                "{setting}: specified group \"{name}\" does not exist in system database."
            ),
            K::InvalidDependencyName { name } => write!(f, "invalid dependency name '{name}'"),
            K::InvalidServiceName { name } => write!(f, "invalid service name '{name}'"),
            K::InvalidChainTo { name } => write!(f, "invalid chain-to service name '{name}'"),
            K::OwnConsumer => f.write_str("service cannot be its own consumer"),
            K::InvalidIoprio { value } => write!(f, "invalid value for ioprio: {value}"),
            K::UnknownOption { word } => write!(f, "unknown option: {word}"),
            K::UnknownLoadOption { word } => write!(f, "unknown load option: {word}"),
            K::UnknownSignal { value } => {
                write!(f, "unknown/unsupported termination signal: {value}")
            }
            K::InvalidPipevar => f.write_str("invalid pipevar variable name"),
            K::InvalidReadyNotification { value } => write!(f, "unrecognised setting: {value}"),
            K::InittabTooLong { setting } => write!(f, "{setting} setting is too long"),
            K::InvalidCapabilities { value } => write!(f, "invalid capabilities: {value}"),
            K::UnknownSecurebit { word } => write!(f, "unknown securebits flag: {word}"),
            K::TooManyDependencies { capacity } => write!(
                f,
                "too many dependencies: a description holds at most {capacity}; \
                 build with a larger bound"
            ),
            K::StorageFull { capacity } => write!(
                f,
                "description too large: its values exceed the {capacity} bytes of storage; \
                 build with a larger bound"
            ),
            K::Custom(message) => f.write_str(message),
        }
    }
}

/// An error with the line (1-based) where it was found. `Display` gives the message alone
/// (as Dinit words it); the caller adds the service, file and line in the form it prints.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescError {
    /// The line, counting from 1.
    pub line: u32,
    /// The fragment (file) the line belongs to, as numbered by the caller through
    /// `Description::set_fragment`; 0 unless the caller numbers fragments. The parser itself
    /// always reports 0: the caller knows which file it is parsing.
    pub fragment: u16,
    /// True if the rest of the file cannot be read: the description fails to load as a whole
    /// (see [`DescErrorKind::is_fatal`]; a lexical error in an `@include` line is fatal too).
    pub fatal: bool,
    /// The setting whose value was read but not valid (`None` for errors of another kind).
    pub setting: Option<SettingKey>,
    /// What went wrong.
    pub kind: DescErrorKind,
}

impl DescError {
    /// An error at `line` of fragment 0.
    pub const fn new(line: u32, kind: DescErrorKind) -> Self {
        DescError {
            line,
            fragment: 0,
            fatal: kind.is_fatal(),
            setting: None,
            kind,
        }
    }

    /// The same error, about the value of `setting`.
    #[must_use]
    pub const fn in_setting(mut self, setting: SettingKey) -> Self {
        self.setting = Some(setting);
        self
    }

    /// The same error attributed to `fragment`.
    #[must_use]
    pub const fn in_fragment(mut self, fragment: u16) -> Self {
        self.fragment = fragment;
        self
    }

    /// The same error, fatal.
    #[must_use]
    pub const fn fatal(mut self) -> Self {
        self.fatal = true;
        self
    }
}

impl fmt::Display for DescError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}
