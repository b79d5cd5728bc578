//! The control-protocol codec: every packet Dinit's control socket carries, in both directions,
//! without allocation and without panics.
//!
//! The wire format is described in the project's docs/PROTOCOL.md (cited below as "PROTOCOL.md
//! §N"). It has no generic length prefix: the first byte of a packet names it and decides how many
//! bytes follow (PROTOCOL.md §3.1). Requests (codes 0-29) go from a client to the daemon; replies
//! (50-79) and information packets (100 and up) come back. Integers are in the machine's own byte
//! order and C widths, as Dinit copies them from memory (PROTOCOL.md §3.2): handles are `u32`,
//! pids and signals `i32`, a `size_t` is as wide as a pointer ([`SIZE_LEN`]: 8 bytes on 64-bit
//! targets, 4 on 32-bit ones) and a `timespec` two C `long`s ([`TIMESPEC_LEN`]: 16 or 8 bytes).
//! A client and a daemon on the same machine therefore agree, as Dinit's do; the bytes differ
//! between a little-endian and a big-endian machine, or a 64-bit and a 32-bit one.
//!
//! # Shape
//!
//! The module follows the pattern of smoltcp's `wire` module, in three layers:
//!
//! * **Framing** finds where the first packet of a receive buffer ends, without decoding it:
//!   [`RequestPacket::check_len`], [`ReplyPacket::check_len`], [`InfoPacket::check_len`] and
//!   [`DaemonPacket::frame`]. This is what makes a byte stream with pipelined or split packets
//!   work (PROTOCOL.md §4.1).
//! * **Views** ([`RequestPacket`], [`ReplyPacket`], [`InfoPacket`], [`StatusView`]) wrap any
//!   `T: AsRef<[u8]>` and read fields in place. `new_checked` frames the packet once; after
//!   that the getters cannot fail: a field every packet of the kind has comes back as a plain
//!   value, a field only some packets have as an `Option` that is `None` for the others. (On
//!   an unchecked view of a short buffer they read zeros rather than panic; debug builds
//!   assert.) One macro, `packet_view!`, makes all four.
//! * **Reprs** ([`Request`], [`Reply`], [`Info`], [`StatusBlock`]) are plain values: `parse`
//!   frames a packet, reads its fields through the view, validates them and borrows the
//!   variable-length parts (names, environment, logs) from the buffer, `emit` writes one into
//!   a `&mut [u8]` and returns its length, and `buffer_len` says how long it will be.
//!
//! The numbers (codes, states, reasons, stages, events, kinds) are enums made by
//! `wire_enum!`, each with its `from_u8` beside its discriminants.
//!
//! # Streaming
//!
//! Every parser takes the bytes received so far and answers in one of three ways:
//!
//! * `Ok((repr, len))`: the first `len` bytes hold a whole packet; the next packet, if any,
//!   starts at `len`.
//! * [`ParseError::Incomplete`]`{ needed }`: the buffer holds the beginning of a packet; wait
//!   until at least `needed` bytes (counted from the packet's first byte) are buffered and try
//!   again. `needed` is exact once the packet's length field has arrived, so a client can size
//!   its buffer for the large replies (`ALLENV`, `SERVICE_LOG`, ...) whose length only their
//!   header gives. The documented minimum waits are kept: FIND/LOAD/SETENV ask for 4 bytes
//!   before their length is judged (PROTOCOL.md §4.1, §10 item 10).
//! * [`ParseError::Malformed`]: the bytes cannot be a valid packet. For requests this is exactly
//!   the set of inputs the daemon answers with `BADREQ` and a close (PROTOCOL.md §4.3), except the
//!   checks that need the daemon's state (unknown handles, a dependency on itself).
//!
//! Replies carrying a status block need to know its size, which only the request says (PROTOCOL.md
//! §7.5, §7.13): the client passes the [`StatusFormat`] of its last status request, which
//! [`Command::reply_status_format`] gives.
//!
//! # The status block
//!
//! [`StatusBlock`] converts between the three wire sizes of PROTOCOL.md §3.3 (status10, status14,
//! status30) and [`crate::ServiceStatus`]; the file modification time of status30 travels
//! beside it as a [`Timespec`]. The smaller blocks cannot carry everything a `ServiceStatus`
//! holds; [`StatusBlock::normalized`] says exactly what survives a round trip.

mod field;

pub mod codes;
pub mod info;
pub mod reply;
pub mod request;
pub mod status;

pub use codes::{
    Command, InfoCode, LoaderMechKind, PacketClass, ReplyCode, StartFlags, WIRE_DEP_KINDS,
};
pub use field::{SIZE_LEN, TIMESPEC_LEN};
pub use info::{emit_service_event_pair, Info, InfoPacket, SERVICE_EVENT_PAIR_LEN};
pub use reply::{
    BodyReply, DaemonPacket, EnvEntries, Handles, Reply, ReplyPacket, ServiceDirs, ServiceDirsIter,
};
pub use request::{Request, RequestPacket};
pub use status::{StatusBlock, StatusFormat, StatusView, Timespec, LEGACY_FAILURE};

