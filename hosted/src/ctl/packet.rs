//! What the daemon sends, decoded once (PROTOCOL.md §8, §9): [`decode`] frames the first packet
//! of the bytes received with the codec of `dinit_core::proto` and turns it into a typed,
//! owned [`Incoming`] value. It is pure (bytes in, a value out), so every reply, event and
//! error case is tested without a socket; [`super::Connection`] only adds the reads.
//!
//! Replies go through the codec's [`proto::Reply`]; the status blocks of `SVCINFO`,
//! `SERVICESTATUS` and the service events through the codec's [`StatusView`](dinit_core::proto::StatusView), into a
//! [`SvcStatus`] ([`SvcStatus::from_view`], the one place a status is built). The view and
//! not the repr, because the client shows what it is sent: a stop reason or an exec stage it
//! does not know (a newer daemon's) is printed as unknown (CONTROL.md §2 item 3), where the
//! repr would refuse the whole packet. For the same reason an event with a code the client
//! does not know is passed on (and passed over by the commands), and one whose status block
//! holds no valid state comes without its status.
//!
//! Errors: a packet that is not all there yet is [`ParseError::Incomplete`] (read more); bytes
//! that cannot be framed are [`ParseError::Malformed`] (the stream is lost). A reply that
//! frames but whose fields the codec refuses (a state byte that is no state, say) is
//! [`Reply::Invalid`]: each command answers it as a reply it did not expect.

use super::status::SvcStatus;
use dinit_core::proto::{
    self, DaemonPacket, Handle, InfoCode, InfoPacket, Malformed, PacketClass, ParseError,
    ReplyCode, ReplyPacket, StatusFormat,
};
use dinit_core::{ServiceEvent, ServiceState};

/// One packet from the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A reply.
    Reply(Reply),
    /// A service event.
    Event(Event),
    /// An environment event.
    Env(EnvChange),
    /// An information packet of another kind (skipped by its length byte), by code.
    OtherInfo(u8),
}

/// A reply (PROTOCOL.md §8), decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `ACK`.
    Ack,
    /// `NAK`.
    Nak,
    /// `BADREQ`.
    BadReq,
    /// `NOSERVICE`.
    NoService,
    /// `ALREADYSS`.
    AlreadySs,
    /// `LISTDONE`.
    ListDone,
    /// `PINNEDSTOPPED`.
    PinnedStopped,
    /// `PINNEDSTARTED`.
    PinnedStarted,
    /// `SHUTTINGDOWN`.
    ShuttingDown,
    /// `SERVICE_DESC_ERR`.
    ServiceDescErr,
    /// `SERVICE_LOAD_ERR`.
    ServiceLoadErr,
    /// `SIGNAL_NOPID`.
    SignalNoPid,
    /// `SIGNAL_BADSIG`.
    SignalBadSig,
    /// `SIGNAL_KILLERR`.
    SignalKillErr,
    /// `PREACK`.
    PreAck,
    /// Another one-byte reply, which no command expects (`OOM`, the unused codes).
    Other(ReplyCode),
    /// `CPVERSION`.
    CpVersion {
        /// The oldest version the daemon is compatible with.
        min: u16,
        /// The daemon's version.
        current: u16,
    },
    /// `SERVICERECORD`.
    ServiceRecord {
        /// The new handle.
        handle: Handle,
        /// Current state.
        state: ServiceState,
        /// Target state.
        target: ServiceState,
    },
    /// `DEPENDENTS`: the handles of the dependents, allocated on this connection.
    Dependents(Vec<Handle>),
    /// `SERVICENAME`.
    ServiceName(Vec<u8>),
    /// `SVCINFO`: one entry of a listing.
    SvcInfo {
        /// The service's name.
        name: Vec<u8>,
        /// Its status.
        status: SvcStatus,
    },
    /// `SERVICESTATUS`.
    ServiceStatus(SvcStatus),
    /// `LOADER_MECH`.
    LoaderMech {
        /// The daemon's working directory.
        cwd: Vec<u8>,
        /// The service directories, as configured.
        dirs: Vec<Vec<u8>>,
    },
    /// `SERVICE_LOG`: the log buffer's bytes.
    ServiceLog(Vec<u8>),
    /// `SVCDSCDIR`: the directory a description was loaded from.
    SvcDscDir(Vec<u8>),
    /// `ALLENV`: `NAME=VALUE` entries, each followed by a NUL.
    AllEnv(Vec<u8>),
    /// A reply that frames but whose fields the codec refuses, by code.
    Invalid(ReplyCode),
}

