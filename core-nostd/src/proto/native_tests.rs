//! The codec's integers on the machine it runs on (PROTOCOL.md §3.2): Dinit copies each field's
//! C type to and from the socket as it lies in memory, so every expected packet here is built
//! from the target's own representation (`to_ne_bytes` of the C type's width), not from bytes
//! captured on x86_64 (those are the vectors of `tests.rs`). These run on every target, and
//! under qemu-user for 32-bit and big-endian ones (`just cross-test`).

use super::*;
use crate::status::{ServiceStatus, StatusFlags};
use crate::types::{ServiceState, StopReason};
use std::vec;
use std::vec::Vec;

/// A C `long` of the target: `time_t` and the nanoseconds of `struct timespec` under glibc.
type CLong = isize;

fn emit_reply(r: &Reply<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; r.buffer_len()];
    assert_eq!(r.emit(&mut buf), Ok(buf.len()));
    buf
}

fn emit_request(r: &Request<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; r.buffer_len()];
    assert_eq!(r.emit(&mut buf), Ok(buf.len()));
    buf
}

/// `r` emits exactly `bytes`, which parse back into `r` (status block of `format`).
fn check_reply(r: Reply<'_>, format: StatusFormat, bytes: &[u8]) {
    assert_eq!(emit_reply(&r), bytes, "emitting {r:?}");
    assert_eq!(Reply::parse_prefix(bytes, format), Ok((r, bytes.len())));
    for cut in 0..bytes.len() {
        assert!(
            Reply::parse_prefix(&bytes[..cut], format)
                .unwrap_err()
                .is_incomplete(),
            "prefix {cut} of {bytes:02x?}"
        );
    }
}

/// `r` emits exactly `bytes`, which parse back into `r`.
fn check_request(r: Request<'_>, bytes: &[u8]) {
    assert_eq!(emit_request(&r), bytes, "emitting {r:?}");
    assert_eq!(Request::parse_prefix(bytes), Ok((r, bytes.len())));
}

#[test]
fn c_widths_are_the_targets() {
    assert_eq!(SIZE_LEN, core::mem::size_of::<usize>());
    assert_eq!(TIMESPEC_LEN, 2 * core::mem::size_of::<CLong>());
    #[cfg(target_pointer_width = "64")]
    assert_eq!(
        (SIZE_LEN, TIMESPEC_LEN, StatusFormat::Status30.size()),
        (8, 16, 30)
    );
    #[cfg(target_pointer_width = "32")]
    assert_eq!(
        (SIZE_LEN, TIMESPEC_LEN, StatusFormat::Status30.size()),
        (4, 8, 22)
    );
    assert_eq!(BodyReply::AllEnv.header_len(), 1 + SIZE_LEN);
}

#[test]
fn dependents_count_is_a_native_size_t() {
    let handles = [2, 0x0102_0304];
    let bytes = [
        &[0x41][..],
        &2usize.to_ne_bytes(),
        &2u32.to_ne_bytes(),
        &0x0102_0304u32.to_ne_bytes(),
    ]
    .concat();
    check_reply(
        Reply::Dependents {
            handles: Handles::List(&handles),
        },
        StatusFormat::Status10,
        &bytes,
    );
    // What the client parses reads its handles in the same order.
    let Ok(Reply::Dependents { handles: parsed }) = Reply::parse(&bytes, StatusFormat::Status10)
    else {
        panic!("not DEPENDENTS");
    };
    assert_eq!(parsed.iter().collect::<Vec<_>>(), handles);
}

#[test]
fn allenv_size_is_a_native_size_t() {
    let env = b"A=b\0";
    let bytes = [&[0x4e][..], &env.len().to_ne_bytes(), env].concat();
    check_reply(Reply::AllEnv { env }, StatusFormat::Status10, &bytes);
    let mut header = vec![0u8; SIZE_LEN + 1];
    assert_eq!(
        BodyReply::AllEnv.emit_header(0x0102, &mut header),
        Ok(SIZE_LEN + 1)
    );
    assert_eq!(header[1..], 0x0102usize.to_ne_bytes());
}

#[test]
fn status30_ends_with_a_native_timespec() {
    let status = ServiceStatus {
        state: ServiceState::Started,
        target: ServiceState::Started,
        flags: StatusFlags::from_bits(StatusFlags::HAS_PID),
        stop_reason: StopReason::Normal,
        exec_failure: None,
        pid: 0x0102_0304,
        exit: crate::types::ExitStatus::None,
    };
    let mtime = Timespec::new(0x6b09_1b9c, 0x37c2_5f90);
    let bytes = [
        &[0x46, 0x00, 0x02, 0x02, StatusFlags::HAS_PID, 0x00][..],
        &0u16.to_ne_bytes(),
        &0x0102_0304i32.to_ne_bytes(),
        &0i32.to_ne_bytes(),
        &(0x6b09_1b9c as CLong).to_ne_bytes(),
        &(0x37c2_5f90 as CLong).to_ne_bytes(),
    ]
    .concat();
    assert_eq!(bytes.len(), 2 + StatusFormat::Status30.size());
    check_reply(
        Reply::ServiceStatus {
            dep_existed: false,
            status: StatusBlock::Status30(status, mtime),
        },
        StatusFormat::Status30,
        &bytes,
    );
    let view = StatusView::new_checked(&bytes[2..], StatusFormat::Status30).unwrap();
    assert_eq!(view.mtime(), Some(mtime));
    assert_eq!(view.detail(), 0x0102_0304);
}

/// A modification time past a 32-bit `time_t` saturates there (a C program on such a target
/// could not hold it at all); on 64-bit targets it passes unchanged.
#[test]
fn a_timespec_beyond_time_t_saturates() {
    let far = Timespec::new(1 << 40, 5);
    let block = StatusBlock::Status30(ServiceStatus::default(), far);
    let mut buf = [0u8; 30];
    let len = block.emit(&mut buf).unwrap();
    let back = StatusBlock::parse(&buf[..len], StatusFormat::Status30).unwrap();
    #[cfg(target_pointer_width = "64")]
    assert_eq!(back.mtime(), Some(far));
    #[cfg(target_pointer_width = "32")]
    assert_eq!(back.mtime(), Some(Timespec::new(i64::from(i32::MAX), 5)));
}

#[test]
fn handles_lengths_and_signals_are_native() {
    // SIGNAL: an `int` and a `uint32_t` handle.
    check_request(
        Request::Signal {
            signal: 15,
            handle: 0x0a0b_0c0d,
        },
        &[
            &[21][..],
            &15i32.to_ne_bytes(),
            &0x0a0b_0c0du32.to_ne_bytes(),
        ]
        .concat(),
    );
    // FINDSERVICE: a `uint16_t` length.
    check_request(
        Request::FindService { name: b"sleeper" },
        &[&[1][..], &7u16.to_ne_bytes(), b"sleeper"].concat(),
    );
    // SERVICE_LOG: an `unsigned int` length after a flags byte.
    check_reply(
        Reply::ServiceLog { log: b"hello\n" },
        StatusFormat::Status10,
        &[&[0x49, 0][..], &6u32.to_ne_bytes(), b"hello\n"].concat(),
    );
}
