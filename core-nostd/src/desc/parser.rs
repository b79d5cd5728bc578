//! The line parser of dinit-service(5) "SERVICE PROPERTIES" and "META-COMMANDS".
//!
//! # Lexical rules
//!
//! * A file is a sequence of lines separated by `\n`; lines are numbered from 1. White space is
//!   space, tab, CR, VT and FF (so CRLF files parse as expected).
//! * Blank lines are ignored. A line whose first non-blank character is `#` is a comment; an
//!   escaped newline does not continue it ("escaped newlines mark the end of a comment").
//! * A line whose first non-blank character is `@` is a meta-command: `@include path`,
//!   `@include-opt path` or `@meta sub-command args...`. Its arguments are read as a setting
//!   value. Unknown `@meta` sub-commands are reported as [`Item::UnknownMeta`] and otherwise
//!   ignored: the manual page reserves `@meta` for information that other tools may use. Any
//!   other `@word` is an error.
//! * Any other line is `name = value`, `name: value` or `name += value`. The name runs up to
//!   white space, `=`, `:` or `+`.
//! * The value starts right after the operator. Unquoted white space separates tokens;
//!   leading and trailing white space is dropped. A string value is its tokens joined by single
//!   spaces (white space collapse); a command keeps the tokens apart.
//! * `"` starts or ends a quoted part of a token: white space inside it is kept and does not
//!   separate tokens, and `#` has no special meaning. `""` makes an empty token.
//! * `\` escapes the next character, inside quotes too: `\\` is a backslash, `\"` a quote,
//!   `\ ` a space that does not separate tokens.
//! * An escaped newline (`\` at the end of a line) acts as an unescaped space and continues
//!   the value on the next line, which must begin with white space. An escaped newline inside
//!   quotes is a space inside the quotes.
//! * An unquoted, unescaped `#` that starts a token and follows white space starts a comment
//!   to the end of the line (`a#b` and `x =#y` are values). An escaped newline ends such a
//!   comment and continues the value on the next line, so each line of a long command can
//!   carry its own comment. Inside a comment a backslash still pairs with the next byte.
//! * A quote still open at the end of a line, a backslash at the end of the file, and a NUL
//!   byte in a name or value are errors.
//!
//! The parser is flat: `@include` is reported to the caller, who reads the file and parses it
//! (with the same sink) before going on; see [`DescriptionSink::include`].
//!
//! After an error, [`Parser::next_item`] can be called again: it resumes at the next line, so
//! a checker can report several errors (later ones may be consequences of the first).

use super::error::{DescError, DescErrorKind, Snippet};
use super::name::parse_service_name;
use super::setting::{interpret, Op, Setting, SettingKey};
use super::subst::{expand_value, SubstEnv};
use super::tokens::{Overflow, Tokens, Writer};

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
        Err(DescError::new(line, DescErrorKind::IncludeNotSupported))
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

/// Where lexed bytes go: a bounded writer, or nowhere (to skip a value after an error).
trait Out {
    fn byte(&mut self, b: u8) -> Result<(), Overflow>;
    fn end_token(&mut self) -> Result<(), Overflow>;
}

impl Out for Writer<'_> {
    fn byte(&mut self, b: u8) -> Result<(), Overflow> {
        self.push(b)
    }
    fn end_token(&mut self) -> Result<(), Overflow> {
        self.push(0)
    }
}

struct Discard;

impl Out for Discard {
    fn byte(&mut self, _: u8) -> Result<(), Overflow> {
        Ok(())
    }
    fn end_token(&mut self) -> Result<(), Overflow> {
        Ok(())
    }
}

/// White space within a line.
const fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// How a comment inside a value ended.
enum CommentEnd {
    /// At the end of the line (or file): the value ends.
    Line,
    /// At an escaped newline: the value continues.
    Continued,
}

/// A pull parser over one description file or fragment.
#[derive(Clone, Debug)]
pub struct Parser<'i> {
    input: &'i [u8],
    pos: usize,
    line: u32,
}

impl<'i> Parser<'i> {
    /// A parser at the start of `input`.
    pub const fn new(input: &'i [u8]) -> Self {
        Parser {
            input,
            pos: 0,
            line: 1,
        }
    }

    /// The line the parser is on.
    pub const fn line(&self) -> u32 {
        self.line
    }

