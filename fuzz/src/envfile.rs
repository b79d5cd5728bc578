//! Harness for the environment-file format: the parser of `dinit_core::desc::envfile` and its
//! users in `dinit_hosted::environ` (the global environment, a service's `env-file` operations
//! and what they do at launch).
//!
//! Input: the whole input is an environment file. `!import` reads a fixed original
//! environment; the operations apply over a fixed global environment.
//!
//! Checks:
//!
//! * the parser never panics and always ends, resuming after each error at the next line;
//! * it agrees exactly (operations, errors, line numbers) with a small independent model of
//!   the format of dinit(8) FILES written from the module documentation;
//! * `parse_env_file` stops at the first error the iterator reports;
//! * `Environment::apply_env_file` changes nothing on error, and otherwise gives what
//!   replaying `EnvOps` gives;
//! * the launch view of the operations (`EnvOps::launch_view`: which base variables are
//!   dropped, which are set) builds the same environment as replaying them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dinit_core::desc::{is_valid_env_name, parse_env_file, DescErrorKind, EnvFileParser, EnvOp};
use dinit_hosted::environ::{EnvOps, Environment};

/// What the model expects from one line: operations, or an error.
#[derive(Debug, PartialEq, Eq)]
enum Expect<'a> {
    Op(EnvOp<'a>),
    Err(DescErrorKind),
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// The format of dinit(8) FILES, as documented in `core-nostd/src/desc/envfile.rs`, written
/// independently of it.
fn model(input: &[u8]) -> Vec<(u32, Expect<'_>)> {
    let mut out = Vec::new();
    if input.is_empty() {
        return out;
    }
    let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if input.last() == Some(&b'\n') {
        lines.pop();
    }
    for (i, raw) in lines.into_iter().enumerate() {
        let line = u32::try_from(i + 1).unwrap();
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let start = raw.iter().position(|&b| !is_blank(b)).unwrap_or(raw.len());
        let text = &raw[start..];
        if text.is_empty() || text[0] == b'#' {
            continue;
        }
        if text.contains(&0) {
            out.push((line, Expect::Err(DescErrorKind::NulByte)));
            continue;
        }
        if text[0] == b'!' {
            let mut words = text[1..].split(|&b| is_blank(b)).filter(|w| !w.is_empty());
            let command = words.next().unwrap_or(&[]);
            let names: Vec<&[u8]> = words.collect();
            // The command word must come right after `!`... or after blanks: both parse.
            match command {
                b"clear" if names.is_empty() => out.push((line, Expect::Op(EnvOp::Clear))),
                b"clear" => out.push((
                    line,
                    Expect::Err(DescErrorKind::EnvCommandArguments {
                        message: "!clear takes no arguments",
                    }),
                )),
                b"unset" | b"import" if names.is_empty() => out.push((
                    line,
                    Expect::Err(DescErrorKind::EnvCommandArguments {
                        message: if command == b"unset" {
                            "!unset requires at least one variable name"
                        } else {
                            "!import requires at least one variable name"
                        },
                    }),
                )),
                b"unset" | b"import" => {
                    for name in names {
                        if !is_valid_env_name(name) {
                            out.push((line, Expect::Err(invalid_name(name))));
                            break;
                        }
                        out.push((
                            line,
                            Expect::Op(if command == b"unset" {
                                EnvOp::Unset(name)
                            } else {
                                EnvOp::Import(name)
                            }),
                        ));
                    }
                }
                _ => out.push((
                    line,
                    Expect::Err(DescErrorKind::EnvUnknownCommand {
                        found: dinit_core::desc::Snippet::new(command),
                    }),
                )),
            }
            continue;
        }
        let Some(eq) = text.iter().position(|&b| b == b'=') else {
            out.push((line, Expect::Err(DescErrorKind::EnvMissingEquals)));
            continue;
        };
        let (name, value) = (&text[..eq], &text[eq + 1..]);
        if !is_valid_env_name(name) {
            out.push((line, Expect::Err(invalid_name(name))));
            continue;
        }
        out.push((line, Expect::Op(EnvOp::Set { name, value })));
    }
    out
}

fn invalid_name(name: &[u8]) -> DescErrorKind {
    DescErrorKind::EnvInvalidName {
        found: dinit_core::desc::Snippet::new(name),
    }
}

fn original() -> Environment {
    Environment::from_pairs([
        (&b"HOME"[..], &b"/root"[..]),
        (b"PATH", b"/usr/bin:/bin"),
        (b"LANG", b"C"),
        (b"EMPTY", b""),
    ])
}

fn base() -> Environment {
    Environment::from_pairs([
        (&b"PATH"[..], &b"/bin"[..]),
        (b"TERM", b"linux"),
        (b"A", b"1"),
        (b"HOME", b"/home/x"),
    ])
}

fn sorted(env: &Environment) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v: Vec<_> = env.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
    v.sort();
    v
}

