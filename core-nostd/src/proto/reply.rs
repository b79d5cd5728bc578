//! Replies (daemon to client, codes 50-79; PROTOCOL.md §8), and [`DaemonPacket`], which frames and
//! parses everything a client receives: replies and information packets interleaved.
//!
//! Sizes (PROTOCOL.md §6.12): most replies are one byte; `CPVERSION` 5 and `SERVICERECORD` 7 bytes;
//! `SERVICESTATUS` and `SVCINFO` carry a status block whose size the request decides (pass
//! the [`StatusFormat`]); the rest announce their size in a length field after the code:
//!
//! | reply | header | total |
//! |---|---|---|
//! | `SVCINFO` | `3e u8:N` | 2 + status + N |
//! | `LOADER_MECH` | `40 u8:type u32:total` | total |
//! | `DEPENDENTS` | `41 size:n` | 1 + size + 4n |
//! | `SERVICENAME` | `42 00 u16:L` | 4 + L |
//! | `SERVICE_LOG` | `49 00 u32:N` | 6 + N |
//! | `SVCDSCDIR` | `4d u32:L` | 5 + L |
//! | `ALLENV` | `4e size:N` | 1 + size + N |
//!
//! `size` is a C `size_t` ([`SIZE_LEN`] bytes: 8 on 64-bit targets, 4 on 32-bit ones), and every
//! integer is in the machine's byte order, as Dinit writes them (PROTOCOL.md §3.2).
//!
//! Until the header is buffered a parser asks for the header's size; after that, for the
//! total. [`BodyReply`] lets either side handle the large bodies (logs, environments) in
//! pieces: the daemon writes a header and then the body from wherever it lives, the client
//! reads the header and then consumes the body as it arrives.

use super::codes::{LoaderMechKind, PacketClass, ReplyCode};
use super::field::{
    add, bytes_at, check_room, size_at, to_usize, u16_at, u32_at, u8_at, Writer, SIZE_LEN,
};
use super::info::Info;
use super::status::{StatusBlock, StatusFormat, StatusView};
use super::{EmitError, Handle, Malformed, ParseError, MAX_SVCINFO_NAME_LEN};
use crate::types::ServiceState;

/// Field offsets (PROTOCOL.md §8).
mod offset {
    /// The second byte: `SVCINFO`'s name length, `SERVICESTATUS`'s detail, `LOADER_MECH`'s
    /// loader type.
    pub const BYTE1: usize = 1;
    /// `CPVERSION`: the oldest compatible version.
    pub const VERSION_MIN: usize = 1;
    /// `CPVERSION`: the current version.
    pub const VERSION_CURRENT: usize = 3;
    /// `SERVICERECORD`: the state.
    pub const RECORD_STATE: usize = 1;
    /// `SERVICERECORD`: the handle.
    pub const RECORD_HANDLE: usize = 2;
    /// `SERVICERECORD`: the target state.
    pub const RECORD_TARGET: usize = 6;
    /// `SVCINFO`, `SERVICESTATUS`: the status block.
    pub const STATUS: usize = 2;
    /// `LOADER_MECH`: the total size.
    pub const LOADER_TOTAL: usize = 2;
    /// `LOADER_MECH`: the number of service directories.
    pub const LOADER_DIRS: usize = 6;
    /// `LOADER_MECH`: the length of the working directory.
    pub const LOADER_CWD_LEN: usize = 10;
    /// `DEPENDENTS`: the number of handles.
    pub const DEPENDENTS_COUNT: usize = 1;
}

/// `LOADER_MECH`: code, type, `u32` total size, `u32` directory count, `u32` cwd length.
const LOADER_MECH_HEADER: usize = 14;
/// `DEPENDENTS`: code and a `size_t` count.
const DEPENDENTS_HEADER: usize = 1 + SIZE_LEN;
/// The size of a handle on the wire.
const HANDLE_SIZE: usize = 4;

/// `Incomplete` unless `buf` has `needed` bytes.
fn need(buf: &[u8], needed: usize) -> Result<(), ParseError> {
    if buf.len() < needed {
        Err(ParseError::Incomplete { needed })
    } else {
        Ok(())
    }
}

/// A header length field as a total packet size: `header + len * unit`, checked.
fn total_from(header: usize, len: Option<u64>, unit: usize) -> Result<usize, ParseError> {
    len.and_then(to_usize)
        .and_then(|n| n.checked_mul(unit))
        .and_then(|n| add(header, n))
        .ok_or(ParseError::Malformed(Malformed::BadLength))
}

