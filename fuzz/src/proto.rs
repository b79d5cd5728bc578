//! Harness for the control-protocol codec (`dinit_core::proto`).
//!
//! Two directions on every input:
//!
//! * **bytes → repr**: the input is parsed as a request, as a reply in each of the three
//!   status formats, as an information packet, as a daemon packet and as a status block. No
//!   parser may panic; `Incomplete { needed }` must ask for more than was given; a parsed
//!   packet must frame to the same length, every shorter prefix of it must be `Incomplete`
//!   with a `needed` no larger than the packet, and it must emit again (into exactly
//!   `buffer_len` bytes) to a packet that parses back to the same value and re-emits to the
//!   same bytes.
//! * **repr → bytes**: the input also drives a generator of arbitrary requests, replies, info
//!   packets and status blocks (names too long, handles lists, bad codes...). An emit either
//!   succeeds with exactly `buffer_len` bytes that parse back to the value (status blocks as
//!   [`StatusBlock::normalized`] says), or fails with the error its documentation gives for
//!   that value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::util::Reader;
use dinit_core::proto::{
    DaemonPacket, EmitError, Handles, Info, InfoPacket, ParseError, Reply, ReplyPacket, Request,
    RequestPacket, ServiceDirs, StartFlags, StatusBlock, StatusFormat, StatusView, Timespec,
    MAX_NAME_LEN, MAX_SVCINFO_NAME_LEN,
};
use dinit_core::{
    DepKind, ExecStage, ExitStatus, ServiceEvent, ServiceState, ServiceStatus, ShutdownKind,
    StatusFlags, StopReason,
};

const FORMATS: [StatusFormat; 3] = [
    StatusFormat::Status10,
    StatusFormat::Status14,
    StatusFormat::Status30,
];

/// Runs every check on `data`.
pub fn run(data: &[u8]) {
    requests(data);
    for format in FORMATS {
        replies(data, format);
        daemon_packets(data, format);
        status_block(data, format);
    }
    infos(data);
    generated(data);
}

/// Every shorter prefix of a packet of `len` bytes is `Incomplete`, asking for more than it
/// has and no more than the packet.
fn prefixes_incomplete(
    data: &[u8],
    len: usize,
    parse: impl Fn(&[u8]) -> Result<usize, ParseError>,
) {
    for k in 0..len {
        match parse(&data[..k]) {
            Err(ParseError::Incomplete { needed }) => assert!(
                needed > k && needed <= len,
                "prefix of {k} of a {len}-byte packet: needed {needed}"
            ),
            other => panic!("prefix of {k} of a {len}-byte packet {data:02x?}: {other:?}"),
        }
    }
}

fn incomplete_asks_for_more(data: &[u8], e: ParseError) {
    if let ParseError::Incomplete { needed } = e {
        assert!(
            needed > data.len(),
            "Incomplete asks for {needed} with {} given",
            data.len()
        );
    }
}

// ----- bytes -> repr -----

fn requests(data: &[u8]) {
    // The getters of a checked view cannot fail (nor, unchecked, panic in release builds; a
    // debug build asserts that the view was checked).
    if let Ok(view) = RequestPacket::new_checked(data) {
        let _ = (
            view.packet(),
            view.code(),
            view.command(),
            view.flags(),
            view.handle(),
            view.dep_kind(),
            view.dep_from(),
            view.dep_to(),
            view.string(),
            view.shutdown_kind(),
            view.reserved(),
            view.catlog_flags(),
            view.trigger_value(),
            view.signal(),
        );
    }
    // A request stream: the daemon parses request after request from its buffer.
    let mut rest = data;
    let mut first = true;
    loop {
        match Request::parse_prefix(rest) {
            Ok((req, len)) => {
                assert!(len >= 1 && len <= rest.len());
                if first {
                    check_request(rest, req, len);
                    first = false;
                }
                rest = &rest[len..];
            }
            Err(e) => {
                incomplete_asks_for_more(rest, e);
                break;
            }
        }
    }
}

