//! Information packets (daemon to client, codes 100 and up; PROTOCOL.md §9).
//!
//! Byte 1 of an information packet is its total length, so a client can skip ones it does not
//! know, except `ENVEVENT`, whose byte 1 is the length of its 5-byte header only and whose
//! data length is the `u16` at offset 3 (PROTOCOL.md §9.3, §10 item 6).
//!
//! For every service event the daemon sends, per handle, `SERVICEEVENT5` then `SERVICEEVENT`
//! (PROTOCOL.md §9.2, §10 items 2 and 25); [`emit_service_event_pair`] writes the pair.

use super::codes::InfoCode;
use super::field::{bytes_at, check_room, u16_at, u8_at, Writer};
use super::status::{StatusBlock, StatusFormat, StatusView};
use super::{EmitError, Handle, Malformed, ParseError};
use crate::status::ServiceStatus;
use crate::types::ServiceEvent;

/// `SERVICEEVENT` without a status, as very old daemons sent it.
const SERVICE_EVENT_SHORT_LEN: usize = 7;
/// `SERVICEEVENT` with its status10.
const SERVICE_EVENT_LEN: usize = 17;
/// `SERVICEEVENT5` with its status14.
const SERVICE_EVENT5_LEN: usize = 21;
/// Field offsets (PROTOCOL.md §9).
mod offset {
    /// Byte 1: the total length (`ENVEVENT`: of the header).
    pub const LENGTH: usize = 1;
    /// Service events: the handle.
    pub const HANDLE: usize = 2;
    /// Service events: the event code.
    pub const EVENT: usize = 6;
    /// Service events: the status block.
    pub const STATUS: usize = 7;
    /// `ENVEVENT`: the flags byte.
    pub const ENV_FLAGS: usize = 2;
    /// `ENVEVENT`: the `u16` data length.
    pub const ENV_DATA_LEN: usize = 3;
}
/// The size of `ENVEVENT`'s header, which is also the value of its byte 1.
const ENV_EVENT_HEADER: u8 = 5;

/// The size of a `SERVICEEVENT5` + `SERVICEEVENT` pair.
pub const SERVICE_EVENT_PAIR_LEN: usize = SERVICE_EVENT5_LEN + SERVICE_EVENT_LEN;

/// `Incomplete` unless `buf` has `needed` bytes.
fn need(buf: &[u8], needed: usize) -> Result<(), ParseError> {
    if buf.len() < needed {
        Err(ParseError::Incomplete { needed })
    } else {
        Ok(())
    }
}

/// Finds the end of the information packet at the start of `buf`.
pub(crate) fn frame(buf: &[u8]) -> Result<usize, ParseError> {
    let code = u8_at(buf, 0).ok_or(ParseError::Incomplete { needed: 1 })?;
    if code < 100 {
        return Err(Malformed::UnknownCode(code).into());
    }
    let total = if code == InfoCode::EnvEvent as u8 {
        need(buf, usize::from(ENV_EVENT_HEADER))?;
        if u8_at(buf, offset::LENGTH) != Some(ENV_EVENT_HEADER) {
            return Err(Malformed::BadLength.into());
        }
        let data = u16_at(buf, offset::ENV_DATA_LEN).ok_or(Malformed::BadLength)?;
        usize::from(ENV_EVENT_HEADER).saturating_add(usize::from(data))
    } else {
        need(buf, 2)?;
        let len = usize::from(u8_at(buf, offset::LENGTH).unwrap_or(0));
        if len < 2 {
            return Err(Malformed::BadLength.into());
        }
        len
    };
    need(buf, total)?;
    Ok(total)
}

/// The data of the `ENVEVENT` at the start of `buf`, NUL included, once complete.
fn env_data_of(buf: &[u8]) -> Option<&[u8]> {
    if InfoCode::from_u8(u8_at(buf, 0)?)? != InfoCode::EnvEvent {
        return None;
    }
    let len = frame(buf).ok()?;
    buf.get(usize::from(ENV_EVENT_HEADER)..len)
}

packet_view! {
    /// A zero-copy view of the information packet at the start of a buffer.
    ///
    /// [`InfoPacket::new_checked`] frames the packet once; the getters then cannot fail. Those
    /// of fields only some packets have return `None` for the other packets (a
    /// `SERVICEEVENT` too short to hold its handle, event or status counts as not having it).
    pub struct InfoPacket {}
    fields {
        /// The code byte.
        code: u8 = 0;
        /// Byte 1: the total length (for `ENVEVENT`, the header length, 5).
        length_byte: u8 = offset::LENGTH;
        /// `ENVEVENT`: the flags byte (1: the variable was set before).
        env_flags: u8 = offset::ENV_FLAGS, when info_code() is (InfoCode::EnvEvent);
    }
}

impl<T: AsRef<[u8]>> InfoPacket<T> {
    /// Frames the first packet: its total length, or what is missing or wrong. Unknown codes
    /// of 103 and up are framed by their length byte.
    pub fn check_len(&self) -> Result<usize, ParseError> {
        frame(self.buffer.as_ref())
    }

