//! The proptest side of the fuzz harnesses: bounded smoke runs of a target's `run` in the normal
//! test suite. Compiled (through `#[path]`) into `core-nostd/tests/fuzz_smoke.rs` and
//! `tests/fuzz_smoke.rs` only; not part of the fuzz crate, which has no proptest.
//!
//! Each target gets three passes, one after the other in one test (the `load` and `control`
//! harnesses keep per-process state that two threads must not share):
//!
//! 1. every committed seed of `fuzz/corpus/<target>/` as it is;
//! 2. arbitrary bytes;
//! 3. mutations of the seeds, the way a fuzzer makes them: bytes flipped, set, inserted
//!    (random or from a dictionary of the tokens the parsers care about), deleted, duplicated,
//!    and pieces spliced in from another seed.
//!
//! A failure is shrunk by proptest and reported with the seed it came from.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};
use std::path::PathBuf;
use std::sync::Arc;

/// Tokens inserted by the mutator: section separators of the multi-part inputs, the syntax of
/// descriptions, substitution and environment files, and protocol lengths.
pub const DICTIONARY: &[&[u8]] = &[
    b"\n%%\n",
    b"\n",
    b"\r\n",
    b" ",
    b"=",
    b"+=",
    b": ",
    b"#",
    b"\\\n  ",
    b"\"",
    b"$",
    b"$$",
    b"${",
    b"}",
    b":-",
    b"-",
    b":+",
    b"$/",
    b"$1",
    b"${HOME}",
    b"@include f0\n",
    b"@include-opt f1\n",
    b"@meta enable-via x\n",
    b"!import HOME\n",
    b"!unset A\n",
    b"!clear\n",
    b"type = internal\n",
    b"type = process\n",
    b"command = x $1\n",
    b"depends-on: f0\n",
    b"waits-for.d: d\n",
    b"env-file = f1\n",
    b"\0",
    b"\xff\xff",
    b"\xff\xff\xff\xff",
    b"\x00\x01",
];

/// The committed seeds of `fuzz/corpus/<target>/`, by file name.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// One edit of an input.
#[derive(Clone, Debug)]
pub enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Token(Index, Index),
    Delete(Index, usize),
    Duplicate(Index, Index, usize),
    Splice(Index, Index, Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, bit)| Mutation::Flip(i, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, t)| Mutation::Token(i, t)),
        (any::<Index>(), 1usize..32).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), any::<Index>(), 1usize..32)
            .prop_map(|(from, to, n)| Mutation::Duplicate(from, to, n)),
        (any::<Index>(), any::<Index>(), any::<Index>(), 1usize..64)
            .prop_map(|(seed, from, to, n)| Mutation::Splice(seed, from, to, n)),
    ]
}

/// A position in `0..=len` (insertion points include the end).
fn at(i: &Index, len: usize) -> usize {
    i.index(len + 1)
}

/// Applies `edits` to `data`; `others` are the seeds to splice from.
pub fn apply(mut data: Vec<u8>, edits: &[Mutation], others: &[(String, Vec<u8>)]) -> Vec<u8> {
    for edit in edits {
        let len = data.len();
        match edit {
            Mutation::Flip(i, bit) if len > 0 => data[i.index(len)] ^= 1 << bit,
            Mutation::Set(i, b) if len > 0 => data[i.index(len)] = *b,
            Mutation::Insert(i, bytes) => {
                let p = at(i, len);
                data.splice(p..p, bytes.iter().copied());
            }
            Mutation::Token(i, t) => {
                let p = at(i, len);
                let token = DICTIONARY[t.index(DICTIONARY.len())];
                data.splice(p..p, token.iter().copied());
            }
            Mutation::Delete(i, n) if len > 0 => {
                let p = i.index(len);
                data.drain(p..(p + n).min(len));
            }
            Mutation::Duplicate(from, to, n) if len > 0 => {
                let p = from.index(len);
                let piece = data[p..(p + n).min(len)].to_vec();
                let q = at(to, len);
                data.splice(q..q, piece);
            }
            Mutation::Splice(seed, from, to, n) => {
                let other = &others[seed.index(others.len())].1;
                if !other.is_empty() {
                    let p = from.index(other.len());
                    let q = at(to, len);
                    data.splice(q..q, other[p..(p + n).min(other.len())].iter().copied());
                }
            }
            _ => {}
        }
    }
    data
}

/// Mutated seeds: the seed's name and the bytes.
pub fn mutated(seeds: Arc<Vec<(String, Vec<u8>)>>) -> impl Strategy<Value = (String, Vec<u8>)> {
    let n = seeds.len();
    (0..n, prop::collection::vec(mutation(), 1..8)).prop_map(move |(i, edits)| {
        let (name, data) = &seeds[i];
        (name.clone(), apply(data.clone(), &edits, &seeds))
    })
}

/// `cases` cases, no regression files, shrinking bounded in time.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        max_shrink_time: 30_000,
        ..Config::default()
    }
}

/// Runs `run` on every seed of `target`, on `random` arbitrary inputs of up to `max_len`
/// bytes, and on `mutations` mutated seeds; panics with the (shrunk) input that failed.
pub fn check(target: &str, run: fn(&[u8]), max_len: usize, random: u32, mutations: u32) {
    let seeds = Arc::new(seeds(target));
    for (name, data) in seeds.iter() {
        let result = std::panic::catch_unwind(|| run(data));
        assert!(result.is_ok(), "{target}: seed {name} fails");
    }

    let mut runner = TestRunner::new(config(random));
    let bytes = prop::collection::vec(any::<u8>(), 0..=max_len);
    if let Err(e) = runner.run(&bytes, |data| {
        run(&data);
        Ok(())
    }) {
        panic!("{target}, arbitrary bytes: {e}");
    }

    let mut runner = TestRunner::new(config(mutations));
    if let Err(e) = runner.run(&mutated(seeds), |(_, data)| {
        run(&data);
        Ok(())
    }) {
        panic!("{target}, mutated seeds: {e}");
    }
}
