//! Harness for variable substitution (`dinit_core::desc::{expand_value, expand_command,
//! check_syntax, uses_substitution}`) with arbitrary environments.
//!
//! Input: sections separated by a `%%` line ([`crate::util::sections`]). The first section is
//! the environment: an optional first line `@ARG` giving the service argument (`$1`), then
//! `NAME=VALUE` lines, split into two layers of a [`Chain`] at a line `--`. Every other
//! section is a value, expanded as a single string and, split at spaces, as a command.
//!
//! Checks, on each value:
//!
//! * syntax errors are exactly those of `check_syntax`, whatever the environment; the only
//!   other error is `$1` or `${1}` when there is no service argument;
//! * an expansion that fits in `n` bytes succeeds identically in a buffer of exactly `n`
//!   bytes and overflows in `n - 1`;
//! * a value without substitution expands to itself with `$$` turned into `$`;
//! * a command's arguments are those of expanding each token as a single string, when no
//!   token uses `$/`; with `$/`, the bytes are the same apart from white space.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::util::sections;
use dinit_core::desc::{
    check_syntax, expand_command, expand_value, uses_substitution, Chain, SubstEnv, SubstError,
    Tokens,
};

/// Output buffer for "unbounded" expansions.
const BIG: usize = 1 << 16;

type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Splits the environment section into the service argument and two variable layers.
pub fn environment(text: &[u8]) -> (Option<&[u8]>, Pairs<'_>, Pairs<'_>) {
    let mut lines = text.split(|&b| b == b'\n').peekable();
    let arg = match lines.peek() {
        Some(l) if l.first() == Some(&b'@') => {
            let a = &l[1..];
            lines.next();
            Some(a)
        }
        _ => None,
    };
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let mut layer = &mut first;
    for line in lines {
        if line == b"--" {
            layer = &mut second;
            continue;
        }
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            layer.push((&line[..eq], &line[eq + 1..]));
        }
    }
    (arg, first, second)
}

/// Runs every check on `data`.
pub fn run(data: &[u8]) {
    let parts = sections(data);
    let (arg, first, second) = environment(parts[0]);
    let chain = Chain(first.as_slice(), second.as_slice());
    let env = SubstEnv::new(&chain, arg);
    for value in &parts[1..] {
        check_value(value, &env);
        let mut tokens = Vec::with_capacity(value.len() + 1);
        for t in value.split(|&b| b == b' ' || b == 0) {
            tokens.extend_from_slice(t);
            tokens.push(0);
        }
        check_command(Tokens::from_nul_terminated(&tokens).unwrap(), &env);
    }
}

fn is_syntax_error(e: SubstError) -> bool {
    !matches!(
        e,
        SubstError::Overflow { .. } | SubstError::NulInValue | SubstError::MissingArgument
    )
}

/// `value` with every `$$` turned into `$`: what a value without substitution expands to.
fn unescaped(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        out.push(value[i]);
        i += if value[i] == b'$' && value.get(i + 1) == Some(&b'$') {
            2
        } else {
            1
        };
    }
    out
}

/// Whether `token` may contain a `$/` reference (an over-approximation: the word of
/// `${NAME:-word}` is not itself expanded, but is scanned here).
fn may_split(token: &[u8]) -> bool {
    let mut i = 0;
    while i < token.len() {
        if token[i] == b'$' {
            match token.get(i + 1) {
                Some(b'$') => i += 2,
                Some(b'/') => return true,
                _ => i += 1,
            }
        } else {
            i += 1;
        }
    }
    false
}

fn without_space(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0))
        .collect()
}

