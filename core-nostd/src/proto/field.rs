//! Checked little-endian field access: every read returns `None` instead of panicking when the
//! buffer is short, and the [`Writer`] refuses to run past the end of its buffer.

use super::EmitError;

/// `N` bytes starting at `off`, copied out.
fn array_at<const N: usize>(buf: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    buf.get(off..end)?.try_into().ok()
}

/// The byte at `off`.
pub(crate) fn u8_at(buf: &[u8], off: usize) -> Option<u8> {
    buf.get(off).copied()
}

/// The `u16` at `off`.
pub(crate) fn u16_at(buf: &[u8], off: usize) -> Option<u16> {
    array_at(buf, off).map(u16::from_le_bytes)
}

/// The `u32` at `off`.
pub(crate) fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    array_at(buf, off).map(u32::from_le_bytes)
}

/// The `i32` at `off`.
pub(crate) fn i32_at(buf: &[u8], off: usize) -> Option<i32> {
    array_at(buf, off).map(i32::from_le_bytes)
}

/// The `u64` at `off`.
pub(crate) fn u64_at(buf: &[u8], off: usize) -> Option<u64> {
    array_at(buf, off).map(u64::from_le_bytes)
}

/// The `i64` at `off`.
pub(crate) fn i64_at(buf: &[u8], off: usize) -> Option<i64> {
    array_at(buf, off).map(i64::from_le_bytes)
}

/// `len` bytes starting at `off`.
pub(crate) fn bytes_at(buf: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    buf.get(off..off.checked_add(len)?)
}

/// `a + b`, or `None` on overflow.
pub(crate) fn add(a: usize, b: usize) -> Option<usize> {
    a.checked_add(b)
}

/// A wire length or count as a `usize`, or `None` if it does not fit (32-bit targets).
pub(crate) fn to_usize<N: TryInto<usize>>(n: N) -> Option<usize> {
    n.try_into().ok()
}

/// A cursor that appends fields to an output buffer. Emitters check the buffer size before
/// writing, so its errors are a second line of defence, not a code path.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Appends raw bytes.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), EmitError> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(EmitError::TooLong)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(EmitError::BufferTooSmall { needed: end })?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Appends a byte.
    pub(crate) fn u8(&mut self, v: u8) -> Result<(), EmitError> {
        self.bytes(&[v])
    }

    /// Appends a `u16`.
    pub(crate) fn u16(&mut self, v: u16) -> Result<(), EmitError> {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a `u32`.
    pub(crate) fn u32(&mut self, v: u32) -> Result<(), EmitError> {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends an `i32`.
    pub(crate) fn i32(&mut self, v: i32) -> Result<(), EmitError> {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a `u64`.
    pub(crate) fn u64(&mut self, v: u64) -> Result<(), EmitError> {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends an `i64`.
    pub(crate) fn i64(&mut self, v: i64) -> Result<(), EmitError> {
        self.bytes(&v.to_le_bytes())
    }

    /// Bytes written so far.
    pub(crate) fn finish(self) -> usize {
        self.pos
    }
}

/// Fails with [`EmitError::BufferTooSmall`] unless `out` can hold `needed` bytes.
pub(crate) fn check_room(out: &[u8], needed: usize) -> Result<(), EmitError> {
    if out.len() < needed {
        Err(EmitError::BufferTooSmall { needed })
    } else {
        Ok(())
    }
}