/// Finds the end of the reply at the start of `buf`.
fn frame(buf: &[u8], format: StatusFormat) -> Result<usize, ParseError> {
    use ReplyCode as R;
    let code = u8_at(buf, 0).ok_or(ParseError::Incomplete { needed: 1 })?;
    let reply = ReplyCode::from_u8(code).ok_or(Malformed::UnknownCode(code))?;
    let total = match reply {
        R::CpVersion => 5,
        R::ServiceRecord => 7,
        R::ServiceStatus => add(offset::STATUS, format.size()).ok_or(Malformed::BadLength)?,
        R::SvcInfo => {
            need(buf, 2)?;
            let n = u8_at(buf, offset::BYTE1).map(u64::from);
            total_from(
                add(offset::STATUS, format.size()).ok_or(Malformed::BadLength)?,
                n,
                1,
            )?
        }
        R::LoaderMech => {
            need(buf, 6)?;
            let total = total_from(0, u32_at(buf, offset::LOADER_TOTAL).map(u64::from), 1)?;
            if total < LOADER_MECH_HEADER {
                return Err(Malformed::BadLength.into());
            }
            total
        }
        R::Dependents => {
            need(buf, DEPENDENTS_HEADER)?;
            total_from(
                DEPENDENTS_HEADER,
                size_at(buf, offset::DEPENDENTS_COUNT),
                HANDLE_SIZE,
            )?
        }
        R::ServiceName | R::ServiceLog | R::SvcDscDir | R::AllEnv => {
            let body = match reply {
                R::ServiceName => BodyReply::ServiceName,
                R::ServiceLog => BodyReply::ServiceLog,
                R::SvcDscDir => BodyReply::SvcDscDir,
                _ => BodyReply::AllEnv,
            };
            let body_len = body.read_len(buf)?;
            add(body.header_len(), body_len).ok_or(Malformed::BadLength)?
        }
        _ => 1,
    };
    need(buf, total)?;
    Ok(total)
}

/// The handles of a `DEPENDENTS` reply: either still in wire form (after parsing) or a slice
/// (to emit). Both forms compare equal when they hold the same handles.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Handles<'a> {
    /// Little-endian `u32`s as received (a multiple of 4 bytes).
    Wire(&'a [u8]),
    /// Handles to send.
    List(&'a [Handle]),
}

impl<'a> Handles<'a> {
    /// The number of handles.
    pub fn len(&self) -> usize {
        match self {
            Self::Wire(bytes) => bytes.len() / HANDLE_SIZE,
            Self::List(list) => list.len(),
        }
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th handle.
    pub fn get(&self, i: usize) -> Option<Handle> {
        match self {
            Self::Wire(bytes) => u32_at(bytes, i.checked_mul(HANDLE_SIZE)?),
            Self::List(list) => list.get(i).copied(),
        }
    }

    /// The handles in order.
    pub fn iter(&self) -> impl Iterator<Item = Handle> + 'a {
        let this = *self;
        (0..this.len()).map_while(move |i| this.get(i))
    }
}

impl PartialEq for Handles<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Handles<'_> {}

/// The service directories of a `LOADER_MECH` reply: in wire form (after parsing; each a `u32`
/// length and that many bytes) or a slice of paths (to emit). Both forms compare equal when
/// they hold the same paths.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ServiceDirs<'a> {
    /// As received: `count` entries, validated to fill `bytes` exactly.
    Wire {
        /// Number of directories.
        count: usize,
        /// The encoded entries.
        bytes: &'a [u8],
    },
    /// Paths to send.
    List(&'a [&'a [u8]]),
}

impl<'a> ServiceDirs<'a> {
    /// Validates `count` wire entries that must fill `bytes` exactly.
    fn from_wire(count: u32, bytes: &'a [u8]) -> Result<Self, ParseError> {
        let count = to_usize(count).ok_or(Malformed::BadLength)?;
        let mut rest = bytes;
        // Each entry takes at least 4 bytes, so this loop ends after at most len/4 rounds
        // even when `count` is huge.
        for _ in 0..count {
            rest = split_entry(rest).ok_or(Malformed::BadLength)?.1;
        }
        if !rest.is_empty() {
            return Err(Malformed::BadLength.into());
        }
        Ok(Self::Wire { count, bytes })
    }

    /// The number of directories.
    pub fn len(&self) -> usize {
        match self {
            Self::Wire { count, .. } => *count,
            Self::List(list) => list.len(),
        }
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The directory paths in order.
    pub fn iter(&self) -> ServiceDirsIter<'a> {
        match *self {
            Self::Wire { count, bytes } => ServiceDirsIter::Wire {
                left: count,
                rest: bytes,
            },
            Self::List(list) => ServiceDirsIter::List(list.iter()),
        }
    }

    /// The encoded size of the entries: 4 bytes plus the path for each.
    fn wire_len(&self) -> usize {
        match self {
            Self::Wire { bytes, .. } => bytes.len(),
            Self::List(list) => list.iter().fold(0usize, |sum, dir| {
                sum.saturating_add(HANDLE_SIZE).saturating_add(dir.len())
            }),
        }
    }
}

impl PartialEq for ServiceDirs<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ServiceDirs<'_> {}

/// Splits one `u32`-length-prefixed entry off the front of `bytes`.
fn split_entry(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = to_usize(u32_at(bytes, 0)?)?;
    let rest = bytes.get(HANDLE_SIZE..)?;
    let (entry, rest) = rest.split_at_checked(len)?;
    Some((entry, rest))
}