fn check_request(data: &[u8], req: Request<'_>, len: usize) {
    assert_eq!(Request::parse(data), Ok(req));
    assert_eq!(
        RequestPacket::new_checked(data).and_then(|p| p.check_len()),
        Ok(len)
    );
    prefixes_incomplete(data, len, |d| Request::parse_prefix(d).map(|(_, n)| n));
    assert_eq!(req.buffer_len(), len, "{req:?}");
    let mut buf = vec![0u8; len];
    let n = req
        .emit(&mut buf)
        .unwrap_or_else(|e| panic!("parsed {req:?} does not emit: {e:?}"));
    assert_eq!(n, len);
    assert_eq!(Request::parse_prefix(&buf), Ok((req, n)));
    assert!(matches!(
        req.emit(&mut buf[..len - 1]),
        Err(EmitError::BufferTooSmall { .. })
    ));
}

fn replies(data: &[u8], format: StatusFormat) {
    if let Ok(view) = ReplyPacket::new_checked(data, format) {
        let _ = (
            view.packet(),
            view.code(),
            view.reply_code(),
            view.versions(),
            view.record(),
            view.status().map(|s| (s.state(), s.detail(), s.mtime())),
            view.status_detail(),
            view.name(),
            view.body(),
            view.dependents().map(|h| h.iter().count()),
            view.loader_kind(),
            view.loader_dirs().map(|(cwd, d)| (cwd, d.iter().count())),
        );
    }
    match Reply::parse_prefix(data, format) {
        Ok((reply, len)) => {
            assert!(len >= 1 && len <= data.len());
            assert_eq!(Reply::parse(data, format), Ok(reply));
            assert_eq!(
                ReplyPacket::new_checked(data, format).and_then(|p| p.check_len()),
                Ok(len)
            );
            prefixes_incomplete(data, len, |d| {
                Reply::parse_prefix(d, format).map(|(_, n)| n)
            });
            if let Reply::LoaderMech { dirs, .. } = reply {
                assert_eq!(dirs.iter().count(), dirs.len());
            }
            assert_eq!(reply.buffer_len(), len, "{reply:?}");
            let mut buf = vec![0u8; len];
            let n = reply
                .emit(&mut buf)
                .unwrap_or_else(|e| panic!("parsed {reply:?} does not emit: {e:?}"));
            assert_eq!(n, len);
            let (again, n2) = Reply::parse_prefix(&buf, format).unwrap();
            assert_eq!((again, n2), (normalized_reply(reply), n));
            let mut buf2 = vec![0u8; n];
            assert_eq!(again.emit(&mut buf2), Ok(n));
            assert_eq!(buf, buf2);
        }
        Err(e) => incomplete_asks_for_more(data, e),
    }
}

fn infos(data: &[u8]) {
    if let Ok(view) = InfoPacket::new_checked(data) {
        let _ = (
            view.packet(),
            view.code(),
            view.info_code(),
            view.length_byte(),
            view.handle(),
            view.event(),
            view.status_format(),
            view.status().map(|s| (s.state(), s.si_status())),
            view.env_flags(),
            view.env_data(),
        );
    }
    match Info::parse_prefix(data) {
        Ok((info, len)) => {
            assert!(len >= 2 && len <= data.len());
            assert_eq!(Info::parse(data), Ok(info));
            assert_eq!(
                InfoPacket::new_checked(data).and_then(|p| p.check_len()),
                Ok(len)
            );
            prefixes_incomplete(data, len, |d| Info::parse_prefix(d).map(|(_, n)| n));
            // SERVICEEVENT/SERVICEEVENT5 accept a longer length byte than they emit
            // (PROTOCOL.md §9.2); the rest emit exactly what they parsed.
            if !matches!(info, Info::ServiceEvent { .. } | Info::ServiceEvent5 { .. }) {
                assert_eq!(info.buffer_len(), len, "{info:?}");
            }
            let blen = info.buffer_len();
            let mut buf = vec![0u8; blen];
            let n = info
                .emit(&mut buf)
                .unwrap_or_else(|e| panic!("parsed {info:?} does not emit: {e:?}"));
            assert_eq!(n, blen);
            let (again, n2) = Info::parse_prefix(&buf).unwrap();
            assert_eq!((again, n2), (normalized_info(info), n));
            let mut buf2 = vec![0u8; n];
            assert_eq!(again.emit(&mut buf2), Ok(n));
            assert_eq!(buf, buf2);
        }
        Err(e) => incomplete_asks_for_more(data, e),
    }
}

