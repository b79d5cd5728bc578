//! Variable substitution (dinit-service(5) "VARIABLE SUBSTITUTION").
//!
//! Forms, where NAME is a variable name or `1` (the service argument):
//!
//! | form            | result                                                  |
//! |-----------------|---------------------------------------------------------|
//! | `$$`            | a literal `$`                                           |
//! | `$NAME`         | the value, or nothing if unset                          |
//! | `${NAME}`       | the same                                                |
//! | `${NAME:-word}` | `word` if NAME is unset or empty, else the value        |
//! | `${NAME-word}`  | `word` if NAME is unset, else the value                 |
//! | `${NAME:+word}` | `word` if NAME is set and non-empty, else nothing       |
//! | `${NAME+word}`  | `word` if NAME is set, else nothing                     |
//! | `$/...`         | any of the above, word-split (command settings only)    |
//!
//! A variable name begins with a letter, `_` or a byte outside ASCII and goes on with letters,
//! digits, `_` and bytes outside ASCII. A run of digits after `$` must be `1`, the service
//! argument (`only one service argument may be present`); `$1` and `${1}` in a service that has
//! no argument are an error, while `${1:-word}` and the other forms are not. A `$` that starts
//! no form is an error: write `$$` for a literal `$`. The word is not itself expanded and runs
//! to the first `}`.
//!
//! Substitution runs on values after the lexer has removed quotes and escapes, so neither
//! quoting nor a backslash prevents it; `$$` is the documented escape.
//!
//! In commands ([`expand_command`]), substitution happens inside each argument, after the
//! value has been split into arguments: an unset variable yields an empty string, possibly an
//! empty argument. With `$/` the expansion is split at white space into several arguments,
//! joining the text before it to its first word and the text after it to its last (as a shell
//! does), and an empty or all-white-space expansion adds no argument. In single-string settings
//! ([`expand_value`]) the words of a `$/` expansion are joined with single spaces.
//!
//! The environment is abstracted by [`Vars`]; the caller composes the documented priority
//! (service env-file, then the load-options variables, then dinit's environment) with
//! [`Chain`]. [`SubstEnv`] adds the service argument. Output goes to caller-provided buffers;
//! overflow is an error.

use core::fmt;

use super::tokens::{Overflow, Tokens, Writer};

/// A source of environment variables for substitution.
pub trait Vars {
    /// The value of `name`, or `None` if it is unset.
    fn get(&self, name: &[u8]) -> Option<&[u8]>;
}

impl<T: Vars + ?Sized> Vars for &T {
    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        (**self).get(name)
    }
}

/// No variables at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoVars;

impl Vars for NoVars {
    fn get(&self, _name: &[u8]) -> Option<&[u8]> {
        None
    }
}

/// A list of `(name, value)` pairs; the first pair with the name wins.
impl Vars for [(&[u8], &[u8])] {
    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }
}

/// A fixed-size list of `(name, value)` pairs; the first pair with the name wins.
impl<const N: usize> Vars for [(&[u8], &[u8]); N] {
    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        Vars::get(self.as_slice(), name)
    }
}

/// Two layers of variables: the first has priority; the second is consulted for names the
/// first does not set. Nest it for more layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chain<A, B>(pub A, pub B);

impl<A: Vars, B: Vars> Vars for Chain<A, B> {
    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.0.get(name).or_else(|| self.1.get(name))
    }
}

/// Everything substitution reads: the variables and the service argument.
#[derive(Clone, Copy)]
pub struct SubstEnv<'a> {
    vars: &'a dyn Vars,
    arg: Option<&'a [u8]>,
}

impl fmt::Debug for SubstEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubstEnv")
            .field("arg", &self.arg)
            .finish_non_exhaustive()
    }
}

