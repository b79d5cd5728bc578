//! Unit tests of the codec: every test vector of PROTOCOL.md §12 (requests parsed and re-emitted,
//! replies and information packets built, emitted byte for byte and parsed back), the error
//! vectors, and the edge cases of framing and of the status block.
//!
//! The vectors are Dinit's bytes as captured on x86_64 (PROTOCOL.md §3.2: native byte order and
//! C widths), so they hold on 64-bit little-endian targets only; `native_tests` checks the
//! layout on the others.
#![cfg(all(target_endian = "little", target_pointer_width = "64"))]

use super::*;
use crate::status::{ServiceStatus, StatusFlags};
use crate::types::{
    DepKind, ExecStage, ExitStatus, ServiceEvent, ServiceState, ShutdownKind, StopReason,
};
use std::vec;
use std::vec::Vec;

use ServiceState::{Started, Starting, Stopped};

// ---- helpers -------------------------------------------------------------------------------

/// Bytes from space-separated hex pairs.
fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// `hex(prefix)` followed by the bytes of `text`.
fn hex_text(prefix: &str, text: &[u8]) -> Vec<u8> {
    let mut v = hex(prefix);
    v.extend_from_slice(text);
    v
}

fn emit_request(r: &Request<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; r.buffer_len()];
    assert_eq!(r.emit(&mut buf), Ok(buf.len()));
    buf
}

fn emit_packet(p: &DaemonPacket<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; p.buffer_len()];
    assert_eq!(p.emit(&mut buf), Ok(buf.len()));
    buf
}

/// The request vector parses to `expected`, re-emits byte for byte, and every proper prefix
/// is incomplete.
fn check_request(bytes: &[u8], expected: Request<'_>) {
    assert_eq!(
        Request::parse_prefix(bytes),
        Ok((expected, bytes.len())),
        "parsing {bytes:02x?}"
    );
    assert_eq!(emit_request(&expected), bytes);
    assert_eq!(
        RequestPacket::new_unchecked(bytes).check_len(),
        Ok(bytes.len())
    );
    for cut in 0..bytes.len() {
        match Request::parse_prefix(&bytes[..cut]) {
            Err(ParseError::Incomplete { needed }) => {
                assert!(needed > cut && needed <= bytes.len())
            }
            other => panic!("prefix {cut} of {bytes:02x?}: {other:?}"),
        }
    }
}

/// The daemon's bytes are exactly the emitted `expected` packets, and parse back into them.
fn check_stream(bytes: &[u8], format: StatusFormat, expected: &[DaemonPacket<'_>]) {
    let emitted: Vec<u8> = expected.iter().flat_map(|p| emit_packet(p)).collect();
    assert_eq!(emitted, bytes, "emitted stream differs");
    let mut rest = bytes;
    for want in expected {
        let (got, len) = DaemonPacket::parse_prefix(rest, format).unwrap();
        assert_eq!(&got, want);
        assert_eq!(DaemonPacket::frame(rest, format), Ok(len));
        for cut in 0..len {
            assert!(
                DaemonPacket::parse_prefix(&rest[..cut], format)
                    .unwrap_err()
                    .is_incomplete(),
                "prefix {cut} of {:02x?}",
                &rest[..len]
            );
        }
        rest = &rest[len..];
    }
    assert!(rest.is_empty());
}

fn reply(r: Reply<'_>) -> DaemonPacket<'_> {
    DaemonPacket::Reply(r)
}

const ACK: DaemonPacket<'static> = DaemonPacket::Reply(Reply::Ack);
const NAK: DaemonPacket<'static> = DaemonPacket::Reply(Reply::Nak);

fn status(
    state: ServiceState,
    target: ServiceState,
    flags: u8,
    stop_reason: StopReason,
    pid: i32,
    exit: ExitStatus,
) -> ServiceStatus {
    ServiceStatus {
        state,
        target,
        flags: StatusFlags::from_bits(flags),
        stop_reason,
        exec_failure: None,
        pid,
        exit,
    }
}

/// A started service with a process.
fn running(pid: i32, flags: u8, reason: StopReason) -> ServiceStatus {
    status(Started, Started, flags, reason, pid, ExitStatus::None)
}

/// SERVICEEVENT5 then SERVICEEVENT, with their own snapshots (status10 keeps less).
fn events<'a>(
    handle: Handle,
    event: ServiceEvent,
    v5: ServiceStatus,
    legacy: ServiceStatus,
) -> [DaemonPacket<'a>; 2] {
    [
        DaemonPacket::Info(Info::ServiceEvent5 {
            handle,
            event,
            status: v5,
        }),
        DaemonPacket::Info(Info::ServiceEvent {
            handle,
            event,
            status: Some(legacy),
        }),
    ]
}

/// An event pair where both snapshots are the same (a process is running).
fn same_events<'a>(handle: Handle, event: ServiceEvent, s: ServiceStatus) -> [DaemonPacket<'a>; 2] {
    events(handle, event, s, s)
}

/// An event pair after a termination: status14 has the exit status, status10 only "-1".
fn exit_events<'a>(handle: Handle, event: ServiceEvent, s: ServiceStatus) -> [DaemonPacket<'a>; 2] {
    events(
        handle,
        event,
        s,
        ServiceStatus {
            exit: LEGACY_FAILURE,
            ..s
        },
    )
}

const MTIME: Timespec = Timespec::new(0x6b09_1b9c, 0x37c2_5f90);

fn record(state: ServiceState, handle: Handle, target: ServiceState) -> DaemonPacket<'static> {
    reply(Reply::ServiceRecord {
        state,
        handle,
        target,
    })
}

fn flags(bits: u8) -> StartFlags {
    StartFlags::from_bits(bits)
}

// ---- PROTOCOL.md §12 test vectors, V1-V47
// ----------------------------------------------------------

#[test]
fn v01_query_version() {
    check_request(&hex("00"), Request::QueryVersion);
    check_stream(
        &hex("3a 01 00 07 00"),
        StatusFormat::Status10,
        &[reply(Reply::CpVersion {
            min: PROTOCOL_VERSION_MIN,
            current: PROTOCOL_VERSION,
        })],
    );
}

#[test]
fn v02_find_not_loaded() {
    check_request(
        &hex("01 07 00 73 6c 65 65 70 65 72"),
        Request::FindService { name: b"sleeper" },
    );
    check_stream(
        &hex("3c"),
        StatusFormat::Status10,
        &[reply(Reply::NoService)],
    );
}

#[test]
fn v03_load() {
    check_request(
        &hex("02 07 00 73 6c 65 65 70 65 72"),
        Request::LoadService { name: b"sleeper" },
    );
    check_stream(
        &hex("3b 00 00 00 00 00 00"),
        StatusFormat::Status10,
        &[record(Stopped, 0, Stopped)],
    );
}

#[test]
fn v04_service_description_dir() {
    check_request(
        &hex("16 00 00 00 00 00"),
        Request::QueryServiceDscDir {
            reserved: 0,
            handle: 0,
        },
    );
    check_stream(
        &hex("4d 02 00 00 00 73 64"),
        StatusFormat::Status10,
        &[reply(Reply::SvcDscDir { dir: b"sd" })],
    );
}

#[test]
fn v05_status6() {
    check_request(
        &hex("1c 00 00 00 00"),
        Request::ServiceStatus6 { handle: 0 },
    );
    check_stream(
        &hex("46 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 9c 1b 09 6b 00 00 00 00 90 5f c2 37 00 00 00 00"),
        StatusFormat::Status30,
        &[reply(Reply::ServiceStatus {
            dep_existed: false,
            status: StatusBlock::Status30(ServiceStatus::default(), MTIME),
        })],
    );
}