/// A service event (`SERVICEEVENT5` or `SERVICEEVENT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The handle it was sent for.
    pub handle: Handle,
    /// The raw event code (PROTOCOL.md §6.4).
    pub code: u8,
    /// The status snapshot (absent in the 7-byte legacy form, or if it holds no valid state).
    pub status: Option<SvcStatus>,
    /// True for the legacy `SERVICEEVENT` (100), false for `SERVICEEVENT5` (101).
    pub legacy: bool,
}

impl Event {
    /// The event, if the code is a known one.
    pub fn kind(&self) -> Option<ServiceEvent> {
        ServiceEvent::from_u8(self.code)
    }
}

/// An `ENVEVENT`: the activation environment changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvChange {
    /// The variable was set before.
    pub overridden: bool,
    /// `NAME=VALUE` (set) or `NAME` (unset), without the NUL.
    pub var: Vec<u8>,
}

/// Decodes the first packet of `buf` and returns it with its length (the next packet starts
/// there). `format` is the status block size of the request whose reply may come next.
pub fn decode(buf: &[u8], format: StatusFormat) -> Result<(Incoming, usize), ParseError> {
    let len = DaemonPacket::frame(buf, format)?;
    let packet = buf
        .get(..len)
        .ok_or(ParseError::Incomplete { needed: len })?;
    let code = packet.first().copied().unwrap_or(0);
    let incoming = match PacketClass::of(code) {
        PacketClass::Reply => {
            let code = ReplyCode::from_u8(code).ok_or(Malformed::UnknownCode(code))?;
            Incoming::Reply(decode_reply(packet, code, format))
        }
        PacketClass::Info => decode_info(packet, code)?,
        PacketClass::Request | PacketClass::Invalid => {
            return Err(Malformed::UnknownCode(code).into())
        }
    };
    Ok((incoming, len))
}

/// A framed reply with code `code`.
fn decode_reply(packet: &[u8], code: ReplyCode, format: StatusFormat) -> Reply {
    let view = ReplyPacket::new_unchecked(packet, format);
    if let Some(block) = view.status() {
        return match (SvcStatus::from_view(&block), view.name()) {
            (None, _) => Reply::Invalid(code),
            (Some(status), Some(name)) => Reply::SvcInfo {
                name: name.to_vec(),
                status,
            },
            (Some(status), None) => Reply::ServiceStatus(status),
        };
    }
    match proto::Reply::parse(packet, format) {
        Ok(reply) => Reply::from(reply),
        Err(_) => Reply::Invalid(code),
    }
}

impl From<proto::Reply<'_>> for Reply {
    fn from(reply: proto::Reply<'_>) -> Self {
        use proto::Reply as R;
        match reply {
            R::Ack => Self::Ack,
            R::Nak => Self::Nak,
            R::BadReq => Self::BadReq,
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
            R::CpVersion { min, current } => Self::CpVersion { min, current },
            R::ServiceRecord {
                state,
                handle,
                target,
            } => Self::ServiceRecord {
                handle,
                state,
                target,
            },
            R::Dependents { handles } => Self::Dependents(handles.iter().collect()),
            R::ServiceName { name } => Self::ServiceName(name.to_vec()),
            R::LoaderMech { cwd, dirs } => Self::LoaderMech {
                cwd: cwd.to_vec(),
                dirs: dirs.iter().map(<[u8]>::to_vec).collect(),
            },
            R::ServiceLog { log } => Self::ServiceLog(log.to_vec()),
            R::SvcDscDir { dir } => Self::SvcDscDir(dir.to_vec()),
            R::AllEnv { env } => Self::AllEnv(env.to_vec()),
            // The status replies are decoded from the view (see the module documentation);
            // the rest are one byte.
            other => Self::Other(other.code()),
        }
    }
}