fn daemon_packets(data: &[u8], format: StatusFormat) {
    let framed = DaemonPacket::frame(data, format);
    if let Err(e) = framed {
        incomplete_asks_for_more(data, e);
    }
    match DaemonPacket::parse_prefix(data, format) {
        Ok((packet, len)) => {
            assert_eq!(framed, Ok(len));
            let blen = packet.buffer_len();
            let mut buf = vec![0u8; blen];
            assert_eq!(packet.emit(&mut buf), Ok(blen));
            let expected = match packet {
                DaemonPacket::Reply(r) => DaemonPacket::Reply(normalized_reply(r)),
                DaemonPacket::Info(i) => DaemonPacket::Info(normalized_info(i)),
            };
            assert_eq!(
                DaemonPacket::parse_prefix(&buf, format),
                Ok((expected, blen))
            );
        }
        Err(e) => incomplete_asks_for_more(data, e),
    }
}

fn status_block(data: &[u8], format: StatusFormat) {
    if let Ok(view) = StatusView::new_checked(data, format) {
        let _ = (
            view.state(),
            view.target(),
            view.flags(),
            view.stop_reason(),
            view.exec_stage(),
            view.detail(),
            view.si_status(),
            view.mtime(),
        );
    }
    match StatusBlock::parse(data, format) {
        Ok(block) => {
            assert_eq!(block.format(), format);
            // A parsed block need not be normalized: status10 reads an old daemon's C wait
            // status, which this codec sends as 0 or -1 only.
            let mut buf = [0u8; 30];
            let n = block.emit(&mut buf).unwrap();
            assert_eq!(n, format.size());
            assert_eq!(
                StatusBlock::parse(&buf[..n], format),
                Ok(block.normalized())
            );
        }
        Err(e) => incomplete_asks_for_more(data, e),
    }
}

// ----- repr -> bytes -----

fn gen_status(r: &mut Reader<'_>) -> ServiceStatus {
    let state = ServiceState::from_u8(r.u8() % 5).unwrap_or_default();
    let target = ServiceState::from_u8(r.u8() % 5).unwrap_or_default();
    let flags = StatusFlags::from_bits(r.u8());
    let stop_reason = StopReason::from_u8(r.u8() % 12).unwrap_or_default();
    let exec_failure = match r.u8() % 3 {
        0 => None,
        _ => Some((
            ExecStage::from_u16(u16::from(r.u8() % 24)).unwrap_or(ExecStage::ArrangeFds),
            r.i32(),
        )),
    };
    let pid = r.i32();
    let exit = match r.u8() % 4 {
        0 => ExitStatus::None,
        1 => ExitStatus::Exited(r.i32()),
        2 => ExitStatus::Signaled(r.i32()),
        _ => ExitStatus::Dumped(r.i32()),
    };
    ServiceStatus {
        state,
        target,
        flags,
        stop_reason,
        exec_failure,
        pid,
        exit,
    }
}

fn gen_block(r: &mut Reader<'_>) -> StatusBlock {
    let format = FORMATS[usize::from(r.u8() % 3)];
    let status = gen_status(r);
    StatusBlock::new(format, status, Timespec::new(r.i64(), r.i64()))
}

