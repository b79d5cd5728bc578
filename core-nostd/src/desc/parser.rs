//! The line parser of dinit-service(5) "SERVICE PROPERTIES" and "META-COMMANDS", with Dinit's
//! lexical rules.
//!
//! # Lexical rules
//!
//! * A file is a sequence of lines separated by `\n`, numbered from 1. White space is C's
//!   (space, tab, CR, VT, FF and, inside a continued line, LF), so CRLF files parse.
//! * A line that ends with an odd number of backslashes continues on the next line, which must
//!   begin with white space; the backslash becomes a newline (white space between values, a
//!   newline character inside quotes). This applies to every line, comments included.
//! * Empty and blank lines are ignored. A line whose first non-blank character is `#` is a
//!   comment (with its continuation lines).
//! * A line whose first non-blank character is `@` is a meta-command: `@include path`,
//!   `@include-opt path` or `@meta ...`. The path is read as a value and must be one word.
//!   `@meta` lines are not interpreted by dinit, except that `@meta enable-via NAME` is
//!   reported (for `dinitctl enable`); a malformed `@meta` line is no error. Any other `@word`
//!   is an error.
//! * Any other line is `name = value`, `name: value` or `name += value`. A name is made of
//!   letters, digits, `-`, `.`, `_` and bytes outside ASCII, and does not begin with `-`, `.`
//!   or a digit.
//! * A value starts after the operator and the white space after it. Unquoted white space
//!   separates words; runs of it count as one. `"` starts or ends a quoted part of a word: white
//!   space inside it is kept, and `#` has no special meaning. `""` makes an empty word. `\`
//!   escapes the next character, inside quotes too.
//! * `#` after white space starts a comment that ends at the end of the line (or at a line
//!   continuation, after which the value goes on). A `#` anywhere else (at the start of the
//!   value, inside a word) is an error.
//! * Errors that leave the rest of the line unreadable (a line that is neither setting, comment
//!   nor meta-command, an unknown meta-command, a bad continuation, a malformed `@include`) are
//!   *fatal*: the description cannot be read further ([`DescError::fatal`]). The others concern
//!   one setting: [`Parser::next_item`] can be called again and resumes at the next line.
//!
//! Line numbers in errors are Dinit's: the line the setting starts on, plus the continued lines
//! passed before its value (and, for errors inside the value, before the error); fatal
//! errors about the shape of a line name the last line read.
//!
//! The parser is flat: `@include` is reported to the caller, who reads the file and parses it
//! (with the same sink) before going on; see [`DescriptionSink::include`].

use super::cnum::is_c_space;
use super::error::{DescError, DescErrorKind, Snippet};
use super::name::parse_service_name;
use super::setting::{interpret, Op, Setting, SettingKey};
use super::subst::{expand_value, SubstEnv, SubstError};
use super::tokens::{Tokens, Writer};

/// One thing a description says.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Item<'a> {
    /// A setting (including `@meta enable-via`, as [`Setting::EnableVia`]).
    Setting(Setting<'a>),
    /// `@include path` (`optional: false`) or `@include-opt path` (`optional: true`); the path
    /// is pre-load substituted and, if relative, is relative to the directory of the file
    /// being parsed.
    Include {
        /// The file to include.
        path: &'a [u8],
        /// `@include-opt`: a missing file is not an error.
        optional: bool,
    },
    /// `@meta` with a sub-command dinit does not use: the words after `@meta`.
    UnknownMeta(Tokens<'a>),
}

/// An [`Item`] and the line it starts on.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Entry<'a> {
    /// The line, counting from 1.
    pub line: u32,
    /// What it says.
    pub item: Item<'a>,
}