#[test]
fn v06_start_process() {
    check_request(
        &hex("03 00 00 00 00 00"),
        Request::StartService {
            flags: StartFlags::NONE,
            handle: 0,
        },
    );
    let [e5, e] = same_events(
        0,
        ServiceEvent::Started,
        running(0x2ce9, 0x18, StopReason::Normal),
    );
    check_stream(
        &hex("32 65 15 00 00 00 00 00 02 02 18 00 00 00 e9 2c 00 00 00 00 00 00 64 11 00 00 00 00 00 02 02 18 00 00 00 e9 2c 00 00"),
        StatusFormat::Status10,
        &[ACK, e5, e],
    );
}

#[test]
fn v07_status5_with_pid() {
    check_request(
        &hex("1a 00 00 00 00"),
        Request::ServiceStatus5 { handle: 0 },
    );
    check_stream(
        &hex("46 00 02 02 18 00 00 00 e9 2c 00 00 00 00 00 00"),
        StatusFormat::Status14,
        &[reply(Reply::ServiceStatus {
            dep_existed: false,
            status: StatusBlock::Status14(running(0x2ce9, 0x18, StopReason::Normal)),
        })],
    );
}

#[test]
fn v08_load_dependent() {
    check_request(
        &hex_text("02 09 00", b"dependent"),
        Request::LoadService { name: b"dependent" },
    );
    check_stream(
        &hex("3b 00 01 00 00 00 00"),
        StatusFormat::Status10,
        &[record(Stopped, 1, Stopped)],
    );
}

#[test]
fn v09_start_dependent() {
    check_request(
        &hex("03 00 01 00 00 00"),
        Request::StartService {
            flags: StartFlags::NONE,
            handle: 1,
        },
    );
    let [e5, e] = same_events(
        1,
        ServiceEvent::Started,
        running(0x2cea, 0x18, StopReason::Normal),
    );
    check_stream(
        &hex("32 65 15 01 00 00 00 00 02 02 18 00 00 00 ea 2c 00 00 00 00 00 00 64 11 01 00 00 00 00 02 02 18 00 00 00 ea 2c 00 00"),
        StatusFormat::Status10,
        &[ACK, e5, e],
    );
}

#[test]
fn v10_gentle_stop_dependents() {
    check_request(
        &hex("04 02 00 00 00 00"),
        Request::StopService {
            flags: flags(StartFlags::GENTLE),
            handle: 0,
        },
    );
    check_stream(
        &hex("41 01 00 00 00 00 00 00 00 02 00 00 00"),
        StatusFormat::Status10,
        &[reply(Reply::Dependents {
            handles: Handles::List(&[2]),
        })],
    );
}

#[test]
fn v11_service_name() {
    check_request(
        &hex("0f 00 02 00 00 00"),
        Request::QueryServiceName { handle: 2 },
    );
    check_stream(
        &hex_text("42 00 09 00", b"dependent"),
        StatusFormat::Status10,
        &[reply(Reply::ServiceName { name: b"dependent" })],
    );
}

