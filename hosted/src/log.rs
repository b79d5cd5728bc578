//! The daemon's logging (dinit(8) LOGGING): the console and the main log (syslog through
//! `/dev/log`, or a file given with `--log-file`), each with its own level.
//!
//! As process 1 without a log file, the main log is the kernel's log (`/dev/kmsg`) until the
//! system log is up (the service with `starts-log`, a dinit-rs extension of Dinit's
//! behaviour): each message a record of its own with the main log's priority and a `dinit:`
//! prefix, so that the boot's messages are in `dmesg` and the kernel's ring buffer instead of
//! only on the console. Once `/dev/log` is opened it replaces the kernel's log.
//!
//! The daemon must never block on a log: each sink has a fixed ring buffer of whole messages
//! and writes without blocking. What does not fit is dropped, counted, and reported once there
//! is room again ("N log messages were lost"). A message is never written in part: a line, or a
//! syslog datagram, is either whole in the buffer or not at all. Formatting uses a stack buffer,
//! so logging allocates nothing.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// Message levels, from low to high (dinit(8): debug, notice, warn, error; `none` disables).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    /// Details.
    Debug = 0,
    /// Normal events (service started/stopped).
    Notice = 1,
    /// Something unusual.
    Warn = 2,
    /// Something failed.
    Error = 3,
    /// Above every message: nothing is logged.
    None = 4,
}

impl Level {
    fn syslog_priority(self) -> u8 {
        // LOG_DAEMON (3 << 3) | severity.
        24 + match self {
            Level::Debug => 7,
            Level::Notice => 5,
            Level::Warn => 4,
            Level::Error | Level::None => 3,
        }
    }
}

/// Displays an error number as the C library's `strerror` words it ("No such file or
/// directory"), without allocating (Rust's `io::Error` display allocates, and says more).
#[derive(Clone, Copy, Debug)]
pub struct Errno(pub i32);

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = [0u8; 256];
        match crate::sys::db::strerror(self.0, &mut buf) {
            Some(t) => f.write_str(t),
            None => write!(f, "Unknown error {}", self.0),
        }
    }
}

/// Room for one formatted message.
pub const MESSAGE_MAX: usize = 1024;

/// A message being formatted on the stack.
pub struct Message {
    buf: [u8; MESSAGE_MAX],
    len: usize,
    truncated: bool,
}

impl Default for Message {
    fn default() -> Self {
        Message {
            buf: [0; MESSAGE_MAX],
            len: 0,
            truncated: false,
        }
    }
}

impl Message {
    /// The text so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Appends raw bytes (service names are bytes).
    pub fn push_bytes(&mut self, b: &[u8]) {
        let room = MESSAGE_MAX.saturating_sub(self.len);
        let n = b.len().min(room);
        if n < b.len() {
            self.truncated = true;
        }
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..self.len + n), b.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
    }
}