/// Iterator over the paths of [`ServiceDirs`].
#[derive(Clone, Debug)]
pub enum ServiceDirsIter<'a> {
    /// Over wire entries.
    Wire {
        /// Entries not yet returned.
        left: usize,
        /// Their bytes.
        rest: &'a [u8],
    },
    /// Over a slice.
    List(core::slice::Iter<'a, &'a [u8]>),
}

impl<'a> Iterator for ServiceDirsIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Self::Wire { left, rest } => {
                *left = left.checked_sub(1)?;
                let (entry, tail) = split_entry(rest)?;
                *rest = tail;
                Some(entry)
            }
            Self::List(iter) => iter.next().copied(),
        }
    }
}

/// Iterator over the `NAME=VALUE` entries of an `ALLENV` body (PROTOCOL.md §7.19): the body is
/// split at each NUL and the NULs are dropped. A last entry missing its NUL is still returned.
#[derive(Clone, Debug)]
pub struct EnvEntries<'a> {
    rest: &'a [u8],
}

impl<'a> EnvEntries<'a> {
    /// The entries of `env`.
    pub const fn new(env: &'a [u8]) -> Self {
        EnvEntries { rest: env }
    }
}

impl<'a> Iterator for EnvEntries<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let mut parts = self.rest.splitn(2, |&b| b == 0);
        let entry = parts.next().unwrap_or(&[]);
        self.rest = parts.next().unwrap_or(&[]);
        Some(entry)
    }
}

/// The replies whose body is a plain byte string with its length in the header. Their bodies
/// can be large (PROTOCOL.md §4.2), so both ends may handle header and body separately.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BodyReply {
    /// `SERVICENAME`: `42 00 u16:L` and the name.
    ServiceName,
    /// `SERVICE_LOG`: `49 00 u32:N` and the log.
    ServiceLog,
    /// `SVCDSCDIR`: `4d u32:L` and the directory.
    SvcDscDir,
    /// `ALLENV`: `4e size:N` and the environment (`size`: a C `size_t`).
    AllEnv,
}

impl BodyReply {
    /// The reply code.
    pub const fn code(self) -> ReplyCode {
        match self {
            Self::ServiceName => ReplyCode::ServiceName,
            Self::ServiceLog => ReplyCode::ServiceLog,
            Self::SvcDscDir => ReplyCode::SvcDscDir,
            Self::AllEnv => ReplyCode::AllEnv,
        }
    }

    /// The header's size: 4, 6, 5 or 1 + [`SIZE_LEN`] (9 on 64-bit targets, 5 on 32-bit ones)
    /// bytes.
    pub const fn header_len(self) -> usize {
        match self {
            Self::ServiceName => 4,
            Self::ServiceLog => 6,
            Self::SvcDscDir => 5,
            Self::AllEnv => 1 + SIZE_LEN,
        }
    }

    /// The largest body the length field can announce.
    pub const fn max_body_len(self) -> u64 {
        match self {
            Self::ServiceName => u16::MAX as u64,
            Self::ServiceLog | Self::SvcDscDir => u32::MAX as u64,
            Self::AllEnv => usize::MAX as u64,
        }
    }

    /// Reads the body length from a buffer holding at least the header.
    fn read_len(self, buf: &[u8]) -> Result<usize, ParseError> {
        need(buf, self.header_len())?;
        let len = match self {
            Self::ServiceName => u16_at(buf, 2).map(u64::from),
            Self::ServiceLog => u32_at(buf, 2).map(u64::from),
            Self::SvcDscDir => u32_at(buf, 1).map(u64::from),
            Self::AllEnv => size_at(buf, 1),
        };
        total_from(0, len, 1)
    }

    /// Parses the header at the start of `buf`: which reply it is and how many body bytes
    /// follow the header. Needs only the header, not the body.
    pub fn parse_header(buf: &[u8]) -> Result<(Self, usize), ParseError> {
        let code = u8_at(buf, 0).ok_or(ParseError::Incomplete { needed: 1 })?;
        let body = match ReplyCode::from_u8(code) {
            Some(ReplyCode::ServiceName) => Self::ServiceName,
            Some(ReplyCode::ServiceLog) => Self::ServiceLog,
            Some(ReplyCode::SvcDscDir) => Self::SvcDscDir,
            Some(ReplyCode::AllEnv) => Self::AllEnv,
            _ => return Err(Malformed::UnknownCode(code).into()),
        };
        Ok((body, body.read_len(buf)?))
    }