impl<'a> SubstEnv<'a> {
    /// No variables and no service argument.
    pub const EMPTY: SubstEnv<'static> = SubstEnv {
        vars: &NoVars,
        arg: None,
    };

    /// Variables `vars` and the service argument `arg` (`None` for a service named without
    /// `@`).
    pub const fn new(vars: &'a dyn Vars, arg: Option<&'a [u8]>) -> Self {
        SubstEnv { vars, arg }
    }

    /// The service argument.
    pub const fn arg(&self) -> Option<&'a [u8]> {
        self.arg
    }

    fn lookup(&self, name: VarName<'_>) -> Option<&'a [u8]> {
        match name {
            VarName::Arg => self.arg,
            VarName::Named(n) => {
                let vars: &'a dyn Vars = self.vars;
                vars.get(n)
            }
        }
    }
}

/// Why substitution failed (Dinit's messages, word for word).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SubstError {
    /// `$` followed by something that is not a variable name (nor `$`, `/` or `{`).
    InvalidName,
    /// `$0`, `$2`, `$10`... : only `$1`, the service argument, exists.
    OnlyOneArgument,
    /// `${NAME:` not followed by `-` or `+`.
    InvalidSyntax,
    /// `${` without its closing `}` (or with something else than `}`, `-`, `+`, `:-` or
    /// `:+` after the name).
    UnmatchedBrace,
    /// `$1` or `${1}` in a service that has no argument (the `${1:-word}` forms are allowed).
    MissingArgument,
    /// A variable's value contains a NUL byte, which no argument can hold.
    NulInValue,
    /// The result does not fit in the output buffer.
    Overflow {
        /// The buffer's size in bytes.
        capacity: usize,
    },
}

impl fmt::Display for SubstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SubstError::InvalidName => f.write_str("invalid/missing variable name after '$'"),
            SubstError::OnlyOneArgument => f.write_str("only one service argument may be present"),
            SubstError::InvalidSyntax => f.write_str("invalid syntax in variable substitution"),
            SubstError::UnmatchedBrace => f.write_str("unmatched '{' in variable substitution"),
            SubstError::MissingArgument => f.write_str("missing value in argument substitution"),
            SubstError::NulInValue => f.write_str("a substituted value contains a NUL byte"),
            SubstError::Overflow { capacity } => write!(
                f,
                "value too long (after substitution): more than {capacity} bytes"
            ),
        }
    }
}

/// The name in a reference.
#[derive(Clone, Copy, Debug)]
enum VarName<'a> {
    /// `1`: the service argument.
    Arg,
    Named(&'a [u8]),
}

