//! Harness for the environment-file format: the parser of `dinit_core::desc::envfile` and its
//! users in `dinit_hosted::environ` (the global environment, a service's `env-file` operations
//! and what they do at launch).
//!
//! Input: the whole input is an environment file. `!import` reads a fixed original
//! environment; the operations apply over a fixed global environment.
//!
//! Checks:
//!
//! * the parser never panics and always ends;
//! * it agrees exactly (operations, skipped lines, line numbers) with a small independent
//!   model of the format (Dinit's rules, as `core-nostd/src/desc/envfile.rs` documents them);
//! * `Environment::apply_env_file` reports the skipped lines and gives what replaying
//!   `EnvOps` gives;
//! * the launch view of the operations (`EnvOps::launch_view`: which base variables are
//!   dropped, which are set) builds the same environment as replaying them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dinit_core::desc::{EnvFileParser, EnvLine, EnvOp};
use dinit_hosted::environ::{EnvOps, Environment, SkippedLine};

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The format, written independently of the parser.
fn model(input: &[u8]) -> Vec<(u32, EnvLine<'_>)> {
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
        let start = raw.iter().position(|&b| !is_space(b)).unwrap_or(raw.len());
        let text = &raw[start..];
        match text.first() {
            None | Some(b'#') => continue,
            Some(b'=') => {
                out.push((line, EnvLine::InvalidSetting));
                continue;
            }
            Some(b'!') => {
                // The command is the next byte and what follows up to white space.
                let rest = &text[1..];
                let end = if rest.is_empty() {
                    0
                } else {
                    1 + rest[1..]
                        .iter()
                        .position(|&b| is_space(b))
                        .unwrap_or(rest.len() - 1)
                };
                let names = rest[end..]
                    .split(|&b| is_space(b))
                    .filter(|w| !w.is_empty());
                match &rest[..end] {
                    b"clear" => out.push((line, EnvLine::Op(EnvOp::Clear))),
                    b"unset" => out.extend(names.map(|n| (line, EnvLine::Op(EnvOp::Unset(n))))),
                    b"import" => {
                        out.extend(names.map(|n| (line, EnvLine::Op(EnvOp::Import(n)))));
                    }
                    _ => out.push((line, EnvLine::BadCommand)),
                }
                continue;
            }
            Some(_) => {}
        }
        let name_end = text
            .iter()
            .position(|&b| b == b'=' || is_space(b))
            .unwrap_or(text.len());
        let after = &text[name_end..];
        let after = &after[after
            .iter()
            .position(|&b| !is_space(b))
            .unwrap_or(after.len())..];
        match after.split_first() {
            Some((b'=', value)) => out.push((
                line,
                EnvLine::Op(EnvOp::Set {
                    name: &text[..name_end],
                    value,
                }),
            )),
            _ => out.push((line, EnvLine::InvalidSetting)),
        }
    }
    out
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
            Some((line, item)) => {
                assert!(line >= last && line as usize <= lines);
                last = line;
                if let EnvLine::Op(EnvOp::Set { value, .. }) = item {
                    assert!(!value.contains(&b'\n'));
                }
                got.push((line, item));
            }
        }
    }
    assert!(iter.next().is_none(), "the parser does not end");
    assert_eq!(got, model(data), "parser and model differ on {data:?}");

    // The hosted side.
    let original = original();
    let mut env = base();
    let skipped = env.apply_env_file(data, &original);
    let expected: Vec<SkippedLine> = got
        .iter()
        .filter_map(|(line, item)| match item {
            EnvLine::Op(_) => None,
            EnvLine::InvalidSetting => Some(SkippedLine {
                line: *line,
                bad_command: false,
            }),
            EnvLine::BadCommand => Some(SkippedLine {
                line: *line,
                bad_command: true,
            }),
        })
        .collect();
    assert_eq!(skipped, expected);
    let ops = EnvOps::parse(data);
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
