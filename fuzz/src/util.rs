//! Helpers shared by the fuzz harnesses: a reader that turns fuzz bytes into structured values,
//! and splitting an input into sections.
//!
//! This file is compiled both into the fuzz crate and (through `#[path]`) into the proptest
//! smoke tests of `core-nostd/tests/fuzz_smoke.rs` and `tests/fuzz_smoke.rs`.

#![allow(dead_code)]

/// Reads values off the front of fuzz input; once it runs dry every read yields zeros, so a
/// harness never has to handle "not enough input".
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// True once every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte (0 when empty).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A little-endian `i32`.
    pub fn i32(&mut self) -> i32 {
        self.u32() as i32
    }

    /// A little-endian `i64`.
    pub fn i64(&mut self) -> i64 {
        let lo = u64::from(self.u32());
        let hi = u64::from(self.u32());
        (lo | (hi << 32)) as i64
    }

    /// A boolean from the low bit of a byte.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A byte string whose length is given by the next byte.
    pub fn short_bytes(&mut self) -> &'a [u8] {
        let n = usize::from(self.u8());
        self.bytes(n)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
}

/// The separator between the sections of a multi-part input (description files, values):
/// a line holding only `%%`.
pub const SECTION_SEPARATOR: &[u8] = b"\n%%\n";

/// Splits `data` at every [`SECTION_SEPARATOR`].
pub fn sections(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        match rest
            .windows(SECTION_SEPARATOR.len())
            .position(|w| w == SECTION_SEPARATOR)
        {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + SECTION_SEPARATOR.len()..];
            }
            None => {
                out.push(rest);
                return out;
            }
        }
    }
}

/// `(name, value)` pairs from the `NAME=VALUE` lines of `text` (anything before the first `=`
/// is the name, even if empty or odd: substitution must cope with whatever a [`Vars`] holds).
///
/// [`Vars`]: dinit_core::desc::Vars
pub fn env_pairs(text: &[u8]) -> Vec<(&[u8], &[u8])> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let eq = line.iter().position(|&b| b == b'=')?;
            Some((&line[..eq], &line[eq + 1..]))
        })
        .collect()
}