    /// The information code, if this codec knows it.
    pub fn info_code(&self) -> Option<InfoCode> {
        InfoCode::from_u8(self.code())
    }

    /// A service event long enough to hold its handle and event code.
    fn is_event(&self) -> bool {
        matches!(
            self.info_code(),
            Some(InfoCode::ServiceEvent | InfoCode::ServiceEvent5)
        ) && usize::from(self.length_byte()) >= SERVICE_EVENT_SHORT_LEN
    }

    /// Service events: the handle.
    pub fn handle(&self) -> Option<Handle> {
        self.is_event().then(|| self.get(offset::HANDLE))
    }

    /// Service events: the raw event code (PROTOCOL.md §6.4).
    pub fn event(&self) -> Option<u8> {
        self.is_event().then(|| self.get(offset::EVENT))
    }

    /// Service events: the size of the status block the packet carries, if it carries one
    /// (`SERVICEEVENT` from very old daemons has none).
    pub fn status_format(&self) -> Option<StatusFormat> {
        let len = usize::from(self.length_byte());
        match self.info_code()? {
            InfoCode::ServiceEvent if len >= SERVICE_EVENT_LEN => Some(StatusFormat::Status10),
            InfoCode::ServiceEvent5 if len >= SERVICE_EVENT5_LEN => Some(StatusFormat::Status14),
            _ => None,
        }
    }

    /// Service events: the status block.
    pub fn status(&self) -> Option<StatusView<&[u8]>> {
        let format = self.status_format()?;
        let block = bytes_at(self.buffer.as_ref(), offset::STATUS, format.size())?;
        Some(StatusView::new_unchecked(block, format))
    }

    /// `ENVEVENT`: the data, NUL included, once complete.
    pub fn env_data(&self) -> Option<&[u8]> {
        env_data_of(self.buffer.as_ref())
    }
}

/// An information packet as a value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Info<'a> {
    /// `SERVICEEVENT` (100), sent second. Parsing accepts a length byte of 7 or more, and
    /// reads the status only if the packet holds one (PROTOCOL.md §9.2).
    ServiceEvent {
        /// The handle on this connection.
        handle: Handle,
        /// What happened.
        event: ServiceEvent,
        /// The status10 snapshot (`None` for the 7-byte form of very old daemons). See
        /// [`StatusBlock::normalized`] for what status10 keeps.
        status: Option<ServiceStatus>,
    },
    /// `SERVICEEVENT5` (101), sent first. Parsing accepts a length byte of 21 or more.
    ServiceEvent5 {
        /// The handle on this connection.
        handle: Handle,
        /// What happened.
        event: ServiceEvent,
        /// The status14 snapshot.
        status: ServiceStatus,
    },
    /// `ENVEVENT` (102): a `SETENV` changed the activation environment.
    EnvEvent {
        /// The variable was set before (and is now overridden or removed). Any non-zero flags
        /// byte reads as true; true is sent as 1.
        overridden: bool,
        /// `NAME=VALUE` for a set, `NAME` for an unset, without the NUL the wire adds.
        var: &'a [u8],
    },
    /// An information packet this codec does not know (code 103 or more), framed by its
    /// length byte so that a client can skip it.
    Other {
        /// The code, 103 or more.
        code: u8,
        /// The bytes after the length byte (at most 253).
        body: &'a [u8],
    },
}

impl<'a> Info<'a> {
    /// The packet's code byte.
    pub const fn code(&self) -> u8 {
        match self {
            Self::ServiceEvent { .. } => InfoCode::ServiceEvent as u8,
            Self::ServiceEvent5 { .. } => InfoCode::ServiceEvent5 as u8,
            Self::EnvEvent { .. } => InfoCode::EnvEvent as u8,
            Self::Other { code, .. } => *code,
        }
    }

    /// Parses the first information packet of `buf` and returns it with its length.
    pub fn parse_prefix(buf: &'a [u8]) -> Result<(Self, usize), ParseError> {
        let len = frame(buf)?;
        let packet = buf
            .get(..len)
            .ok_or(ParseError::Incomplete { needed: len })?;
        Ok((Self::parse_framed(packet)?, len))
    }

    /// Parses the information packet at the start of `packet` (bytes after it are ignored).
    pub fn parse(packet: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse_prefix(packet).map(|(info, _)| info)
    }