/// Receives what [`parse`] reads, in order.
pub trait DescriptionSink {
    /// A setting from `line`. Its borrowed values are valid only during the call.
    fn setting(&mut self, line: u32, setting: Setting<'_>) -> Result<(), DescError>;

    /// `@include` / `@include-opt` at `line`. A loader reads the file and calls [`parse`] on
    /// it with this same sink (and a scratch buffer of its own) before returning, bounding the
    /// depth of nested includes itself. The default refuses includes.
    fn include(&mut self, line: u32, path: &[u8], optional: bool) -> Result<(), DescError> {
        let _ = (path, optional);
        Err(DescError::new(
            line,
            DescErrorKind::Custom("@include is not supported here"),
        ))
    }

    /// `@meta` with an unknown sub-command; ignored by default.
    fn unknown_meta(&mut self, line: u32, words: Tokens<'_>) -> Result<(), DescError> {
        let _ = (line, words);
        Ok(())
    }
}

/// Parses `input`, handing each item to `sink`; stops at the first error.
///
/// `env` serves pre-load substitution (the service argument and dinit's environment).
/// `scratch` holds one setting's value at a time: its lexed tokens, then the substituted
/// result after them; a value that does not fit is an error.
pub fn parse<S: DescriptionSink + ?Sized>(
    input: &[u8],
    env: &SubstEnv<'_>,
    scratch: &mut [u8],
    sink: &mut S,
) -> Result<(), DescError> {
    let mut parser = Parser::new(input);
    while let Some(entry) = parser.next_item(env, scratch)? {
        match entry.item {
            Item::Setting(s) => sink.setting(entry.line, s)?,
            Item::Include { path, optional } => sink.include(entry.line, path, optional)?,
            Item::UnknownMeta(words) => sink.unknown_meta(entry.line, words)?,
        }
    }
    Ok(())
}

/// A byte of a setting or meta-command name (C's: not a control character, punctuation or
/// white space; or `-`, `.` or `_`).
const fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') || b >= 0x80
}

/// An error found at `line`.
fn err(line: u32, kind: DescErrorKind) -> DescError {
    DescError::new(line, kind)
}

/// A position in a logical line (continuations joined, their backslashes turned into
/// newlines), counting the newlines passed.
struct Cursor<'l> {
    text: &'l [u8],
    pos: usize,
    line: u32,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line = self.line.saturating_add(1);
        }
        self.pos = self.pos.saturating_add(1);
    }

    fn skip_white(&mut self) {
        while self.peek().is_some_and(is_c_space) {
            self.bump();
        }
    }

    /// Skips white space and comments (each to the next newline).
    fn skip_white_and_comments(&mut self) {
        let mut comment = false;
        while let Some(b) = self.peek() {
            if b == b'#' {
                comment = true;
            } else if b == b'\n' {
                comment = false;
            }
            if !comment && !is_c_space(b) {
                break;
            }
            self.bump();
        }
    }

    /// A setting or meta-command name (empty if there is none).
    fn name(&mut self) -> &[u8] {
        let start = self.pos;
        if self
            .peek()
            .is_some_and(|b| is_name_byte(b) && b != b'-' && b != b'.' && !b.is_ascii_digit())
        {
            while self.peek().is_some_and(is_name_byte) {
                self.pos = self.pos.saturating_add(1);
            }
        }
        self.text.get(start..self.pos).unwrap_or(&[])
    }

    /// Reads a value to the end of the logical line into `out`, as NUL-terminated words.
    /// Returns the number of words.
    fn value(&mut self, out: &mut Writer<'_>) -> Result<usize, DescError> {
        let capacity_error = |c: &Self| err(c.line, DescErrorKind::ValueTooLong { capacity: 0 });
        let mut words = 0usize;
        let mut in_word = false;
        self.skip_white();
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    in_word = true;
                    self.bump();
                    loop {
                        match self.peek() {
                            None => return Err(err(self.line, DescErrorKind::UnterminatedQuote)),
                            Some(b'"') => break,
                            Some(b'\\') => {
                                self.bump();
                                if let Some(c) = self.peek() {
                                    self.put(out, c)?;
                                    self.bump();
                                }
                            }
                            Some(c) => {
                                self.put(out, c)?;
                                self.bump();
                            }
                        }
                    }
                    self.bump();
                }
                b'\\' => {
                    in_word = true;
                    self.bump();
                    if let Some(c) = self.peek() {
                        self.put(out, c)?;
                        self.bump();
                    }
                }
                b'#' => return Err(err(self.line, DescErrorKind::HashNotSeparated)),
                b if is_c_space(b) => {
                    if in_word {
                        out.push(0).map_err(|_| capacity_error(self))?;
                        words = words.saturating_add(1);
                        in_word = false;
                    }
                    self.skip_white_and_comments();
                }
                b => {
                    in_word = true;
                    self.put(out, b)?;
                    self.bump();
                }
            }
        }
        if in_word {
            out.push(0).map_err(|_| capacity_error(self))?;
            words = words.saturating_add(1);
        }
        Ok(words)
    }

    fn put(&self, out: &mut Writer<'_>, b: u8) -> Result<(), DescError> {
        if b == 0 {
            return Err(err(self.line, DescErrorKind::NulByte));
        }
        out.push(b)
            .map_err(|_| err(self.line, DescErrorKind::ValueTooLong { capacity: 0 }))
    }
}

