//! Property tests of the control-protocol codec (`dinit_core::proto`):
//!
//! * round trips: `parse(emit(x)) == x` for every request, reply and information packet, and
//!   for status blocks `parse(emit(b)) == b.normalized()` with `normalized` idempotent;
//! * framing: every proper prefix of a valid packet is `Incomplete` with a size between the
//!   prefix and the packet; pipelined packets come apart at the right places;
//! * robustness: arbitrary bytes never panic, never claim more bytes than given, and the
//!   framing functions agree with the parsers.

// Test code: the panicking shortcuts are fine here (clippy.toml only covers `#[test]`
// functions and `#[cfg(test)]` modules, not the strategies and helpers of this file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dinit_core::proto::*;
use dinit_core::types::{
    DepKind, ExecStage, ExitStatus, ServiceEvent, ServiceState, ShutdownKind, StopReason,
};
use dinit_core::{ServiceStatus, StatusFlags};
use proptest::prelude::*;

// ---- strategies -----------------------------------------------------------------------------

fn state() -> impl Strategy<Value = ServiceState> {
    (0u8..4).prop_map(|v| ServiceState::from_u8(v).unwrap())
}

fn stop_reason() -> impl Strategy<Value = StopReason> {
    (0u8..7).prop_map(|v| StopReason::from_u8(v).unwrap())
}

fn exec_stage() -> impl Strategy<Value = ExecStage> {
    prop_oneof![0u16..13, Just(18u16)].prop_map(|v| ExecStage::from_u16(v).unwrap())
}

fn exit_status() -> impl Strategy<Value = ExitStatus> {
    prop_oneof![
        Just(ExitStatus::None),
        any::<i32>().prop_map(ExitStatus::Exited),
        any::<i32>().prop_map(ExitStatus::Signaled),
        any::<i32>().prop_map(ExitStatus::Dumped),
    ]
}

/// Any `ServiceStatus`, including combinations the wire cannot carry in full.
fn service_status() -> impl Strategy<Value = ServiceStatus> {
    (
        state(),
        state(),
        any::<u8>(),
        stop_reason(),
        proptest::option::of((exec_stage(), any::<i32>())),
        any::<i32>(),
        exit_status(),
    )
        .prop_map(
            |(state, target, flags, stop_reason, exec_failure, pid, exit)| ServiceStatus {
                state,
                target,
                flags: StatusFlags::from_bits(flags),
                stop_reason,
                exec_failure,
                pid,
                exit,
            },
        )
}

fn timespec() -> impl Strategy<Value = Timespec> {
    // Each field is a C `long` on the wire (32 bits on 32-bit targets): what fits in it.
    (any::<isize>(), any::<isize>()).prop_map(|(sec, nsec)| Timespec {
        sec: sec as i64,
        nsec: nsec as i64,
    })
}

fn format() -> impl Strategy<Value = StatusFormat> {
    prop_oneof![
        Just(StatusFormat::Status10),
        Just(StatusFormat::Status14),
        Just(StatusFormat::Status30)
    ]
}

/// Any status block, not normalized.
fn raw_block() -> impl Strategy<Value = StatusBlock> {
    (format(), service_status(), timespec()).prop_map(|(f, s, t)| StatusBlock::new(f, s, t))
}

/// A status block the wire carries exactly.
fn block_of(format: StatusFormat) -> impl Strategy<Value = StatusBlock> {
    (service_status(), timespec())
        .prop_map(move |(s, t)| StatusBlock::new(format, s, t).normalized())
}

fn handle() -> impl Strategy<Value = Handle> {
    any::<u32>()
}

fn start_flags() -> impl Strategy<Value = StartFlags> {
    any::<u8>().prop_map(StartFlags::from_bits)
}

fn wire_dep_kind() -> impl Strategy<Value = DepKind> {
    prop::sample::select(WIRE_DEP_KINDS.to_vec())
}

fn shutdown_kind() -> impl Strategy<Value = ShutdownKind> {
    (1u8..7).prop_map(|v| ShutdownKind::from_u8(v).unwrap())
}

fn event() -> impl Strategy<Value = ServiceEvent> {
    (0u8..5).prop_map(|v| ServiceEvent::from_u8(v).unwrap())
}

/// A string FIND/LOAD/SETENV accepts: 1..=1021 bytes, first byte not in `bad_first`.
fn wire_string(bad_first: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..40),
        prop::collection::vec(any::<u8>(), 1..=MAX_NAME_LEN),
    ]
    .prop_map(move |mut v| {
        if bad_first.contains(&v[0]) {
            v[0] = b'a';
        }
        v
    })
}

