//! Little-endian field access. Framing, which must cope with short buffers, reads through the
//! checked functions (`u8_at`, `u32_at`, ...) that return `None` past the end; the views'
//! getters, which run on packets already framed, read through the infallible [`read`]; the
//! [`Writer`] refuses to run past the end of its buffer.

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

/// A little-endian integer field of a packet.
pub(crate) trait LeField: Copy + Default {
    /// The field at `off`, or `None` if `buf` ends before it does.
    fn read_at(buf: &[u8], off: usize) -> Option<Self>;
}

macro_rules! le_field {
    ($($ty:ty => $read:ident),+) => {
        $(impl LeField for $ty {
            fn read_at(buf: &[u8], off: usize) -> Option<Self> {
                $read(buf, off)
            }
        })+
    };
}

le_field!(u8 => u8_at, u16 => u16_at, u32 => u32_at, i32 => i32_at, u64 => u64_at, i64 => i64_at);

impl LeField for super::StartFlags {
    fn read_at(buf: &[u8], off: usize) -> Option<Self> {
        u8_at(buf, off).map(Self::from_bits)
    }
}

impl LeField for crate::status::StatusFlags {
    fn read_at(buf: &[u8], off: usize) -> Option<Self> {
        u8_at(buf, off).map(Self::from_bits)
    }
}

/// The field at `off` of a packet whose length has been checked, so that it is there. A view's
/// getters read through this: if a caller broke that promise (an unchecked view of a short
/// buffer), debug builds stop here, release builds read zero.
pub(crate) fn read<F: LeField>(buf: &[u8], off: usize) -> F {
    let field = F::read_at(buf, off);
    debug_assert!(
        field.is_some(),
        "a packet view read a field at offset {off} of a {}-byte buffer: check its length first",
        buf.len()
    );
    field.unwrap_or_default()
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