/// A byte string of up to `max` bytes, biased towards the lengths that matter.
fn gen_string<'a>(r: &mut Reader<'a>, max: usize) -> &'a [u8] {
    let len = match r.u8() % 4 {
        0 => usize::from(r.u8()),
        1 => usize::from(r.u16()) % (max + 1),
        2 => max.saturating_sub(usize::from(r.u8() % 4)),
        _ => max + usize::from(r.u8() % 4),
    };
    r.bytes(len)
}

fn gen_dep_kind(r: &mut Reader<'_>) -> DepKind {
    DepKind::from_u8(r.u8() % 8).unwrap_or_default()
}

fn generated(data: &[u8]) {
    let mut r = Reader::new(data);
    let mut rounds = 0;
    while !r.is_empty() && rounds < 8 {
        rounds += 1;
        match r.u8() % 4 {
            0 => gen_request(&mut r),
            1 => gen_reply(&mut r),
            2 => gen_info(&mut r),
            _ => {
                let block = gen_block(&mut r);
                let mut buf = [0u8; 30];
                let n = block.emit(&mut buf).unwrap();
                assert_eq!(n, block.buffer_len());
                let parsed = StatusBlock::parse(&buf[..n], block.format()).unwrap();
                assert_eq!(parsed, block.normalized(), "from {block:?}");
                assert_eq!(parsed.normalized(), parsed, "normalizing is idempotent");
                let mut short = [0u8; 29];
                assert!(block.emit(&mut short[..n - 1]).is_err());
            }
        }
    }
}

/// Emits `len`-sized or random-sized output; returns the bytes written, after checking the
/// error cases against `buffer_len`.
fn emit_into<E: core::fmt::Debug>(
    r: &mut Reader<'_>,
    buffer_len: usize,
    emit: impl Fn(&mut [u8]) -> Result<usize, E>,
) -> (Vec<u8>, Result<usize, E>) {
    let size = if r.u8() % 8 == 0 {
        usize::from(r.u16()) % (buffer_len + 2)
    } else {
        buffer_len
    };
    let mut buf = vec![0u8; size.min(1 << 20)];
    let result = emit(&mut buf);
    (buf, result)
}