/// A request, with its strings owned (requests borrow them).
#[derive(Debug, Clone)]
enum OwnedRequest {
    Find(Vec<u8>),
    Load(Vec<u8>),
    SetEnv(Vec<u8>),
    Fixed(Request<'static>),
}

impl OwnedRequest {
    fn get(&self) -> Request<'_> {
        match self {
            Self::Find(name) => Request::FindService { name },
            Self::Load(name) => Request::LoadService { name },
            Self::SetEnv(var) => Request::SetEnv { var },
            Self::Fixed(r) => *r,
        }
    }
}

fn fixed_request() -> impl Strategy<Value = Request<'static>> {
    let h = handle;
    prop_oneof![
        Just(Request::QueryVersion),
        (start_flags(), h()).prop_map(|(flags, handle)| Request::StartService { flags, handle }),
        (start_flags(), h()).prop_map(|(flags, handle)| Request::StopService { flags, handle }),
        (start_flags(), h()).prop_map(|(flags, handle)| Request::WakeService { flags, handle }),
        (start_flags(), h()).prop_map(|(flags, handle)| Request::ReleaseService { flags, handle }),
        h().prop_map(|handle| Request::UnpinService { handle }),
        Just(Request::ListServices),
        h().prop_map(|handle| Request::UnloadService { handle }),
        shutdown_kind().prop_map(|kind| Request::Shutdown { kind }),
        (wire_dep_kind(), h(), h()).prop_map(|(kind, from, to)| Request::AddDep { kind, from, to }),
        (wire_dep_kind(), h(), h()).prop_map(|(kind, from, to)| Request::RemDep { kind, from, to }),
        Just(Request::QueryLoadMech),
        (wire_dep_kind(), h(), h()).prop_map(|(kind, from, to)| Request::EnableService {
            kind,
            from,
            to
        }),
        h().prop_map(|handle| Request::QueryServiceName { handle }),
        h().prop_map(|handle| Request::ReloadService { handle }),
        h().prop_map(|handle| Request::ServiceStatus { handle }),
        (h(), any::<bool>()).prop_map(|(handle, value)| Request::SetTrigger { handle, value }),
        (any::<bool>(), h()).prop_map(|(clear, handle)| Request::CatLog { clear, handle }),
        (any::<i32>(), h()).prop_map(|(signal, handle)| Request::Signal { signal, handle }),
        (any::<u8>(), h())
            .prop_map(|(reserved, handle)| Request::QueryServiceDscDir { reserved, handle }),
        h().prop_map(|handle| Request::CloseHandle { handle }),
        Just(Request::GetAllEnv),
        Just(Request::ListServices5),
        h().prop_map(|handle| Request::ServiceStatus5 { handle }),
        Just(Request::ListenEnv),
        h().prop_map(|handle| Request::ServiceStatus6 { handle }),
        (wire_dep_kind(), h(), h()).prop_map(|(kind, from, to)| Request::EnableServiceV7 {
            kind,
            from,
            to
        }),
    ]
}

fn request() -> impl Strategy<Value = OwnedRequest> {
    prop_oneof![
        wire_string(b".@").prop_map(OwnedRequest::Find),
        wire_string(b".@").prop_map(OwnedRequest::Load),
        wire_string(b"=").prop_map(OwnedRequest::SetEnv),
        fixed_request().prop_map(OwnedRequest::Fixed),
    ]
}

