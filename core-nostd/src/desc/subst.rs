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
//! A variable name begins with a character that is not punctuation, white space or a digit
//! (an ASCII letter or any byte outside ASCII) and ends before the first control character,
//! white space or punctuation other than `_`. `$1` is the service argument (unset for a
//! service without one); other digits after `$` are an error, as is a `$` followed by anything
//! that starts no form: write `$$` for a literal `$`. The word is not itself expanded and may
//! contain neither `}` nor white space.
//!
//! Substitution runs on values after the lexer has removed quotes and escapes, so neither
//! quoting nor a backslash prevents it; `$$` is the documented escape.
//!
//! In commands ([`expand_command`]), substitution happens inside each argument, after the
//! value has been split into arguments: an unset variable yields an empty string, possibly an
//! empty argument. With `$/` the expansion is split at white space into several arguments,
//! joining the text before it to its first word and the text after it to its last (as a shell
//! does), and an empty or all-white-space expansion adds no argument. In single-string settings
//! ([`expand_value`]) `$/` is accepted and behaves as `$`.
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

/// Why substitution failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SubstError {
    /// `$` followed by something that starts no substitution form.
    BadDollar,
    /// `$0`, `$2`... : only `$1`, the service argument, exists.
    Positional(u8),
    /// `${` not followed by a variable name.
    BadBraceName,
    /// `${NAME` followed by something other than `}`, `:-`, `-`, `:+` or `+`.
    BadBraceForm,
    /// `${` without its closing `}`.
    UnterminatedBrace,
    /// White space in the word of `${NAME:-word}` and the like.
    WhitespaceInWord,
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
            SubstError::BadDollar => f.write_str(
                "'$' must be followed by a variable name, '{', '/' or '$' \
                 (write '$$' for a literal '$')",
            ),
            SubstError::Positional(d) => write!(
                f,
                "'${}' is not supported: only '$1' (the service argument) is \
                 (write '$$' for a literal '$')",
                char::from(d)
            ),
            SubstError::BadBraceName => f.write_str("'${' must be followed by a variable name"),
            SubstError::BadBraceForm => f.write_str(
                "invalid '${...}': expected ${NAME}, ${NAME:-word}, ${NAME-word}, \
                 ${NAME:+word} or ${NAME+word}",
            ),
            SubstError::UnterminatedBrace => f.write_str("'${' without a closing '}'"),
            SubstError::WhitespaceInWord => f.write_str(
                "the word in '${NAME:-word}' and similar forms cannot contain white space",
            ),
            SubstError::NulInValue => f.write_str("a substituted value contains a NUL byte"),
            SubstError::Overflow { capacity } => write!(
                f,
                "value too long after substitution: more than {capacity} bytes"
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

const fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b >= 0x80
}

const fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// White space for `$/` splitting.
const fn is_split_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Reads a name at `pos`: `1` or a variable name. Returns the name and the position after it.
fn read_name(input: &[u8], pos: usize) -> Result<(VarName<'_>, usize), SubstError> {
    match input.get(pos) {
        Some(b'1') => Ok((VarName::Arg, pos.saturating_add(1))),
        Some(&d) if d.is_ascii_digit() => Err(SubstError::Positional(d)),
        Some(&b) if is_name_start(b) => {
            let len = input
                .get(pos..)
                .unwrap_or(&[])
                .iter()
                .position(|&c| !is_name_char(c))
                .unwrap_or(input.len().saturating_sub(pos));
            let end = pos.saturating_add(len);
            Ok((VarName::Named(input.get(pos..end).unwrap_or(&[])), end))
        }
        _ => Err(SubstError::BadDollar),
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
    if input.get(pos) != Some(&b'{') {
        let (name, end) = read_name(input, pos)?;
        return Ok((
            Piece::Ref {
                name,
                form: Form::Plain,
                split,
            },
            end,
        ));
    }
    pos = pos.saturating_add(1);
    let (name, mut pos) = match read_name(input, pos) {
        Ok(r) => r,
        Err(SubstError::BadDollar) => {
            return Err(if input.get(pos).is_none() {
                SubstError::UnterminatedBrace
            } else {
                SubstError::BadBraceName
            })
        }
        Err(e) => return Err(e),
    };
    let op = match (input.get(pos), input.get(pos.saturating_add(1))) {
        (Some(b'}'), _) => {
            return Ok((
                Piece::Ref {
                    name,
                    form: Form::Plain,
                    split,
                },
                pos.saturating_add(1),
            ))
        }
        (Some(b':'), Some(b'-')) => 0u8,
        (Some(b'-'), _) => 1,
        (Some(b':'), Some(b'+')) => 2,
        (Some(b'+'), _) => 3,
        (None, _) | (Some(b':'), None) => return Err(SubstError::UnterminatedBrace),
        _ => return Err(SubstError::BadBraceForm),
    };
    pos = pos.saturating_add(if op % 2 == 0 { 2 } else { 1 });
    let rest = input.get(pos..).unwrap_or(&[]);
    let Some(close) = rest.iter().position(|&b| b == b'}') else {
        return Err(SubstError::UnterminatedBrace);
    };
    let word = rest.get(..close).unwrap_or(&[]);
    if word.iter().any(|&b| is_split_space(b)) {
        return Err(SubstError::WhitespaceInWord);
    }
    let form = match op {
        0 => Form::UnsetOrEmpty(word),
        1 => Form::Unset(word),
        2 => Form::SetNonEmpty(word),
        _ => Form::Set(word),
    };
    Ok((
        Piece::Ref { name, form, split },
        pos.saturating_add(close).saturating_add(1),
    ))
}

/// The text a reference stands for.
fn resolve<'x>(name: VarName<'_>, form: Form<'x>, env: &SubstEnv<'x>) -> &'x [u8] {
    let value = env.lookup(name);
    match form {
        Form::Plain => value.unwrap_or(&[]),
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
    }
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