/// The `${...}` operator.
#[derive(Clone, Copy, Debug)]
enum Form<'a> {
    Plain,
    /// `:-word`
    UnsetOrEmpty(&'a [u8]),
    /// `-word`
    Unset(&'a [u8]),
    /// `:+word`
    SetNonEmpty(&'a [u8]),
    /// `+word`
    Set(&'a [u8]),
}

/// One `$` construct.
#[derive(Clone, Copy, Debug)]
enum Piece<'a> {
    /// `$$`
    Dollar,
    Ref {
        name: VarName<'a>,
        form: Form<'a>,
        split: bool,
    },
}

/// The first byte of a variable name: a letter, `_` or any byte outside ASCII (which may
/// belong to a multibyte character). Digits start the service argument's number instead.
const fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

const fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// White space for `$/` splitting.
const fn is_split_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Reads a name at `pos`: a run of digits (which must be `1`, the service argument) or a
/// variable name. Returns the name and the position after it.
fn read_name(input: &[u8], pos: usize) -> Result<(VarName<'_>, usize), SubstError> {
    let rest = input.get(pos..).unwrap_or(&[]);
    let run = |pred: fn(u8) -> bool| rest.iter().position(|&c| !pred(c)).unwrap_or(rest.len());
    match rest.first() {
        Some(d) if d.is_ascii_digit() => {
            let len = run(|c| c.is_ascii_digit());
            if rest.get(..len) == Some(&b"1"[..]) {
                Ok((VarName::Arg, pos.saturating_add(len)))
            } else {
                Err(SubstError::OnlyOneArgument)
            }
        }
        Some(&b) if is_name_start(b) => {
            let len = run(is_name_char);
            let end = pos.saturating_add(len);
            Ok((VarName::Named(rest.get(..len).unwrap_or(&[])), end))
        }
        _ => Err(SubstError::InvalidName),
    }
}

/// Parses the construct after a `$` at `pos - 1`. Returns it and the position after it.
fn parse_piece(input: &[u8], mut pos: usize) -> Result<(Piece<'_>, usize), SubstError> {
    if input.get(pos) == Some(&b'$') {
        return Ok((Piece::Dollar, pos.saturating_add(1)));
    }
    let split = input.get(pos) == Some(&b'/');
    if split {
        pos = pos.saturating_add(1);
    }
    let brace = input.get(pos) == Some(&b'{');
    if brace {
        pos = pos.saturating_add(1);
    }
    let (name, mut pos) = read_name(input, pos)?;
    if !brace {
        return Ok((
            Piece::Ref {
                name,
                form: Form::Plain,
                split,
            },
            pos,
        ));
    }
    let colon = input.get(pos) == Some(&b':');
    if colon {
        pos = pos.saturating_add(1);
        if !matches!(input.get(pos), Some(b'-' | b'+')) {
            return Err(SubstError::InvalidSyntax);
        }
    }
    let mut form = Form::Plain;
    if let Some(&op) = input.get(pos).filter(|&&b| b == b'-' || b == b'+') {
        pos = pos.saturating_add(1);
        let rest = input.get(pos..).unwrap_or(&[]);
        let len = rest.iter().position(|&b| b == b'}').unwrap_or(rest.len());
        let word = rest.get(..len).unwrap_or(&[]);
        form = match (op, colon) {
            (b'-', true) => Form::UnsetOrEmpty(word),
            (b'-', false) => Form::Unset(word),
            (_, true) => Form::SetNonEmpty(word),
            (_, false) => Form::Set(word),
        };
        pos = pos.saturating_add(len);
    }
    if input.get(pos) != Some(&b'}') {
        return Err(SubstError::UnmatchedBrace);
    }
    Ok((Piece::Ref { name, form, split }, pos.saturating_add(1)))
}

/// The text a reference stands for. `$1` and `${1}` need the service argument; the other
/// forms of it do not.
fn resolve<'x>(
    name: VarName<'_>,
    form: Form<'x>,
    env: &SubstEnv<'x>,
) -> Result<&'x [u8], SubstError> {
    let value = env.lookup(name);
    Ok(match form {
        Form::Plain => match (value, name) {
            (Some(v), _) => v,
            (None, VarName::Arg) => return Err(SubstError::MissingArgument),
            (None, VarName::Named(_)) => &[],
        },
        Form::UnsetOrEmpty(word) => match value {
            Some(v) if !v.is_empty() => v,
            _ => word,
        },
        Form::Unset(word) => value.unwrap_or(word),
        Form::SetNonEmpty(word) => match value {
            Some(v) if !v.is_empty() => word,
            _ => &[],
        },
        Form::Set(word) => match value {
            Some(_) => word,
            None => &[],
        },
    })
}

/// A part of a value: literal text or a `$` construct.
enum Part<'a> {
    Literal(&'a [u8]),
    Piece(Piece<'a>),
}

/// Splits `input` into literal runs and `$` constructs.
struct Parts<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Parts<'a> {
    type Item = Result<Part<'a>, SubstError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.input.get(self.pos..)?;
        match rest.first()? {
            b'$' => match parse_piece(self.input, self.pos.saturating_add(1)) {
                Ok((piece, end)) => {
                    self.pos = end;
                    Some(Ok(Part::Piece(piece)))
                }
                Err(e) => {
                    self.pos = self.input.len();
                    Some(Err(e))
                }
            },
            _ => {
                let len = rest.iter().position(|&b| b == b'$').unwrap_or(rest.len());
                self.pos = self.pos.saturating_add(len);
                Some(Ok(Part::Literal(rest.get(..len).unwrap_or(&[]))))
            }
        }
    }
}

