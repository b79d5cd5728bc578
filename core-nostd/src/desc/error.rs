//! Errors of the description parser, the environment-file parser, the assembled description
//! and variable substitution.
//!
//! Every error carries the line it was found on and a message a user can act on; the caller
//! adds the file name. Messages quote the offending text through a [`Snippet`], a short copy
//! that needs no allocation and no borrow of the input.

use core::fmt;

use super::name::NameError;
use super::subst::SubstError;

/// How many bytes of offending text an error message quotes.
pub const SNIPPET_BYTES: usize = 40;

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
/// `\xNN`.
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

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.as_bytes())?;
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// What went wrong. The `setting` fields name the setting (or meta-command) concerned, as
/// written in service descriptions.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DescErrorKind {
    /// A line starts with something that is not a setting name, `@` or `#` (e.g. `= x`).
    ExpectedSettingName,
    /// A setting name is not followed by `=`, `:` or `+=`.
    MissingOperator {
        /// The name as written.
        name: Snippet,
    },
    /// No such setting in dinit-service(5).
    UnknownSetting {
        /// The name as written.
        name: Snippet,
    },
    /// `+=` used with a setting that cannot be appended to.
    AppendNotAllowed {
        /// The setting.
        setting: &'static str,
    },
    /// `command +=` or `stop-command +=` before any `command =` / `stop-command =`.
    AppendToUnset {
        /// The setting.
        setting: &'static str,
    },
    /// The setting was given no value.
    MissingValue {
        /// The setting.
        setting: &'static str,
    },
    /// The value is empty once pre-load variable substitution is done.
    EmptyAfterSubstitution {
        /// The setting.
        setting: &'static str,
    },
    /// A double quote is not closed before the end of the line.
    UnterminatedQuote,
    /// The file ends with a backslash that escapes nothing.
    BackslashAtEnd,
    /// A line continued with a trailing backslash is followed by a line that does not begin
    /// with white space.
    BadContinuation,
    /// A NUL byte in a setting or an environment-file line (outside comments).
    NulByte,
    /// A value does not fit in the parser's scratch buffer.
    ValueTooLong {
        /// The buffer's size in bytes.
        capacity: usize,
    },
    /// A value is not one the setting accepts.
    InvalidValue {
        /// The setting.
        setting: &'static str,
        /// The value (or the offending word of it).
        found: Snippet,
        /// What the setting accepts.
        expected: &'static str,
    },
    /// A number outside the range the setting accepts.
    OutOfRange {
        /// The setting.
        setting: &'static str,
        /// The value.
        found: Snippet,
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A value longer than the setting allows.
    TooLong {
        /// The setting.
        setting: &'static str,
        /// The value.
        found: Snippet,
        /// Longest accepted value, in bytes.
        max: usize,
    },
    /// A setting that names a service names it with an invalid service name.
    InvalidServiceName {
        /// The setting.
        setting: &'static str,
        /// The name (after pre-load substitution).
        found: Snippet,
        /// Which rule of SERVICE NAMES it breaks.
        reason: NameError,
    },
    /// Variable substitution failed.
    Subst {
        /// The setting.
        setting: &'static str,
        /// Why.
        error: SubstError,
    },
    /// `@something` that is not `@include`, `@include-opt` or `@meta`.
    UnknownMetaCommand {
        /// The word after `@`.
        name: Snippet,
    },
    /// A meta-command with missing or extra arguments.
    BadMetaCommand {
        /// What is wrong.
        message: &'static str,
    },
    /// The sink does not resolve `@include` (see `DescriptionSink::include`).
    IncludeNotSupported,
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
    /// Environment file: a line that is not `NAME=VALUE`, a `!` command or a comment.
    EnvMissingEquals,
    /// Environment file: an invalid variable name.
    EnvInvalidName {
        /// The name.
        found: Snippet,
    },
    /// Environment file: an unknown `!` command.
    EnvUnknownCommand {
        /// The command word (without `!`).
        found: Snippet,
    },
    /// Environment file: a `!` command with wrong arguments.
    EnvCommandArguments {
        /// What is wrong.
        message: &'static str,
    },
    /// An error raised by a caller-provided sink.
    Custom(&'static str),
}

impl fmt::Display for DescErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DescErrorKind as K;
        match *self {
            K::ExpectedSettingName => f.write_str(
                "expected a setting such as 'type = process', a '@' meta-command or a '#' comment",
            ),
            K::MissingOperator { name } => {
                write!(f, "expected '=', ':' or '+=' after setting name '{name}'")
            }
            K::UnknownSetting { name } => write!(f, "unknown setting '{name}'"),
            K::AppendNotAllowed { setting } => write!(
                f,
                "'{setting}' cannot be appended to with '+='; only command, stop-command, \
                 capabilities and securebits can"
            ),
            K::AppendToUnset { setting } => write!(
                f,
                "'{setting} +=' appends to an earlier '{setting}', but none is set; \
                 use '{setting} =' first"
            ),
            K::MissingValue { setting } => write!(f, "setting '{setting}' requires a value"),
            K::EmptyAfterSubstitution { setting } => write!(
                f,
                "the value of '{setting}' is empty after variable substitution"
            ),
            K::UnterminatedQuote => f.write_str(
                "missing closing double quote before the end of the line \
                 (end the line with '\\' to continue a quoted value)",
            ),
            K::BackslashAtEnd => f.write_str("the file ends with a backslash that escapes nothing"),
            K::BadContinuation => f.write_str(
                "the previous line ends with '\\' and so continues on this line, \
                 which must therefore begin with white space",
            ),
            K::NulByte => f.write_str("unexpected NUL byte"),
            K::ValueTooLong { capacity } => write!(
                f,
                "value too long: more than the parser's buffer of {capacity} bytes"
            ),
            K::InvalidValue {
                setting,
                found,
                expected,
            } => write!(
                f,
                "invalid value '{found}' for '{setting}': expected {expected}"
            ),
            K::OutOfRange {
                setting,
                found,
                min,
                max,
            } => write!(
                f,
                "value '{found}' for '{setting}' is out of range: must be from {min} to {max}"
            ),
            K::TooLong {
                setting,
                found,
                max,
            } => write!(
                f,
                "value '{found}' for '{setting}' is too long: at most {max} bytes"
            ),
            K::InvalidServiceName {
                setting,
                found,
                reason,
            } => write!(f, "invalid service name '{found}' in '{setting}': {reason}"),
            K::Subst { setting, error } => write!(f, "in '{setting}': {error}"),
            K::UnknownMetaCommand { name } => write!(
                f,
                "unknown meta-command '@{name}'; expected @include, @include-opt or @meta"
            ),
            K::BadMetaCommand { message } => f.write_str(message),
            K::IncludeNotSupported => f.write_str("@include is not supported here"),
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
            K::EnvMissingEquals => {
                f.write_str("expected NAME=VALUE, a '!' command or a '#' comment")
            }
            K::EnvInvalidName { found } => write!(
                f,
                "invalid variable name '{found}': a name must be non-empty and contain no \
                 '=', white space or control characters"
            ),
            K::EnvUnknownCommand { found } => write!(
                f,
                "unknown command '!{found}'; expected !clear, !unset or !import"
            ),
            K::EnvCommandArguments { message } => f.write_str(message),
            K::Custom(message) => f.write_str(message),
        }
    }
}

/// An error with the line (1-based) where it was found. `Display` gives `line N: message`;
/// the caller prefixes the file name.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescError {
    /// The line, counting from 1.
    pub line: u32,
    /// The fragment (file) the line belongs to, as numbered by the caller through
    /// `Description::set_fragment`; 0 unless the caller numbers fragments. The parser itself
    /// always reports 0: the caller knows which file it is parsing.
    pub fragment: u16,
    /// What went wrong.
    pub kind: DescErrorKind,
}

impl DescError {
    /// An error at `line` of fragment 0.
    pub const fn new(line: u32, kind: DescErrorKind) -> Self {
        DescError {
            line,
            fragment: 0,
            kind,
        }
    }

    /// The same error attributed to `fragment`.
    #[must_use]
    pub const fn in_fragment(mut self, fragment: u16) -> Self {
        self.fragment = fragment;
        self
    }
}

impl fmt::Display for DescError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}