/// A per-connection service handle (PROTOCOL.md §4.5): a `u32` the daemon hands out in
/// `SERVICERECORD` and `DEPENDENTS` replies.
pub type Handle = u32;

/// The oldest protocol version the daemon is compatible with (PROTOCOL.md §5).
pub const PROTOCOL_VERSION_MIN: u16 = 1;

/// The protocol version this codec speaks in full (PROTOCOL.md §5).
pub const PROTOCOL_VERSION: u16 = 7;

/// The largest request: the daemon's per-connection receive buffer (PROTOCOL.md §4.1, §4.2).
pub const MAX_REQUEST_LEN: usize = 1024;

/// The longest service name in FIND/LOAD and environment string in SETENV (PROTOCOL.md §4.2):
/// [`MAX_REQUEST_LEN`] minus the 3-byte header.
pub const MAX_NAME_LEN: usize = 1021;

/// The longest name an `SVCINFO` reply can carry: its length field is one byte (PROTOCOL.md §4.2,
/// §10 item 13). Longer names must be cut to this by the daemon before emitting.
pub const MAX_SVCINFO_NAME_LEN: usize = 255;

/// How many bytes FIND/LOAD/SETENV need before their length field is judged (PROTOCOL.md §4.1):
/// the 3-byte header plus one byte, the least a valid string can have.
pub const MIN_STRING_REQUEST_LEN: usize = 4;

/// Why bytes could not be parsed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParseError {
    /// The buffer holds only the start of a packet. At least `needed` bytes, counted from the
    /// packet's first byte, must be buffered before parsing can make progress; once the
    /// packet's length field has arrived, `needed` is its exact total size. Always greater
    /// than the number of bytes given.
    Incomplete {
        /// Total bytes the packet needs (a lower bound until its length field is known).
        needed: usize,
    },
    /// The bytes are not a valid packet. On the daemon's side every malformed request is
    /// answered with `BADREQ` and the connection is closed (PROTOCOL.md §4.3).
    Malformed(Malformed),
}

impl ParseError {
    /// True for [`ParseError::Incomplete`]: wait for more bytes.
    pub const fn is_incomplete(self) -> bool {
        matches!(self, Self::Incomplete { .. })
    }
}

impl From<Malformed> for ParseError {
    fn from(m: Malformed) -> Self {
        Self::Malformed(m)
    }
}

/// What exactly is wrong with a malformed packet.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Malformed {
    /// The first byte is not a code of the expected packet class (PROTOCOL.md §3.1). A request
    /// stream containing 30-255 (info codes included) is answered with `BADREQ`.
    UnknownCode(u8),
    /// A length field is out of range: a FIND/LOAD/SETENV string of 0 or more than
    /// [`MAX_NAME_LEN`] bytes, or a reply/info length that contradicts the packet's layout
    /// or does not fit in memory.
    BadLength,
    /// A FIND/LOAD service name starts with `.` or `@` (PROTOCOL.md §4.2).
    BadServiceName,
    /// A SETENV string starts with `=` (PROTOCOL.md §7.12).
    BadEnvString,
    /// A SHUTDOWN type outside 1..=6 (PROTOCOL.md §6.5).
    BadShutdownKind(u8),
    /// A dependency type other than 0, 2 or 3 in ADD_DEP/REM_DEP/ENABLE* (PROTOCOL.md §6.6). Unlike
    /// the stock daemon we do not carry out such a request (PROTOCOL.md §10 item 8).
    BadDepKind(u8),
    /// A reserved byte that must be zero is not (GETALLENV, PROTOCOL.md §7.19).
    ReservedNotZero,
    /// A field of a reply or information packet holds a value its type does not have: a
    /// service state, stop reason, exec stage, event code, loader type, or a missing NUL.
    BadValue,
}

/// Why a repr could not be emitted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EmitError {
    /// The output buffer is shorter than the packet, which needs `needed` bytes.
    BufferTooSmall {
        /// The packet's size.
        needed: usize,
    },
    /// A string or list is longer than its length field (or the protocol's limit) allows.
    TooLong,
    /// A field holds a value the protocol does not accept on the wire: an empty or
    /// dot/at-prefixed service name, an empty or `=`-prefixed SETENV string, a dependency type
    /// other than 0/2/3, an info code below 103 for [`Info::Other`].
    InvalidField,
}

// Tests read as scenarios, whatever their length. The vectors of `tests` are Dinit's bytes as
// captured on x86_64: they hold on 64-bit little-endian targets only; `native_tests` checks the
// layout on every target from the target's own representation of each C type.
#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod tests;

#[cfg(test)]
mod native_tests;
