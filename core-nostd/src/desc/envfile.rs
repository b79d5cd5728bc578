//! The environment-file format of dinit(8) "FILES" (`/etc/dinit/environment`, `--env-file`,
//! and the `env-file` service setting).
//!
//! * One item per line (`\n`; a CR before it is dropped, for CRLF files). Leading white space
//!   is skipped. Blank lines and lines beginning with `#` are ignored.
//! * `NAME=VALUE` sets a variable. NAME runs up to the first `=` and must be non-empty,
//!   without white space or control characters; VALUE is the rest of the line, verbatim (no
//!   quotes, escapes, comments or substitution).
//! * `!clear` clears the environment (it takes no arguments).
//! * `!unset NAME...` and `!import NAME...` take one or more white-space separated names.
//! * Anything else is an error: a line without `=`, an invalid name, an unknown `!` command,
//!   and a NUL byte anywhere outside a comment.
//!
//! The parser only reports operations ([`EnvOp`]); the caller applies them to its environment
//! (for `!import`, from the original environment it was started with).

use super::error::{DescError, DescErrorKind, Snippet};
use super::setting::is_valid_env_name;

/// One operation of an environment file.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnvOp<'a> {
    /// `NAME=VALUE`.
    Set {
        /// The name.
        name: &'a [u8],
        /// The value, verbatim.
        value: &'a [u8],
    },
    /// `!unset NAME` (one operation per name).
    Unset(&'a [u8]),
    /// `!clear`.
    Clear,
    /// `!import NAME` (one operation per name).
    Import(&'a [u8]),
}

/// Receives the operations of an environment file, in order.
pub trait EnvSink {
    /// One operation read from `line`.
    fn op(&mut self, line: u32, op: EnvOp<'_>) -> Result<(), DescError>;
}

impl<F: FnMut(u32, EnvOp<'_>) -> Result<(), DescError>> EnvSink for F {
    fn op(&mut self, line: u32, op: EnvOp<'_>) -> Result<(), DescError> {
        self(line, op)
    }
}

/// Parses an environment file, handing each operation to `sink`; stops at the first error.
pub fn parse_env_file<S: EnvSink + ?Sized>(input: &[u8], sink: &mut S) -> Result<(), DescError> {
    for item in EnvFileParser::new(input) {
        let (line, op) = item?;
        sink.op(line, op)?;
    }
    Ok(())
}

/// Which command's names are pending.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pending {
    Unset,
    Import,
}

/// An iterator over the operations of an environment file, with their line numbers. After an
/// error it resumes at the next line.
#[derive(Clone, Debug)]
pub struct EnvFileParser<'i> {
    input: &'i [u8],
    pos: usize,
    line: u32,
    /// Names still to report for a `!unset` / `!import` line.
    pending: Option<(Pending, &'i [u8], u32)>,
}

const fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().position(|&b| !is_blank(b)).unwrap_or(s.len());
    s.get(n..).unwrap_or(&[])
}

/// Splits off the first white-space separated word: `(word, rest)`.
fn next_word(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_start(s);
    let n = s.iter().position(|&b| is_blank(b)).unwrap_or(s.len());
    (s.get(..n).unwrap_or(&[]), s.get(n..).unwrap_or(&[]))
}

impl<'i> EnvFileParser<'i> {
    /// A parser at the start of `input`.
    pub const fn new(input: &'i [u8]) -> Self {
        EnvFileParser {
            input,
            pos: 0,
            line: 0,
            pending: None,
        }
    }

    /// The next line without its newline (and without a CR before it); advances `line`.
    fn next_line(&mut self) -> Option<&'i [u8]> {
        let rest = self.input.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos = self.pos.saturating_add(len).saturating_add(1);
        self.line = self.line.saturating_add(1);
        let line = rest.get(..len).unwrap_or(&[]);
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }

    fn pending_name(&mut self) -> Option<Result<(u32, EnvOp<'i>), DescError>> {
        let (kind, rest, line) = self.pending?;
        let (word, rest) = next_word(rest);
        if word.is_empty() {
            self.pending = None;
            return None;
        }
        self.pending = Some((kind, rest, line));
        if !is_valid_env_name(word) {
            self.pending = None;
            return Some(Err(DescError::new(
                line,
                DescErrorKind::EnvInvalidName {
                    found: Snippet::new(word),
                },
            )));
        }
        Some(Ok((
            line,
            match kind {
                Pending::Unset => EnvOp::Unset(word),
                Pending::Import => EnvOp::Import(word),
            },
        )))
    }

    fn command(&mut self, text: &'i [u8]) -> Option<Result<(u32, EnvOp<'i>), DescError>> {
        let line = self.line;
        let err = |kind| Some(Err(DescError::new(line, kind)));
        let (word, rest) = next_word(text);
        let kind = match word {
            b"clear" => {
                if !trim_start(rest).is_empty() {
                    return err(DescErrorKind::EnvCommandArguments {
                        message: "!clear takes no arguments",
                    });
                }
                return Some(Ok((line, EnvOp::Clear)));
            }
            b"unset" => Pending::Unset,
            b"import" => Pending::Import,
            _ => {
                return err(DescErrorKind::EnvUnknownCommand {
                    found: Snippet::new(word),
                })
            }
        };
        if trim_start(rest).is_empty() {
            return err(DescErrorKind::EnvCommandArguments {
                message: match kind {
                    Pending::Unset => "!unset requires at least one variable name",
                    Pending::Import => "!import requires at least one variable name",
                },
            });
        }
        self.pending = Some((kind, rest, line));
        self.pending_name()
    }
}

impl<'i> Iterator for EnvFileParser<'i> {
    type Item = Result<(u32, EnvOp<'i>), DescError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.pending_name() {
            return Some(item);
        }
        loop {
            let raw = self.next_line()?;
            let text = trim_start(raw);
            let line = self.line;
            match text.first() {
                None | Some(b'#') => continue,
                _ if text.contains(&0) => {
                    return Some(Err(DescError::new(line, DescErrorKind::NulByte)))
                }
                Some(b'!') => return self.command(text.get(1..).unwrap_or(&[])),
                Some(_) => {}
            }
            let Some(eq) = text.iter().position(|&b| b == b'=') else {
                return Some(Err(DescError::new(line, DescErrorKind::EnvMissingEquals)));
            };
            let name = text.get(..eq).unwrap_or(&[]);
            if !is_valid_env_name(name) {
                return Some(Err(DescError::new(
                    line,
                    DescErrorKind::EnvInvalidName {
                        found: Snippet::new(name),
                    },
                )));
            }
            let value = text.get(eq.saturating_add(1)..).unwrap_or(&[]);
            return Some(Ok((line, EnvOp::Set { name, value })));
        }
    }
}
