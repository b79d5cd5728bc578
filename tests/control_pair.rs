//! The control server without a socket: a client and the real daemon joined in memory. The
//! client side is the codec (`Request::emit`, `DaemonPacket::parse_prefix`); the daemon side
//! is a user-mode [`Daemon`] whose connection is a [`Connection`] fed and drained by the test
//! (the sans-I/O seam of `daemon::control::conn`). Only services that run no process, so
//! every answer is there as soon as the request has been processed.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dinit_core::profile::ConfiguredSet;
use dinit_core::proto::{
    DaemonPacket, Info, Reply, Request, StartFlags, StatusFormat, PROTOCOL_VERSION,
};
use dinit_core::{ServiceEvent, ServiceState};
use dinit_hosted::daemon::control::Connection;
use dinit_hosted::daemon::options::DaemonOptions;
use dinit_hosted::daemon::Daemon;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// One engine for the process (it is large); the tests take turns.
static SET: Mutex<ConfiguredSet> = Mutex::new(ConfiguredSet::new());

const SERVICES: &[(&str, &str)] = &[
    ("boot", "type = internal\ndepends-on: a\n"),
    ("a", "type = internal\ndepends-on: b\n"),
    ("b", "type = internal\n"),
    ("other", "type = internal\n"),
];

/// A client and the daemon, joined in memory.
struct Pair {
    daemon: Daemon<'static>,
    conn: Connection,
    dir: PathBuf,
    _guard: MutexGuard<'static, ConfiguredSet>,
}

impl Pair {
    fn new(test: &str, extra: usize) -> Pair {
        let mut guard = SET.lock().unwrap_or_else(|e| e.into_inner());
        guard.reset();
        let set: *mut ConfiguredSet = &mut *guard;
        // SAFETY: the guard is kept in the pair and dropped after the daemon (field order):
        // the daemon's borrow of the engine ends before the lock is released.
        let set: &'static mut ConfiguredSet = unsafe { &mut *set };
        let dir = std::env::temp_dir().join(format!("dinit-rs-pair-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sd")).unwrap();
        for (name, text) in SERVICES {
            std::fs::write(dir.join("sd").join(name), text).unwrap();
        }
        for i in 0..extra {
            std::fs::write(
                dir.join("sd").join(format!("extra-service-{i:04}")),
                "type = internal\n",
            )
            .unwrap();
        }
        let opts = DaemonOptions {
            service_dirs: vec![dir.join("sd")],
            socket_path: Some(dir.join("sock")),
            instance: Some(dinit_hosted::paths::InstanceKind::User),
            quiet: true,
            console_level: Some(dinit_hosted::log::Level::None),
            log_level: Some(dinit_hosted::log::Level::None),
            log_file: Some(PathBuf::from("/dev/null")),
            ..DaemonOptions::default()
        };
        let daemon = Daemon::new(set, opts, false).expect("daemon start-up");
        Pair {
            daemon,
            conn: Connection::new(),
            dir,
            _guard: guard,
        }
    }

    /// Gives the connection `bytes` (in pieces as large as it takes) and processes them.
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let space = self.conn.recv_space();
            assert!(!space.is_empty(), "the connection takes no more input");
            let n = space.len().min(bytes.len());
            space[..n].copy_from_slice(&bytes[..n]);
            self.conn.received(n);
            bytes = &bytes[n..];
            self.daemon.serve(&mut self.conn);
        }
    }

    /// Takes up to `limit` bytes of the connection's output, as a client reading that much.
    fn take(&mut self, limit: usize) -> Vec<u8> {
        let out = self.conn.transmit();
        let n = out.len().min(limit);
        let got = out[..n].to_vec();
        self.conn.transmitted(n);
        // What the client read made room: streamed replies go on.
        self.daemon.serve(&mut self.conn);
        got
    }

    /// Sends one request and returns every packet that came back.
    fn call(&mut self, request: &Request<'_>, format: StatusFormat) -> Vec<Packet> {
        let mut buf = vec![0u8; request.buffer_len()];
        let n = request.emit(&mut buf).unwrap();
        self.feed(&buf[..n]);
        packets(&self.take(usize::MAX), format)
    }

    /// `LOADSERVICE`: the handle.
    fn load(&mut self, name: &str) -> u32 {
        let got = self.call(
            &Request::LoadService {
                name: name.as_bytes(),
            },
            StatusFormat::Status14,
        );
        match got.as_slice() {
            [Packet::Record(handle)] => *handle,
            other => panic!("LOADSERVICE {name}: {other:?}"),
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the client saw, simplified for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Packet {
    Version(u16),
    Record(u32),
    Ack,
    AlreadySs,
    Nak,
    BadReq,
    SvcInfo(String),
    ListDone,
    /// A `SERVICEEVENT5`/`SERVICEEVENT` pair counts once.
    Event(u32, ServiceEvent),
    Other(String),
}

/// Splits a byte stream from the daemon into packets.
fn packets(mut bytes: &[u8], format: StatusFormat) -> Vec<Packet> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (packet, n) = DaemonPacket::parse_prefix(bytes, format)
            .unwrap_or_else(|e| panic!("unparsable output {e:?}: {bytes:02x?}"));
        bytes = &bytes[n..];
        out.push(match packet {
            DaemonPacket::Reply(Reply::CpVersion { current, .. }) => Packet::Version(current),
            DaemonPacket::Reply(Reply::ServiceRecord { handle, .. }) => Packet::Record(handle),
            DaemonPacket::Reply(Reply::Ack) => Packet::Ack,
            DaemonPacket::Reply(Reply::AlreadySs) => Packet::AlreadySs,
            DaemonPacket::Reply(Reply::Nak) => Packet::Nak,
            DaemonPacket::Reply(Reply::BadReq) => Packet::BadReq,
            DaemonPacket::Reply(Reply::ListDone) => Packet::ListDone,
            DaemonPacket::Reply(Reply::SvcInfo { name, .. }) => {
                Packet::SvcInfo(String::from_utf8_lossy(name).into_owned())
            }
            // The legacy half of each event pair adds nothing.
            DaemonPacket::Info(Info::ServiceEvent { .. }) => continue,
            DaemonPacket::Info(Info::ServiceEvent5 { handle, event, .. }) => {
                Packet::Event(handle, event)
            }
            other => Packet::Other(format!("{other:?}")),
        });
    }
    out
}

