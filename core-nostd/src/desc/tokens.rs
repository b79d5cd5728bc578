//! Command values as token lists, and the bounded writer the lexer and substitution share.
//!
//! A token list is stored as its tokens, each followed by a NUL byte: `ls\0-l\0`. That is the
//! shape `execve(2)` wants for its arguments, so the runtime can point `argv` straight into it.
//! NUL bytes cannot occur inside tokens: the lexer and substitution reject them.

use core::fmt;

/// A list of tokens (command-line arguments), each NUL-terminated in the underlying bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tokens<'a> {
    bytes: &'a [u8],
}

impl<'a> Tokens<'a> {
    /// No tokens.
    pub const EMPTY: Tokens<'static> = Tokens { bytes: &[] };

    /// Views `bytes` as a token list: it must be empty or end with a NUL byte (each token is
    /// the text before a NUL).
    pub fn from_nul_terminated(bytes: &'a [u8]) -> Option<Self> {
        match bytes.last() {
            None | Some(0) => Some(Tokens { bytes }),
            Some(_) => None,
        }
    }

    /// Built by this module's writers, which always end tokens with NUL.
    pub(crate) const fn from_writer(bytes: &'a [u8]) -> Self {
        Tokens { bytes }
    }

    /// The tokens, each followed by NUL.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Iterates over the tokens (without their NUL terminators).
    pub fn iter(&self) -> TokenIter<'a> {
        TokenIter { rest: self.bytes }
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.bytes.iter().filter(|&&b| b == 0).count()
    }

    /// True if there are no tokens.
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The first token (for a command: the program).
    pub fn first(&self) -> Option<&'a [u8]> {
        self.iter().next()
    }
}

impl<'a> IntoIterator for Tokens<'a> {
    type Item = &'a [u8];
    type IntoIter = TokenIter<'a>;
    fn into_iter(self) -> TokenIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for Tokens<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, t) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str("\"")?;
            super::error::write_escaped(f, t)?;
            f.write_str("\"")?;
        }
        f.write_str("]")
    }
}

/// Iterator over the tokens of [`Tokens`].
#[derive(Clone, Debug)]
pub struct TokenIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for TokenIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self
            .rest
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.rest.len());
        let token = self.rest.get(..end).unwrap_or(&[]);
        self.rest = self.rest.get(end.saturating_add(1)..).unwrap_or(&[]);
        Some(token)
    }
}

/// The output buffer is full.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Overflow;

/// Appends bytes to a caller-provided buffer, failing (not panicking) when it is full.
#[derive(Debug)]
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    pub fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Forgets what was written after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    pub fn push(&mut self, b: u8) -> Result<(), Overflow> {
        let slot = self.buf.get_mut(self.len).ok_or(Overflow)?;
        *slot = b;
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    pub fn extend(&mut self, bytes: &[u8]) -> Result<(), Overflow> {
        let end = self.len.checked_add(bytes.len()).ok_or(Overflow)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(Overflow)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// The written bytes, for the rest of the buffer's borrow.
    pub fn into_written(self) -> &'b mut [u8] {
        let len = self.len;
        self.buf.get_mut(..len).unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_tokens_including_empty_ones() {
        let t = Tokens::from_nul_terminated(b"ls\0\0-l\0").unwrap();
        let v: [&[u8]; 3] = [b"ls", b"", b"-l"];
        assert!(t.iter().eq(v.iter().copied()));
        assert_eq!(t.len(), 3);
        assert_eq!(t.first(), Some(&b"ls"[..]));
        assert!(Tokens::from_nul_terminated(b"ls").is_none());
        assert!(Tokens::from_nul_terminated(b"").unwrap().is_empty());
        assert_eq!(Tokens::EMPTY.iter().count(), 0);
    }

    #[test]
    fn writer_is_bounded() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.extend(b"ab"), Ok(()));
        assert_eq!(w.extend(b"cd"), Err(Overflow));
        assert_eq!(w.push(b'c'), Ok(()));
        assert_eq!(w.push(b'd'), Err(Overflow));
        assert_eq!(w.into_written(), b"abc");
    }
}