    /// Decodes exactly one framed packet.
    fn parse_framed(packet: &'a [u8]) -> Result<Self, ParseError> {
        let view = InfoPacket::new_unchecked(packet);
        let bad_len = ParseError::Malformed(Malformed::BadLength);
        let bad = ParseError::Malformed(Malformed::BadValue);
        let code = view.code();
        let status = |format: StatusFormat| -> Result<ServiceStatus, ParseError> {
            let block = packet.get(offset::STATUS..).ok_or(bad_len)?;
            StatusBlock::parse(block, format)
                .map(|b| *b.status())
                .map_err(|e| if e.is_incomplete() { bad_len } else { e })
        };
        let event = || ServiceEvent::from_u8(view.get(offset::EVENT)).ok_or(bad);
        Ok(match InfoCode::from_u8(code) {
            Some(InfoCode::ServiceEvent) => {
                if packet.len() < SERVICE_EVENT_SHORT_LEN {
                    return Err(bad_len);
                }
                Self::ServiceEvent {
                    handle: view.get(offset::HANDLE),
                    event: event()?,
                    status: match view.status_format() {
                        Some(format) => Some(status(format)?),
                        None => None,
                    },
                }
            }
            Some(InfoCode::ServiceEvent5) => {
                if packet.len() < SERVICE_EVENT5_LEN {
                    return Err(bad_len);
                }
                Self::ServiceEvent5 {
                    handle: view.get(offset::HANDLE),
                    event: event()?,
                    status: status(StatusFormat::Status14)?,
                }
            }
            Some(InfoCode::EnvEvent) => {
                // Framing made the packet its header and the whole of its data.
                let data = env_data_of(packet).ok_or(bad_len)?;
                let var = match data.split_last() {
                    Some((0, var)) => var,
                    _ => return Err(bad),
                };
                Self::EnvEvent {
                    overridden: view.get::<u8>(offset::ENV_FLAGS) != 0,
                    var,
                }
            }
            None => Self::Other {
                code,
                body: packet.get(2..).ok_or(bad_len)?,
            },
        })
    }

    /// The packet's size in bytes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::ServiceEvent { status: None, .. } => SERVICE_EVENT_SHORT_LEN,
            Self::ServiceEvent {
                status: Some(_), ..
            } => SERVICE_EVENT_LEN,
            Self::ServiceEvent5 { .. } => SERVICE_EVENT5_LEN,
            Self::EnvEvent { var, .. } => usize::from(ENV_EVENT_HEADER)
                .saturating_add(var.len())
                .saturating_add(1),
            Self::Other { body, .. } => body.len().saturating_add(2),
        }
    }

    /// Writes the packet to the start of `out` and returns its size.
    ///
    /// Fails with [`EmitError::TooLong`] for an `ENVEVENT` string over 65534 bytes or an
    /// [`Info::Other`] body over 253, and [`EmitError::InvalidField`] for an
    /// [`Info::Other`] code below 103.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        check_room(out, len)?;
        let mut w = Writer::new(out);
        w.u8(self.code())?;
        match *self {
            Self::ServiceEvent {
                handle,
                event,
                status,
            } => {
                w.u8(u8::try_from(len).map_err(|_| EmitError::TooLong)?)?;
                w.u32(handle)?;
                w.u8(event as u8)?;
                if let Some(status) = status {
                    StatusBlock::Status10(status).write(&mut w)?;
                }
            }
            Self::ServiceEvent5 {
                handle,
                event,
                status,
            } => {
                w.u8(u8::try_from(len).map_err(|_| EmitError::TooLong)?)?;
                w.u32(handle)?;
                w.u8(event as u8)?;
                StatusBlock::Status14(status).write(&mut w)?;
            }
            Self::EnvEvent { overridden, var } => {
                let data = var.len().checked_add(1).ok_or(EmitError::TooLong)?;
                w.u8(ENV_EVENT_HEADER)?;
                w.u8(u8::from(overridden))?;
                w.u16(u16::try_from(data).map_err(|_| EmitError::TooLong)?)?;
                w.bytes(var)?;
                w.u8(0)?;
            }
            Self::Other { code, body } => {
                if code < 103 {
                    return Err(EmitError::InvalidField);
                }
                w.u8(u8::try_from(len).map_err(|_| EmitError::TooLong)?)?;
                w.bytes(body)?;
            }
        }
        Ok(w.finish())
    }
}

/// Writes what the daemon sends a listener for one event on one handle: `SERVICEEVENT5`
/// (status14) immediately followed by `SERVICEEVENT` (status10), [`SERVICE_EVENT_PAIR_LEN`]
/// bytes in all (PROTOCOL.md §9.2).
pub fn emit_service_event_pair(
    handle: Handle,
    event: ServiceEvent,
    status: &ServiceStatus,
    out: &mut [u8],
) -> Result<usize, EmitError> {
    check_room(out, SERVICE_EVENT_PAIR_LEN)?;
    let first = Info::ServiceEvent5 {
        handle,
        event,
        status: *status,
    }
    .emit(out)?;
    let rest = out.get_mut(first..).ok_or(EmitError::BufferTooSmall {
        needed: SERVICE_EVENT_PAIR_LEN,
    })?;
    let second = Info::ServiceEvent {
        handle,
        event,
        status: Some(*status),
    }
    .emit(rest)?;
    Ok(first.saturating_add(second))
}
