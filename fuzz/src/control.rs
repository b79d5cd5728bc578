//! Harness for the control server's per-connection state machine
//! (`hosted/src/daemon/control/conn.rs`), fed arbitrary byte streams.
//!
//! The fuzzed client is a [`Connection`] fed from memory and served by a real user-mode
//! [`Daemon`] running inside the fuzzing process ([`Daemon::serve`], the seam the daemon's own
//! socket code uses): no socket between them. The daemon runs on a scratch service directory
//! (internal and triggered services only, so that nothing is ever forked); between pieces of
//! input the harness turns the daemon's event loop by hand ([`Daemon::turn`]; the harness
//! raises `SIGCHLD`, which the daemon reads through its signal descriptor, so that a turn
//! never waits), so that a well-behaved observer connected through the socket hears what the
//! fuzzed client did.
//!
//! Input: one byte choosing how the rest is fed (high bit set: in chunks of `(byte & 0x7f) +
//! 1` bytes with the loop turned between them; else all at once), then the byte stream. The
//! daemon's state (loaded services, their states, the environment) carries over from input to
//! input, as it would between clients; the daemon is made anew after a `SHUTDOWN` and every
//! [`RECREATE_EVERY`] inputs.
//!
//! Checks:
//!
//! * the daemon never panics;
//! * everything the connection sends parses as a sequence of replies and information packets
//!   that answer the requests in order;
//! * the connection takes all its input once its output is read, and finishes answering;
//! * the observer stays connected and gets only information packets;
//! * afterwards a fresh, well-behaved client on the socket gets `CPVERSION` for
//!   `QUERYVERSION`: the daemon stays responsive whatever the previous client sent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dinit_core::profile::ConfiguredSet;
use dinit_core::proto::{Command, Info, PacketClass, ParseError, Reply, Request, StatusFormat};
use dinit_hosted::daemon::control::Connection;
use dinit_hosted::daemon::options::DaemonOptions;
use dinit_hosted::daemon::Daemon;
use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// Inputs served by one daemon before it is made anew (bounds the state that builds up).
pub const RECREATE_EVERY: u64 = 20_000;
/// Loop turns allowed for the daemon to answer, and then to close a connection.
const TURNS: usize = 2_000;

/// The service directory: only services that run no process.
const SERVICES: &[(&str, &str)] = &[
    (
        "boot",
        "type = internal\ndepends-on: sleeper\nwaits-for: trig\nwaits-for: extra\n",
    ),
    ("sleeper", "type = internal\n"),
    ("dependent", "type = internal\ndepends-on: sleeper\n"),
    (
        "failing",
        "type = internal\ndepends-on: bad\n# 'bad' does not parse\n",
    ),
    ("logged", "type = internal\nchain-to: extra\n"),
    ("trig", "type = triggered\n"),
    ("extra", "type = internal\nbefore: sleeper\n"),
    ("bad", "type = nonsense\n"),
    ("cyc", "type = internal\ndepends-on: cyc2\n"),
    ("cyc2", "type = internal\ndepends-on: cyc\n"),
    (
        "ms",
        "type = internal\ndepends-ms: dependent\nwaits-for: nosuch\noptions: start-interruptible\n",
    ),
    ("pinned", "type = internal\nrestart = yes\n"),
    ("arg", "type = internal\ndepends-on: sleeper\nafter: $1\n"),
];

static SET: Mutex<ConfiguredSet> = Mutex::new(ConfiguredSet::new());

struct Harness {
    daemon: Option<Daemon<'static>>,
    /// A well-behaved client of each daemon that holds handles on a few services and listens
    /// for environment changes, so that what the fuzzed connection does is broadcast to it.
    observer: Option<UnixStream>,
    /// The engine every daemon of this process uses, one after the other.
    set: *mut ConfiguredSet,
    dir: PathBuf,
    socket: PathBuf,
    generation: u64,
    inputs: u64,
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

/// The scratch directory: the service directory `sd` and the control sockets.
fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("dinit-fuzz-control-{}", std::process::id()))
}