/// Expands `input`, a single-string value, into `out`; returns the expanded bytes.
pub fn expand_value<'o>(
    input: &[u8],
    env: &SubstEnv<'_>,
    out: &'o mut [u8],
) -> Result<&'o [u8], SubstError> {
    let capacity = out.len();
    let overflow = |_: Overflow| SubstError::Overflow { capacity };
    let mut w = Writer::new(out);
    for part in (Parts { input, pos: 0 }) {
        match part? {
            Part::Literal(text) => w.extend(text).map_err(overflow)?,
            Part::Piece(Piece::Dollar) => w.push(b'$').map_err(overflow)?,
            Part::Piece(Piece::Ref { name, form, .. }) => {
                w.extend(resolve(name, form, env)).map_err(overflow)?;
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
                    let value = resolve(name, form, env);
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
        assert_eq!(val("tty$1", None).unwrap(), "tty");
        assert_eq!(val("${1}x", Some("a")).unwrap(), "ax");
        assert_eq!(val("${1:-none}", None).unwrap(), "none");
        assert_eq!(val("${1:-none}", Some("")).unwrap(), "none");
        assert_eq!(val("${1-none}", Some("")).unwrap(), "");
        assert_eq!(val("${1:+set}", Some("a")).unwrap(), "set");
        assert_eq!(val("${1+set}", Some("")).unwrap(), "set");
        assert_eq!(val("${1+set}", None).unwrap(), "");
        assert_eq!(val("$12", Some("a")).unwrap(), "a2");
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(val("a$", None), Err(SubstError::BadDollar));
        assert_eq!(val("$ x", None), Err(SubstError::BadDollar));
        assert_eq!(val("$_X", None), Err(SubstError::BadDollar));
        assert_eq!(val("$-", None), Err(SubstError::BadDollar));
        assert_eq!(val("$/", None), Err(SubstError::BadDollar));
        assert_eq!(val("$2", None), Err(SubstError::Positional(b'2')));
        assert_eq!(val("${2}", None), Err(SubstError::Positional(b'2')));
        assert_eq!(val("${", None), Err(SubstError::UnterminatedBrace));
        assert_eq!(val("${}", None), Err(SubstError::BadBraceName));
        assert_eq!(val("${HOME", None), Err(SubstError::UnterminatedBrace));
        assert_eq!(val("${HOME:", None), Err(SubstError::UnterminatedBrace));
        assert_eq!(val("${HOME:-x", None), Err(SubstError::UnterminatedBrace));
        assert_eq!(val("${HOME?x}", None), Err(SubstError::BadBraceForm));
        assert_eq!(val("${HOME:x}", None), Err(SubstError::BadBraceForm));
        assert_eq!(val("${10}", None), Err(SubstError::BadBraceForm));
        assert_eq!(val("${HOME:-a b}", None), Err(SubstError::WhitespaceInWord));
        assert_eq!(check_syntax(b"${X:-y} $$ $1"), Ok(()));
        assert_eq!(check_syntax(b"$"), Err(SubstError::BadDollar));
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
        assert_eq!(cmd(&["a", "${/X}"], None), Err(SubstError::BadBraceName));
        // Text around a split expansion joins its first and last words (as in a shell).
        assert_eq!(
            cmd(&["x$/{UNSET:-p q}"], None),
            Err(SubstError::WhitespaceInWord)
        );
        assert_eq!(cmd(&["x$/ARGS"], None).unwrap(), ["x", "-a", "-b"]);
        assert_eq!(cmd(&["x$/ARGS.y"], None).unwrap(), ["x", "-a", "-b", ".y"]);
        assert_eq!(cmd(&["x$/HOME.y"], None).unwrap(), ["x/home/me.y"]);
        assert_eq!(cmd(&["x$/EMPTY"], None).unwrap(), ["x"]);
        assert_eq!(cmd(&["$/1"], Some("p")).unwrap(), ["p"]);
        assert_eq!(
            cmd(&["$/1"], None).unwrap(),
            Vec::<std::string::String>::new()
        );
        assert_eq!(cmd(&["${/1}"], None), Err(SubstError::BadBraceName));
        assert_eq!(cmd(&["$/{1:-d}"], None).unwrap(), ["d"]);
        // `$/` in single-string values behaves as `$`.
        assert_eq!(val("$/ARGS", None).unwrap(), " -a  -b ");
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
            SubstError::BadDollar.to_string(),
            "'$' must be followed by a variable name, '{', '/' or '$' (write '$$' for a literal '$')"
        );
        assert_eq!(
            SubstError::Overflow { capacity: 9 }.to_string(),
            "value too long after substitution: more than 9 bytes"
        );
    }
}