    /// Writes the header for a body of `body_len` bytes; the body is to follow it. Returns
    /// the header's size.
    pub fn emit_header(self, body_len: usize, out: &mut [u8]) -> Result<usize, EmitError> {
        let len = u64::try_from(body_len).map_err(|_| EmitError::TooLong)?;
        if len > self.max_body_len() {
            return Err(EmitError::TooLong);
        }
        check_room(out, self.header_len())?;
        let mut w = Writer::new(out);
        w.u8(self.code() as u8)?;
        // The checks above make these conversions lossless.
        match self {
            Self::ServiceName => {
                w.u8(0)?;
                w.u16(u16::try_from(len).map_err(|_| EmitError::TooLong)?)?;
            }
            Self::ServiceLog => {
                w.u8(0)?;
                w.u32(u32::try_from(len).map_err(|_| EmitError::TooLong)?)?;
            }
            Self::SvcDscDir => w.u32(u32::try_from(len).map_err(|_| EmitError::TooLong)?)?,
            Self::AllEnv => w.size(len)?,
        }
        Ok(w.finish())
    }
}

packet_view! {
    /// A zero-copy view of the reply at the start of a buffer. It knows the status block size
    /// the request asked for.
    ///
    /// [`ReplyPacket::new_checked`] frames the reply once; the getters then cannot fail. Those
    /// of fields only some replies have return `None` for the other replies.
    pub struct ReplyPacket {
        /// The status block size of the request being answered.
        format: StatusFormat,
    }
    fields {
        /// The code byte.
        code: u8 = 0;
        /// `SERVICESTATUS`: byte 1 (1 when an `ENABLE_SERVICE_V7` found the dependency already
        /// there, else 0).
        status_detail: u8 = offset::BYTE1, when reply_code() is (ReplyCode::ServiceStatus);
        /// `LOADER_MECH`: the raw loader type byte.
        loader_kind: u8 = offset::BYTE1, when reply_code() is (ReplyCode::LoaderMech);
    }
}

impl<T: AsRef<[u8]>> ReplyPacket<T> {
    /// Frames the first reply: its total length, or what is missing or wrong.
    pub fn check_len(&self) -> Result<usize, ParseError> {
        frame(self.buffer.as_ref(), self.format)
    }

    /// The status block size this view assumes.
    pub const fn format(&self) -> StatusFormat {
        self.format
    }

    /// The reply code, if the byte is one (always, once checked).
    pub fn reply_code(&self) -> Option<ReplyCode> {
        ReplyCode::from_u8(self.code())
    }

    fn is(&self, code: ReplyCode) -> bool {
        self.reply_code() == Some(code)
    }

    /// `CPVERSION`: oldest compatible and current protocol version.
    pub fn versions(&self) -> Option<(u16, u16)> {
        self.is(ReplyCode::CpVersion).then(|| {
            (
                self.get(offset::VERSION_MIN),
                self.get(offset::VERSION_CURRENT),
            )
        })
    }

    /// `SERVICERECORD`: raw state byte, handle and raw target state byte.
    pub fn record(&self) -> Option<(u8, Handle, u8)> {
        self.is(ReplyCode::ServiceRecord).then(|| {
            (
                self.get(offset::RECORD_STATE),
                self.get(offset::RECORD_HANDLE),
                self.get(offset::RECORD_TARGET),
            )
        })
    }

    /// `SVCINFO`/`SERVICESTATUS`: the status block.
    pub fn status(&self) -> Option<StatusView<&[u8]>> {
        if !(self.is(ReplyCode::SvcInfo) || self.is(ReplyCode::ServiceStatus)) {
            return None;
        }
        let block = bytes_at(self.buffer.as_ref(), offset::STATUS, self.format.size())?;
        Some(StatusView::new_unchecked(block, self.format))
    }

    /// `SVCINFO`/`SERVICENAME`: the service name, once the whole reply is buffered.
    pub fn name(&self) -> Option<&[u8]> {
        name_of(self.buffer.as_ref(), self.format)
    }

    /// `SERVICE_LOG`, `SVCDSCDIR`, `ALLENV`: the body, once the whole reply is buffered.
    pub fn body(&self) -> Option<&[u8]> {
        body_of(self.buffer.as_ref())
    }

    /// `DEPENDENTS`: the handles, once the whole reply is buffered.
    pub fn dependents(&self) -> Option<Handles<'_>> {
        dependents_of(self.buffer.as_ref())
    }

    /// `LOADER_MECH`: the daemon's working directory and the service directories, if the
    /// packet is complete and its entries fill it exactly.
    pub fn loader_dirs(&self) -> Option<(&[u8], ServiceDirs<'_>)> {
        loader_dirs_of(self.buffer.as_ref())
    }
}

// Field readers over plain slices, so that parsing can return borrows of the buffer's own
// lifetime; the view's accessors delegate to them.

/// The first reply of `buf`, if complete, with its code.
fn framed_of(buf: &[u8], format: StatusFormat) -> Option<(ReplyCode, &[u8])> {
    let len = frame(buf, format).ok()?;
    let packet = buf.get(..len)?;
    Some((ReplyCode::from_u8(*packet.first()?)?, packet))
}

/// `SVCINFO`/`SERVICENAME`: the name.
fn name_of(buf: &[u8], format: StatusFormat) -> Option<&[u8]> {
    match framed_of(buf, format)? {
        (ReplyCode::SvcInfo, packet) => packet.get(add(offset::STATUS, format.size())?..),
        (ReplyCode::ServiceName, packet) => packet.get(BodyReply::ServiceName.header_len()..),
        _ => None,
    }
}