#[test]
fn version_and_a_request_in_single_bytes() {
    let mut p = Pair::new("version", 0);
    assert_eq!(
        p.call(&Request::QueryVersion, StatusFormat::Status14),
        [Packet::Version(PROTOCOL_VERSION)]
    );
    // A request that arrives a byte at a time is answered once, when it is complete.
    let mut buf = [0u8; 64];
    let n = Request::LoadService { name: b"other" }
        .emit(&mut buf)
        .unwrap();
    for (i, byte) in buf[..n].iter().enumerate() {
        p.feed(&[*byte]);
        let got = p.take(usize::MAX);
        if i + 1 < n {
            assert!(got.is_empty(), "answered after {} of {n} bytes", i + 1);
        } else {
            assert_eq!(packets(&got, StatusFormat::Status14), [Packet::Record(0)]);
        }
    }
}

#[test]
fn events_come_before_the_reply_that_caused_them() {
    let mut p = Pair::new("events", 0);
    let boot = p.load("boot");
    let b = p.load("b");
    let start = Request::StartService {
        flags: StartFlags::default(),
        handle: boot,
    };
    let got = p.call(&start, StatusFormat::Status14);
    // b starts first (a dependency of a dependency); boot last; then the answer.
    assert_eq!(
        got,
        [
            Packet::Event(b, ServiceEvent::Started),
            Packet::Event(boot, ServiceEvent::Started),
            Packet::AlreadySs,
        ],
        "start boot"
    );
    assert_eq!(
        p.daemon.set.state(p.daemon.set.find(b"a").unwrap()),
        Some(ServiceState::Started)
    );
    // Started already: nothing happens, ALREADYSS at once.
    assert_eq!(p.call(&start, StatusFormat::Status14), [Packet::AlreadySs]);
}

#[test]
fn a_malformed_request_is_answered_badreq_and_ends_the_connection() {
    let mut p = Pair::new("badreq", 0);
    // Code 200 is an information packet's, never a request's.
    p.feed(&[200]);
    assert_eq!(
        packets(&p.take(usize::MAX), StatusFormat::Status14),
        [Packet::BadReq]
    );
    assert!(p.conn.is_finished());
    assert!(p.conn.recv_space().is_empty(), "no input after BADREQ");
}

#[test]
fn an_unknown_handle_is_a_bad_request_for_start_and_nak_for_status() {
    let mut p = Pair::new("handles", 0);
    let status = Request::ServiceStatus5 { handle: 7 };
    assert_eq!(p.call(&status, StatusFormat::Status14), [Packet::Nak]);
    assert!(!p.conn.is_finished());
    let start = Request::StartService {
        flags: StartFlags::default(),
        handle: 7,
    };
    assert_eq!(p.call(&start, StatusFormat::Status14), [Packet::BadReq]);
    assert!(p.conn.is_finished());
}

#[test]
fn a_long_listing_streams_as_the_client_reads() {
    // More services than the output queue holds descriptions of.
    let extra = 3000;
    let mut p = Pair::new("list", extra);
    for i in 0..extra {
        let name = format!("extra-service-{i:04}");
        p.daemon.load_service(name.as_bytes()).unwrap();
    }
    let mut buf = [0u8; 8];
    let n = Request::ListServices5.emit(&mut buf).unwrap();
    p.feed(&buf[..n]);
    // A slow reader: 1000 bytes at a time. The queue never holds everything at once.
    let mut stream = Vec::new();
    let mut reads = 0;
    loop {
        let queued = p.conn.transmit().len();
        assert!(queued <= dinit_hosted::daemon::control::OUT_CAPACITY);
        let got = p.take(1000);
        if got.is_empty() {
            break;
        }
        stream.extend_from_slice(&got);
        reads += 1;
        assert!(reads < 1_000_000, "the listing does not end");
    }
    let got = packets(&stream, StatusFormat::Status14);
    assert_eq!(got.last(), Some(&Packet::ListDone));
    let names: Vec<&Packet> = got
        .iter()
        .filter(|p| matches!(p, Packet::SvcInfo(_)))
        .collect();
    assert_eq!(names.len(), extra, "one SVCINFO per loaded service");
    assert!(
        stream.len() > dinit_hosted::daemon::control::OUT_CAPACITY,
        "the listing is larger than the queue ({} bytes)",
        stream.len()
    );
}
