//! The environment-file format of dinit(8) "FILES" (`/etc/dinit/environment`, `--env-file`,
//! and the `env-file` service setting), with Dinit's rules:
//!
//! * One item per line (`\n`). Leading white space is skipped. Blank lines and lines
//!   beginning with `#` are ignored.
//! * `NAME=VALUE` sets a variable. NAME runs up to the first `=` or white space (white space
//!   may stand between it and the `=`); VALUE is the rest of the line, verbatim (no quotes,
//!   escapes, comments or substitution; white space and a CR before the newline are kept).
//! * `!clear` clears the environment (arguments are ignored); `!unset NAME...` and
//!   `!import NAME...` take white-space separated names (possibly none).
//! * A line that is not one of these (no `=` after the name, or beginning with `=`) is an
//!   *invalid setting*, an unknown `!` command a *bad command*: both are skipped, and reported
//!   so that the reader can warn (dinit-check and dinit do so for the global environment file;
//!   a service's `env-file` is read silently).
//!
//! The parser only reports operations ([`EnvOp`]); the caller applies them to its environment
//! (for `!import`, from the original environment it was started with).

use super::cnum::is_c_space;

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

/// What a line of an environment file holds, when it holds something.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnvLine<'a> {
    /// An operation.
    Op(EnvOp<'a>),
    /// A line that is neither `NAME=VALUE`, a `!` command nor a comment (skipped).
    InvalidSetting,
    /// A `!` command other than clear, unset and import (skipped).
    BadCommand,
}

/// Receives the items of an environment file, in order.
pub trait EnvSink {
    /// One item read from `line`.
    fn item(&mut self, line: u32, item: EnvLine<'_>);
}

impl<F: FnMut(u32, EnvLine<'_>)> EnvSink for F {
    fn item(&mut self, line: u32, item: EnvLine<'_>) {
        self(line, item);
    }
}

/// Parses an environment file, handing each item to `sink`.
pub fn parse_env_file<S: EnvSink + ?Sized>(input: &[u8], sink: &mut S) {
    for (line, item) in EnvFileParser::new(input) {
        sink.item(line, item);
    }
}

/// Which command's names are pending.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pending {
    Unset,
    Import,
}

/// An iterator over the items of an environment file, with their line numbers.
#[derive(Clone, Debug)]
pub struct EnvFileParser<'i> {
    input: &'i [u8],
    pos: usize,
    line: u32,
    /// Names still to report for a `!unset` / `!import` line.
    pending: Option<(Pending, &'i [u8], u32)>,
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    s.get(n..).unwrap_or(&[])
}

/// Splits off the first white-space separated word: `(word, rest)`.
fn next_word(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_start(s);
    let n = s.iter().position(|&b| is_c_space(b)).unwrap_or(s.len());
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

    /// The next line without its newline; advances `line`.
    fn next_line(&mut self) -> Option<&'i [u8]> {
        let rest = self.input.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos = self.pos.saturating_add(len).saturating_add(1);
        self.line = self.line.saturating_add(1);
        rest.get(..len)
    }

    fn pending_name(&mut self) -> Option<(u32, EnvLine<'i>)> {
        let (kind, rest, line) = self.pending?;
        let (word, rest) = next_word(rest);
        if word.is_empty() {
            self.pending = None;
            return None;
        }
        self.pending = Some((kind, rest, line));
        Some((
            line,
            EnvLine::Op(match kind {
                Pending::Unset => EnvOp::Unset(word),
                Pending::Import => EnvOp::Import(word),
            }),
        ))
    }

    /// A `!` line; `text` follows the `!`. The command is at least one byte long (even white
    /// space), up to the next white space.
    fn command(&mut self, text: &'i [u8]) -> Option<(u32, EnvLine<'i>)> {
        let line = self.line;
        let len = text
            .iter()
            .skip(1)
            .position(|&b| is_c_space(b))
            .map_or(text.len(), |n| n.saturating_add(1));
        let cmd = text.get(..len).unwrap_or(&[]);
        let args = text.get(len..).unwrap_or(&[]);
        let kind = match cmd {
            b"clear" => return Some((line, EnvLine::Op(EnvOp::Clear))),
            b"unset" => Pending::Unset,
            b"import" => Pending::Import,
            _ => return Some((line, EnvLine::BadCommand)),
        };
        self.pending = Some((kind, args, line));
        self.pending_name()
    }
}

impl<'i> Iterator for EnvFileParser<'i> {
    type Item = (u32, EnvLine<'i>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pending.is_some() {
                if let Some(item) = self.pending_name() {
                    return Some(item);
                }
            }
            let raw = self.next_line()?;
            let text = trim_start(raw);
            match text.first() {
                None | Some(b'#') => continue,
                Some(b'=') => return Some((self.line, EnvLine::InvalidSetting)),
                Some(b'!') => match self.command(text.get(1..).unwrap_or(&[])) {
                    Some(item) => return Some(item),
                    None => continue,
                },
                Some(_) => {}
            }
            let name_len = text
                .iter()
                .position(|&b| b == b'=' || is_c_space(b))
                .unwrap_or(text.len());
            let name = text.get(..name_len).unwrap_or(&[]);
            let after = trim_start(text.get(name_len..).unwrap_or(&[]));
            let Some(value) = after.strip_prefix(b"=") else {
                return Some((self.line, EnvLine::InvalidSetting));
            };
            return Some((self.line, EnvLine::Op(EnvOp::Set { name, value })));
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn items(input: &[u8]) -> Vec<(u32, EnvLine<'_>)> {
        EnvFileParser::new(input).collect()
    }

    #[test]
    fn settings_comments_and_commands() {
        let text = b"# c\n  A=1\nB = two \nC=x=y\r\n\n!clear extra\n!unset X Y\n!import\n!import H";
        assert_eq!(
            items(text),
            [
                (
                    2,
                    EnvLine::Op(EnvOp::Set {
                        name: b"A",
                        value: b"1"
                    })
                ),
                (
                    3,
                    EnvLine::Op(EnvOp::Set {
                        name: b"B",
                        value: b" two "
                    })
                ),
                (
                    4,
                    EnvLine::Op(EnvOp::Set {
                        name: b"C",
                        value: b"x=y\r"
                    })
                ),
                (6, EnvLine::Op(EnvOp::Clear)),
                (7, EnvLine::Op(EnvOp::Unset(b"X"))),
                (7, EnvLine::Op(EnvOp::Unset(b"Y"))),
                (9, EnvLine::Op(EnvOp::Import(b"H"))),
            ]
        );
    }

    #[test]
    fn invalid_lines_and_bad_commands_are_reported_and_skipped() {
        let text = b"=x\nno equals\nA B=1\n!bogus\n! clear\n!\nOK=1\n";
        assert_eq!(
            items(text),
            [
                (1, EnvLine::InvalidSetting),
                (2, EnvLine::InvalidSetting),
                (3, EnvLine::InvalidSetting),
                (4, EnvLine::BadCommand),
                (5, EnvLine::BadCommand),
                (6, EnvLine::BadCommand),
                (
                    7,
                    EnvLine::Op(EnvOp::Set {
                        name: b"OK",
                        value: b"1"
                    })
                ),
            ]
        );
    }
}