extern "C" fn remove_scratch_dir() {
    let _ = std::fs::remove_dir_all(scratch_dir());
}

/// Makes the scratch service directory.
fn service_dir() -> PathBuf {
    let dir = scratch_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sd")).unwrap();
    for (name, text) in SERVICES {
        std::fs::write(dir.join("sd").join(name), text).unwrap();
    }
    dir
}

impl Harness {
    fn new() -> Harness {
        // One engine per process (it is large); the guard is kept for the life of the process.
        let guard: &'static mut MutexGuard<'static, ConfiguredSet> = Box::leak(Box::new(
            SET.try_lock().expect("one control harness per process"),
        ));
        let set: *mut ConfiguredSet = &mut **guard;
        // libFuzzer ends the process with exit(): remove the scratch directory then.
        // SAFETY: registers a plain function without arguments.
        unsafe {
            libc::atexit(remove_scratch_dir);
        }
        let mut h = Harness {
            daemon: None,
            observer: None,
            set,
            dir: service_dir(),
            socket: PathBuf::new(),
            generation: 0,
            inputs: 0,
        };
        h.recreate();
        h
    }

    /// Drops the current daemon (if any) and starts a fresh one on an empty engine.
    fn recreate(&mut self) {
        self.observer = None;
        self.daemon = None;
        let _ = std::fs::remove_file(&self.socket);
        self.generation += 1;
        self.socket = self.dir.join(format!("sock{}", self.generation));
        // SAFETY: the daemon that borrowed the engine was dropped just above, so this is the
        // only reference to it; the engine lives (locked) for the rest of the process.
        let set: &'static mut ConfiguredSet = unsafe { &mut *self.set };
        set.reset();
        let opts = DaemonOptions {
            service_dirs: vec![self.dir.join("sd")],
            socket_path: Some(self.socket.clone()),
            instance: Some(dinit_hosted::paths::InstanceKind::User),
            quiet: true,
            console_level: Some(dinit_hosted::log::Level::None),
            log_level: Some(dinit_hosted::log::Level::None),
            log_file: Some(PathBuf::from("/dev/null")),
            ..DaemonOptions::default()
        };
        let mut d = Daemon::new(set, opts, false).expect("daemon start-up");
        // Something active, as after boot.
        let boot = d.load_service(b"boot").expect("load boot");
        d.start_service(boot).expect("start boot");
        self.daemon = Some(d);
        for _ in 0..4 {
            self.turn();
        }
        // The observer: LOAD boot, sleeper, dependent; LISTENENV.
        let mut observer = UnixStream::connect(&self.socket).expect("connect");
        observer.set_nonblocking(true).unwrap();
        let mut hello = Vec::new();
        for name in [&b"boot"[..], b"sleeper", b"dependent"] {
            hello.push(2);
            hello.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
            hello.extend_from_slice(name);
        }
        hello.push(27);
        observer.write_all(&hello).unwrap();
        let mut got = Vec::new();
        let mut turns = 0;
        // Three SERVICERECORDs and an ACK.
        while got.len() < 3 * 7 + 1 {
            self.turn();
            assert!(read_available(&mut observer, &mut got), "observer closed");
            turns += 1;
            assert!(
                turns < TURNS,
                "the daemon did not answer the observer: {got:02x?}"
            );
        }
        assert_eq!(got[3 * 7], 0x32, "observer set-up: {got:02x?}");
        self.observer = Some(observer);
    }

    /// Reads what the observer was sent: information packets only, and it stays connected.
    fn check_observer(&mut self, data: &[u8]) {
        let Some(observer) = self.observer.as_mut() else {
            return;
        };
        let mut got = Vec::new();
        assert!(
            read_available(observer, &mut got),
            "the daemon closed a well-behaved listener (after input {data:02x?})"
        );
        let mut pos = 0;
        while pos < got.len() {
            match Info::parse_prefix(&got[pos..]) {
                Ok((_, n)) => pos += n,
                Err(e) => panic!(
                    "the observer got something other than information packets ({e:?}): \
                     {got:02x?} (after input {data:02x?})"
                ),
            }
        }
    }