#[test]
fn v12_restart_with_preack() {
    check_request(
        &hex("04 86 01 00 00 00"),
        Request::StopService {
            flags: flags(StartFlags::GENTLE | StartFlags::RESTART | StartFlags::PRE_ACK),
            handle: 1,
        },
    );
    let stopping = status(
        Starting,
        Started,
        0x08,
        StopReason::Normal,
        0,
        ExitStatus::Signaled(15),
    );
    let up = running(0x2ceb, 0x18, StopReason::Normal);
    let bytes = hex("4f 32
         65 15 02 00 00 00 01 01 02 08 00 00 00 02 00 00 00 0f 00 00 00
         64 11 02 00 00 00 01 01 02 08 00 00 00 ff ff ff ff
         65 15 01 00 00 00 01 01 02 08 00 00 00 02 00 00 00 0f 00 00 00
         64 11 01 00 00 00 01 01 02 08 00 00 00 ff ff ff ff
         65 15 02 00 00 00 00 02 02 18 00 00 00 eb 2c 00 00 00 00 00 00
         64 11 02 00 00 00 00 02 02 18 00 00 00 eb 2c 00 00
         65 15 01 00 00 00 00 02 02 18 00 00 00 eb 2c 00 00 00 00 00 00
         64 11 01 00 00 00 00 02 02 18 00 00 00 eb 2c 00 00");
    let mut expected = vec![reply(Reply::PreAck), ACK];
    expected.extend(exit_events(2, ServiceEvent::Stopped, stopping));
    expected.extend(exit_events(1, ServiceEvent::Stopped, stopping));
    expected.extend(same_events(2, ServiceEvent::Started, up));
    expected.extend(same_events(1, ServiceEvent::Started, up));
    check_stream(&bytes, StatusFormat::Status10, &expected);
}

#[test]
fn v13_list_services5() {
    check_request(&hex("19"), Request::ListServices5);
    let bytes = hex("3e 04 02 02 08 00 00 00 00 00 00 00 00 00 00 00 62 6f 6f 74
         3e 07 02 02 18 00 00 00 e9 2c 00 00 00 00 00 00 73 6c 65 65 70 65 72
         3e 09 02 02 18 00 00 00 eb 2c 00 00 00 00 00 00 64 65 70 65 6e 64 65 6e 74
         3f");
    let info = |name, s| {
        reply(Reply::SvcInfo {
            name,
            status: StatusBlock::Status14(s),
        })
    };
    check_stream(
        &bytes,
        StatusFormat::Status14,
        &[
            info(
                &b"boot"[..],
                status(
                    Started,
                    Started,
                    0x08,
                    StopReason::Normal,
                    0,
                    ExitStatus::None,
                ),
            ),
            info(&b"sleeper"[..], running(0x2ce9, 0x18, StopReason::Normal)),
            info(&b"dependent"[..], running(0x2ceb, 0x18, StopReason::Normal)),
            reply(Reply::ListDone),
        ],
    );
}

#[test]
fn v14_setenv() {
    check_request(
        &hex_text("11 07 00", b"FOO=bar"),
        Request::SetEnv { var: b"FOO=bar" },
    );
    check_stream(&hex("32"), StatusFormat::Status10, &[ACK]);
}

#[test]
fn v15_allenv() {
    check_request(&hex("18 00"), Request::GetAllEnv);
    let env = b"PATH=/usr/bin:/bin\0FOO=bar\0";
    check_stream(
        &hex_text("4e 1b 00 00 00 00 00 00 00", env),
        StatusFormat::Status10,
        &[reply(Reply::AllEnv { env })],
    );
    let entries: Vec<&[u8]> = EnvEntries::new(env).collect();
    assert_eq!(entries, [&b"PATH=/usr/bin:/bin"[..], &b"FOO=bar"[..]]);
}

#[test]
fn v16_load_failing() {
    check_request(
        &hex_text("02 07 00", b"failing"),
        Request::LoadService { name: b"failing" },
    );
    check_stream(
        &hex("3b 00 03 00 00 00 00"),
        StatusFormat::Status10,
        &[record(Stopped, 3, Stopped)],
    );
}

#[test]
fn v17_failed_start() {
    check_request(
        &hex("03 00 03 00 00 00"),
        Request::StartService {
            flags: StartFlags::NONE,
            handle: 3,
        },
    );
    let failing = status(
        Starting,
        Stopped,
        0,
        StopReason::Failed,
        0,
        ExitStatus::Exited(3),
    );
    let stopped = ServiceStatus {
        state: Stopped,
        ..failing
    };
    let bytes = hex("32
         65 15 03 00 00 00 02 01 00 00 03 00 00 01 00 00 00 03 00 00 00
         64 11 03 00 00 00 02 01 00 00 03 00 00 ff ff ff ff
         65 15 03 00 00 00 01 00 00 00 03 00 00 01 00 00 00 03 00 00 00
         64 11 03 00 00 00 01 00 00 00 03 00 00 ff ff ff ff");
    let mut expected = vec![ACK];
    expected.extend(exit_events(3, ServiceEvent::FailedStart, failing));
    expected.extend(exit_events(3, ServiceEvent::Stopped, stopped));
    check_stream(&bytes, StatusFormat::Status10, &expected);
    assert!(stopped.is_failed());
}

#[test]
fn v18_load_logged() {
    check_request(
        &hex_text("02 06 00", b"logged"),
        Request::LoadService { name: b"logged" },
    );
    check_stream(
        &hex("3b 00 04 00 00 00 00"),
        StatusFormat::Status10,
        &[record(Stopped, 4, Stopped)],
    );
}

#[test]
fn v19_start_logged() {
    check_request(
        &hex("03 00 04 00 00 00"),
        Request::StartService {
            flags: StartFlags::NONE,
            handle: 4,
        },
    );
    let [e5, e] = same_events(
        4,
        ServiceEvent::Started,
        running(0x2ced, 0x18, StopReason::Normal),
    );
    check_stream(
        &hex("32 65 15 04 00 00 00 00 02 02 18 00 00 00 ed 2c 00 00 00 00 00 00 64 11 04 00 00 00 00 02 02 18 00 00 00 ed 2c 00 00"),
        StatusFormat::Status10,
        &[ACK, e5, e],
    );
}

#[test]
fn v20_catlog() {
    check_request(
        &hex("14 00 04 00 00 00"),
        Request::CatLog {
            clear: false,
            handle: 4,
        },
    );
    check_stream(
        &hex("49 00 06 00 00 00 68 65 6c 6c 6f 0a"),
        StatusFormat::Status10,
        &[reply(Reply::ServiceLog { log: b"hello\n" })],
    );
}

#[test]
fn v21_signal_and_auto_restart() {
    check_request(
        &hex("15 0a 00 00 00 02 00 00 00"),
        Request::Signal {
            signal: 10,
            handle: 2,
        },
    );
    let killed = status(
        Starting,
        Started,
        0x08,
        StopReason::Terminated,
        0,
        ExitStatus::Signaled(10),
    );
    let up = running(0x2cee, 0x18, StopReason::Terminated);
    let bytes = hex("32
         65 15 02 00 00 00 01 01 02 08 06 00 00 02 00 00 00 0a 00 00 00
         64 11 02 00 00 00 01 01 02 08 06 00 00 ff ff ff ff
         65 15 01 00 00 00 01 01 02 08 06 00 00 02 00 00 00 0a 00 00 00
         64 11 01 00 00 00 01 01 02 08 06 00 00 ff ff ff ff
         65 15 02 00 00 00 00 02 02 18 06 00 00 ee 2c 00 00 00 00 00 00
         64 11 02 00 00 00 00 02 02 18 06 00 00 ee 2c 00 00
         65 15 01 00 00 00 00 02 02 18 06 00 00 ee 2c 00 00 00 00 00 00
         64 11 01 00 00 00 00 02 02 18 06 00 00 ee 2c 00 00");
    let mut expected = vec![ACK];
    expected.extend(exit_events(2, ServiceEvent::Stopped, killed));
    expected.extend(exit_events(1, ServiceEvent::Stopped, killed));
    expected.extend(same_events(2, ServiceEvent::Started, up));
    expected.extend(same_events(1, ServiceEvent::Started, up));
    check_stream(&bytes, StatusFormat::Status10, &expected);
}

#[test]
fn v22_signal_no_pid() {
    check_request(
        &hex("15 01 00 00 00 03 00 00 00"),
        Request::Signal {
            signal: 1,
            handle: 3,
        },
    );
    check_stream(
        &hex("4a"),
        StatusFormat::Status10,
        &[reply(Reply::SignalNoPid)],
    );
}

#[test]
fn v23_v24_trigger() {
    check_request(
        &hex_text("02 04 00", b"trig"),
        Request::LoadService { name: b"trig" },
    );
    check_stream(
        &hex("3b 00 05 00 00 00 00"),
        StatusFormat::Status10,
        &[record(Stopped, 5, Stopped)],
    );
    check_request(
        &hex("13 05 00 00 00 01"),
        Request::SetTrigger {
            handle: 5,
            value: true,
        },
    );
    check_stream(&hex("32"), StatusFormat::Status10, &[ACK]);
}

#[test]
fn v25_to_v27_add_and_remove_dependency() {
    check_request(
        &hex_text("02 05 00", b"extra"),
        Request::LoadService { name: b"extra" },
    );
    check_stream(
        &hex("3b 00 06 00 00 00 00"),
        StatusFormat::Status10,
        &[record(Stopped, 6, Stopped)],
    );
    check_request(
        &hex("0b 02 05 00 00 00 06 00 00 00"),
        Request::AddDep {
            kind: DepKind::WaitsFor,
            from: 5,
            to: 6,
        },
    );
    check_request(
        &hex("0c 02 05 00 00 00 06 00 00 00"),
        Request::RemDep {
            kind: DepKind::WaitsFor,
            from: 5,
            to: 6,
        },
    );
    check_stream(&hex("32"), StatusFormat::Status10, &[ACK]);
}

#[test]
fn v28_load_started() {
    check_request(
        &hex_text("02 04 00", b"boot"),
        Request::LoadService { name: b"boot" },
    );
    check_stream(
        &hex("3b 02 07 00 00 00 02"),
        StatusFormat::Status10,
        &[record(Started, 7, Started)],
    );
}

#[test]
fn v29_enable_v7() {
    check_request(
        &hex("1d 02 07 00 00 00 06 00 00 00"),
        Request::EnableServiceV7 {
            kind: DepKind::WaitsFor,
            from: 7,
            to: 6,
        },
    );
    let up = status(Started, Started, 0, StopReason::Normal, 0, ExitStatus::None);
    // status10's exit field 0 reads as a clean exit (a C wait status of 0).
    let legacy = ServiceStatus {
        exit: ExitStatus::Exited(0),
        ..up
    };
    let bytes = hex(
        "65 15 06 00 00 00 00 02 02 00 00 00 00 00 00 00 00 00 00 00 00
         64 11 06 00 00 00 00 02 02 00 00 00 00 00 00 00 00
         46 00 02 02 00 00 00 00 00 00 00 00 00 00 00 00 9c 1b 09 6b 00 00 00 00 90 5f c2 37 00 00 00 00",
    );
    let [e5, e] = events(6, ServiceEvent::Started, up, legacy);
    check_stream(
        &bytes,
        StatusFormat::Status30,
        &[
            e5,
            e,
            reply(Reply::ServiceStatus {
                dep_existed: false,
                status: StatusBlock::Status30(up, MTIME),
            }),
        ],
    );
    assert_eq!(
        Command::EnableServiceV7.reply_status_format(),
        Some(StatusFormat::Status30)
    );
}

#[test]
fn v30_legacy_enable() {
    check_request(
        &hex("0e 02 07 00 00 00 06 00 00 00"),
        Request::EnableService {
            kind: DepKind::WaitsFor,
            from: 7,
            to: 6,
        },
    );
    check_stream(&hex("32"), StatusFormat::Status10, &[ACK]);
}

#[test]
fn v31_to_v34_unload_reload_close() {
    check_request(&hex("09 03 00 00 00"), Request::UnloadService { handle: 3 });
    check_stream(&hex("32"), StatusFormat::Status10, &[ACK]);
    check_request(&hex("09 00 00 00 00"), Request::UnloadService { handle: 0 });
    check_stream(&hex("33"), StatusFormat::Status10, &[NAK]);
    check_request(&hex("10 05 00 00 00"), Request::ReloadService { handle: 5 });
    check_request(&hex("17 06 00 00 00"), Request::CloseHandle { handle: 6 });
}

#[test]
fn v35_loader_mech() {
    check_request(&hex("0d"), Request::QueryLoadMech);
    // The capture elides the daemon's 7-byte working directory; any 7 bytes do.
    let cwd = b"/tmp/xy";
    let mut bytes = hex("40 01 1b 00 00 00 01 00 00 00 07 00 00 00");
    bytes.extend_from_slice(cwd);
    bytes.extend_from_slice(&hex("02 00 00 00 73 64"));
    let dirs: [&[u8]; 1] = [b"sd"];
    check_stream(
        &bytes,
        StatusFormat::Status10,
        &[reply(Reply::LoaderMech {
            cwd,
            dirs: ServiceDirs::List(&dirs),
        })],
    );
    let view = ReplyPacket::new_checked(&bytes[..], StatusFormat::Status10).unwrap();
    assert_eq!(view.loader_kind(), Some(1));
    let (got_cwd, got_dirs) = view.loader_dirs().unwrap();
    assert_eq!(got_cwd, cwd);
    assert_eq!(got_dirs.iter().collect::<Vec<_>>(), [&b"sd"[..]]);
}

#[test]
fn v36_unpin() {
    check_request(&hex("07 00 00 00 00"), Request::UnpinService { handle: 0 });
    check_stream(&hex("32"), StatusFormat::Status10, &[ACK]);
}

#[test]
fn v37_wake_already_started() {
    check_request(
        &hex("05 00 01 00 00 00"),
        Request::WakeService {
            flags: StartFlags::NONE,
            handle: 1,
        },
    );
    check_stream(
        &hex("3d"),
        StatusFormat::Status10,
        &[reply(Reply::AlreadySs)],
    );
}

#[test]
fn v38_release() {
    check_request(
        &hex("06 00 04 00 00 00"),
        Request::ReleaseService {
            flags: StartFlags::NONE,
            handle: 4,
        },
    );
    let down = status(
        Stopped,
        Stopped,
        0,
        StopReason::Normal,
        0,
        ExitStatus::Signaled(15),
    );
    let mut expected = vec![ACK];
    expected.extend(exit_events(4, ServiceEvent::Stopped, down));
    check_stream(
        &hex("32 65 15 04 00 00 00 01 00 00 00 00 00 00 02 00 00 00 0f 00 00 00 64 11 04 00 00 00 01 00 00 00 00 00 00 ff ff ff ff"),
        StatusFormat::Status10,
        &expected,
    );
}

#[test]
fn v39_legacy_status() {
    check_request(&hex("12 04 00 00 00"), Request::ServiceStatus { handle: 4 });
    check_stream(
        &hex("46 00 00 00 00 00 00 00 ff ff ff ff"),
        StatusFormat::Status10,
        &[reply(Reply::ServiceStatus {
            dep_existed: false,
            status: StatusBlock::Status10(ServiceStatus {
                exit: LEGACY_FAILURE,
                ..ServiceStatus::default()
            }),
        })],
    );
}

#[test]
fn v40_legacy_list() {
    check_request(&hex("08"), Request::ListServices);
    let bytes = hex("3e 04 02 02 08 00 00 00 00 00 00 00 62 6f 6f 74
         3e 07 02 02 18 00 00 00 e9 2c 00 00 73 6c 65 65 70 65 72
         3e 09 02 02 18 06 00 00 ee 2c 00 00 64 65 70 65 6e 64 65 6e 74
         3e 06 00 00 00 00 00 00 ff ff ff ff 6c 6f 67 67 65 64
         3e 04 00 00 00 00 00 00 00 00 00 00 74 72 69 67
         3e 05 02 02 00 00 00 00 00 00 00 00 65 78 74 72 61
         3f");
    let info = |name, s| {
        reply(Reply::SvcInfo {
            name,
            status: StatusBlock::Status10(s),
        })
    };
    let clean = ExitStatus::Exited(0);
    check_stream(
        &bytes,
        StatusFormat::Status10,
        &[
            info(
                &b"boot"[..],
                status(Started, Started, 0x08, StopReason::Normal, 0, clean),
            ),
            info(&b"sleeper"[..], running(0x2ce9, 0x18, StopReason::Normal)),
            info(
                &b"dependent"[..],
                running(0x2cee, 0x18, StopReason::Terminated),
            ),
            info(
                &b"logged"[..],
                ServiceStatus {
                    exit: LEGACY_FAILURE,
                    ..ServiceStatus::default()
                },
            ),
            info(
                &b"trig"[..],
                status(Stopped, Stopped, 0, StopReason::Normal, 0, clean),
            ),
            info(
                &b"extra"[..],
                status(Started, Started, 0, StopReason::Normal, 0, clean),
            ),
            reply(Reply::ListDone),
        ],
    );
}

#[test]
fn v41_to_v45_environment_events() {
    check_request(&hex("1b"), Request::ListenEnv);
    check_request(
        &hex_text("11 07 00", b"FOO=baz"),
        Request::SetEnv { var: b"FOO=baz" },
    );
    check_stream(
        &hex("66 05 01 08 00 46 4f 4f 3d 62 61 7a 00"),
        StatusFormat::Status10,
        &[DaemonPacket::Info(Info::EnvEvent {
            overridden: true,
            var: b"FOO=baz",
        })],
    );
    check_request(&hex("11 03 00 46 4f 4f"), Request::SetEnv { var: b"FOO" });
    check_stream(
        &hex("66 05 01 04 00 46 4f 4f 00"),
        StatusFormat::Status10,
        &[DaemonPacket::Info(Info::EnvEvent {
            overridden: true,
            var: b"FOO",
        })],
    );
}

#[test]
fn v46_v47_shutdown() {
    check_request(
        &hex("0a 02"),
        Request::Shutdown {
            kind: ShutdownKind::Halt,
        },
    );
    check_stream(&hex("32"), StatusFormat::Status10, &[ACK]);
    let bytes = hex(
        "65 15 07 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         64 11 07 00 00 00 01 00 00 00 00 00 00 00 00 00 00
         65 15 02 00 00 00 01 00 00 00 00 00 00 02 00 00 00 0f 00 00 00
         64 11 02 00 00 00 01 00 00 00 00 00 00 ff ff ff ff
         65 15 01 00 00 00 01 00 00 00 00 00 00 02 00 00 00 0f 00 00 00
         64 11 01 00 00 00 01 00 00 00 00 00 00 ff ff ff ff
         65 15 00 00 00 00 01 00 00 00 00 00 00 02 00 00 00 0f 00 00 00
         64 11 00 00 00 00 01 00 00 00 00 00 00 ff ff ff ff",
    );
    let internal = ServiceStatus::default();
    let killed = status(
        Stopped,
        Stopped,
        0,
        StopReason::Normal,
        0,
        ExitStatus::Signaled(15),
    );
    let mut expected = Vec::new();
    expected.extend(events(
        7,
        ServiceEvent::Stopped,
        internal,
        ServiceStatus {
            exit: ExitStatus::Exited(0),
            ..internal
        },
    ));
    for h in [2, 1, 0] {
        expected.extend(exit_events(h, ServiceEvent::Stopped, killed));
    }
    check_stream(&bytes, StatusFormat::Status10, &expected);
}

// ---- PROTOCOL.md §12 error-handling vectors
// --------------------------------------------------------

fn malformed(bytes: &str) -> Malformed {
    match Request::parse_prefix(&hex(bytes)) {
        Err(ParseError::Malformed(m)) => m,
        other => panic!("{bytes}: {other:?}"),
    }
}

#[test]
fn error_vectors_badreq() {
    assert_eq!(malformed("1e"), Malformed::UnknownCode(30));
    assert_eq!(malformed("64"), Malformed::UnknownCode(100));
    assert_eq!(malformed("02 00 00 00"), Malformed::BadLength);
    assert_eq!(malformed("02 fe 03 78"), Malformed::BadLength);
    assert_eq!(
        malformed("01 07 00 2e 68 69 64 64 65 6e"),
        Malformed::BadServiceName
    );
    assert_eq!(malformed("18 01"), Malformed::ReservedNotZero);
    assert_eq!(malformed("0a 00"), Malformed::BadShutdownKind(0));
    assert_eq!(malformed("0a 07"), Malformed::BadShutdownKind(7));
    assert_eq!(malformed("11 00 00 00"), Malformed::BadLength);
    assert_eq!(malformed("11 02 00 3d 78"), Malformed::BadEnvString);
    assert_eq!(
        malformed("0b 01 01 00 00 00 00 00 00 00"),
        Malformed::BadDepKind(1)
    );
    // A name starting with '@' is refused like one starting with '.'.
    assert_eq!(malformed("02 02 00 40 78"), Malformed::BadServiceName);
}

#[test]
fn error_vector_minimum_length_wait() {
    // `02 00 00` waits for a 4th byte before the zero length is judged.
    assert_eq!(
        Request::parse_prefix(&hex("02 00 00")),
        Err(ParseError::Incomplete { needed: 4 })
    );
    assert_eq!(
        Request::parse_prefix(&hex("11 00 00")),
        Err(ParseError::Incomplete { needed: 4 })
    );
    assert_eq!(
        Request::parse_prefix(&hex("01 00")),
        Err(ParseError::Incomplete { needed: 4 })
    );
}

#[test]
fn error_vectors_semantic_only() {
    // These are well-formed; the daemon refuses them because of its state (unknown handles,
    // a triggered-only operation, ...), with BADREQ or NAK as PROTOCOL.md §4.3 says.
    let ok = |bytes: &str, want: Request<'static>| {
        assert_eq!(Request::parse(&hex(bytes)), Ok(want), "{bytes}");
    };
    ok(
        "03 00 09 00 00 00",
        Request::StartService {
            flags: StartFlags::NONE,
            handle: 9,
        },
    );
    ok("17 05 00 00 00", Request::CloseHandle { handle: 5 });
    ok("07 00 00 00 00", Request::UnpinService { handle: 0 });
    ok(
        "0b 00 00 00 00 00 01 00 00 00",
        Request::AddDep {
            kind: DepKind::Regular,
            from: 0,
            to: 1,
        },
    );
    ok("12 00 00 00 00", Request::ServiceStatus { handle: 0 });
    ok("1c 09 00 00 00", Request::ServiceStatus6 { handle: 9 });
    ok("0f 00 07 00 00 00", Request::QueryServiceName { handle: 7 });
    ok(
        "16 01 01 00 00 00",
        Request::QueryServiceDscDir {
            reserved: 1,
            handle: 1,
        },
    );
    ok(
        "13 01 00 00 00 01",
        Request::SetTrigger {
            handle: 1,
            value: true,
        },
    );
    ok(
        "14 00 00 00 00 00",
        Request::CatLog {
            clear: false,
            handle: 0,
        },
    );
    ok(
        "15 01 00 00 00 09 00 00 00",
        Request::Signal {
            signal: 1,
            handle: 9,
        },
    );
    ok(
        "04 06 01 00 00 00",
        Request::StopService {
            flags: flags(0x06),
            handle: 1,
        },
    );
    ok(
        "05 00 01 00 00 00",
        Request::WakeService {
            flags: StartFlags::NONE,
            handle: 1,
        },
    );
    ok(
        "06 80 00 00 00 00",
        Request::ReleaseService {
            flags: flags(0x80),
            handle: 0,
        },
    );
    ok(
        "0a 01",
        Request::Shutdown {
            kind: ShutdownKind::Remain,
        },
    );
}

#[test]
fn error_vector_split_request() {
    let first = hex("02 07 00");
    assert_eq!(
        Request::parse_prefix(&first),
        Err(ParseError::Incomplete { needed: 4 })
    );
    let mut all = first.clone();
    all.push(b's');
    assert_eq!(
        Request::parse_prefix(&all),
        Err(ParseError::Incomplete { needed: 10 })
    );
    all.extend_from_slice(b"leeper");
    assert_eq!(
        Request::parse_prefix(&all),
        Ok((Request::LoadService { name: b"sleeper" }, 10))
    );
    check_stream(
        &hex("3b 02 00 00 00 00 02"),
        StatusFormat::Status10,
        &[record(Started, 0, Started)],
    );
}

#[test]
fn error_vector_pipelined() {
    let bytes = hex("00 01 04 00 62 6f 6f 74 1a 01 00 00 00");
    let mut rest = &bytes[..];
    let mut got = Vec::new();
    while !rest.is_empty() {
        let (r, len) = Request::parse_prefix(rest).unwrap();
        got.push(r);
        rest = &rest[len..];
    }
    assert_eq!(
        got,
        [
            Request::QueryVersion,
            Request::FindService { name: b"boot" },
            Request::ServiceStatus5 { handle: 1 },
        ]
    );
    check_stream(
        &hex("3a 01 00 07 00 3b 02 01 00 00 00 02 46 00 02 02 08 00 00 00 00 00 00 00 00 00 00 00"),
        StatusFormat::Status14,
        &[
            reply(Reply::CpVersion { min: 1, current: 7 }),
            record(Started, 1, Started),
            reply(Reply::ServiceStatus {
                dep_existed: false,
                status: StatusBlock::Status14(status(
                    Started,
                    Started,
                    0x08,
                    StopReason::Normal,
                    0,
                    ExitStatus::None,
                )),
            }),
        ],
    );
}

#[test]
fn error_vector_release_preack() {
    check_stream(&hex("4f"), StatusFormat::Status10, &[reply(Reply::PreAck)]);
    check_stream(
        &hex("3d"),
        StatusFormat::Status10,
        &[reply(Reply::AlreadySs)],
    );
}

// ---- codes ----------------------------------------------------------------------------------

#[test]
fn code_tables_are_in_order() {
    for (i, c) in Command::ALL.iter().enumerate() {
        assert_eq!(*c as usize, i);
        assert_eq!(Command::from_u8(i as u8), Some(*c));
    }
    assert_eq!(Command::from_u8(30), None);
    for (i, c) in ReplyCode::ALL.iter().enumerate() {
        assert_eq!(*c as usize, i + 50);
        assert_eq!(ReplyCode::from_u8(i as u8 + 50), Some(*c));
    }
    assert_eq!(ReplyCode::from_u8(49), None);
    assert_eq!(ReplyCode::from_u8(80), None);
    assert_eq!(InfoCode::from_u8(101), Some(InfoCode::ServiceEvent5));
    assert_eq!(PacketClass::of(29), PacketClass::Request);
    assert_eq!(PacketClass::of(30), PacketClass::Invalid);
    assert_eq!(PacketClass::of(79), PacketClass::Reply);
    assert_eq!(PacketClass::of(255), PacketClass::Info);
}

#[test]
fn command_versions_and_sizes() {
    assert_eq!(Command::ServiceStatus.min_version(), 1);
    assert_eq!(Command::SetTrigger.min_version(), 2);
    assert_eq!(Command::Signal.min_version(), 2);
    assert_eq!(Command::QueryServiceDscDir.min_version(), 3);
    assert_eq!(Command::GetAllEnv.min_version(), 4);
    assert_eq!(Command::ListenEnv.min_version(), 5);
    assert_eq!(Command::ServiceStatus6.min_version(), 6);
    assert_eq!(Command::EnableServiceV7.min_version(), 7);
    // PROTOCOL.md §7.21.
    let sizes = [
        1, 0, 0, 6, 6, 6, 6, 5, 1, 5, 2, 10, 10, 1, 10, 6, 5, 0, 5, 6, 6, 9, 6, 5, 2, 1, 5, 1, 5,
        10,
    ];
    for (c, size) in Command::ALL.iter().zip(sizes) {
        assert_eq!(c.fixed_len().unwrap_or(0), size, "{c:?}");
    }
}

#[test]
fn start_flags() {
    let f = flags(0x86);
    assert!(f.gentle() && f.restart() && f.pre_ack() && !f.pin());
    assert_eq!(StartFlags::NONE.with(StartFlags::PIN).bits(), 1);
    assert_eq!(WIRE_DEP_KINDS.map(|k| k as u8), [0, 2, 3]);
}

// ---- status block ---------------------------------------------------------------------------

#[test]
fn status_exec_failed_carries_stage_and_errno() {
    let s = ServiceStatus {
        state: Stopped,
        target: Stopped,
        flags: StatusFlags::default(),
        stop_reason: StopReason::ExecFailed,
        exec_failure: Some((ExecStage::Chdir, 2)),
        pid: 0,
        exit: ExitStatus::Exited(1),
    };
    let mut buf = [0u8; 30];
    let block = StatusBlock::Status14(s);
    assert_eq!(block.emit(&mut buf), Ok(14));
    assert_eq!(
        buf[..14],
        hex("00 00 00 04 05 00 02 00 00 00 00 00 00 00")[..]
    );
    let back = StatusBlock::parse(&buf[..14], StatusFormat::Status14).unwrap();
    assert_eq!(back, block.normalized());
    assert_eq!(back.status().exec_failure, Some((ExecStage::Chdir, 2)));
    assert_eq!(back.status().exit, ExitStatus::None);
    // status10 carries the errno in the same place.
    assert_eq!(StatusBlock::Status10(s).emit(&mut buf), Ok(10));
    assert_eq!(buf[..10], hex("00 00 00 04 05 00 02 00 00 00")[..]);
    // A spare stage number cannot be represented.
    let spare = hex("00 00 00 04 0d 00 02 00 00 00 00 00 00 00");
    assert_eq!(
        StatusBlock::parse(&spare, StatusFormat::Status14),
        Err(ParseError::Malformed(Malformed::BadValue))
    );
}

#[test]
fn status_pid_wins_over_exec_failure() {
    // A restarting service that once failed to exec: with a pid, only the pid is sent.
    let s = ServiceStatus {
        state: Starting,
        target: Started,
        flags: StatusFlags::from_bits(StatusFlags::HAS_PID),
        stop_reason: StopReason::ExecFailed,
        exec_failure: Some((ExecStage::DoExec, 13)),
        pid: 77,
        exit: ExitStatus::Exited(1),
    };
    let mut buf = [0u8; 14];
    StatusBlock::Status14(s).emit(&mut buf).unwrap();
    assert_eq!(buf, hex("01 02 10 04 00 00 4d 00 00 00 00 00 00 00")[..]);
}

#[test]
fn status10_reads_old_wait_statuses() {
    let parse = |field: &str| {
        let bytes = hex_text("00 00 00 06 00 00", &hex(field));
        StatusBlock::parse(&bytes, StatusFormat::Status10)
            .unwrap()
            .status()
            .exit
    };
    assert_eq!(parse("00 00 00 00"), ExitStatus::Exited(0));
    assert_eq!(parse("ff ff ff ff"), LEGACY_FAILURE);
    assert!(LEGACY_FAILURE.is_failure() && !LEGACY_FAILURE.is_clean());
    assert_eq!(parse("00 01 00 00"), ExitStatus::Exited(1));
    assert_eq!(parse("0f 00 00 00"), ExitStatus::Signaled(15));
    assert_eq!(parse("8b 00 00 00"), ExitStatus::Dumped(11));
    assert_eq!(parse("7f 13 00 00"), ExitStatus::None);
}

#[test]
fn status_rejects_unknown_enumerations() {
    let bad = |bytes: &str| StatusBlock::parse(&hex(bytes), StatusFormat::Status10);
    assert_eq!(
        bad("04 00 00 00 00 00 00 00 00 00"),
        Err(ParseError::Malformed(Malformed::BadValue))
    );
    assert_eq!(
        bad("00 04 00 00 00 00 00 00 00 00"),
        Err(ParseError::Malformed(Malformed::BadValue))
    );
    assert_eq!(
        bad("00 00 00 07 00 00 00 00 00 00"),
        Err(ParseError::Malformed(Malformed::BadValue))
    );
    assert_eq!(
        bad("00 00 00 00 00"),
        Err(ParseError::Incomplete { needed: 10 })
    );
    // Unused bits of the flags and the exec stage outside EXECFAILED are ignored.
    let lenient = bad("00 00 e0 00 07 00 00 00 00 00").unwrap();
    assert_eq!(lenient.status().flags.bits(), 0);
}

#[test]
fn status_view_accessors() {
    let bytes = hex("46 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 9c 1b 09 6b 00 00 00 00 90 5f c2 37 00 00 00 00");
    let view = ReplyPacket::new_checked(&bytes[..], StatusFormat::Status30).unwrap();
    let status = view.status().unwrap();
    assert_eq!(status.mtime(), Some(MTIME));
    assert_eq!(status.si_status(), Some(0));
    assert_eq!(status.state(), 0);
    assert_eq!(status.format(), StatusFormat::Status30);
    assert_eq!(view.status_detail(), Some(0));
    assert!(StatusView::new_checked(&bytes[..5], StatusFormat::Status10).is_err());
    let legacy = StatusView::new_checked(&bytes[2..], StatusFormat::Status10).unwrap();
    assert_eq!((legacy.si_status(), legacy.mtime()), (None, None));
    assert_eq!(legacy.packet(), Some(&bytes[2..12]));
}

// ---- framing edge cases ---------------------------------------------------------------------

#[test]
fn request_view_accessors() {
    let bytes = hex("15 0a 00 00 00 02 00 00 00");
    let view = RequestPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(view.command(), Some(Command::Signal));
    assert_eq!(view.signal(), Some(10));
    assert_eq!(view.handle(), Some(2));
    assert_eq!(view.flags(), None);
    assert_eq!(view.packet(), Some(&bytes[..]));
    let dep = hex("0b 02 05 00 00 00 06 00 00 00");
    let view = RequestPacket::new_checked(&dep[..]).unwrap();
    assert_eq!(
        (view.dep_kind(), view.dep_from(), view.dep_to()),
        (Some(2), Some(5), Some(6))
    );
    assert_eq!(view.handle(), None);
    let load = hex_text("02 04 00", b"boot");
    assert_eq!(
        RequestPacket::new_checked(&load[..]).unwrap().string(),
        Some(&b"boot"[..])
    );
    // A string is variable-length: an unchecked view of part of it has none yet.
    assert_eq!(RequestPacket::new_unchecked(&load[..5]).string(), None);
    assert!(RequestPacket::new_checked(&load[..5]).is_err());
    assert!(RequestPacket::new_checked(&[][..]).is_err());
}

#[test]
fn max_length_request() {
    let name = vec![b'x'; MAX_NAME_LEN];
    let r = Request::LoadService { name: &name };
    let bytes = emit_request(&r);
    assert_eq!(bytes.len(), MAX_REQUEST_LEN);
    assert_eq!(Request::parse_prefix(&bytes), Ok((r, MAX_REQUEST_LEN)));
    let long = vec![b'x'; MAX_NAME_LEN + 1];
    let mut buf = [0u8; 2048];
    assert_eq!(
        Request::LoadService { name: &long }.emit(&mut buf),
        Err(EmitError::TooLong)
    );
    assert_eq!(
        Request::FindService { name: b".x" }.emit(&mut buf),
        Err(EmitError::InvalidField)
    );
    assert_eq!(
        Request::SetEnv { var: b"" }.emit(&mut buf),
        Err(EmitError::InvalidField)
    );
    assert_eq!(
        Request::AddDep {
            kind: DepKind::Before,
            from: 0,
            to: 1
        }
        .emit(&mut buf),
        Err(EmitError::InvalidField)
    );
    assert_eq!(
        Request::QueryVersion.emit(&mut []),
        Err(EmitError::BufferTooSmall { needed: 1 })
    );
}

#[test]
fn requests_as_given_leave_the_verdict_to_the_daemon() {
    // What `emit` refuses as BADREQ material goes out as it is; the daemon judges it.
    let mut buf = [0u8; 2048];
    for (r, bytes) in [
        (Request::LoadService { name: b"@x" }, &b"\x02\x02\x00@x"[..]),
        (Request::FindService { name: b".x" }, b"\x01\x02\x00.x"),
        (Request::SetEnv { var: b"=x" }, b"\x11\x02\x00=x"),
        (Request::SetEnv { var: b"" }, b"\x11\x00\x00"),
    ] {
        let len = r.emit_as_given(&mut buf).unwrap();
        assert_eq!(&buf[..len], bytes, "{r:?}");
    }
    // A valid request is the same bytes either way.
    let r = Request::LoadService { name: b"boot" };
    let len = r.emit_as_given(&mut buf).unwrap();
    assert_eq!(buf[..len], emit_request(&r)[..]);
    // The length field still bounds the string, and the buffer the request.
    let long = vec![b'x'; MAX_NAME_LEN + 1];
    assert_eq!(
        Request::SetEnv { var: &long }.emit_as_given(&mut buf),
        Err(EmitError::TooLong)
    );
    assert_eq!(
        Request::FindService { name: b"ab" }.emit_as_given(&mut [0u8; 4]),
        Err(EmitError::BufferTooSmall { needed: 5 })
    );
}

#[test]
fn large_replies_announce_their_size() {
    // ALLENV header only: the client learns the whole size.
    let header = hex("4e 00 10 00 00 00 00 00 00");
    assert_eq!(
        Reply::parse_prefix(&header[..3], StatusFormat::Status10),
        Err(ParseError::Incomplete { needed: 9 })
    );
    assert_eq!(
        Reply::parse_prefix(&header, StatusFormat::Status10),
        Err(ParseError::Incomplete { needed: 9 + 4096 })
    );
    assert_eq!(
        BodyReply::parse_header(&header),
        Ok((BodyReply::AllEnv, 4096))
    );
    // A size that cannot be represented is malformed, not a wait for ever.
    let absurd = hex("4e ff ff ff ff ff ff ff ff");
    assert_eq!(
        Reply::parse_prefix(&absurd, StatusFormat::Status10),
        Err(ParseError::Malformed(Malformed::BadLength))
    );
    let deps = hex("41 00 00 00 00 00 00 00 40");
    assert_eq!(
        Reply::parse_prefix(&deps, StatusFormat::Status10),
        Err(ParseError::Malformed(Malformed::BadLength))
    );
    // Each header kind, written and read back.
    for kind in [
        BodyReply::ServiceName,
        BodyReply::ServiceLog,
        BodyReply::SvcDscDir,
        BodyReply::AllEnv,
    ] {
        let mut buf = [0u8; 9];
        let n = kind.emit_header(300, &mut buf).unwrap();
        assert_eq!(n, kind.header_len());
        assert_eq!(BodyReply::parse_header(&buf[..n]), Ok((kind, 300)));
        assert_eq!(buf[0], kind.code() as u8);
    }
    assert_eq!(
        BodyReply::ServiceName.emit_header(70_000, &mut [0u8; 9]),
        Err(EmitError::TooLong)
    );
    assert_eq!(
        BodyReply::parse_header(&hex("32")),
        Err(ParseError::Malformed(Malformed::UnknownCode(0x32)))
    );
}

#[test]
fn loader_mech_must_fill_its_size() {
    // Announces 2 directories but holds 1.
    let bytes = hex("40 01 14 00 00 00 02 00 00 00 00 00 00 00 02 00 00 00 73 64");
    assert_eq!(
        Reply::parse(&bytes, StatusFormat::Status10),
        Err(ParseError::Malformed(Malformed::BadLength))
    );
    // A total below the fixed header.
    assert_eq!(
        Reply::parse(&hex("40 01 0d 00 00 00"), StatusFormat::Status10),
        Err(ParseError::Malformed(Malformed::BadLength))
    );
    // Loader type 0 is not a LOADER_MECH the codec can read.
    let zero = hex("40 00 0e 00 00 00 00 00 00 00 00 00 00 00");
    assert_eq!(
        Reply::parse(&zero, StatusFormat::Status10),
        Err(ParseError::Malformed(Malformed::BadValue))
    );
    // A huge directory count with few bytes ends quickly.
    let many = hex("40 01 12 00 00 00 ff ff ff ff 00 00 00 00 00 00 00 00");
    assert!(Reply::parse(&many, StatusFormat::Status10).is_err());
}

#[test]
fn svcinfo_name_is_capped() {
    let name = vec![b'n'; MAX_SVCINFO_NAME_LEN + 1];
    let r = Reply::SvcInfo {
        name: &name,
        status: StatusBlock::Status14(ServiceStatus::default()),
    };
    assert_eq!(r.emit(&mut [0u8; 512]), Err(EmitError::TooLong));
    let ok = Reply::SvcInfo {
        name: &name[..MAX_SVCINFO_NAME_LEN],
        status: StatusBlock::Status14(ServiceStatus::default()),
    };
    let bytes = emit_packet(&reply(ok));
    assert_eq!(bytes.len(), 16 + 255);
    assert_eq!(Reply::parse(&bytes, StatusFormat::Status14), Ok(ok));
}

#[test]
fn old_short_service_event() {
    // Very old daemons: 7 bytes, no status.
    let bytes = hex("64 07 03 00 00 00 01");
    assert_eq!(
        Info::parse_prefix(&bytes),
        Ok((
            Info::ServiceEvent {
                handle: 3,
                event: ServiceEvent::Stopped,
                status: None
            },
            7
        ))
    );
    assert_eq!(
        emit_packet(&DaemonPacket::Info(Info::parse(&bytes).unwrap())),
        bytes
    );
    // Length byte below 7 is framed (skippable) but not an event.
    let short = hex("64 03 00");
    assert_eq!(InfoPacket::new_unchecked(&short[..]).check_len(), Ok(3));
    assert_eq!(
        Info::parse(&short),
        Err(ParseError::Malformed(Malformed::BadLength))
    );
    // Unknown event codes are not events.
    let bad_event = hex("65 15 00 00 00 00 09 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    assert_eq!(
        Info::parse(&bad_event),
        Err(ParseError::Malformed(Malformed::BadValue))
    );
}

#[test]
fn unknown_info_packets_are_skippable() {
    let bytes = hex("70 04 aa bb 32");
    let (p, len) = DaemonPacket::parse_prefix(&bytes, StatusFormat::Status10).unwrap();
    assert_eq!(
        p,
        DaemonPacket::Info(Info::Other {
            code: 0x70,
            body: &[0xaa, 0xbb]
        })
    );
    assert_eq!(len, 4);
    assert_eq!(
        DaemonPacket::parse_prefix(&bytes[len..], StatusFormat::Status10),
        Ok((ACK, 1))
    );
    assert_eq!(
        Info::parse(&hex("70 01")),
        Err(ParseError::Malformed(Malformed::BadLength))
    );
    assert_eq!(
        Info::Other {
            code: 101,
            body: &[]
        }
        .emit(&mut [0u8; 4]),
        Err(EmitError::InvalidField)
    );
    // A request code or a gap code is not something a daemon sends.
    assert_eq!(
        DaemonPacket::parse_prefix(&hex("00"), StatusFormat::Status10),
        Err(ParseError::Malformed(Malformed::UnknownCode(0)))
    );
    assert_eq!(
        DaemonPacket::parse_prefix(&hex("5a"), StatusFormat::Status10),
        Err(ParseError::Malformed(Malformed::UnknownCode(0x5a)))
    );
}

#[test]
fn env_event_framing() {
    // Byte 1 must be the header length 5.
    assert_eq!(
        Info::parse(&hex("66 09 01 04 00 46 4f 4f 00")),
        Err(ParseError::Malformed(Malformed::BadLength))
    );
    // The data must end with its NUL.
    assert_eq!(
        Info::parse(&hex("66 05 00 03 00 46 4f 4f")),
        Err(ParseError::Malformed(Malformed::BadValue))
    );
    assert_eq!(
        Info::parse(&hex("66 05 00 00 00")),
        Err(ParseError::Malformed(Malformed::BadValue))
    );
    assert_eq!(
        Info::parse_prefix(&hex("66 05 00 04")),
        Err(ParseError::Incomplete { needed: 5 })
    );
    assert_eq!(
        Info::parse_prefix(&hex("66 05 00 04 00 46")),
        Err(ParseError::Incomplete { needed: 9 })
    );
    let view = InfoPacket::new_checked(&[0x66, 5, 0, 4, 0, b'F', b'O', b'O', 0][..]).unwrap();
    assert_eq!(view.env_flags(), Some(0));
    assert_eq!(view.env_data(), Some(&b"FOO\0"[..]));
}

#[test]
fn event_pair_helper() {
    let s = running(0x2ce9, 0x18, StopReason::Normal);
    let mut buf = [0u8; SERVICE_EVENT_PAIR_LEN];
    assert_eq!(
        emit_service_event_pair(0, ServiceEvent::Started, &s, &mut buf),
        Ok(SERVICE_EVENT_PAIR_LEN)
    );
    assert_eq!(
        buf[..],
        hex("65 15 00 00 00 00 00 02 02 18 00 00 00 e9 2c 00 00 00 00 00 00 64 11 00 00 00 00 00 02 02 18 00 00 00 e9 2c 00 00")[..]
    );
    assert_eq!(
        emit_service_event_pair(0, ServiceEvent::Started, &s, &mut buf[..30]),
        Err(EmitError::BufferTooSmall {
            needed: SERVICE_EVENT_PAIR_LEN
        })
    );
    let view = InfoPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(view.handle(), Some(0));
    assert_eq!(view.event(), Some(0));
    assert_eq!(view.status_format(), Some(StatusFormat::Status14));
    assert_eq!(view.status().map(|s| s.detail()), Some(0x2ce9));
}

#[test]
fn handles_and_dirs_compare_by_content() {
    let wire = hex("02 00 00 00 07 00 00 00");
    assert_eq!(Handles::Wire(&wire), Handles::List(&[2, 7]));
    assert_ne!(Handles::Wire(&wire), Handles::List(&[2]));
    assert_eq!(Handles::Wire(&wire).get(1), Some(7));
    assert!(Handles::List(&[]).is_empty());
    let list: [&[u8]; 2] = [b"a", b"bc"];
    let mut encoded = hex("01 00 00 00 61 02 00 00 00");
    encoded.extend_from_slice(b"bc");
    let (cwd, dirs) = {
        let mut bytes = hex("40 01 00 00 00 00 02 00 00 00 00 00 00 00");
        bytes.extend_from_slice(&encoded);
        let total = bytes.len() as u32;
        bytes[2..6].copy_from_slice(&total.to_le_bytes());
        match Reply::parse(&bytes, StatusFormat::Status10).unwrap() {
            Reply::LoaderMech { cwd, dirs } => (
                cwd.to_vec(),
                dirs.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(),
            ),
            other => panic!("{other:?}"),
        }
    };
    assert!(cwd.is_empty());
    assert_eq!(dirs, [b"a".to_vec(), b"bc".to_vec()]);
    assert_eq!(ServiceDirs::List(&list).len(), 2);
}

#[test]
fn single_byte_replies() {
    for code in ReplyCode::ALL {
        match Reply::single_byte(code) {
            Some(r) => {
                assert!(code.is_single_byte());
                assert_eq!(r.code(), code);
                let bytes = [code as u8];
                assert_eq!(
                    Reply::parse_prefix(&bytes, StatusFormat::Status10),
                    Ok((r, 1))
                );
            }
            None => assert!(!code.is_single_byte()),
        }
    }
}

#[test]
fn status_format_by_request() {
    assert_eq!(
        Command::ListServices.reply_status_format(),
        Some(StatusFormat::Status10)
    );
    assert_eq!(
        Command::ServiceStatus.reply_status_format(),
        Some(StatusFormat::Status10)
    );
    assert_eq!(
        Command::ListServices5.reply_status_format(),
        Some(StatusFormat::Status14)
    );
    assert_eq!(
        Command::ServiceStatus5.reply_status_format(),
        Some(StatusFormat::Status14)
    );
    assert_eq!(
        Command::ServiceStatus6.reply_status_format(),
        Some(StatusFormat::Status30)
    );
    assert_eq!(Command::StartService.reply_status_format(), None);
}