/// Runs every check on `data`.
pub fn run(data: &[u8]) {
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    // The parser, run to the end.
    let mut got = Vec::new();
    let mut iter = EnvFileParser::new(data);
    let mut last = 0;
    for _ in 0..=2 * data.len() + 2 {
        match iter.next() {
            None => break,
            Some(Ok((line, op))) => {
                assert!(line >= last && line as usize <= lines);
                last = line;
                match op {
                    EnvOp::Set { name, value } => {
                        assert!(is_valid_env_name(name) && !value.contains(&b'\n'));
                    }
                    EnvOp::Unset(name) | EnvOp::Import(name) => {
                        assert!(is_valid_env_name(name));
                    }
                    EnvOp::Clear => {}
                }
                got.push((line, Expect::Op(op)));
            }
            Some(Err(e)) => {
                assert!(e.line >= last && e.line as usize <= lines);
                last = e.line;
                let _ = e.to_string();
                got.push((e.line, Expect::Err(e.kind)));
            }
        }
    }
    assert!(iter.next().is_none(), "the parser does not end");
    assert_eq!(got, model(data), "parser and model differ on {data:?}");

    // parse_env_file: the operations up to the first error, then that error. (The sink's
    // operations borrow only for the call: compare their printed forms.)
    let mut ops = Vec::new();
    let result = parse_env_file(data, &mut |line: u32, op: EnvOp<'_>| {
        ops.push(format!("{line} {:?}", Expect::Op(op)));
        Ok(())
    });
    let printed: Vec<String> = got.iter().map(|(l, e)| format!("{l} {e:?}")).collect();
    let first_err = got.iter().position(|(_, e)| matches!(e, Expect::Err(_)));
    match (result, first_err) {
        (Ok(()), None) => assert_eq!(ops, printed),
        (Err(e), Some(i)) => {
            assert_eq!(ops[..], printed[..i]);
            assert_eq!((e.line, Expect::Err(e.kind)), got.remove(i));
        }
        (r, i) => panic!("parse_env_file {r:?}, first error at {i:?}"),
    }

    // The hosted side.
    let original = original();
    let mut env = base();
    let applied = env.apply_env_file(data, &original);
    let parsed = EnvOps::parse(data);
    assert_eq!(applied.is_ok(), parsed.is_ok());
    let Ok(ops) = parsed else {
        assert_eq!(env, base(), "a bad file changed the environment");
        return;
    };
    let mut replayed = base();
    ops.apply_to(&mut replayed, &original);
    assert_eq!(replayed, env);

    let view = ops.launch_view(&original);
    let mut launched = if view.clear_base {
        Environment::new()
    } else {
        let mut e = base();
        for name in &view.hidden {
            e.unset(name);
        }
        e
    };
    for (i, (name, value)) in view.sets.iter().enumerate() {
        assert!(
            !view.sets[..i].iter().any(|(n, _)| n == name),
            "{name:?} set twice in the launch view"
        );
        launched.set(name, value);
    }
    assert_eq!(sorted(&launched), sorted(&env), "launch view of {data:?}");
}