/// Checks one single-string value; returns its expansion when it fits in [`BIG`].
pub fn check_value(value: &[u8], env: &SubstEnv<'_>) -> Option<Vec<u8>> {
    let syntax = check_syntax(value);
    let uses = uses_substitution(value);
    let mut big = vec![0u8; BIG];
    let result = expand_value(value, env, &mut big).map(<[u8]>::to_vec);
    match (&result, syntax) {
        (Err(SubstError::Overflow { capacity }), _) => {
            assert_eq!(*capacity, BIG);
            return None;
        }
        (Err(SubstError::MissingArgument), _) if env.arg().is_none() => return None,
        (Err(e), Err(s)) => assert_eq!(*e, s, "{value:?}"),
        (Err(e), Ok(())) => panic!("{value:?}: {e:?} but the syntax is fine"),
        (Ok(_), Err(s)) => panic!("{value:?} expanded despite {s:?}"),
        (Ok(_), Ok(())) => {}
    }
    let out = result.ok()?;
    // Exactly sized buffers.
    let mut exact = vec![0u8; out.len()];
    assert_eq!(
        expand_value(value, env, &mut exact).map(<[u8]>::to_vec),
        Ok(out.clone())
    );
    if !out.is_empty() {
        let mut short = vec![0u8; out.len() - 1];
        assert_eq!(
            expand_value(value, env, &mut short),
            Err(SubstError::Overflow {
                capacity: out.len() - 1
            })
        );
    }
    if !uses {
        assert_eq!(out, unescaped(value), "{value:?} has no substitution");
        let mut other = vec![0u8; BIG];
        assert_eq!(
            expand_value(value, &SubstEnv::EMPTY, &mut other).map(<[u8]>::to_vec),
            Ok(out.clone())
        );
    }
    Some(out)
}

/// Checks one command (a token list).
pub fn check_command(tokens: Tokens<'_>, env: &SubstEnv<'_>) {
    let mut big = vec![0u8; BIG];
    let result = expand_command(tokens, env, &mut big);
    let first_syntax_error = tokens.iter().find_map(|t| check_syntax(t).err());
    match result {
        Err(SubstError::Overflow { capacity }) => {
            assert_eq!(capacity, BIG);
            return;
        }
        Err(SubstError::NulInValue) => return,
        Err(SubstError::MissingArgument) => {
            assert!(env.arg().is_none(), "{tokens:?}: missing argument with one");
            return;
        }
        Err(e) => {
            assert!(is_syntax_error(e));
            assert!(
                tokens.iter().any(|t| check_syntax(t) == Err(e)),
                "{tokens:?}: {e:?} is no token's syntax error"
            );
            return;
        }
        Ok(_) => assert_eq!(first_syntax_error, None, "{tokens:?} expanded"),
    }
    let out = result.unwrap();
    let out_bytes = out.as_bytes().to_vec();
    // Each input token as a single string.
    let mut singles = Vec::new();
    for t in tokens.iter() {
        let mut buf = vec![0u8; BIG];
        match expand_value(t, env, &mut buf) {
            Ok(v) => singles.push(v.to_vec()),
            Err(SubstError::Overflow { .. }) => return,
            Err(e) => panic!("{t:?}: {e:?} as a value, fine as a command"),
        }
    }
    if !tokens.iter().any(may_split) {
        let args: Vec<&[u8]> = out.iter().collect();
        assert_eq!(args.len(), singles.len(), "{tokens:?} -> {out:?}");
        for (a, s) in args.iter().zip(&singles) {
            assert_eq!(a, s);
        }
    }
    assert_eq!(
        without_space(&out_bytes),
        without_space(&singles.concat()),
        "{tokens:?} -> {out:?}"
    );
    // Exactly sized buffers.
    let mut exact = vec![0u8; out_bytes.len()];
    assert_eq!(
        expand_command(tokens, env, &mut exact).map(|t| t.as_bytes().to_vec()),
        Ok(out_bytes.clone())
    );
    if !out_bytes.is_empty() {
        let mut short = vec![0u8; out_bytes.len() - 1];
        assert_eq!(
            expand_command(tokens, env, &mut short).map(|t| t.as_bytes().to_vec()),
            Err(SubstError::Overflow {
                capacity: out_bytes.len() - 1
            })
        );
    }
}