impl std::fmt::Write for Message {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_bytes(s.as_bytes());
        Ok(())
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Message({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// A fixed ring of whole records (each stored as a 2-byte length and its bytes).
#[derive(Debug)]
struct Ring {
    buf: Vec<u8>,
    head: usize,
    len: usize,
}

impl Ring {
    fn new(capacity: usize) -> Self {
        Ring {
            buf: vec![0; capacity],
            head: 0,
            len: 0,
        }
    }
    fn free(&self) -> usize {
        self.buf.len() - self.len
    }
    fn push_byte(&mut self, b: u8) {
        let cap = self.buf.len();
        let at = (self.head + self.len) % cap;
        if let Some(slot) = self.buf.get_mut(at) {
            *slot = b;
        }
        self.len += 1;
    }
    /// Stores a record whole, or not at all.
    fn push(&mut self, record: &[u8]) -> bool {
        let Ok(n) = u16::try_from(record.len()) else {
            return false;
        };
        if self.buf.is_empty() || self.free() < record.len() + 2 {
            return false;
        }
        for b in n.to_le_bytes() {
            self.push_byte(b);
        }
        for &b in record {
            self.push_byte(b);
        }
        true
    }
    fn byte(&self, i: usize) -> u8 {
        let cap = self.buf.len().max(1);
        self.buf.get((self.head + i) % cap).copied().unwrap_or(0)
    }
    /// Copies the first record into `out`, returning its length.
    fn peek(&self, out: &mut [u8]) -> Option<usize> {
        if self.len < 2 {
            return None;
        }
        let n = usize::from(u16::from_le_bytes([self.byte(0), self.byte(1)]));
        for (i, slot) in out.iter_mut().take(n).enumerate() {
            *slot = self.byte(2 + i);
        }
        Some(n.min(out.len()))
    }
    fn pop(&mut self) {
        if self.len < 2 {
            return;
        }
        let n = usize::from(u16::from_le_bytes([self.byte(0), self.byte(1)])) + 2;
        let cap = self.buf.len().max(1);
        self.head = (self.head + n) % cap;
        self.len = self.len.saturating_sub(n);
        if self.len == 0 {
            // Start again at the front: a sink whose records are written as they come keeps
            // using the same few bytes, and the rest of the ring never becomes resident.
            self.head = 0;
        }
    }
    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Where a sink writes.
#[derive(Debug)]
enum Target {
    /// A stream (console, file): records are lines.
    Stream(OwnedFd),
    /// The syslog datagram socket: records are datagrams.
    Syslog(OwnedFd),
    /// The kernel's log (`/dev/kmsg`): each write is a record.
    Kmsg(OwnedFd),
}

/// One log destination with its buffer.
#[derive(Debug)]
pub struct Sink {
    target: Target,
    ring: Ring,
    /// Bytes of the record at the head already written (streams only).
    partial: usize,
    lost: u64,
    level: Level,
}

/// Ring capacity of each sink.
pub const SINK_BUFFER: usize = 16 * 1024;

impl Sink {
    fn new(target: Target, level: Level) -> Self {
        Sink {
            target,
            ring: Ring::new(SINK_BUFFER),
            partial: 0,
            lost: 0,
            level,
        }
    }

    /// A sink writing lines to `fd` (made non-blocking by the caller, or a descriptor of
    /// its own).
    pub fn stream(fd: OwnedFd, level: Level) -> Self {
        Sink::new(Target::Stream(fd), level)
    }

    /// The console: the daemon's standard output, reopened as a file description of its own
    /// so that it can be non-blocking without affecting the processes that share the terminal;
    /// if that is impossible (no /proc yet at boot), a blocking duplicate.
    pub fn console(level: Level) -> io::Result<Self> {
        use rustix::fs::{FileType, Mode, OFlags};
        let stdout = rustix::stdio::stdout();
        let stat = rustix::fs::fstat(stdout)?;
        let kind = FileType::from_raw_mode(stat.st_mode);
        let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        // A terminal or a pipe is opened again, so that the descriptor can be non-blocking
        // without changing the one shared with other processes. A regular file is shared as
        // it is (writes to it do not block, and its offset must stay shared with whatever
        // else writes there, such as the shutdown program after the daemon).
        let reopened = match kind {
            FileType::RegularFile => None,
            _ => rustix::fs::open("/proc/self/fd/1", flags, Mode::empty())
                .ok()
                .or_else(|| {
                    // Early in boot /proc is not mounted; PID 1's output is the console.
                    let console = rustix::fs::stat("/dev/console").ok()?;
                    (kind == FileType::CharacterDevice && console.st_rdev == stat.st_rdev)
                        .then(|| rustix::fs::open("/dev/console", flags, Mode::empty()).ok())
                        .flatten()
                }),
        };
        let fd = match reopened {
            Some(fd) => fd,
            None => rustix::io::fcntl_dupfd_cloexec(stdout, 3)?,
        };
        Ok(Sink::stream(fd, level))
    }

    /// A log file, appended to.
    pub fn file(path: &Path, level: Level) -> io::Result<Self> {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            path,
            OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NONBLOCK | OFlags::CLOEXEC,
            // As Dinit creates it (before the umask).
            Mode::from_raw_mode(0o644),
        )?;
        Ok(Sink::stream(fd, level))
    }

    /// The system log, through the datagram socket at `path` (normally `/dev/log`).
    pub fn syslog(path: &Path, level: Level) -> io::Result<Self> {
        use rustix::net::{
            connect, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType,
        };
        let fd = socket_with(
            AddressFamily::UNIX,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )?;
        connect(&fd, &SocketAddrUnix::new(path)?)?;
        Ok(Sink::new(Target::Syslog(fd), level))
    }

    /// The kernel's log, `/dev/kmsg` (the early main log of process 1).
    pub fn kmsg(level: Level) -> io::Result<Self> {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            "/dev/kmsg",
            OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )?;
        Ok(Sink::new(Target::Kmsg(fd), level))
    }

    /// True if this is the kernel's log.
    pub fn is_kmsg(&self) -> bool {
        matches!(self.target, Target::Kmsg(_))
    }

    /// The level at and above which messages are taken.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Changes the level.
    pub fn set_level(&mut self, level: Level) {
        self.level = level;
    }

    /// The descriptor, to watch for writability while data is pending.
    pub fn fd(&self) -> BorrowedFd<'_> {
        match &self.target {
            Target::Stream(fd) | Target::Syslog(fd) | Target::Kmsg(fd) => fd.as_fd(),
        }
    }

    /// Messages dropped since the last report.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// True if buffered data waits to be written.
    pub fn pending(&self) -> bool {
        !self.ring.is_empty()
    }

    /// Queues a message (a line; the newline is added). Returns false if it was dropped.
    pub fn push(&mut self, level: Level, text: &[u8]) -> bool {
        self.push_record(level, text, true)
    }

    /// Queues a line as it is, without the `dinit: ` a stream gives other messages (the
    /// console's service status lines, `[  OK  ] name`).
    pub fn push_plain(&mut self, level: Level, text: &[u8]) -> bool {
        self.push_record(level, text, false)
    }

    fn push_record(&mut self, level: Level, text: &[u8], named: bool) -> bool {
        let mut rec = Message::default();
        match self.target {
            Target::Syslog(_) | Target::Kmsg(_) => {
                let _ = write!(rec, "<{}>dinit: ", level.syslog_priority());
                rec.push_bytes(text);
            }
            Target::Stream(_) => {
                if named {
                    rec.push_bytes(b"dinit: ");
                }
                rec.push_bytes(text);
                if rec.len == MESSAGE_MAX {
                    rec.len -= 1;
                }
                rec.push_bytes(b"\n");
            }
        }
        if self.lost > 0 {
            let mut note = Message::default();
            if let Target::Syslog(_) | Target::Kmsg(_) = self.target {
                // A datagram (record) of its own, formatted like every other one (a syslog daemon
                // would otherwise file it under another facility, without our name).
                let _ = write!(note, "<{}>dinit: ", Level::Warn.syslog_priority());
            }
            if let Target::Stream(_) = self.target {
                note.push_bytes(b"dinit: ");
            }
            let _ = write!(note, "{} log messages were lost", self.lost);
            if let Target::Stream(_) = self.target {
                note.push_bytes(b"\n");
            }
            if self.ring.free() >= note.len + 2 + rec.len + 2 && self.ring.push(note.as_bytes()) {
                self.lost = 0;
            }
        }
        if self.ring.push(rec.as_bytes()) {
            true
        } else {
            self.lost += 1;
            false
        }
    }

    /// Writes what it can without blocking.
    pub fn flush(&mut self) {
        let mut rec = [0u8; MESSAGE_MAX + 64];
        while let Some(n) = self.ring.peek(&mut rec) {
            let data = rec.get(..n).unwrap_or(&[]);
            match &self.target {
                Target::Stream(fd) => {
                    let rest = data.get(self.partial..).unwrap_or(&[]);
                    match rustix::io::write(fd, rest) {
                        Ok(w) if w == rest.len() => {
                            self.partial = 0;
                            self.ring.pop();
                        }
                        Ok(w) => {
                            self.partial += w;
                            return;
                        }
                        Err(rustix::io::Errno::INTR) => continue,
                        Err(rustix::io::Errno::AGAIN) => return,
                        Err(_) => {
                            // A broken destination: drop what is queued rather than spin.
                            self.partial = 0;
                            self.ring.pop();
                        }
                    }
                }
                Target::Syslog(fd) => {
                    match rustix::net::send(fd, data, rustix::net::SendFlags::DONTWAIT) {
                        Ok(_) => self.ring.pop(),
                        Err(rustix::io::Errno::INTR) => continue,
                        Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::NOBUFS) => return,
                        Err(_) => self.ring.pop(),
                    }
                }
                Target::Kmsg(fd) => match rustix::io::write(fd, data) {
                    Ok(_) => self.ring.pop(),
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(rustix::io::Errno::AGAIN) => return,
                    // (A record the kernel refuses, e.g. one too long: dropped.)
                    Err(_) => self.ring.pop(),
                },
            }
        }
    }
}