/// A reply with owned parts, and the status format to parse it with.
#[derive(Debug, Clone)]
enum OwnedReply {
    SvcInfo(Vec<u8>, StatusBlock),
    LoaderMech(Vec<u8>, Vec<Vec<u8>>),
    Dependents(Vec<Handle>),
    ServiceName(Vec<u8>),
    ServiceLog(Vec<u8>),
    SvcDscDir(Vec<u8>),
    AllEnv(Vec<u8>),
    Fixed(Reply<'static>),
}

impl OwnedReply {
    /// Calls `f` with the reply (the directory list needs a slice of slices built here).
    fn with<R>(&self, f: impl FnOnce(Reply<'_>) -> R) -> R {
        match self {
            Self::SvcInfo(name, status) => f(Reply::SvcInfo {
                name,
                status: *status,
            }),
            Self::LoaderMech(cwd, dirs) => {
                let list: Vec<&[u8]> = dirs.iter().map(Vec::as_slice).collect();
                f(Reply::LoaderMech {
                    cwd,
                    dirs: ServiceDirs::List(&list),
                })
            }
            Self::Dependents(handles) => f(Reply::Dependents {
                handles: Handles::List(handles),
            }),
            Self::ServiceName(name) => f(Reply::ServiceName { name }),
            Self::ServiceLog(log) => f(Reply::ServiceLog { log }),
            Self::SvcDscDir(dir) => f(Reply::SvcDscDir { dir }),
            Self::AllEnv(env) => f(Reply::AllEnv { env }),
            Self::Fixed(r) => f(*r),
        }
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn reply_with_format() -> impl Strategy<Value = (OwnedReply, StatusFormat)> {
    let single = prop::sample::select(ReplyCode::ALL.to_vec())
        .prop_filter_map("single-byte", Reply::single_byte)
        .prop_map(OwnedReply::Fixed);
    let any_format = (
        prop_oneof![
            single,
            (any::<u16>(), any::<u16>())
                .prop_map(|(min, current)| OwnedReply::Fixed(Reply::CpVersion { min, current })),
            (state(), handle(), state()).prop_map(|(state, handle, target)| OwnedReply::Fixed(
                Reply::ServiceRecord {
                    state,
                    handle,
                    target
                }
            )),
            (bytes(64), prop::collection::vec(bytes(32), 0..6))
                .prop_map(|(cwd, dirs)| OwnedReply::LoaderMech(cwd, dirs)),
            prop::collection::vec(handle(), 0..20).prop_map(OwnedReply::Dependents),
            bytes(300).prop_map(OwnedReply::ServiceName),
            bytes(2000).prop_map(OwnedReply::ServiceLog),
            bytes(100).prop_map(OwnedReply::SvcDscDir),
            bytes(2000).prop_map(OwnedReply::AllEnv),
        ],
        format(),
    );
    let with_status = format().prop_flat_map(|f| {
        prop_oneof![
            (
                prop::collection::vec(any::<u8>(), 0..=MAX_SVCINFO_NAME_LEN),
                block_of(f)
            )
                .prop_map(|(name, b)| OwnedReply::SvcInfo(name, b)),
            (any::<bool>(), block_of(f)).prop_map(|(dep_existed, status)| OwnedReply::Fixed(
                Reply::ServiceStatus {
                    dep_existed,
                    status
                }
            )),
        ]
        .prop_map(move |r| (r, f))
    });
    prop_oneof![any_format, with_status]
}

#[derive(Debug, Clone)]
enum OwnedInfo {
    Env(bool, Vec<u8>),
    Other(u8, Vec<u8>),
    Fixed(Info<'static>),
}

impl OwnedInfo {
    fn get(&self) -> Info<'_> {
        match self {
            Self::Env(overridden, var) => Info::EnvEvent {
                overridden: *overridden,
                var,
            },
            Self::Other(code, body) => Info::Other { code: *code, body },
            Self::Fixed(i) => *i,
        }
    }
}

fn status_of(b: StatusBlock) -> ServiceStatus {
    *b.status()
}

fn info() -> impl Strategy<Value = OwnedInfo> {
    prop_oneof![
        (
            handle(),
            event(),
            proptest::option::of(block_of(StatusFormat::Status10))
        )
            .prop_map(
                |(handle, event, status)| OwnedInfo::Fixed(Info::ServiceEvent {
                    handle,
                    event,
                    status: status.map(status_of),
                })
            ),
        (handle(), event(), block_of(StatusFormat::Status14)).prop_map(|(handle, event, b)| {
            OwnedInfo::Fixed(Info::ServiceEvent5 {
                handle,
                event,
                status: status_of(b),
            })
        }),
        (any::<bool>(), bytes(1100)).prop_map(|(o, var)| OwnedInfo::Env(o, var)),
        (103u8..=255, bytes(254)).prop_map(|(code, body)| OwnedInfo::Other(code, body)),
    ]
}

// ---- helpers --------------------------------------------------------------------------------

fn emit_with<E>(len: usize, emit: impl FnOnce(&mut [u8]) -> Result<usize, E>) -> Vec<u8>
where
    E: std::fmt::Debug,
{
    let mut buf = vec![0u8; len];
    let n = emit(&mut buf).unwrap();
    assert_eq!(n, len);
    buf
}

/// Every proper prefix of `packet` is incomplete with a plausible size.
fn assert_prefixes_incomplete(
    packet: &[u8],
    parse: impl Fn(&[u8]) -> Result<usize, ParseError>,
) -> Result<(), TestCaseError> {
    for cut in 0..packet.len() {
        match parse(&packet[..cut]) {
            Err(ParseError::Incomplete { needed }) => {
                prop_assert!(
                    needed > cut && needed <= packet.len(),
                    "cut {cut}: needed {needed}"
                )
            }
            other => prop_assert!(false, "cut {cut} of {packet:02x?}: {other:?}"),
        }
    }
    Ok(())
}

/// The answer of a parser on `len` bytes is sane.
fn assert_sane<T: std::fmt::Debug>(
    result: &Result<(T, usize), ParseError>,
    len: usize,
) -> Result<(), TestCaseError> {
    match result {
        Ok((_, n)) => prop_assert!(*n >= 1 && *n <= len),
        Err(ParseError::Incomplete { needed }) => prop_assert!(*needed > len),
        Err(ParseError::Malformed(_)) => {}
    }
    Ok(())
}

/// The getters of a request's view read what the parser read: the view's offsets and the
/// parser's agree.
fn assert_request_view_agrees(
    r: &Request<'_>,
    view: &RequestPacket<&[u8]>,
) -> Result<(), TestCaseError> {
    use Request as R;
    prop_assert_eq!(view.command(), Some(r.command()));
    prop_assert_eq!(view.code(), r.command() as u8);
    let (mut flags, mut handle, mut dep, mut string) = (None, None, None, None);
    let (mut shutdown, mut reserved, mut catlog, mut trigger, mut signal) =
        (None, None, None, None, None);
    match *r {
        R::FindService { name: s } | R::LoadService { name: s } | R::SetEnv { var: s } => {
            string = Some(s)
        }
        R::StartService {
            flags: f,
            handle: h,
        }
        | R::StopService {
            flags: f,
            handle: h,
        }
        | R::WakeService {
            flags: f,
            handle: h,
        }
        | R::ReleaseService {
            flags: f,
            handle: h,
        } => (flags, handle) = (Some(f), Some(h)),
        R::UnpinService { handle: h }
        | R::UnloadService { handle: h }
        | R::ReloadService { handle: h }
        | R::ServiceStatus { handle: h }
        | R::CloseHandle { handle: h }
        | R::ServiceStatus5 { handle: h }
        | R::ServiceStatus6 { handle: h } => handle = Some(h),
        R::QueryServiceName { handle: h } => (handle, reserved) = (Some(h), Some(0)),
        R::Shutdown { kind } => shutdown = Some(kind as u8),
        R::AddDep { kind, from, to }
        | R::RemDep { kind, from, to }
        | R::EnableService { kind, from, to }
        | R::EnableServiceV7 { kind, from, to } => dep = Some((kind as u8, from, to)),
        R::SetTrigger { handle: h, value } => (handle, trigger) = (Some(h), Some(u8::from(value))),
        R::CatLog { clear, handle: h } => (handle, catlog) = (Some(h), Some(u8::from(clear))),
        R::Signal {
            signal: s,
            handle: h,
        } => (handle, signal) = (Some(h), Some(s)),
        R::QueryServiceDscDir {
            reserved: v,
            handle: h,
        } => (handle, reserved) = (Some(h), Some(v)),
        R::GetAllEnv => reserved = Some(0),
        R::QueryVersion | R::ListServices | R::QueryLoadMech | R::ListServices5 | R::ListenEnv => {}
    }
    prop_assert_eq!(view.flags(), flags);
    prop_assert_eq!(view.handle(), handle);
    prop_assert_eq!(
        view.dep_kind().map(|k| (k, view.dep_from(), view.dep_to())),
        dep.map(|(k, f, t)| (k, Some(f), Some(t)))
    );
    prop_assert_eq!(view.string(), string);
    prop_assert_eq!(view.shutdown_kind(), shutdown);
    prop_assert_eq!(view.reserved(), reserved);
    prop_assert_eq!(view.catlog_flags(), catlog);
    prop_assert_eq!(view.trigger_value(), trigger);
    prop_assert_eq!(view.signal(), signal);
    Ok(())
}

/// Framing and parsing agree: same length on success, same wait when incomplete.
fn assert_frame_agrees<T>(
    parsed: &Result<(T, usize), ParseError>,
    framed: Result<usize, ParseError>,
) -> Result<(), TestCaseError> {
    match parsed {
        Ok((_, n)) => prop_assert_eq!(framed, Ok(*n)),
        Err(ParseError::Incomplete { needed }) => {
            prop_assert_eq!(framed, Err(ParseError::Incomplete { needed: *needed }))
        }
        // A framed packet may still have bad contents.
        Err(ParseError::Malformed(_)) => {}
    }
    Ok(())
}

// ---- properties -----------------------------------------------------------------------------

/// In a module so that `cargo test proto` selects these tests.
mod proto {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn request_round_trip(owned in request()) {
            let r = owned.get();
            let bytes = emit_with(r.buffer_len(), |b| r.emit(b));
            prop_assert!(bytes.len() <= MAX_REQUEST_LEN);
            prop_assert_eq!(bytes[0], r.command() as u8);
            prop_assert_eq!(Request::parse_prefix(&bytes), Ok((r, bytes.len())));
            prop_assert_eq!(RequestPacket::new_unchecked(&bytes[..]).check_len(), Ok(bytes.len()));
            assert_prefixes_incomplete(&bytes, |b| Request::parse_prefix(b).map(|(_, n)| n))?;
            assert_request_view_agrees(&r, &RequestPacket::new_checked(&bytes[..]).unwrap())?;
        }

        #[test]
        fn pipelined_requests(owned in prop::collection::vec(request(), 1..8)) {
            let mut stream = Vec::new();
            for o in &owned {
                let r = o.get();
                stream.extend(emit_with(r.buffer_len(), |b| r.emit(b)));
            }
            let mut rest = &stream[..];
            for o in &owned {
                let (got, n) = Request::parse_prefix(rest).unwrap();
                prop_assert_eq!(got, o.get());
                rest = &rest[n..];
            }
            prop_assert!(rest.is_empty());
        }

        #[test]
        fn reply_round_trip((owned, f) in reply_with_format()) {
            owned.with(|r| {
                let bytes = emit_with(r.buffer_len(), |b| r.emit(b));
                prop_assert_eq!(bytes[0], r.code() as u8);
                prop_assert_eq!(Reply::parse_prefix(&bytes, f), Ok((r, bytes.len())));
                prop_assert_eq!(
                    DaemonPacket::parse_prefix(&bytes, f),
                    Ok((DaemonPacket::Reply(r), bytes.len()))
                );
                prop_assert_eq!(DaemonPacket::frame(&bytes, f), Ok(bytes.len()));
                if let (Some(kind), Some(body)) = (r.body_kind(), r.body()) {
                    prop_assert_eq!(BodyReply::parse_header(&bytes), Ok((kind, body.len())));
                }
                assert_prefixes_incomplete(&bytes, |b| Reply::parse_prefix(b, f).map(|(_, n)| n))
            })?;
        }

        #[test]
        fn info_round_trip(owned in info()) {
            let i = owned.get();
            let bytes = emit_with(i.buffer_len(), |b| i.emit(b));
            prop_assert_eq!(Info::parse_prefix(&bytes), Ok((i, bytes.len())));
            prop_assert_eq!(
                DaemonPacket::parse_prefix(&bytes, StatusFormat::Status30),
                Ok((DaemonPacket::Info(i), bytes.len()))
            );
            assert_prefixes_incomplete(&bytes, |b| Info::parse_prefix(b).map(|(_, n)| n))?;
        }

        #[test]
        fn event_pair_matches_single_events(h in handle(), e in event(), s in service_status()) {
            let mut buf = [0u8; SERVICE_EVENT_PAIR_LEN];
            prop_assert_eq!(emit_service_event_pair(h, e, &s, &mut buf), Ok(SERVICE_EVENT_PAIR_LEN));
            let (first, n) = Info::parse_prefix(&buf).unwrap();
            let (second, m) = Info::parse_prefix(&buf[n..]).unwrap();
            prop_assert_eq!(n + m, SERVICE_EVENT_PAIR_LEN);
            let v5 = StatusBlock::Status14(s).normalized();
            let v1 = StatusBlock::Status10(s).normalized();
            prop_assert_eq!(first, Info::ServiceEvent5 { handle: h, event: e, status: *v5.status() });
            prop_assert_eq!(second, Info::ServiceEvent { handle: h, event: e, status: Some(*v1.status()) });
        }

        #[test]
        fn status_block_normalizes(b in raw_block()) {
            let bytes = emit_with(b.buffer_len(), |out| b.emit(out));
            let parsed = StatusBlock::parse(&bytes, b.format()).unwrap();
            prop_assert_eq!(parsed, b.normalized());
            prop_assert_eq!(parsed.normalized(), parsed);
            // What survives re-emits to the same bytes.
            prop_assert_eq!(&emit_with(parsed.buffer_len(), |out| parsed.emit(out)), &bytes);
            // The case rules of PROTOCOL.md §3.3.
            let s = b.status();
            let view = StatusView::new_checked(&bytes[..], b.format()).unwrap();
            if s.flags.has(StatusFlags::HAS_PID) {
                prop_assert_eq!(view.detail(), s.pid);
            }
            if s.pid().is_some() || s.stop_reason != StopReason::ExecFailed {
                prop_assert_eq!(view.exec_stage(), 0);
            }
            if b.format() == StatusFormat::Status10 && s.pid().is_none() && s.stop_reason != StopReason::ExecFailed {
                prop_assert!(matches!(view.detail(), 0 | -1));
            }
            prop_assert_eq!(view.mtime(), b.mtime());
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..64), f in format()) {
            let len = data.len();
            let req = Request::parse_prefix(&data);
            assert_sane(&req, len)?;
            assert_frame_agrees(&req, RequestPacket::new_unchecked(&data[..]).check_len())?;
            // Whatever parses re-emits to something that parses the same.
            if let Ok((r, _)) = req {
                let again = emit_with(r.buffer_len(), |b| r.emit(b));
                prop_assert_eq!(Request::parse(&again), Ok(r));
            }
            let reply = Reply::parse_prefix(&data, f);
            assert_sane(&reply, len)?;
            assert_frame_agrees(&reply, ReplyPacket::new_unchecked(&data[..], f).check_len())?;
            if let Ok((r, _)) = reply {
                // A status10 exit field from an old daemon (a real wait status) re-emits in the
                // current 0/-1 form, so the first cycle may change it; the second may not.
                let again = emit_with(r.buffer_len(), |b| r.emit(b));
                let r2 = Reply::parse(&again, f).unwrap();
                let third = emit_with(r2.buffer_len(), |b| r2.emit(b));
                prop_assert_eq!(&third, &again);
                if f != StatusFormat::Status10 {
                    prop_assert_eq!(r2, r);
                }
            }
            let info = Info::parse_prefix(&data);
            assert_sane(&info, len)?;
            assert_frame_agrees(&info, InfoPacket::new_unchecked(&data[..]).check_len())?;
            let any = DaemonPacket::parse_prefix(&data, f);
            assert_sane(&any, len)?;
            assert_frame_agrees(&any, DaemonPacket::frame(&data, f))?;
            let header = BodyReply::parse_header(&data);
            if let Err(ParseError::Incomplete { needed }) = header {
                prop_assert!(needed > len);
            }
            let _ = StatusBlock::parse(&data, f);
            // The getters of checked views never fail (nor panic).
            if let Ok(rv) = RequestPacket::new_checked(&data[..]) {
                let _ = (rv.flags(), rv.handle(), rv.dep_kind(), rv.dep_from(), rv.dep_to(), rv.string());
                let _ = (rv.shutdown_kind(), rv.reserved(), rv.catlog_flags(), rv.trigger_value(), rv.signal(), rv.packet());
            }
            if let Ok(pv) = ReplyPacket::new_checked(&data[..], f) {
                let _ = (pv.versions(), pv.record(), pv.status().map(|s| (s.state(), s.mtime(), s.si_status())));
                let _ = (pv.status_detail(), pv.name(), pv.body(), pv.dependents().map(|h| h.iter().count()));
                let _ = (pv.loader_kind(), pv.loader_dirs().map(|(_, d)| d.iter().count()));
            }
            if let Ok(iv) = InfoPacket::new_checked(&data[..]) {
                let _ = (iv.handle(), iv.event(), iv.status().map(|s| s.detail()), iv.env_flags(), iv.env_data());
            }
        }

        #[test]
        fn requests_with_any_tail(code in 0u8..30, data in prop::collection::vec(any::<u8>(), 0..1100)) {
            // Biased towards valid command bytes, long enough to reach the string limits.
            let mut buf = vec![code];
            buf.extend(data);
            let req = Request::parse_prefix(&buf);
            assert_sane(&req, buf.len())?;
            if let Ok((_, n)) = req {
                prop_assert!(n <= MAX_REQUEST_LEN);
            }
        }

        #[test]
        fn replies_with_any_tail(code in 50u8..80, data in prop::collection::vec(any::<u8>(), 0..80), f in format()) {
            let mut buf = vec![code];
            buf.extend(data);
            assert_sane(&Reply::parse_prefix(&buf, f), buf.len())?;
        }
    }
}