fn gen_request(r: &mut Reader<'_>) {
    let code = r.u8() % 31;
    let handle = r.u32();
    let flags = StartFlags::from_bits(r.u8());
    let req = match code {
        0 => Request::QueryVersion,
        1 => Request::FindService {
            name: gen_string(r, MAX_NAME_LEN),
        },
        2 => Request::LoadService {
            name: gen_string(r, MAX_NAME_LEN),
        },
        3 => Request::StartService { flags, handle },
        4 => Request::StopService { flags, handle },
        5 => Request::WakeService { flags, handle },
        6 => Request::ReleaseService { flags, handle },
        7 => Request::UnpinService { handle },
        8 => Request::ListServices,
        9 => Request::UnloadService { handle },
        10 => Request::Shutdown {
            kind: ShutdownKind::from_u8(r.u8() % 6 + 1).unwrap(),
        },
        11 => Request::AddDep {
            kind: gen_dep_kind(r),
            from: handle,
            to: r.u32(),
        },
        12 => Request::RemDep {
            kind: gen_dep_kind(r),
            from: handle,
            to: r.u32(),
        },
        13 => Request::QueryLoadMech,
        14 => Request::EnableService {
            kind: gen_dep_kind(r),
            from: handle,
            to: r.u32(),
        },
        15 => Request::QueryServiceName { handle },
        16 => Request::ReloadService { handle },
        17 => Request::SetEnv {
            var: gen_string(r, MAX_NAME_LEN),
        },
        18 => Request::ServiceStatus { handle },
        19 => Request::SetTrigger {
            handle,
            value: r.bool(),
        },
        20 => Request::CatLog {
            clear: r.bool(),
            handle,
        },
        21 => Request::Signal {
            signal: r.i32(),
            handle,
        },
        22 => Request::QueryServiceDscDir {
            reserved: r.u8(),
            handle,
        },
        23 => Request::CloseHandle { handle },
        24 => Request::GetAllEnv,
        25 => Request::ListServices5,
        26 => Request::ServiceStatus5 { handle },
        27 => Request::ListenEnv,
        28 => Request::ServiceStatus6 { handle },
        _ => Request::EnableServiceV7 {
            kind: gen_dep_kind(r),
            from: handle,
            to: r.u32(),
        },
    };
    let len = req.buffer_len();
    let (buf, result) = emit_into(r, len, |out| req.emit(out));
    // What emit must refuse, whatever the buffer.
    let invalid = match req {
        Request::FindService { name } | Request::LoadService { name } => {
            name.is_empty() || matches!(name.first(), Some(b'.' | b'@'))
        }
        Request::SetEnv { var } => var.is_empty() || var.first() == Some(&b'='),
        Request::AddDep { kind, .. }
        | Request::RemDep { kind, .. }
        | Request::EnableService { kind, .. }
        | Request::EnableServiceV7 { kind, .. } => !matches!(
            kind,
            DepKind::Regular | DepKind::WaitsFor | DepKind::Milestone
        ),
        _ => false,
    };
    let too_long = match req {
        Request::FindService { name: s }
        | Request::LoadService { name: s }
        | Request::SetEnv { var: s } => s.len() > MAX_NAME_LEN,
        _ => false,
    };
    match result {
        Ok(n) => {
            assert!(!invalid && !too_long, "{req:?} emitted");
            assert_eq!(n, len);
            assert_eq!(Request::parse_prefix(&buf[..n]), Ok((req, n)));
        }
        Err(EmitError::InvalidField) => assert!(invalid, "{req:?}: InvalidField"),
        Err(EmitError::TooLong) => assert!(too_long, "{req:?}: TooLong"),
        Err(EmitError::BufferTooSmall { needed }) => {
            assert!(!invalid && !too_long, "{req:?}: validated after the buffer");
            assert_eq!(needed, len);
            assert!(buf.len() < len);
        }
    }
}

