//! Field access in the machine's own byte order and C widths, as Dinit copies its integers to
//! and from the socket (PROTOCOL.md §3.2): `u16`/`u32`/`i32` everywhere, `size_t` as wide as a
//! pointer ([`SIZE_LEN`]), `struct timespec` as two C `long`s ([`TIMESPEC_LEN`]). Framing, which must cope with short buffers, reads through the
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
    array_at(buf, off).map(u16::from_ne_bytes)
}

/// The `u32` at `off`.
pub(crate) fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    array_at(buf, off).map(u32::from_ne_bytes)
}

/// The `i32` at `off`.
pub(crate) fn i32_at(buf: &[u8], off: usize) -> Option<i32> {
    array_at(buf, off).map(i32::from_ne_bytes)
}

/// The `u64` at `off`.
pub(crate) fn u64_at(buf: &[u8], off: usize) -> Option<u64> {
    array_at(buf, off).map(u64::from_ne_bytes)
}

/// The `i64` at `off`.
pub(crate) fn i64_at(buf: &[u8], off: usize) -> Option<i64> {
    array_at(buf, off).map(i64::from_ne_bytes)
}

/// A C `size_t` (`DEPENDENTS` count, `ALLENV` size) as Dinit writes it: as wide as a pointer
/// (8 bytes on 64-bit targets, 4 on 32-bit ones).
pub const SIZE_LEN: usize = core::mem::size_of::<usize>();

/// A C `long`, the type of `struct timespec`'s fields under glibc on Linux (`time_t` is a
/// `long` unless a 32-bit program is built with `_TIME_BITS=64`): as wide as a pointer.
type CLong = isize;

/// A `struct timespec` (`tv_sec`, `tv_nsec`) as Dinit writes it: two C `long`s, 16 bytes on
/// 64-bit targets, 8 on 32-bit ones.
pub const TIMESPEC_LEN: usize = core::mem::size_of::<[CLong; 2]>();

/// The `size_t` at `off`, widened.
pub(crate) fn size_at(buf: &[u8], off: usize) -> Option<u64> {
    array_at(buf, off)
        .map(usize::from_ne_bytes)
        .map(|n| n as u64)
}

/// The `struct timespec` at `off`: seconds and nanoseconds, widened.
pub(crate) fn timespec_at(buf: &[u8], off: usize) -> Option<(i64, i64)> {
    let sec = array_at(buf, off).map(CLong::from_ne_bytes)?;
    let nsec =
        array_at(buf, off.checked_add(core::mem::size_of::<CLong>())?).map(CLong::from_ne_bytes)?;
    Some((sec as i64, nsec as i64))
}

/// An integer field of a packet, in the machine's byte order.
pub(crate) trait WireField: Copy + Default {
    /// The field at `off`, or `None` if `buf` ends before it does.
    fn read_at(buf: &[u8], off: usize) -> Option<Self>;
}

macro_rules! wire_field {
    ($($ty:ty => $read:ident),+) => {
        $(impl WireField for $ty {
            fn read_at(buf: &[u8], off: usize) -> Option<Self> {
                $read(buf, off)
            }
        })+
    };
}

wire_field!(u8 => u8_at, u16 => u16_at, u32 => u32_at, i32 => i32_at, u64 => u64_at, i64 => i64_at);

impl WireField for super::StartFlags {
    fn read_at(buf: &[u8], off: usize) -> Option<Self> {
        u8_at(buf, off).map(Self::from_bits)
    }
}

impl WireField for crate::status::StatusFlags {
    fn read_at(buf: &[u8], off: usize) -> Option<Self> {
        u8_at(buf, off).map(Self::from_bits)
    }
}

/// The field at `off` of a packet whose length has been checked, so that it is there. A view's
/// getters read through this: if a caller broke that promise (an unchecked view of a short
/// buffer), debug builds stop here, release builds read zero.
pub(crate) fn read<F: WireField>(buf: &[u8], off: usize) -> F {
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
        self.bytes(&v.to_ne_bytes())
    }

    /// Appends a `u32`.
    pub(crate) fn u32(&mut self, v: u32) -> Result<(), EmitError> {
        self.bytes(&v.to_ne_bytes())
    }

    /// Appends an `i32`.
    pub(crate) fn i32(&mut self, v: i32) -> Result<(), EmitError> {
        self.bytes(&v.to_ne_bytes())
    }

    /// Appends a `size_t` ([`SIZE_LEN`] bytes); [`EmitError::TooLong`] if `v` does not fit.
    pub(crate) fn size(&mut self, v: u64) -> Result<(), EmitError> {
        let v = usize::try_from(v).map_err(|_| EmitError::TooLong)?;
        self.bytes(&v.to_ne_bytes())
    }

    /// Appends a `struct timespec` ([`TIMESPEC_LEN`] bytes). On a 32-bit target, seconds
    /// beyond its `time_t` saturate (a C program there could not have such a time at all:
    /// `stat` fails with `EOVERFLOW`).
    pub(crate) fn timespec(&mut self, sec: i64, nsec: i64) -> Result<(), EmitError> {
        let clamp =
            |v: i64| CLong::try_from(v).unwrap_or(if v < 0 { CLong::MIN } else { CLong::MAX });
        self.bytes(&clamp(sec).to_ne_bytes())?;
        self.bytes(&clamp(nsec).to_ne_bytes())
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