/// True if `value` contains a substitution (a `$` that is not part of `$$`). Useful to warn,
/// as dinit-check does, that a value depends on the environment.
pub fn uses_substitution(value: &[u8]) -> bool {
    Parts {
        input: value,
        pos: 0,
    }
    .any(|p| !matches!(p, Ok(Part::Literal(_)) | Ok(Part::Piece(Piece::Dollar))))
}

/// Checks the substitution syntax of `value` without expanding it.
pub fn check_syntax(value: &[u8]) -> Result<(), SubstError> {
    Parts {
        input: value,
        pos: 0,
    }
    .try_for_each(|p| p.map(|_| ()))
}

/// Expands `input`, a single-string value, into `out`; returns the expanded bytes. A `$/`
/// expansion is split at white space and its words joined with single spaces (as the words of
/// a command would be); white space at its start is dropped where nothing precedes it.
pub fn expand_value<'o>(
    input: &[u8],
    env: &SubstEnv<'_>,
    out: &'o mut [u8],
) -> Result<&'o [u8], SubstError> {
    let capacity = out.len();
    let overflow = |_: Overflow| SubstError::Overflow { capacity };
    let mut w = Writer::new(out);
    // Where the current word begins, and whether a plain substitution has made it a word
    // even if empty (Dinit's "inhibit collapse").
    let mut word_start = 0usize;
    let mut keep = false;
    for part in (Parts { input, pos: 0 }) {
        match part? {
            Part::Literal(text) => w.extend(text).map_err(overflow)?,
            Part::Piece(Piece::Dollar) => w.push(b'$').map_err(overflow)?,
            Part::Piece(Piece::Ref {
                name,
                form,
                split: false,
            }) => {
                w.extend(resolve(name, form, env)?).map_err(overflow)?;
                keep = true;
            }
            Part::Piece(Piece::Ref {
                name,
                form,
                split: true,
            }) => {
                let mut rest = resolve(name, form, env)?;
                while let Some(ws) = rest.iter().position(|&b| is_split_space(b)) {
                    w.extend(rest.get(..ws).unwrap_or(&[])).map_err(overflow)?;
                    if w.len() != word_start || keep {
                        w.push(b' ').map_err(overflow)?;
                        word_start = w.len();
                    }
                    let after = rest.get(ws..).unwrap_or(&[]);
                    let skip = after
                        .iter()
                        .position(|&b| !is_split_space(b))
                        .unwrap_or(after.len());
                    rest = after.get(skip..).unwrap_or(&[]);
                    keep = false;
                }
                w.extend(rest).map_err(overflow)?;
            }
        }
    }
    Ok(w.into_written())
}