/// `SERVICE_LOG`, `SVCDSCDIR`, `ALLENV`: the body. (None of them has a status block, so
/// the format does not matter.)
fn body_of(buf: &[u8]) -> Option<&[u8]> {
    let (code, packet) = framed_of(buf, StatusFormat::Status10)?;
    let body = match code {
        ReplyCode::ServiceLog => BodyReply::ServiceLog,
        ReplyCode::SvcDscDir => BodyReply::SvcDscDir,
        ReplyCode::AllEnv => BodyReply::AllEnv,
        _ => return None,
    };
    packet.get(body.header_len()..)
}

/// `DEPENDENTS`: the handles.
fn dependents_of(buf: &[u8]) -> Option<Handles<'_>> {
    match framed_of(buf, StatusFormat::Status10)? {
        (ReplyCode::Dependents, packet) => packet.get(DEPENDENTS_HEADER..).map(Handles::Wire),
        _ => None,
    }
}

/// `LOADER_MECH`: the working directory and the validated service directories.
fn loader_dirs_of(buf: &[u8]) -> Option<(&[u8], ServiceDirs<'_>)> {
    let packet = match framed_of(buf, StatusFormat::Status10)? {
        (ReplyCode::LoaderMech, packet) => packet,
        _ => return None,
    };
    let count = u32_at(packet, offset::LOADER_DIRS)?;
    let cwd_len = to_usize(u32_at(packet, offset::LOADER_CWD_LEN)?)?;
    let (cwd, dirs) = packet
        .get(LOADER_MECH_HEADER..)?
        .split_at_checked(cwd_len)?;
    Some((cwd, ServiceDirs::from_wire(count, dirs).ok()?))
}

/// A reply as a value. Variable-length parts borrow from the parsed buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reply<'a> {
    /// `ACK` (50).
    Ack,
    /// `NAK` (51).
    Nak,
    /// `BADREQ` (52); the daemon closes the connection after it.
    BadReq,
    /// `OOM` (53); the daemon closes the connection after it.
    Oom,
    /// `SERVICELOADERR` (54), never sent.
    ServiceLoadErrUnused,
    /// `SERVICEOOM` (55), never sent.
    ServiceOomUnused,
    /// `SSISSUED` (56), retired.
    SsIssued,
    /// `SSREDUNDANT` (57), retired.
    SsRedundant,
    /// `CPVERSION` (58).
    CpVersion {
        /// Oldest compatible protocol version.
        min: u16,
        /// Current protocol version.
        current: u16,
    },
    /// `SERVICERECORD` (59): a service was found or loaded.
    ServiceRecord {
        /// Its current state.
        state: ServiceState,
        /// The new handle.
        handle: Handle,
        /// Its target state.
        target: ServiceState,
    },
    /// `NOSERVICE` (60).
    NoService,
    /// `ALREADYSS` (61).
    AlreadySs,
    /// `SVCINFO` (62): one service of a list.
    SvcInfo {
        /// The name, at most [`MAX_SVCINFO_NAME_LEN`] bytes.
        name: &'a [u8],
        /// Status10 for `LISTSERVICES`, status14 for `LISTSERVICES5`.
        status: StatusBlock,
    },
    /// `LISTDONE` (63).
    ListDone,
    /// `LOADER_MECH` (64), directory loading (the only mechanism).
    LoaderMech {
        /// The daemon's working directory (empty if unknown).
        cwd: &'a [u8],
        /// The service directories, as configured (possibly relative to `cwd`).
        dirs: ServiceDirs<'a>,
    },
    /// `DEPENDENTS` (65): the hard dependents that block a gentle stop, as new handles.
    Dependents {
        /// One newly allocated handle per dependent.
        handles: Handles<'a>,
    },
    /// `SERVICENAME` (66).
    ServiceName {
        /// The name (at most 65535 bytes).
        name: &'a [u8],
    },
    /// `PINNEDSTOPPED` (67).
    PinnedStopped,
    /// `PINNEDSTARTED` (68).
    PinnedStarted,
    /// `SHUTTINGDOWN` (69).
    ShuttingDown,
    /// `SERVICESTATUS` (70).
    ServiceStatus {
        /// Byte 1: for `ENABLE_SERVICE_V7`, the dependency already existed (else false).
        /// Any non-zero byte reads as true; true is sent as 1.
        dep_existed: bool,
        /// The status in the size the request asked for.
        status: StatusBlock,
    },
    /// `SERVICE_DESC_ERR` (71).
    ServiceDescErr,
    /// `SERVICE_LOAD_ERR` (72).
    ServiceLoadErr,
    /// `SERVICE_LOG` (73): the contents of a service's log buffer.
    ServiceLog {
        /// The log bytes.
        log: &'a [u8],
    },
    /// `SIGNAL_NOPID` (74).
    SignalNoPid,
    /// `SIGNAL_BADSIG` (75).
    SignalBadSig,
    /// `SIGNAL_KILLERR` (76).
    SignalKillErr,
    /// `SVCDSCDIR` (77).
    SvcDscDir {
        /// The directory the description was loaded from, as configured.
        dir: &'a [u8],
    },
    /// `ALLENV` (78).
    AllEnv {
        /// `NAME=VALUE` entries, each followed by a NUL (see [`EnvEntries`]).
        env: &'a [u8],
    },
    /// `PREACK` (79).
    PreAck,
}