/// The daemon's two log destinations.
#[derive(Debug)]
pub struct Logger {
    /// The console (standard output), or `None` with `--quiet` and no console level.
    pub console: Option<Sink>,
    /// The main log (syslog or a file), once it is available.
    pub main: Option<Sink>,
    /// Service state messages (`[  OK  ] name`) always go to the console unless quiet.
    pub service_messages: bool,
    /// The console is held by a service: console output is held back (buffered).
    pub console_held: bool,
}

impl Logger {
    /// A logger with no sinks.
    pub fn new() -> Self {
        Logger {
            console: None,
            main: None,
            service_messages: true,
            console_held: false,
        }
    }

    /// Logs a message at `level` to every sink that takes it. On the console and in a log
    /// file it reads `dinit: MESSAGE`, as Dinit's (the syslog record has the name already).
    pub fn log(&mut self, level: Level, text: &[u8]) {
        for sink in [&mut self.console, &mut self.main].into_iter().flatten() {
            if level >= sink.level {
                sink.push(level, text);
            }
        }
        self.flush();
    }

    /// Logs a formatted message.
    pub fn logf(&mut self, level: Level, args: std::fmt::Arguments<'_>) {
        let mut m = Message::default();
        let _ = m.write_fmt(args);
        self.log(level, m.as_bytes());
    }