    fn daemon(&mut self) -> &mut Daemon<'static> {
        self.daemon.as_mut().expect("a daemon")
    }

    /// One turn of the daemon's loop that cannot block: a pending SIGCHLD makes its signal
    /// descriptor readable.
    fn turn(&mut self) {
        // SAFETY: raising a signal the daemon blocks and reads through its signalfd.
        unsafe {
            libc::raise(libc::SIGCHLD);
        }
        self.daemon().turn();
    }
}

/// Reads what is available; returns false once the daemon has closed the connection.
fn read_available(client: &mut UnixStream, into: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 8 * 1024];
    loop {
        match client.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

/// The replies whose payload answers one kind of request only.
fn reply_fits(cmd: Command, reply: &Reply<'_>) -> bool {
    use Command as C;
    match reply {
        Reply::CpVersion { .. } => cmd == C::QueryVersion,
        Reply::ServiceRecord { .. } => matches!(cmd, C::FindService | C::LoadService),
        Reply::SvcInfo { .. } | Reply::ListDone => {
            matches!(cmd, C::ListServices | C::ListServices5)
        }
        Reply::LoaderMech { .. } => cmd == C::QueryLoadMech,
        Reply::ServiceName { .. } => cmd == C::QueryServiceName,
        Reply::ServiceStatus { .. } => matches!(
            cmd,
            C::ServiceStatus | C::ServiceStatus5 | C::ServiceStatus6 | C::EnableServiceV7
        ),
        Reply::ServiceLog { .. } => cmd == C::CatLog,
        Reply::SvcDscDir { .. } => cmd == C::QueryServiceDscDir,
        Reply::AllEnv { .. } => cmd == C::GetAllEnv,
        _ => true,
    }
}

/// Checks that `bytes`, what the daemon sent on a connection, is a sequence of replies and
/// information packets that answer the requests of `input` in order: each reply parses with
/// the status block size its request implies, payload replies answer the right request,
/// `SVCINFO` and `PREACK` precede their request's final reply, a malformed request gets
/// `BADREQ`, and nothing but information packets follows `BADREQ`.
fn check_replies(bytes: &[u8], input: &[u8]) {
    // The requests as the daemon reads them; `None` for a malformed one (the last).
    let mut requests: Vec<Option<Command>> = Vec::new();
    let mut rest = input;
    loop {
        match Request::parse_prefix(rest) {
            Ok((r, n)) => {
                requests.push(Some(r.command()));
                rest = &rest[n..];
            }
            Err(ParseError::Malformed(_)) => {
                requests.push(None);
                break;
            }
            Err(ParseError::Incomplete { .. }) => break,
        }
    }
    let fail = |pos: usize, what: &str| -> ! {
        panic!("{what} at offset {pos} of what the daemon sent: {bytes:02x?}\n(input {input:02x?})")
    };
    let mut answered = 0;
    let mut closed = false;
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if PacketClass::of(rest[0]) == PacketClass::Info {
            match Info::parse_prefix(rest) {
                Ok((_, n)) => pos += n,
                Err(e) => fail(
                    pos,
                    &format!("an information packet that does not parse ({e:?})"),
                ),
            }
            continue;
        }
        if closed {
            fail(pos, "a reply after BADREQ");
        }
        let Some(&request) = requests.get(answered) else {
            fail(pos, "a reply to no request");
        };
        let format = request
            .and_then(Command::reply_status_format)
            .unwrap_or(StatusFormat::Status10);
        let (reply, n) = match Reply::parse_prefix(rest, format) {
            Ok(r) => r,
            Err(e) => fail(pos, &format!("a reply that does not parse ({e:?})")),
        };
        match request {
            None if reply != Reply::BadReq => fail(pos, "a malformed request not answered BADREQ"),
            Some(cmd) if !reply_fits(cmd, &reply) => {
                fail(pos, &format!("{reply:?} in answer to {cmd:?}"))
            }
            _ => {}
        }
        if !matches!(reply, Reply::PreAck | Reply::SvcInfo { .. }) {
            answered += 1;
        }
        closed = reply == Reply::BadReq;
        pos += n;
    }
}