impl<'a> Reply<'a> {
    /// The one-byte reply with `code`, or `None` if that reply has a payload.
    pub const fn single_byte(code: ReplyCode) -> Option<Self> {
        use ReplyCode as R;
        Some(match code {
            R::Ack => Self::Ack,
            R::Nak => Self::Nak,
            R::BadReq => Self::BadReq,
            R::Oom => Self::Oom,
            R::ServiceLoadErrUnused => Self::ServiceLoadErrUnused,
            R::ServiceOomUnused => Self::ServiceOomUnused,
            R::SsIssued => Self::SsIssued,
            R::SsRedundant => Self::SsRedundant,
            R::NoService => Self::NoService,
            R::AlreadySs => Self::AlreadySs,
            R::ListDone => Self::ListDone,
            R::PinnedStopped => Self::PinnedStopped,
            R::PinnedStarted => Self::PinnedStarted,
            R::ShuttingDown => Self::ShuttingDown,
            R::ServiceDescErr => Self::ServiceDescErr,
            R::ServiceLoadErr => Self::ServiceLoadErr,
            R::SignalNoPid => Self::SignalNoPid,
            R::SignalBadSig => Self::SignalBadSig,
            R::SignalKillErr => Self::SignalKillErr,
            R::PreAck => Self::PreAck,
            R::CpVersion
            | R::ServiceRecord
            | R::SvcInfo
            | R::LoaderMech
            | R::Dependents
            | R::ServiceName
            | R::ServiceStatus
            | R::ServiceLog
            | R::SvcDscDir
            | R::AllEnv => return None,
        })
    }

    /// The reply code.
    pub const fn code(&self) -> ReplyCode {
        use ReplyCode as R;
        match self {
            Self::Ack => R::Ack,
            Self::Nak => R::Nak,
            Self::BadReq => R::BadReq,
            Self::Oom => R::Oom,
            Self::ServiceLoadErrUnused => R::ServiceLoadErrUnused,
            Self::ServiceOomUnused => R::ServiceOomUnused,
            Self::SsIssued => R::SsIssued,
            Self::SsRedundant => R::SsRedundant,
            Self::CpVersion { .. } => R::CpVersion,
            Self::ServiceRecord { .. } => R::ServiceRecord,
            Self::NoService => R::NoService,
            Self::AlreadySs => R::AlreadySs,
            Self::SvcInfo { .. } => R::SvcInfo,
            Self::ListDone => R::ListDone,
            Self::LoaderMech { .. } => R::LoaderMech,
            Self::Dependents { .. } => R::Dependents,
            Self::ServiceName { .. } => R::ServiceName,
            Self::PinnedStopped => R::PinnedStopped,
            Self::PinnedStarted => R::PinnedStarted,
            Self::ShuttingDown => R::ShuttingDown,
            Self::ServiceStatus { .. } => R::ServiceStatus,
            Self::ServiceDescErr => R::ServiceDescErr,
            Self::ServiceLoadErr => R::ServiceLoadErr,
            Self::ServiceLog { .. } => R::ServiceLog,
            Self::SignalNoPid => R::SignalNoPid,
            Self::SignalBadSig => R::SignalBadSig,
            Self::SignalKillErr => R::SignalKillErr,
            Self::SvcDscDir { .. } => R::SvcDscDir,
            Self::AllEnv { .. } => R::AllEnv,
            Self::PreAck => R::PreAck,
        }
    }

    /// Parses the first reply of `buf`, whose status blocks (if any) have size `format`, and
    /// returns it with its length.
    pub fn parse_prefix(buf: &'a [u8], format: StatusFormat) -> Result<(Self, usize), ParseError> {
        let len = frame(buf, format)?;
        let packet = buf
            .get(..len)
            .ok_or(ParseError::Incomplete { needed: len })?;
        Ok((Self::parse_framed(packet, format)?, len))
    }

    /// Parses the reply at the start of `packet` (bytes after it are ignored).
    pub fn parse(packet: &'a [u8], format: StatusFormat) -> Result<Self, ParseError> {
        Self::parse_prefix(packet, format).map(|(reply, _)| reply)
    }