    /// A service state message: to the console (whatever its level, unless quiet) in the
    /// form `[  OK  ] name`, and to the main log at `level` as `service NAME WORDS`.
    pub fn service_state(&mut self, tag: &str, name: &[u8], level: Level, words: &str) {
        self.service_state_at(tag, name, level, level, words);
    }

    /// [`Logger::service_state`] with a level for each destination.
    pub fn service_state_at(
        &mut self,
        tag: &str,
        name: &[u8],
        console_level: Level,
        main_level: Level,
        words: &str,
    ) {
        if let Some(c) = &mut self.console {
            if self.service_messages || console_level >= c.level {
                let mut m = Message::default();
                let _ = write!(m, "[{tag}] ");
                m.push_bytes(name);
                c.push_plain(console_level, m.as_bytes());
            }
        }
        if let Some(main) = &mut self.main {
            if main_level >= main.level {
                let mut m = Message::default();
                m.push_bytes(b"service ");
                m.push_bytes(name);
                let _ = write!(m, " {words}");
                main.push(main_level, m.as_bytes());
            }
        }
        self.flush();
    }

    /// True if a destination has buffered output it could not write yet.
    pub fn pending(&self) -> bool {
        (!self.console_held && self.console.as_ref().is_some_and(Sink::pending))
            || self.main.as_ref().is_some_and(Sink::pending)
    }

    /// Writes what can be written without blocking (console output waits while a service
    /// holds the console).
    pub fn flush(&mut self) {
        if !self.console_held {
            if let Some(c) = &mut self.console {
                c.flush();
            }
        }
        if let Some(m) = &mut self.main {
            m.flush();
        }
    }
}