/// Runs one input against the daemon.
pub fn run(data: &[u8]) {
    HARNESS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let h = slot.get_or_insert_with(Harness::new);
        run_with(h, data);
    });
}

fn run_with(h: &mut Harness, data: &[u8]) {
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    h.inputs += 1;
    let chunk = if mode & 0x80 != 0 {
        usize::from(mode & 0x7f) + 1
    } else {
        stream.len().max(1)
    };
    // The fuzzed client: a connection state machine fed from memory, served by the daemon.
    let mut conn = Connection::new();
    let mut received = Vec::new();

    'feed: for piece in stream.chunks(chunk) {
        let mut rest = piece;
        let mut turns = 0;
        while !rest.is_empty() {
            let space = conn.recv_space();
            if space.is_empty() {
                // Closing (after BADREQ, or a request too large): the rest is never read.
                if conn.is_finished() || (!conn.wants_read() && !conn.wants_write()) {
                    break 'feed;
                }
                // Input waits while output is over its limit: the client reads.
                take_output(&mut conn, &mut received);
            } else {
                let n = space.len().min(rest.len());
                space[..n].copy_from_slice(&rest[..n]);
                conn.received(n);
                rest = &rest[n..];
            }
            h.daemon().serve(&mut conn);
            turns += 1;
            assert!(turns < TURNS, "the connection stopped taking its input");
        }
        // Between pieces the loop turns (the observer hears what happened).
        h.turn();
        take_output(&mut conn, &mut received);
    }

    // Let the connection answer everything: until it has nothing more to send.
    let mut turns = 0;
    loop {
        h.daemon().serve(&mut conn);
        let before = received.len();
        take_output(&mut conn, &mut received);
        if received.len() == before && !conn.wants_write() {
            break;
        }
        turns += 1;
        assert!(turns < TURNS, "the connection never finished answering");
    }
    h.turn();

    // The client's end closes: the connection is over.
    conn.peer_closed();
    assert!(conn.is_finished(), "a connection outlived its client");
    check_replies(&received, stream);
    h.check_observer(data);

    if h.daemon().set.shutdown_kind().is_some() || h.inputs % RECREATE_EVERY == 0 {
        h.recreate();
    }
    responsive(h, data);
}

/// What the connection has to send, read by the client.
fn take_output(conn: &mut Connection, into: &mut Vec<u8>) {
    let out = conn.transmit();
    into.extend_from_slice(out);
    let n = out.len();
    conn.transmitted(n);
}

/// A fresh client gets `CPVERSION` for `QUERYVERSION`.
fn responsive(h: &mut Harness, data: &[u8]) {
    let mut client = UnixStream::connect(&h.socket).expect("connect");
    client.set_nonblocking(true).unwrap();
    client.write_all(&[0]).unwrap();
    let mut got = Vec::new();
    let mut turns = 0;
    // Information packets cannot come first: this connection holds no handle yet.
    while got.len() < 5 {
        h.turn();
        assert!(
            read_available(&mut client, &mut got),
            "the daemon closed a well-behaved connection (after input {data:02x?})"
        );
        turns += 1;
        assert!(
            turns < TURNS,
            "the daemon stopped answering (after input {data:02x?})"
        );
    }
    assert_eq!(got, [0x3a, 1, 0, 7, 0], "after input {data:02x?}");
}

/// Stops this thread's daemon and removes its scratch files (at the end of a test). No
/// harness can be made afterwards in this process: the engine stays locked.
pub fn cleanup() {
    HARNESS.with(|cell| {
        if let Some(mut h) = cell.borrow_mut().take() {
            h.daemon = None;
            let _ = std::fs::remove_dir_all(&h.dir);
        }
    });
}