    /// Decodes exactly one framed reply: every fixed field of its code is inside `packet`.
    // A dispatch table: one arm per reply code, each a line or two.
    #[allow(clippy::too_many_lines)]
    fn parse_framed(packet: &'a [u8], format: StatusFormat) -> Result<Self, ParseError> {
        use ReplyCode as R;
        let view = ReplyPacket::new_unchecked(packet, format);
        let bad = ParseError::Malformed(Malformed::BadValue);
        // The variable parts are there once framed; were one missing, that would be a
        // malformed reply, not something to trust.
        let bad_len = ParseError::Malformed(Malformed::BadLength);
        let code = view.code();
        let code = ReplyCode::from_u8(code).ok_or(Malformed::UnknownCode(code))?;
        if let Some(reply) = Self::single_byte(code) {
            return Ok(reply);
        }
        let status_block =
            || StatusBlock::parse(packet.get(offset::STATUS..).ok_or(bad_len)?, format);
        let state = |off: usize| ServiceState::from_u8(view.get(off)).ok_or(bad);
        Ok(match code {
            R::CpVersion => Self::CpVersion {
                min: view.get(offset::VERSION_MIN),
                current: view.get(offset::VERSION_CURRENT),
            },
            R::ServiceRecord => Self::ServiceRecord {
                state: state(offset::RECORD_STATE)?,
                handle: view.get(offset::RECORD_HANDLE),
                target: state(offset::RECORD_TARGET)?,
            },
            R::SvcInfo => Self::SvcInfo {
                name: name_of(packet, format).ok_or(bad_len)?,
                status: status_block()?,
            },
            R::LoaderMech => {
                if LoaderMechKind::from_u8(view.get(offset::BYTE1)) != Some(LoaderMechKind::DirLoad)
                {
                    return Err(bad);
                }
                let (cwd, dirs) = loader_dirs_of(packet).ok_or(bad_len)?;
                Self::LoaderMech { cwd, dirs }
            }
            R::Dependents => Self::Dependents {
                handles: dependents_of(packet).ok_or(bad_len)?,
            },
            R::ServiceName => Self::ServiceName {
                name: name_of(packet, format).ok_or(bad_len)?,
            },
            R::ServiceStatus => Self::ServiceStatus {
                dep_existed: view.get::<u8>(offset::BYTE1) != 0,
                status: status_block()?,
            },
            R::ServiceLog => Self::ServiceLog {
                log: body_of(packet).ok_or(bad_len)?,
            },
            R::SvcDscDir => Self::SvcDscDir {
                dir: body_of(packet).ok_or(bad_len)?,
            },
            R::AllEnv => Self::AllEnv {
                env: body_of(packet).ok_or(bad_len)?,
            },
            // Every single-byte reply returned above.
            R::Ack
            | R::Nak
            | R::BadReq
            | R::Oom
            | R::ServiceLoadErrUnused
            | R::ServiceOomUnused
            | R::SsIssued
            | R::SsRedundant
            | R::NoService
            | R::AlreadySs
            | R::ListDone
            | R::PinnedStopped
            | R::PinnedStarted
            | R::ShuttingDown
            | R::ServiceDescErr
            | R::ServiceLoadErr
            | R::SignalNoPid
            | R::SignalBadSig
            | R::SignalKillErr
            | R::PreAck => return Err(bad),
        })
    }