/// A framed information packet with code `code`.
fn decode_info(packet: &[u8], code: u8) -> Result<Incoming, ParseError> {
    match InfoCode::from_u8(code) {
        Some(InfoCode::ServiceEvent | InfoCode::ServiceEvent5) => {
            let view = InfoPacket::new_unchecked(packet);
            let (Some(handle), Some(event)) = (view.handle(), view.event()) else {
                return Err(Malformed::BadLength.into());
            };
            let status = view.status().and_then(|block| SvcStatus::from_view(&block));
            Ok(Incoming::Event(Event {
                handle,
                code: event,
                status,
                legacy: code == InfoCode::ServiceEvent as u8,
            }))
        }
        Some(InfoCode::EnvEvent) => match proto::Info::parse(packet)? {
            proto::Info::EnvEvent { overridden, var } => Ok(Incoming::Env(EnvChange {
                overridden,
                var: var.to_vec(),
            })),
            _ => Err(Malformed::UnknownCode(code).into()),
        },
        None => Ok(Incoming::OtherInfo(code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dinit_core::proto::Timespec;
    use dinit_core::{StatusFlags, StopReason};

    /// Decodes a buffer holding exactly one packet.
    fn one(bytes: &[u8], format: StatusFormat) -> Incoming {
        let (incoming, len) = decode(bytes, format).unwrap();
        assert_eq!(len, bytes.len(), "{bytes:02x?}");
        incoming
    }

    fn reply(bytes: &[u8], format: StatusFormat) -> Reply {
        match one(bytes, format) {
            Incoming::Reply(r) => r,
            other => panic!("not a reply: {other:?}"),
        }
    }

    fn malformed(bytes: &[u8]) -> Malformed {
        match decode(bytes, StatusFormat::Status10) {
            Err(ParseError::Malformed(m)) => m,
            other => panic!("{bytes:02x?}: {other:?}"),
        }
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// The codec's C widths are the C library's on this target (PROTOCOL.md §3.2): what Dinit
    /// built here puts on the wire (`size_t` counts, `struct timespec`, `pid_t` and `int`).
    #[test]
    fn wire_widths_are_the_c_librarys() {
        use dinit_core::proto::{SIZE_LEN, TIMESPEC_LEN};
        assert_eq!(SIZE_LEN, std::mem::size_of::<libc::size_t>());
        assert_eq!(TIMESPEC_LEN, std::mem::size_of::<libc::timespec>());
        assert_eq!(
            StatusFormat::Status30.size(),
            14 + std::mem::size_of::<libc::timespec>()
        );
        assert_eq!(std::mem::size_of::<libc::pid_t>(), 4);
        assert_eq!(std::mem::size_of::<libc::c_int>(), 4);
        assert_eq!(std::mem::size_of::<libc::c_uint>(), 4);
    }

    /// A status14 block: a started service with pid 0x2ce9 (PROTOCOL.md §12, V7).
    const STARTED14: [u8; 14] = [2, 2, 0x18, 0, 0, 0, 0xe9, 0x2c, 0, 0, 0, 0, 0, 0];

    #[test]
    fn one_byte_replies() {
        let f = StatusFormat::Status10;
        for (code, want) in [
            (0x32, Reply::Ack),
            (0x33, Reply::Nak),
            (0x34, Reply::BadReq),
            (0x3c, Reply::NoService),
            (0x3d, Reply::AlreadySs),
            (0x3f, Reply::ListDone),
            (0x43, Reply::PinnedStopped),
            (0x44, Reply::PinnedStarted),
            (0x45, Reply::ShuttingDown),
            (0x47, Reply::ServiceDescErr),
            (0x48, Reply::ServiceLoadErr),
            (0x4a, Reply::SignalNoPid),
            (0x4b, Reply::SignalBadSig),
            (0x4c, Reply::SignalKillErr),
            (0x4f, Reply::PreAck),
            (0x35, Reply::Other(ReplyCode::Oom)),
            (0x38, Reply::Other(ReplyCode::SsIssued)),
        ] {
            assert_eq!(reply(&[code], f), want, "{code:#x}");
        }
    }

    #[test]
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
    fn replies_with_fields() {
        let f = StatusFormat::Status10;
        assert_eq!(
            reply(&[0x3a, 1, 0, 7, 0], f),
            Reply::CpVersion { min: 1, current: 7 }
        );
        assert_eq!(
            reply(&[0x3b, 2, 5, 0, 0, 0, 2], f),
            Reply::ServiceRecord {
                handle: 5,
                state: ServiceState::Started,
                target: ServiceState::Started,
            }
        );
        // A `size_t` count, then `u32` handles, in the machine's byte order and widths.
        let dependents = cat(&[
            &[0x41],
            &2usize.to_ne_bytes(),
            &3u32.to_ne_bytes(),
            &9u32.to_ne_bytes(),
        ]);
        assert_eq!(reply(&dependents, f), Reply::Dependents(vec![3, 9]));
        assert_eq!(
            reply(&[0x42, 0, 3, 0, b'd', b'e', b'p'], f),
            Reply::ServiceName(b"dep".to_vec())
        );
        assert_eq!(
            reply(&[0x49, 0, 3, 0, 0, 0, b'l', b'o', b'g'], f),
            Reply::ServiceLog(b"log".to_vec())
        );
        assert_eq!(
            reply(&[0x4d, 2, 0, 0, 0, b's', b'd'], f),
            Reply::SvcDscDir(b"sd".to_vec())
        );
        let allenv = cat(&[&[0x4e], &4usize.to_ne_bytes(), b"A=1\0"]);
        assert_eq!(reply(&allenv, f), Reply::AllEnv(b"A=1\0".to_vec()));
        // LOADER_MECH: dir-load, 26 bytes, one directory, the working directory "/w".
        let mech = cat(&[
            &[0x40, 1, 26, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0],
            b"/w",
            &[6, 0, 0, 0],
            b"sd/etc",
        ]);
        assert_eq!(
            reply(&mech, f),
            Reply::LoaderMech {
                cwd: b"/w".to_vec(),
                dirs: vec![b"sd/etc".to_vec()],
            }
        );
    }

    #[test]
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
    fn status_replies_in_each_size() {
        let info = cat(&[&[0x3e, 4], &STARTED14, b"boot"]);
        let Reply::SvcInfo { name, status } = reply(&info, StatusFormat::Status14) else {
            panic!("not SVCINFO");
        };
        assert_eq!(name, b"boot");
        assert_eq!(status.state, ServiceState::Started);
        assert_eq!(status.pid(), Some(0x2ce9));
        assert!(status.has(StatusFlags::MARKED_ACTIVE));
        // SERVICESTATUS with status30 carries the file's modification time.
        // A `struct timespec` of two C longs, in the machine's byte order.
        let block = cat(&[&[0; 14], &7isize.to_ne_bytes(), &9isize.to_ne_bytes()]);
        let Reply::ServiceStatus(status) =
            reply(&cat(&[&[0x46, 0], &block]), StatusFormat::Status30)
        else {
            panic!("not SERVICESTATUS");
        };
        assert_eq!(status.state, ServiceState::Stopped);
        assert_eq!(status.mtime, Some(Timespec::new(7, 9)));
        // The size is the request's: the same bytes as status10 are a shorter packet.
        let (_, len) = decode(
            &[0x46, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            StatusFormat::Status10,
        )
        .unwrap();
        assert_eq!(len, 12);
    }

    #[test]
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
    fn values_the_codec_would_refuse_are_shown_as_sent() {
        // EXECFAILED at a spare stage (15) with errno 2, then an unknown stop reason (9): the
        // codec's repr refuses both, the client prints them as unknown (CONTROL.md §2).
        let block = [0, 0, 0, 4, 15, 0, 2, 0, 0, 0, 0, 0, 0, 0];
        let bytes = cat(&[&[0x46, 0], &block]);
        assert!(proto::Reply::parse(&bytes, StatusFormat::Status14).is_err());
        let Reply::ServiceStatus(s) = reply(&bytes, StatusFormat::Status14) else {
            panic!("not SERVICESTATUS");
        };
        assert_eq!(s.stop_reason(), Some(StopReason::ExecFailed));
        assert_eq!((s.exec_stage, s.detail), (15, 2));
        let odd = [0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let Reply::ServiceStatus(s) = reply(&cat(&[&[0x46, 0], &odd]), StatusFormat::Status14)
        else {
            panic!("not SERVICESTATUS");
        };
        assert_eq!((s.stop_reason_raw, s.stop_reason()), (9, None));
    }

    #[test]
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
    fn framed_replies_with_bad_fields_are_invalid() {
        // A state byte that is no state, in a record and in a status block.
        assert_eq!(
            reply(&[0x3b, 9, 0, 0, 0, 0, 0], StatusFormat::Status10),
            Reply::Invalid(ReplyCode::ServiceRecord)
        );
        let mut block = STARTED14;
        block[1] = 9;
        assert_eq!(
            reply(&cat(&[&[0x46, 0], &block]), StatusFormat::Status14),
            Reply::Invalid(ReplyCode::ServiceStatus)
        );
        // LOADER_MECH of another loader type.
        let mech = [0x40, 0, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            reply(&mech, StatusFormat::Status10),
            Reply::Invalid(ReplyCode::LoaderMech)
        );
    }

    #[test]
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
    fn service_events_with_their_status() {
        let ev5 = cat(&[&[0x65, 21, 4, 0, 0, 0, 0], &STARTED14]);
        let Incoming::Event(ev) = one(&ev5, StatusFormat::Status30) else {
            panic!("not an event");
        };
        assert_eq!(
            (ev.handle, ev.kind(), ev.legacy),
            (4, Some(ServiceEvent::Started), false)
        );
        assert_eq!(ev.status.map(|s| s.pid()), Some(Some(0x2ce9)));
        assert_eq!(ev.status.map(|s| s.format), Some(StatusFormat::Status14));
        // The legacy event: status10, and the 7-byte form of old daemons without one.
        let legacy = cat(&[
            &[0x64, 17, 4, 0, 0, 0, 2],
            &[0, 0, 0, 3, 0, 0, 0xff, 0xff, 0xff, 0xff],
        ]);
        let Incoming::Event(ev) = one(&legacy, StatusFormat::Status10) else {
            panic!("not an event");
        };
        assert_eq!(
            (ev.kind(), ev.legacy),
            (Some(ServiceEvent::FailedStart), true)
        );
        assert_eq!(ev.status.map(|s| s.detail), Some(-1));
        let Incoming::Event(ev) = one(&[0x64, 7, 4, 0, 0, 0, 1], StatusFormat::Status10) else {
            panic!("not an event");
        };
        assert_eq!((ev.kind(), ev.status), (Some(ServiceEvent::Stopped), None));
        // An event the client does not know is passed on, for the commands to pass over; a
        // status with no valid state is left out.
        let mut odd = ev5.clone();
        odd[6] = 42;
        odd[7] = 9;
        let Incoming::Event(ev) = one(&odd, StatusFormat::Status10) else {
            panic!("not an event");
        };
        assert_eq!((ev.code, ev.kind(), ev.status), (42, None, None));
    }

    #[test]
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
    fn environment_and_other_information() {
        assert_eq!(
            one(
                &[0x66, 5, 1, 4, 0, b'F', b'O', b'O', 0],
                StatusFormat::Status10
            ),
            Incoming::Env(EnvChange {
                overridden: true,
                var: b"FOO".to_vec()
            })
        );
        assert_eq!(
            one(&[0x70, 3, 9], StatusFormat::Status10),
            Incoming::OtherInfo(0x70)
        );
    }

    #[test]
    fn short_packets_ask_for_more() {
        let f = StatusFormat::Status10;
        assert_eq!(decode(&[], f), Err(ParseError::Incomplete { needed: 1 }));
        assert_eq!(
            decode(&[0x3b, 2, 0], f),
            Err(ParseError::Incomplete { needed: 7 })
        );
        // Once the header is there, the whole size is known.
        let header = cat(&[&[0x4e], &16usize.to_ne_bytes()]);
        assert_eq!(
            decode(&header, f),
            Err(ParseError::Incomplete {
                needed: header.len() + 16
            })
        );
        assert_eq!(
            decode(&[0x65, 21, 4, 0], f),
            Err(ParseError::Incomplete { needed: 21 })
        );
    }

    #[test]
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
    fn malformed_packets_are_typed_errors() {
        // A request code, a code of no class, an information packet shorter than its header.
        assert_eq!(malformed(&[0x02]), Malformed::UnknownCode(0x02));
        assert_eq!(malformed(&[0x1e]), Malformed::UnknownCode(0x1e));
        assert_eq!(malformed(&[0x70, 1]), Malformed::BadLength);
        // A service event too short to hold its handle and event.
        assert_eq!(malformed(&[0x65, 5, 0, 0, 0]), Malformed::BadLength);
        // ENVEVENT data without its NUL.
        assert_eq!(
            malformed(&[0x66, 5, 0, 3, 0, b'F', b'O', b'O']),
            Malformed::BadValue
        );
    }

    #[test]
    fn pipelined_packets_decode_one_by_one() {
        let bytes = [0x32, 0x3c, 0x70, 2];
        let mut rest = &bytes[..];
        let mut seen = Vec::new();
        while !rest.is_empty() {
            let (incoming, len) = decode(rest, StatusFormat::Status10).unwrap();
            seen.push(incoming);
            rest = &rest[len..];
        }
        assert_eq!(
            seen,
            [
                Incoming::Reply(Reply::Ack),
                Incoming::Reply(Reply::NoService),
                Incoming::OtherInfo(0x70)
            ]
        );
    }
}