/// A pull parser over one description file or fragment.
#[derive(Clone, Debug)]
pub struct Parser<'i> {
    input: &'i [u8],
    pos: usize,
    /// Physical lines read so far.
    line: u32,
}

impl<'i> Parser<'i> {
    /// A parser at the start of `input`.
    pub const fn new(input: &'i [u8]) -> Self {
        Parser {
            input,
            pos: 0,
            line: 0,
        }
    }

    /// The number of the last line read (0 before the first).
    pub const fn line(&self) -> u32 {
        self.line
    }

    /// The next physical line, without its newline.
    fn physical_line(&mut self) -> Option<&'i [u8]> {
        let rest = self.input.get(self.pos..).filter(|r| !r.is_empty())?;
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos = self.pos.saturating_add(len).saturating_add(1);
        self.line = self.line.saturating_add(1);
        rest.get(..len)
    }

    /// Copies the logical line that starts with `first` into `scratch`, joining continued
    /// lines; returns its length.
    fn logical_line(&mut self, first: &[u8], scratch: &mut [u8]) -> Result<usize, DescError> {
        let capacity = scratch.len();
        let mut w = Writer::new(scratch);
        let mut overflow = w.extend(first).is_err();
        // The first byte that is not white space, to know whether a line too long for the
        // buffer is a comment (or blank), which needs no room.
        let mut lead = None;
        let mut last = first;
        loop {
            let backslashes = last.iter().rev().take_while(|&&b| b == b'\\').count();
            let continues = backslashes % 2 == 1;
            let content = last
                .get(..last.len().saturating_sub(usize::from(continues)))
                .unwrap_or(&[]);
            lead = lead.or_else(|| content.iter().copied().find(|&b| !is_c_space(b)));
            if !continues {
                break;
            }
            let Some(next) = self.physical_line() else {
                // After a final newline Dinit reads one more, empty, line: it is not
                // indented. Only a file that ends in the backslash itself ends too soon.
                if self.pos == self.input.len() {
                    self.line = self.line.saturating_add(1);
                    return Err(err(self.line, DescErrorKind::ContinuationNotIndented));
                }
                return Err(err(self.line, DescErrorKind::EofAfterBackslash));
            };
            if !next.first().is_some_and(|&b| is_c_space(b)) {
                return Err(err(self.line, DescErrorKind::ContinuationNotIndented));
            }
            if !overflow {
                // The continuing backslash becomes a newline.
                let len = w.len().saturating_sub(1);
                w.truncate(len);
                overflow = w.push(b'\n').is_err() || w.extend(next).is_err();
            }
            last = next;
        }
        if overflow {
            if matches!(lead, None | Some(b'#')) {
                return Ok(0);
            }
            return Err(err(self.line, DescErrorKind::ValueTooLong { capacity }));
        }
        Ok(w.len())
    }

    /// Reads the next item; `Ok(None)` at the end of the input. The item borrows `scratch`,
    /// which holds the logical line, the lexed value and the substituted value. After an error
    /// that is not [fatal](DescError::fatal), the next call resumes at the following line.
    pub fn next_item<'s>(
        &mut self,
        env: &SubstEnv<'_>,
        scratch: &'s mut [u8],
    ) -> Result<Option<Entry<'s>>, DescError> {
        // Find the next line that holds something (the logical line is left at the start of
        // `scratch`), then lend the rest of `scratch` to its value.
        let (len, start, first_line, meta) = loop {
            let Some(first) = self.physical_line() else {
                return Ok(None);
            };
            if first.is_empty() {
                continue;
            }
            let first_line = self.line;
            let len = self.logical_line(first, &mut *scratch)?;
            let mut cur = Cursor {
                text: scratch.get(..len).unwrap_or(&[]),
                pos: 0,
                line: first_line,
            };
            cur.skip_white();
            match cur.peek() {
                None | Some(b'#') => continue,
                Some(b) => break (len, cur.pos, cur.line, b == b'@'),
            }
        };
        let (text, rest) = scratch.split_at_mut(len);
        let mut cur = Cursor {
            text,
            pos: start,
            line: first_line,
        };
        if meta {
            cur.pos = cur.pos.saturating_add(1);
            self.meta(cur, env, rest).map(Some)
        } else {
            self.setting(cur, env, rest).map(Some)
        }
    }

    fn setting<'s>(
        &self,
        mut cur: Cursor<'_>,
        env: &SubstEnv<'_>,
        out: &'s mut [u8],
    ) -> Result<Entry<'s>, DescError> {
        let name = cur.name();
        let name_snippet = Snippet::new(name);
        let key = SettingKey::from_name(name);
        let empty = name.is_empty();
        cur.skip_white();
        let badly_formed = err(self.line, DescErrorKind::BadlyFormedLine);
        let op = match cur.peek() {
            _ if empty => return Err(badly_formed),
            Some(b'=' | b':') => Op::Set,
            Some(b'+') => {
                cur.pos = cur.pos.saturating_add(1);
                if cur.peek() != Some(b'=') {
                    return Err(badly_formed);
                }
                Op::Append
            }
            _ => return Err(badly_formed),
        };
        cur.pos = cur.pos.saturating_add(1);
        cur.skip_white();
        let line = cur.line;
        let Some(key) = key else {
            return Err(err(
                line,
                DescErrorKind::UnknownSetting { name: name_snippet },
            ));
        };
        if op == Op::Append && !key.allows_append() {
            return Err(err(
                line,
                DescErrorKind::AppendNotAllowed { name: name_snippet },
            ));
        }
        let capacity = out.len();
        let used = {
            let mut w = Writer::new(&mut *out);
            cur.value(&mut w).map_err(|e| with_capacity(e, capacity))?;
            w.len()
        };
        let (lexed, rest) = out
            .split_at_mut_checked(used)
            .ok_or(err(line, DescErrorKind::ValueTooLong { capacity }))?;
        let setting =
            interpret(key, op, lexed, env, rest).map_err(|kind| err(line, kind).in_setting(key))?;
        Ok(Entry {
            line,
            item: Item::Setting(setting),
        })
    }

    fn meta<'s>(
        &self,
        mut cur: Cursor<'_>,
        env: &SubstEnv<'_>,
        out: &'s mut [u8],
    ) -> Result<Entry<'s>, DescError> {
        let line = cur.line;
        let optional = match cur.name() {
            b"include" => false,
            b"include-opt" => true,
            b"meta" => {
                // dinit does not interpret @meta lines; only enable-via is of use (to dinitctl).
                let capacity = out.len();
                let used = {
                    let mut w = Writer::new(&mut *out);
                    match cur.value(&mut w) {
                        Ok(_) => w.len(),
                        Err(e) if matches!(e.kind, DescErrorKind::ValueTooLong { .. }) => {
                            return Err(with_capacity(e, capacity));
                        }
                        Err(_) => 0,
                    }
                };
                let words = Tokens::from_writer(out.get(..used).unwrap_or(&[]));
                return Ok(Entry {
                    line,
                    item: meta_command(words),
                });
            }
            _ => return Err(err(line, DescErrorKind::BadMetaCommand)),
        };
        let capacity = out.len();
        let (words, used) = {
            let mut w = Writer::new(&mut *out);
            let words = cur
                .value(&mut w)
                .map_err(|e| with_capacity(e, capacity).fatal())?;
            (words, w.len())
        };
        if words != 1 {
            return Err(err(line, DescErrorKind::IncludeArgument { optional }));
        }
        let (lexed, rest) = out
            .split_at_mut_checked(used)
            .ok_or(err(line, DescErrorKind::ValueTooLong { capacity }).fatal())?;
        let path = lexed.get(..used.saturating_sub(1)).unwrap_or(&[]);
        let path = expand_value(path, env, rest).map_err(|error| match error {
            SubstError::Overflow { .. } => {
                err(line, DescErrorKind::ValueTooLong { capacity }).fatal()
            }
            error => err(line, DescErrorKind::IncludeSubst { optional, error }),
        })?;
        Ok(Entry {
            line,
            item: Item::Include { path, optional },
        })
    }
}

/// The buffer size in a value-too-long error (the lexer does not know it).
fn with_capacity(mut e: DescError, capacity: usize) -> DescError {
    if let DescErrorKind::ValueTooLong { .. } = e.kind {
        e.kind = DescErrorKind::ValueTooLong { capacity };
    }
    e
}

/// `@meta enable-via NAME` (with a valid name) or any other `@meta` line.
fn meta_command(words: Tokens<'_>) -> Item<'_> {
    let mut it = words.iter();
    if let (Some(b"enable-via"), Some(name), None) = (it.next(), it.next(), it.next()) {
        if parse_service_name(name).is_ok() {
            return Item::Setting(Setting::EnableVia(name));
        }
    }
    Item::UnknownMeta(words)
}