    /// Reads the next item; `Ok(None)` at the end of the input. The item borrows `scratch`
    /// (see [`parse`]). After an error, the next call resumes at the following line.
    pub fn next_item<'s>(
        &mut self,
        env: &SubstEnv<'_>,
        scratch: &'s mut [u8],
    ) -> Result<Option<Entry<'s>>, DescError> {
        loop {
            self.skip_blanks();
            let line = self.line;
            let item = match self.peek() {
                None => return Ok(None),
                Some(b'\n') => {
                    self.newline();
                    continue;
                }
                Some(b'#') => {
                    self.skip_line();
                    continue;
                }
                Some(b'@') => self.meta(env, scratch),
                Some(_) => self.setting(env, scratch).map(Item::Setting),
            };
            return match item {
                Ok(item) => Ok(Some(Entry { line, item })),
                Err(e) => {
                    // Resume at the next line. Almost every error leaves the parser at the
                    // start of a line already; a NUL byte stops it within one.
                    if self.pos > 0 && self.prev() != Some(b'\n') {
                        self.skip_line();
                    }
                    Err(e)
                }
            };
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.input.get(self.pos.saturating_add(ahead)).copied()
    }

    fn prev(&self) -> Option<u8> {
        self.input.get(self.pos.checked_sub(1)?).copied()
    }

    fn bump(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.input.len());
    }

    fn newline(&mut self) {
        self.bump(1);
        self.line = self.line.saturating_add(1);
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.bump(1);
        }
    }

    /// Skips to the start of the next line.
    fn skip_line(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                self.newline();
                return;
            }
            self.bump(1);
        }
    }

    fn error(&self, line: u32, kind: DescErrorKind) -> DescError {
        DescError::new(line, kind)
    }

    /// If the parser is at an escaped newline (`\` then LF, or `\` CR LF), its length.
    fn escaped_newline(&self) -> Option<usize> {
        match (self.peek(), self.peek_at(1), self.peek_at(2)) {
            (Some(b'\\'), Some(b'\n'), _) => Some(2),
            (Some(b'\\'), Some(b'\r'), Some(b'\n')) => Some(3),
            _ => None,
        }
    }

    /// Consumes an escaped newline of `len` bytes and checks the continuation line.
    fn continue_line(&mut self, len: usize) -> Result<(), DescError> {
        self.bump(len);
        self.line = self.line.saturating_add(1);
        match self.peek() {
            None => Ok(()),
            Some(b) if is_blank(b) => Ok(()),
            Some(_) => Err(self.error(self.line, DescErrorKind::BadContinuation)),
        }
    }

    /// Skips a comment inside a value.
    fn skip_comment(&mut self) -> Result<CommentEnd, DescError> {
        loop {
            if let Some(len) = self.escaped_newline() {
                self.continue_line(len)?;
                return Ok(CommentEnd::Continued);
            }
            match self.peek() {
                None => return Ok(CommentEnd::Line),
                Some(b'\n') => {
                    self.newline();
                    return Ok(CommentEnd::Line);
                }
                Some(b'\\') => self.bump(2),
                Some(_) => self.bump(1),
            }
        }
    }

    /// Lexes a value up to the end of its (logical) line into `out`, as NUL-terminated
    /// tokens. Consumes the final newline.
    fn lex_value<O: Out>(&mut self, out: &mut O, capacity: usize) -> Result<(), DescError> {
        let start_line = self.line;
        // On overflow, keep reading (without writing) to the end of the value, so that the
        // parser can resume at the next line.
        let mut overflowed = false;
        let mut put = |r: Result<(), Overflow>| {
            if r.is_err() {
                overflowed = true;
            }
        };
        let mut in_token = false;
        let mut in_quote = false;
        // Whether the previous character was (unquoted) white space: `#` then starts a comment.
        let mut after_blank = false;
        loop {
            if let Some(len) = self.escaped_newline() {
                self.continue_line(len)?;
                if in_quote {
                    put(out.byte(b' '));
                } else if in_token {
                    put(out.end_token());
                    in_token = false;
                }
                after_blank = true;
                continue;
            }
            let Some(b) = self.peek() else {
                if in_quote {
                    return Err(self.error(self.line, DescErrorKind::UnterminatedQuote));
                }
                break;
            };
            match b {
                b'\n' => {
                    if in_quote {
                        let line = self.line;
                        self.newline();
                        return Err(self.error(line, DescErrorKind::UnterminatedQuote));
                    }
                    self.newline();
                    break;
                }
                0 => return Err(self.error(self.line, DescErrorKind::NulByte)),
                b'\\' => {
                    let Some(c) = self.peek_at(1) else {
                        self.bump(1);
                        return Err(self.error(self.line, DescErrorKind::BackslashAtEnd));
                    };
                    if c == 0 {
                        return Err(self.error(self.line, DescErrorKind::NulByte));
                    }
                    self.bump(2);
                    put(out.byte(c));
                    in_token = true;
                    after_blank = false;
                }
                b'"' => {
                    self.bump(1);
                    in_quote = !in_quote;
                    in_token = true;
                    after_blank = false;
                }
                b'#' if !in_quote && !in_token && after_blank => match self.skip_comment()? {
                    CommentEnd::Line => break,
                    CommentEnd::Continued => after_blank = true,
                },
                b if is_blank(b) && !in_quote => {
                    self.bump(1);
                    if in_token {
                        put(out.end_token());
                        in_token = false;
                    }
                    after_blank = true;
                }
                b => {
                    self.bump(1);
                    put(out.byte(b));
                    in_token = true;
                    after_blank = false;
                }
            }
        }
        if in_token {
            put(out.end_token());
        }
        if overflowed {
            return Err(DescError::new(
                start_line,
                DescErrorKind::ValueTooLong { capacity },
            ));
        }
        Ok(())
    }

    /// Skips the rest of a logical line after an error found before its value was read.
    fn discard_value(&mut self) {
        if self.lex_value(&mut Discard, 0).is_err() && self.prev() != Some(b'\n') {
            self.skip_line();
        }
    }

    /// Lexes the value into the front of `scratch`; returns the lexed part and the rest.
    fn lex_into<'s>(
        &mut self,
        scratch: &'s mut [u8],
    ) -> Result<(&'s mut [u8], &'s mut [u8]), DescError> {
        let capacity = scratch.len();
        let used = {
            let mut w = Writer::new(&mut *scratch);
            self.lex_value(&mut w, capacity)?;
            w.len()
        };
        scratch.split_at_mut_checked(used).ok_or(DescError::new(
            self.line,
            DescErrorKind::ValueTooLong { capacity },
        ))
    }

    fn setting<'s>(
        &mut self,
        env: &SubstEnv<'_>,
        scratch: &'s mut [u8],
    ) -> Result<Setting<'s>, DescError> {
        let line = self.line;
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_blank(b) || matches!(b, b'\n' | b'=' | b':' | b'+') {
                break;
            }
            self.bump(1);
        }
        let name = self.input.get(start..self.pos).unwrap_or(&[]);
        let fail = |p: &mut Self, kind| {
            p.discard_value();
            Err(DescError::new(line, kind))
        };
        if name.is_empty() {
            return fail(self, DescErrorKind::ExpectedSettingName);
        }
        if name.contains(&0) {
            return fail(self, DescErrorKind::NulByte);
        }
        self.skip_blanks();
        let op = match (self.peek(), self.peek_at(1)) {
            (Some(b'=' | b':'), _) => {
                self.bump(1);
                Op::Set
            }
            (Some(b'+'), Some(b'=')) => {
                self.bump(2);
                Op::Append
            }
            _ => {
                return fail(
                    self,
                    DescErrorKind::MissingOperator {
                        name: Snippet::new(name),
                    },
                )
            }
        };
        let Some(key) = SettingKey::from_name(name) else {
            return fail(
                self,
                DescErrorKind::UnknownSetting {
                    name: Snippet::new(name),
                },
            );
        };
        if op == Op::Append && !key.allows_append() {
            return fail(
                self,
                DescErrorKind::AppendNotAllowed {
                    setting: key.name(),
                },
            );
        }
        let (lexed, rest) = self.lex_into(scratch)?;
        interpret(key, op, lexed, env, rest).map_err(|kind| DescError::new(line, kind))
    }

    fn meta<'s>(
        &mut self,
        env: &SubstEnv<'_>,
        scratch: &'s mut [u8],
    ) -> Result<Item<'s>, DescError> {
        let line = self.line;
        self.bump(1);
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_blank(b) && b != b'\n') {
            self.bump(1);
        }
        let word = self.input.get(start..self.pos).unwrap_or(&[]);
        let optional = match word {
            b"include" => false,
            b"include-opt" => true,
            b"meta" => {
                let (lexed, _) = self.lex_into(scratch)?;
                return meta_command(line, Tokens::from_writer(lexed));
            }
            _ => {
                self.discard_value();
                return Err(DescError::new(
                    line,
                    DescErrorKind::UnknownMetaCommand {
                        name: Snippet::new(word),
                    },
                ));
            }
        };
        let (lexed, rest) = self.lex_into(scratch)?;
        // The path is read as a setting value: its tokens joined by single spaces.
        for b in lexed.iter_mut() {
            if *b == 0 {
                *b = b' ';
            }
        }
        let len = lexed.len().saturating_sub(1);
        let path = lexed.get(..len).unwrap_or(&[]);
        let setting = if optional { "@include-opt" } else { "@include" };
        if path.is_empty() {
            return Err(DescError::new(
                line,
                DescErrorKind::BadMetaCommand {
                    message: if optional {
                        "@include-opt requires a file path"
                    } else {
                        "@include requires a file path"
                    },
                },
            ));
        }
        let path = expand_value(path, env, rest)
            .map_err(|error| DescError::new(line, DescErrorKind::Subst { setting, error }))?;
        if path.is_empty() {
            return Err(DescError::new(
                line,
                DescErrorKind::EmptyAfterSubstitution { setting },
            ));
        }
        Ok(Item::Include { path, optional })
    }
}

fn meta_command(line: u32, words: Tokens<'_>) -> Result<Item<'_>, DescError> {
    let bad = |message| {
        Err(DescError::new(
            line,
            DescErrorKind::BadMetaCommand { message },
        ))
    };
    let mut it = words.iter();
    match it.next() {
        None => bad("@meta requires a sub-command, such as 'enable-via'"),
        Some(b"enable-via") => {
            let (Some(name), None) = (it.next(), it.next()) else {
                return bad("@meta enable-via takes exactly one service name");
            };
            parse_service_name(name).map_err(|reason| {
                DescError::new(
                    line,
                    DescErrorKind::InvalidServiceName {
                        setting: "@meta enable-via",
                        found: Snippet::new(name),
                        reason,
                    },
                )
            })?;
            Ok(Item::Setting(Setting::EnableVia(name)))
        }
        Some(_) => Ok(Item::UnknownMeta(words)),
    }
}