    /// The reply's size in bytes (saturating at `usize::MAX` for absurd lists, which then
    /// fail to emit).
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::CpVersion { .. } => 5,
            Self::ServiceRecord { .. } => 7,
            Self::SvcInfo { name, status } => 2usize
                .saturating_add(status.buffer_len())
                .saturating_add(name.len()),
            Self::LoaderMech { cwd, dirs } => LOADER_MECH_HEADER
                .saturating_add(cwd.len())
                .saturating_add(dirs.wire_len()),
            Self::Dependents { handles } => {
                DEPENDENTS_HEADER.saturating_add(handles.len().saturating_mul(HANDLE_SIZE))
            }
            Self::ServiceStatus { status, .. } => 2usize.saturating_add(status.buffer_len()),
            Self::ServiceName { name: body }
            | Self::ServiceLog { log: body }
            | Self::SvcDscDir { dir: body }
            | Self::AllEnv { env: body } => self
                .body_kind()
                .map_or(0, BodyReply::header_len)
                .saturating_add(body.len()),
            _ => 1,
        }
    }

    /// The body of `SERVICENAME`, `SERVICE_LOG`, `SVCDSCDIR` and `ALLENV`.
    pub const fn body(&self) -> Option<&'a [u8]> {
        match *self {
            Self::ServiceName { name: body }
            | Self::ServiceLog { log: body }
            | Self::SvcDscDir { dir: body }
            | Self::AllEnv { env: body } => Some(body),
            _ => None,
        }
    }

    /// Which plain-body reply this is, if it is one.
    pub const fn body_kind(&self) -> Option<BodyReply> {
        match self {
            Self::ServiceName { .. } => Some(BodyReply::ServiceName),
            Self::ServiceLog { .. } => Some(BodyReply::ServiceLog),
            Self::SvcDscDir { .. } => Some(BodyReply::SvcDscDir),
            Self::AllEnv { .. } => Some(BodyReply::AllEnv),
            _ => None,
        }
    }

    /// Writes the reply to the start of `out` and returns its size.
    ///
    /// Fails with [`EmitError::TooLong`] for an `SVCINFO` name over
    /// [`MAX_SVCINFO_NAME_LEN`] bytes (the daemon must cut it first), a `SERVICENAME` over
    /// 65535 bytes (the daemon answers `NAK` instead), or lengths beyond their `u32` fields.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        check_room(out, len)?;
        if let (Some(kind), Some(body)) = (self.body_kind(), self.body()) {
            let header = kind.emit_header(body.len(), out)?;
            // Sliced to exactly `body.len()` so that the copy provably cannot panic.
            let dst = out
                .get_mut(header..)
                .and_then(|rest| rest.get_mut(..body.len()))
                .ok_or(EmitError::BufferTooSmall { needed: len })?;
            dst.copy_from_slice(body);
            return Ok(header.saturating_add(body.len()));
        }
        let mut w = Writer::new(out);
        match *self {
            Self::CpVersion { min, current } => {
                w.u8(self.code() as u8)?;
                w.u16(min)?;
                w.u16(current)?;
            }
            Self::ServiceRecord {
                state,
                handle,
                target,
            } => {
                w.u8(self.code() as u8)?;
                w.u8(state as u8)?;
                w.u32(handle)?;
                w.u8(target as u8)?;
            }
            Self::SvcInfo { name, status } => {
                if name.len() > MAX_SVCINFO_NAME_LEN {
                    return Err(EmitError::TooLong);
                }
                w.u8(self.code() as u8)?;
                w.u8(u8::try_from(name.len()).map_err(|_| EmitError::TooLong)?)?;
                status.write(&mut w)?;
                w.bytes(name)?;
            }
            Self::LoaderMech { cwd, dirs } => {
                let total = u32::try_from(len).map_err(|_| EmitError::TooLong)?;
                w.u8(self.code() as u8)?;
                w.u8(LoaderMechKind::DirLoad as u8)?;
                w.u32(total)?;
                w.u32(u32::try_from(dirs.len()).map_err(|_| EmitError::TooLong)?)?;
                w.u32(u32::try_from(cwd.len()).map_err(|_| EmitError::TooLong)?)?;
                w.bytes(cwd)?;
                for dir in dirs.iter() {
                    w.u32(u32::try_from(dir.len()).map_err(|_| EmitError::TooLong)?)?;
                    w.bytes(dir)?;
                }
            }
            Self::Dependents { handles } => {
                w.u8(self.code() as u8)?;
                w.size(u64::try_from(handles.len()).map_err(|_| EmitError::TooLong)?)?;
                for handle in handles.iter() {
                    w.u32(handle)?;
                }
            }
            Self::ServiceStatus {
                dep_existed,
                status,
            } => {
                w.u8(self.code() as u8)?;
                w.u8(u8::from(dep_existed))?;
                status.write(&mut w)?;
            }
            // Plain-body replies were written above; the rest are one byte.
            _ => w.u8(self.code() as u8)?,
        }
        Ok(w.finish())
    }
}

/// Anything a client receives: a reply or an information packet (PROTOCOL.md §3.1, §4.4:
/// information packets may come between any two replies, even before the reply to the
/// request that caused them).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DaemonPacket<'a> {
    /// A reply (codes 50-79).
    Reply(Reply<'a>),
    /// An information packet (codes 100-255).
    Info(Info<'a>),
}

impl<'a> DaemonPacket<'a> {
    /// Frames the first packet of `buf`: its length, or what is missing or wrong. A client
    /// can skip a framed information packet it cannot decode.
    pub fn frame(buf: &[u8], format: StatusFormat) -> Result<usize, ParseError> {
        let code = u8_at(buf, 0).ok_or(ParseError::Incomplete { needed: 1 })?;
        match PacketClass::of(code) {
            PacketClass::Reply => frame(buf, format),
            PacketClass::Info => super::info::frame(buf),
            PacketClass::Request | PacketClass::Invalid => Err(Malformed::UnknownCode(code).into()),
        }
    }

    /// Parses the first packet of `buf` and returns it with its length. `format` is the
    /// status block size of the request being answered (see
    /// [`super::Command::reply_status_format`]); it does not matter for other replies.
    pub fn parse_prefix(buf: &'a [u8], format: StatusFormat) -> Result<(Self, usize), ParseError> {
        let code = u8_at(buf, 0).ok_or(ParseError::Incomplete { needed: 1 })?;
        match PacketClass::of(code) {
            PacketClass::Reply => {
                Reply::parse_prefix(buf, format).map(|(r, len)| (Self::Reply(r), len))
            }
            PacketClass::Info => Info::parse_prefix(buf).map(|(i, len)| (Self::Info(i), len)),
            PacketClass::Request | PacketClass::Invalid => Err(Malformed::UnknownCode(code).into()),
        }
    }

    /// The packet's size in bytes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Reply(r) => r.buffer_len(),
            Self::Info(i) => i.buffer_len(),
        }
    }

    /// Writes the packet to the start of `out` and returns its size.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        match self {
            Self::Reply(r) => r.emit(out),
            Self::Info(i) => i.emit(out),
        }
    }
}