impl Logger {
    /// Writes everything buffered, waiting for the destinations to take it, for at most
    /// `limit` (a destination nobody reads must not keep the daemon from exiting): before an
    /// exit, as Dinit flushes its log before it returns an error status.
    pub fn flush_for(&mut self, limit: std::time::Duration) {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let start = std::time::Instant::now();
        loop {
            self.flush();
            let left = limit.saturating_sub(start.elapsed());
            if !self.pending() || left.is_zero() {
                return;
            }
            let sinks = [&self.console, &self.main];
            let mut fds: Vec<PollFd<'_>> = sinks
                .into_iter()
                .flatten()
                .filter(|s| s.pending())
                .map(|s| PollFd::from_borrowed_fd(s.fd(), PollFlags::OUT))
                .collect();
            let timeout = Timespec {
                tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            if rustix::event::poll(&mut fds, Some(&timeout)).is_err() {
                // Interrupted or failed: the next round writes what it can, or gives up when
                // the time is up.
                std::thread::sleep(std::time::Duration::from_millis(10).min(left));
            }
        }
    }
}

impl Default for Logger {
    fn default() -> Self {
        Logger::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipe_sink(level: Level) -> (Sink, OwnedFd) {
        let (r, w) = rustix::pipe::pipe_with(
            rustix::pipe::PipeFlags::NONBLOCK | rustix::pipe::PipeFlags::CLOEXEC,
        )
        .unwrap();
        (Sink::stream(w, level), r)
    }

    fn read_all(fd: &OwnedFd) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = rustix::io::read(fd, &mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    #[test]
    fn lines_are_written_whole_and_in_order() {
        let (mut sink, r) = pipe_sink(Level::Debug);
        sink.push(Level::Notice, b"first");
        sink.push(Level::Error, b"second");
        sink.flush();
        assert_eq!(read_all(&r), b"dinit: first\ndinit: second\n");
        // The console's service status lines go out as they are.
        sink.push_plain(Level::Notice, b"[  OK  ] boot");
        sink.flush();
        assert_eq!(read_all(&r), b"[  OK  ] boot\n");
    }

    #[test]
    fn a_drained_ring_starts_again_at_its_front() {
        let (mut sink, r) = pipe_sink(Level::Debug);
        for i in 0..500 {
            sink.push(Level::Notice, format!("line {i}").as_bytes());
            sink.flush();
            assert_eq!(sink.ring.head, 0, "line {i}");
        }
        assert_eq!(read_all(&r).iter().filter(|&&b| b == b'\n').count(), 500);
    }

    #[test]
    fn a_stalled_sink_never_blocks_and_reports_losses() {
        let (mut sink, r) = pipe_sink(Level::Debug);
        // Fill the pipe (64 KiB) and the ring (16 KiB): nothing blocks, messages are dropped.
        let line = [b'x'; 200];
        let mut dropped = 0;
        for _ in 0..2000 {
            if !sink.push(Level::Notice, &line) {
                dropped += 1;
            }
            sink.flush();
        }
        assert!(dropped > 0);
        assert_eq!(sink.lost(), dropped);
        // Drain the reader; the next message carries the loss report first.
        let mut total = read_all(&r);
        sink.flush();
        total.extend(read_all(&r));
        sink.push(Level::Notice, b"after");
        sink.flush();
        total.extend(read_all(&r));
        sink.flush();
        total.extend(read_all(&r));
        let text = String::from_utf8_lossy(&total);
        assert!(
            text.contains(&format!(
                "dinit: {dropped} log messages were lost\ndinit: after\n"
            )),
            "{}",
            &text[text.len().saturating_sub(200)..]
        );
        // Every line is whole.
        for l in text.lines() {
            assert!(
                l.len() == 207 || l == "dinit: after" || l.ends_with("were lost"),
                "partial line {l:?}"
            );
        }
    }

    #[test]
    fn levels_filter_messages_but_not_service_states() {
        let (console, cr) = pipe_sink(Level::None);
        let (main, mr) = pipe_sink(Level::Warn);
        let mut logger = Logger {
            console: Some(console),
            main: Some(main),
            service_messages: true,
            console_held: false,
        };
        logger.log(Level::Notice, b"quiet");
        logger.log(Level::Error, b"loud");
        logger.service_state("  OK  ", b"boot", Level::Notice, "started.");
        logger.service_state_at(
            "FAILED",
            b"dep",
            Level::Warn,
            Level::Error,
            "failed to start.",
        );
        assert_eq!(read_all(&cr), b"[  OK  ] boot\n[FAILED] dep\n");
        assert_eq!(
            read_all(&mr),
            b"dinit: loud\ndinit: service dep failed to start.\n"
        );
    }

    #[test]
    fn console_output_waits_while_a_service_holds_the_console() {
        let (console, cr) = pipe_sink(Level::Debug);
        let mut logger = Logger {
            console: Some(console),
            main: None,
            service_messages: true,
            console_held: true,
        };
        logger.log(Level::Notice, b"held");
        assert!(read_all(&cr).is_empty());
        logger.console_held = false;
        logger.flush();
        assert_eq!(read_all(&cr), b"dinit: held\n");
    }

    #[test]
    fn syslog_datagrams_carry_priority() {
        let dir = std::env::temp_dir().join(format!("dinit-rs-syslog-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let server = std::os::unix::net::UnixDatagram::bind(&dir).unwrap();
        let mut sink = Sink::syslog(&dir, Level::Debug).unwrap();
        sink.push(Level::Error, b"service boot failed to start");
        sink.flush();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"<27>dinit: service boot failed to start");
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn a_stalled_syslog_gets_a_well_formed_loss_report() {
        let path =
            std::env::temp_dir().join(format!("dinit-rs-syslog-loss-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let server = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        server.set_nonblocking(true).unwrap();
        let mut sink = Sink::syslog(&path, Level::Debug).unwrap();
        // Nobody reads: the socket queue, then the ring, fill up; nothing blocks.
        let mut dropped = 0;
        for _ in 0..5000 {
            if !sink.push(Level::Notice, &[b'x'; 100]) {
                dropped += 1;
            }
            sink.flush();
        }
        assert!(dropped > 0);
        // The reader catches up (the socket takes a few datagrams at a time).
        let mut buf = [0u8; 2048];
        while sink.pending() {
            while server.recv(&mut buf).is_ok() {}
            sink.flush();
        }
        sink.push(Level::Notice, b"after");
        sink.flush();
        let mut got = Vec::new();
        while let Ok(n) = server.recv(&mut buf) {
            got.push(buf[..n].to_vec());
        }
        let want = format!("<28>dinit: {dropped} log messages were lost");
        assert_eq!(
            got.iter().rev().take(2).rev().cloned().collect::<Vec<_>>(),
            [want.into_bytes(), b"<29>dinit: after".to_vec()]
        );
        let _ = std::fs::remove_file(&path);
    }
}