/// The information packet as it reads back: status blocks normalized.
fn normalized_info(info: Info<'_>) -> Info<'_> {
    match info {
        Info::ServiceEvent {
            handle,
            event,
            status: Some(s),
        } => Info::ServiceEvent {
            handle,
            event,
            status: Some(*StatusBlock::Status10(s).normalized().status()),
        },
        Info::ServiceEvent5 {
            handle,
            event,
            status,
        } => Info::ServiceEvent5 {
            handle,
            event,
            status: *StatusBlock::Status14(status).normalized().status(),
        },
        other => other,
    }
}

/// The reply as it reads back: status blocks normalized.
fn normalized_reply(reply: Reply<'_>) -> Reply<'_> {
    match reply {
        Reply::SvcInfo { name, status } => Reply::SvcInfo {
            name,
            status: status.normalized(),
        },
        Reply::ServiceStatus {
            dep_existed,
            status,
        } => Reply::ServiceStatus {
            dep_existed,
            status: status.normalized(),
        },
        other => other,
    }
}

fn gen_reply(r: &mut Reader<'_>) {
    let mut handles_store = Vec::new();
    let mut dirs_store: Vec<&[u8]> = Vec::new();
    let code = 50 + r.u8() % 30;
    let state = |v: u8| ServiceState::from_u8(v % 4).unwrap();
    let reply = match code {
        58 => Reply::CpVersion {
            min: r.u16(),
            current: r.u16(),
        },
        59 => Reply::ServiceRecord {
            state: state(r.u8()),
            handle: r.u32(),
            target: state(r.u8()),
        },
        62 => {
            let status = gen_block(r);
            Reply::SvcInfo {
                name: gen_string(r, MAX_SVCINFO_NAME_LEN),
                status,
            }
        }
        64 => {
            let cwd = r.short_bytes();
            let n = usize::from(r.u8() % 6);
            for _ in 0..n {
                dirs_store.push(r.short_bytes());
            }
            Reply::LoaderMech {
                cwd,
                dirs: ServiceDirs::List(&dirs_store),
            }
        }
        65 => {
            let n = usize::from(r.u8());
            for _ in 0..n {
                handles_store.push(r.u32());
            }
            Reply::Dependents {
                handles: Handles::List(&handles_store),
            }
        }
        66 => Reply::ServiceName {
            name: gen_string(r, 300),
        },
        70 => Reply::ServiceStatus {
            dep_existed: r.bool(),
            status: gen_block(r),
        },
        73 => Reply::ServiceLog {
            log: gen_string(r, 300),
        },
        77 => Reply::SvcDscDir {
            dir: gen_string(r, 300),
        },
        78 => Reply::AllEnv {
            env: gen_string(r, 300),
        },
        c => {
            let code = dinit_core::proto::ReplyCode::from_u8(c).unwrap();
            match Reply::single_byte(code) {
                Some(reply) => reply,
                None => return,
            }
        }
    };
    let len = reply.buffer_len();
    let (buf, result) = emit_into(r, len, |out| reply.emit(out));
    let too_long =
        matches!(reply, Reply::SvcInfo { name, .. } if name.len() > MAX_SVCINFO_NAME_LEN);
    let format = match reply {
        Reply::SvcInfo { status, .. } | Reply::ServiceStatus { status, .. } => status.format(),
        _ => StatusFormat::Status10,
    };
    match result {
        Ok(n) => {
            assert!(!too_long, "{reply:?} emitted");
            assert_eq!(n, len);
            let parsed = Reply::parse_prefix(&buf[..n], format);
            assert_eq!(parsed, Ok((normalized_reply(reply), n)), "{reply:?}");
        }
        Err(EmitError::TooLong) => assert!(too_long, "{reply:?}: TooLong"),
        Err(EmitError::BufferTooSmall { needed }) => {
            assert_eq!(needed, len);
            assert!(buf.len() < len);
        }
        Err(e) => panic!("{reply:?}: {e:?}"),
    }
}

fn gen_info(r: &mut Reader<'_>) {
    let event = ServiceEvent::from_u8(r.u8() % 5).unwrap();
    let info = match r.u8() % 4 {
        0 => Info::ServiceEvent {
            handle: r.u32(),
            event,
            status: if r.bool() { Some(gen_status(r)) } else { None },
        },
        1 => Info::ServiceEvent5 {
            handle: r.u32(),
            event,
            status: gen_status(r),
        },
        2 => Info::EnvEvent {
            overridden: r.bool(),
            var: gen_string(r, 300),
        },
        _ => Info::Other {
            code: r.u8(),
            body: gen_string(r, 253),
        },
    };
    let expected = normalized_info(info);
    let len = info.buffer_len();
    let (buf, result) = emit_into(r, len, |out| info.emit(out));
    let invalid = matches!(info, Info::Other { code, .. } if code < 103);
    let too_long = matches!(info, Info::Other { body, .. } if body.len() > 253);
    match result {
        Ok(n) => {
            assert!(!invalid && !too_long, "{info:?} emitted");
            assert_eq!(n, len);
            assert_eq!(Info::parse_prefix(&buf[..n]), Ok((expected, n)), "{info:?}");
        }
        Err(EmitError::InvalidField) => assert!(invalid, "{info:?}: InvalidField"),
        Err(EmitError::TooLong) => assert!(too_long, "{info:?}: TooLong"),
        Err(EmitError::BufferTooSmall { needed }) => {
            assert_eq!(needed, len);
            assert!(buf.len() < len);
        }
    }
}