/// Expands each token of a command into `out`, splitting `$/` expansions into several tokens
/// (see the module documentation); returns the resulting tokens.
pub fn expand_command<'o>(
    tokens: Tokens<'_>,
    env: &SubstEnv<'_>,
    out: &'o mut [u8],
) -> Result<Tokens<'o>, SubstError> {
    let capacity = out.len();
    let overflow = |_: Overflow| SubstError::Overflow { capacity };
    let mut w = Writer::new(out);
    for token in tokens.iter() {
        // Whether the current output token has begun (it is emitted even if empty), and
        // whether this input token contained a `$/` expansion: a token without one always
        // yields exactly one argument, even an empty one.
        let mut started = false;
        let mut split_seen = false;
        for part in (Parts {
            input: token,
            pos: 0,
        }) {
            match part? {
                Part::Literal(text) => {
                    w.extend(text).map_err(overflow)?;
                    started = true;
                }
                Part::Piece(Piece::Dollar) => {
                    w.push(b'$').map_err(overflow)?;
                    started = true;
                }
                Part::Piece(Piece::Ref { name, form, split }) => {
                    let value = resolve(name, form, env)?;
                    if value.contains(&0) {
                        return Err(SubstError::NulInValue);
                    }
                    if !split {
                        w.extend(value).map_err(overflow)?;
                        started = true;
                        continue;
                    }
                    split_seen = true;
                    if value.first().is_some_and(|&b| is_split_space(b)) && started {
                        w.push(0).map_err(overflow)?;
                        started = false;
                    }
                    for (i, word) in value
                        .split(|&b| is_split_space(b))
                        .filter(|word| !word.is_empty())
                        .enumerate()
                    {
                        if i > 0 {
                            w.push(0).map_err(overflow)?;
                        }
                        w.extend(word).map_err(overflow)?;
                        started = true;
                    }
                    if value.last().is_some_and(|&b| is_split_space(b)) && started {
                        w.push(0).map_err(overflow)?;
                        started = false;
                    }
                }
            }
        }
        if started || !split_seen {
            w.push(0).map_err(overflow)?;
        }
    }
    Ok(Tokens::from_writer(w.into_written()))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    const VARS: [(&[u8], &[u8]); 4] = [
        (b"HOME", b"/home/me"),
        (b"EMPTY", b""),
        (b"ARGS", b" -a  -b "),
        (b"A_B9", b"x"),
    ];

    fn val(input: &str, arg: Option<&str>) -> Result<std::string::String, SubstError> {
        let env = SubstEnv::new(&VARS, arg.map(str::as_bytes));
        let mut out = [0u8; 128];
        expand_value(input.as_bytes(), &env, &mut out)
            .map(|v| std::string::String::from_utf8(v.to_vec()).unwrap())
    }

    fn cmd(input: &[&str], arg: Option<&str>) -> Result<Vec<std::string::String>, SubstError> {
        let mut buf = Vec::new();
        for t in input {
            buf.extend_from_slice(t.as_bytes());
            buf.push(0);
        }
        let env = SubstEnv::new(&VARS, arg.map(str::as_bytes));
        let mut out = [0u8; 128];
        let toks = expand_command(Tokens::from_nul_terminated(&buf).unwrap(), &env, &mut out)?;
        Ok(toks
            .iter()
            .map(|t| std::string::String::from_utf8(t.to_vec()).unwrap())
            .collect())
    }

    #[test]
    fn plain_and_braced() {
        assert_eq!(val("$HOME/x", None).unwrap(), "/home/me/x");
        assert_eq!(val("${HOME}x", None).unwrap(), "/home/mex");
        assert_eq!(val("a$UNSET.b", None).unwrap(), "a.b");
        assert_eq!(val("$A_B9-", None).unwrap(), "x-");
        assert_eq!(val("cost: $$5", None).unwrap(), "cost: $5");
        assert_eq!(val("$$$HOME", None).unwrap(), "$/home/me");
        assert_eq!(val("no dollars", None).unwrap(), "no dollars");
    }

    #[test]
    fn name_ends_at_punctuation_other_than_underscore() {
        assert_eq!(val("$HOME.d", None).unwrap(), "/home/me.d");
        assert_eq!(val("$HOME_x", None).unwrap(), "");
        assert_eq!(val("$A_B9:", None).unwrap(), "x:");
        // Bytes outside ASCII are name characters.
        assert_eq!(val("$HOME\u{e9}", None).unwrap(), "");
    }

    #[test]
    fn parameter_expansion_forms() {
        assert_eq!(val("${EMPTY:-w}", None).unwrap(), "w");
        assert_eq!(val("${UNSET:-w}", None).unwrap(), "w");
        assert_eq!(val("${HOME:-w}", None).unwrap(), "/home/me");
        assert_eq!(val("${EMPTY-w}", None).unwrap(), "");
        assert_eq!(val("${UNSET-w}", None).unwrap(), "w");
        assert_eq!(val("${HOME-w}", None).unwrap(), "/home/me");
        assert_eq!(val("${EMPTY:+w}", None).unwrap(), "");
        assert_eq!(val("${UNSET:+w}", None).unwrap(), "");
        assert_eq!(val("${HOME:+w}", None).unwrap(), "w");
        assert_eq!(val("${EMPTY+w}", None).unwrap(), "w");
        assert_eq!(val("${UNSET+w}", None).unwrap(), "");
        assert_eq!(val("${HOME+w}", None).unwrap(), "w");
        // The word is not expanded.
        assert_eq!(val("${UNSET:-$HOME}", None).unwrap(), "$HOME");
        assert_eq!(val("${UNSET:-}", None).unwrap(), "");
    }

    #[test]
    fn service_argument() {
        assert_eq!(val("tty$1", Some("1")).unwrap(), "tty1");
        assert_eq!(val("tty$1", None), Err(SubstError::MissingArgument));
        assert_eq!(val("tty${1}", None), Err(SubstError::MissingArgument));
        assert_eq!(val("tty$1", Some("")).unwrap(), "tty");
        assert_eq!(val("${1}x", Some("a")).unwrap(), "ax");
        assert_eq!(val("${1:-none}", None).unwrap(), "none");
        assert_eq!(val("${1:-none}", Some("")).unwrap(), "none");
        assert_eq!(val("${1-none}", Some("")).unwrap(), "");
        assert_eq!(val("${1:+set}", Some("a")).unwrap(), "set");
        assert_eq!(val("${1+set}", Some("")).unwrap(), "set");
        assert_eq!(val("${1+set}", None).unwrap(), "");
        assert_eq!(val("$12", Some("a")), Err(SubstError::OnlyOneArgument));
    }

    #[test]
    fn syntax_errors() {
        use SubstError::*;
        for (text, error) in [
            ("a$", InvalidName),
            ("$ x", InvalidName),
            ("$-", InvalidName),
            ("$/", InvalidName),
            ("$.x", InvalidName),
            ("${}", InvalidName),
            ("${", InvalidName),
            ("$2", OnlyOneArgument),
            ("$0", OnlyOneArgument),
            ("${2}", OnlyOneArgument),
            ("${10}", OnlyOneArgument),
            ("${HOME", UnmatchedBrace),
            ("${HOME:-x", UnmatchedBrace),
            ("${HOME?x}", UnmatchedBrace),
            ("${HOME x}", UnmatchedBrace),
            ("${HOME:", InvalidSyntax),
            ("${HOME:x}", InvalidSyntax),
        ] {
            assert_eq!(val(text, None), Err(error), "{text}");
        }
        assert_eq!(val("$_X", None).unwrap(), "");
        assert_eq!(val("${HOME:-a b}", None).unwrap(), "/home/me");
        assert_eq!(val("${UNSET:-a b}", None).unwrap(), "a b");
        assert_eq!(check_syntax(b"${X:-y} $$ $1"), Ok(()));
        assert_eq!(check_syntax(b"$"), Err(InvalidName));
    }

    #[test]
    fn overflow_is_an_error() {
        let env = SubstEnv::new(&VARS, None);
        let mut out = [0u8; 4];
        assert_eq!(
            expand_value(b"$HOME", &env, &mut out),
            Err(SubstError::Overflow { capacity: 4 })
        );
        assert_eq!(
            expand_command(
                Tokens::from_nul_terminated(b"abcd\0").unwrap(),
                &env,
                &mut out
            ),
            Err(SubstError::Overflow { capacity: 4 })
        );
    }

    #[test]
    fn commands_substitute_inside_each_argument() {
        assert_eq!(cmd(&["ls", "$HOME"], None).unwrap(), ["ls", "/home/me"]);
        // Unset and empty yield an empty argument.
        assert_eq!(cmd(&["a", "$UNSET", "b"], None).unwrap(), ["a", "", "b"]);
        assert_eq!(cmd(&["a", "$EMPTY"], None).unwrap(), ["a", ""]);
        // Without `/`, a value with spaces stays one argument.
        assert_eq!(cmd(&["a", "$ARGS"], None).unwrap(), ["a", " -a  -b "]);
        assert_eq!(cmd(&["", "x"], None).unwrap(), ["", "x"]);
    }

    #[test]
    fn slash_splits_into_arguments() {
        assert_eq!(
            cmd(&["a", "$/ARGS", "b"], None).unwrap(),
            ["a", "-a", "-b", "b"]
        );
        assert_eq!(cmd(&["a", "$/{ARGS}"], None).unwrap(), ["a", "-a", "-b"]);
        assert_eq!(cmd(&["a", "$/UNSET", "b"], None).unwrap(), ["a", "b"]);
        assert_eq!(cmd(&["a", "$/EMPTY"], None).unwrap(), ["a"]);
        assert_eq!(cmd(&["a", "${/X}"], None), Err(SubstError::InvalidName));
        // Text around a split expansion joins its first and last words (as in a shell).
        assert_eq!(cmd(&["x$/{UNSET:-p q}"], None).unwrap(), ["xp", "q"]);
        assert_eq!(cmd(&["x$/ARGS"], None).unwrap(), ["x", "-a", "-b"]);
        assert_eq!(cmd(&["x$/ARGS.y"], None).unwrap(), ["x", "-a", "-b", ".y"]);
        assert_eq!(cmd(&["x$/HOME.y"], None).unwrap(), ["x/home/me.y"]);
        assert_eq!(cmd(&["x$/EMPTY"], None).unwrap(), ["x"]);
        assert_eq!(cmd(&["$/1"], Some("p")).unwrap(), ["p"]);
        assert_eq!(cmd(&["$/1"], None), Err(SubstError::MissingArgument));
        assert_eq!(
            cmd(&["$/1"], Some("")).unwrap(),
            Vec::<std::string::String>::new()
        );
        assert_eq!(cmd(&["${/1}"], None), Err(SubstError::InvalidName));
        assert_eq!(cmd(&["$/{1:-d}"], None).unwrap(), ["d"]);
        // In single-string values, the words of `$/` are joined with single spaces; white
        // space where nothing precedes is dropped, at the end it is kept as one space.
        assert_eq!(val("$/ARGS", None).unwrap(), "-a -b ");
        assert_eq!(val("x$/ARGS", None).unwrap(), "x -a -b ");
        assert_eq!(val("$EMPTY$/ARGS", None).unwrap(), " -a -b ");
    }

    #[test]
    fn chain_gives_priority_to_the_first_layer() {
        let svc: [(&[u8], &[u8]); 1] = [(b"HOME", b"/srv")];
        let chain = Chain(&svc, &VARS);
        let env = SubstEnv::new(&chain, None);
        let mut out = [0u8; 64];
        assert_eq!(
            expand_value(b"$HOME:$A_B9", &env, &mut out).unwrap(),
            b"/srv:x"
        );
        assert_eq!(SubstEnv::EMPTY.arg(), None);
    }

    #[test]
    fn detects_substitution() {
        assert!(uses_substitution(b"$HOME"));
        assert!(uses_substitution(b"a$"));
        assert!(!uses_substitution(b"a$$b"));
        assert!(!uses_substitution(b"plain"));
    }

    #[test]
    fn messages() {
        assert_eq!(
            SubstError::InvalidName.to_string(),
            "invalid/missing variable name after '$'"
        );
        assert_eq!(
            SubstError::MissingArgument.to_string(),
            "missing value in argument substitution"
        );
        assert_eq!(
            SubstError::Overflow { capacity: 9 }.to_string(),
            "value too long (after substitution): more than 9 bytes"
        );
    }
}
