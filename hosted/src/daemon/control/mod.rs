//! The control socket: Dinit's protocol (shared/spec/control-protocol.md) over a Unix stream
//! socket, served from the event loop.
//!
//! Bounds: at most [`MAX_CONNECTIONS`] connections (more are accepted and closed at once, with
//! a warning), a 1024-byte receive buffer each (the protocol's largest request), at most
//! [`MAX_HANDLES`] handles each, and an output queue of [`OUT_CAPACITY`] bytes each. Input is not
//! processed while more than 16 KiB of output waits (spec 4.1); long replies (`list`, the
//! environment, a service log) are streamed into the queue as the client drains it. A client
//! that lets its queue overflow (it never reads its events) is disconnected; one that sends a
//! malformed request gets `BADREQ` and is disconnected once it has been sent. None of this
//! affects other clients or the services.

use super::Daemon;
use crate::load::LoadFailureKind;
use crate::log::Level;
use crate::reactor::Interest;
use dinit_core::config::Options;
use dinit_core::proto::{
    emit_service_event_pair, BodyReply, Command, Handle, Handles, Info, Malformed, ParseError,
    Reply, Request, ServiceDirs, StartFlags, StatusBlock, StatusFormat, Timespec,
    MAX_SVCINFO_NAME_LEN, PROTOCOL_VERSION, PROTOCOL_VERSION_MIN, SERVICE_EVENT_PAIR_LEN,
};
use dinit_core::ServiceKind;
use dinit_core::{
    DepKind, Refusal, ServiceEvent, ServiceId, ServiceState, ServiceStatus, ShutdownKind,
};
use rustix::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Most simultaneous control connections.
pub const MAX_CONNECTIONS: usize = 128;
/// Most handles one connection may hold.
pub const MAX_HANDLES: usize = 1024;
/// Output queue of one connection.
pub const OUT_CAPACITY: usize = 64 * 1024;
/// Input is held back while more output than this waits (spec 4.1).
pub const BACKPRESSURE: usize = 16 * 1024;
/// The receive buffer (spec 4.1): the largest request.
pub const RECV_CAPACITY: usize = 1024;
/// Information packets held back while a reply body streams (see `Conn::push_info`).
pub const HELD_CAPACITY: usize = 16 * 1024;

/// A streamed reply in progress.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pending {
    /// `LISTSERVICES*`: the next service to describe.
    List {
        next: Option<ServiceId>,
        format: StatusFormat,
    },
    /// `GETALLENV`: the next variable and the body bytes still to send.
    Env { index: usize, remaining: usize },
    /// `CATLOG`: the service, the offset in its buffer, bytes still to send, and whether to
    /// clear the buffer at the end.
    Log {
        id: ServiceId,
        offset: usize,
        remaining: usize,
        clear: bool,
    },
}

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    pub(super) fd: OwnedFd,
    rbuf: [u8; RECV_CAPACITY],
    rlen: usize,
    out: Vec<u8>,
    out_pos: usize,
    pub(super) handles: Vec<Option<ServiceId>>,
    pub(super) listen_env: bool,
    /// `BADREQ` queued: no more input; close once the output is written.
    closing: bool,
    /// To be dropped (EOF, error, overflow).
    pub(super) dead: bool,
    pub(super) pending: Option<Pending>,
    /// Information packets that arrived while a reply body was half queued; they follow it.
    /// Allocated when first needed.
    held: Vec<u8>,
    /// What the connection is registered for. Input is watched only while it can be read
    /// (not closing, room in the receive buffer): the reactor is level-triggered, and unread
    /// input of a client that does not read its replies would otherwise wake the loop at
    /// once, forever.
    interest: Interest,
}

impl Conn {
    pub(super) fn new(fd: OwnedFd) -> Conn {
        Conn {
            fd,
            rbuf: [0; RECV_CAPACITY],
            rlen: 0,
            out: Vec::with_capacity(OUT_CAPACITY),
            out_pos: 0,
            handles: Vec::with_capacity(16),
            listen_env: false,
            closing: false,
            dead: false,
            pending: None,
            held: Vec::new(),
            interest: Interest::READ,
        }
    }

    fn queued(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Output waits to be written, or a streamed reply to be continued, or the connection is
    /// finished and must be closed.
    pub(super) fn has_output(&self) -> bool {
        self.queued() > 0 || self.pending.is_some() || self.dead
    }

    fn room(&self) -> usize {
        OUT_CAPACITY - self.queued()
    }

    /// Makes room at the end of the queue by moving unsent bytes to the front.
    fn compact(&mut self) {
        if self.out_pos > 0 {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
    }

    /// Queues raw bytes; a queue that would overflow kills the connection.
    fn push_bytes(&mut self, bytes: &[u8]) -> bool {
        if self.dead {
            return false;
        }
        if bytes.len() > self.room() {
            self.dead = true;
            return false;
        }
        if self.out.len() + bytes.len() > self.out.capacity() {
            self.compact();
        }
        self.out.extend_from_slice(bytes);
        true
    }

    /// Is a reply body (`SERVICE_LOG`, `ALLENV`) partly queued, the rest to follow as the
    /// client reads?
    fn mid_packet(&self) -> bool {
        matches!(
            self.pending,
            Some(Pending::Env { .. } | Pending::Log { .. })
        )
    }

    /// Queues an information packet. Such packets may come between any two packets but never
    /// inside one (spec 4.4): while a reply body streams they wait, and follow it. A client
    /// that lets more than [`HELD_CAPACITY`] bytes of them pile up that way is disconnected,
    /// as one whose queue overflows.
    fn push_info(&mut self, bytes: &[u8]) -> bool {
        if !self.mid_packet() {
            return self.push_bytes(bytes);
        }
        if self.dead {
            return false;
        }
        if self.held.len() + bytes.len() > HELD_CAPACITY {
            self.dead = true;
            return false;
        }
        if self.held.capacity() == 0 {
            self.held.reserve_exact(HELD_CAPACITY);
        }
        self.held.extend_from_slice(bytes);
        true
    }

    /// Ends a streamed reply; the information packets held back meanwhile follow it.
    fn end_pending(&mut self) {
        self.pending = None;
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.push_bytes(&held);
            self.held = held;
            self.held.clear();
        }
    }

    /// Queues a reply.
    pub(super) fn send(&mut self, reply: &Reply<'_>) -> bool {
        let mut buf = [0u8; 2048];
        let emitted = match reply.emit(&mut buf) {
            Ok(n) => return self.push_bytes(buf.get(..n).unwrap_or(&[])),
            // Larger than the usual replies: `DEPENDENTS` of a service many others need (4
            // bytes a handle), a long directory in `SVCDSCDIR`.
            Err(_) => {
                let mut big = vec![0u8; reply.buffer_len()];
                reply.emit(&mut big).map(|n| {
                    big.truncate(n);
                    big
                })
            }
        };
        match emitted {
            Ok(bytes) => self.push_bytes(&bytes),
            Err(_) => {
                self.dead = true;
                false
            }
        }
    }

    /// Queues a pair of service events (v5, then legacy) for `handle`.
    pub(super) fn send_event(
        &mut self,
        handle: Handle,
        event: ServiceEvent,
        status: &ServiceStatus,
    ) -> bool {
        let mut buf = [0u8; SERVICE_EVENT_PAIR_LEN];
        match emit_service_event_pair(handle, event, status, &mut buf) {
            Ok(n) => self.push_info(buf.get(..n).unwrap_or(&[])),
            Err(_) => false,
        }
    }

    /// Allocates the lowest free handle for `id` (spec 4.5).
    fn new_handle(&mut self, id: ServiceId) -> Option<Handle> {
        if let Some(pos) = self.handles.iter().position(Option::is_none) {
            if let Some(slot) = self.handles.get_mut(pos) {
                *slot = Some(id);
            }
            return Handle::try_from(pos).ok();
        }
        if self.handles.len() >= MAX_HANDLES {
            return None;
        }
        self.handles.push(Some(id));
        Handle::try_from(self.handles.len() - 1).ok()
    }

    fn service(&self, handle: Handle) -> Option<ServiceId> {
        self.handles
            .get(usize::try_from(handle).ok()?)
            .copied()
            .flatten()
    }

    /// Does this connection hold a handle on `id`?
    pub(super) fn holds(&self, id: ServiceId) -> bool {
        self.handles.contains(&Some(id))
    }

    /// Releases one handle (its number may be given out again).
    fn close_handle(&mut self, handle: Handle) {
        if let Some(h) = usize::try_from(handle)
            .ok()
            .and_then(|i| self.handles.get_mut(i))
        {
            *h = None;
        }
    }

    /// Forgets every handle on `id`.
    pub(super) fn drop_handles(&mut self, id: ServiceId) {
        for h in self.handles.iter_mut() {
            if *h == Some(id) {
                *h = None;
            }
        }
    }

    /// Writes queued output without blocking. Returns false on a write error.
    fn write_out(&mut self) -> bool {
        while self.out_pos < self.out.len() {
            let data = self.out.get(self.out_pos..).unwrap_or(&[]);
            match rustix::net::send(
                &self.fd,
                data,
                rustix::net::SendFlags::DONTWAIT | rustix::net::SendFlags::NOSIGNAL,
            ) {
                Ok(0) => return false,
                Ok(n) => self.out_pos += n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => break,
                Err(_) => return false,
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        true
    }
}

/// The control socket and its connections.
#[derive(Debug, Default)]
pub struct Control {
    pub(super) listener: Option<OwnedFd>,
    /// Where the socket is (or will be) bound.
    pub path: Option<PathBuf>,
    pub(super) conns: Vec<Option<Conn>>,
}

/// Why the control socket could not be opened; displayed as Dinit logs it.
#[derive(Debug)]
pub enum SocketError {
    /// Another daemon answers on that path.
    AlreadyActive,
    /// Something that is not a socket (a file, a symbolic link) is at that path; it is left
    /// alone (Dinit would remove it; a directory fails to bind, as with Dinit).
    NotASocket,
    /// The socket could not be created.
    Create(std::io::Error),
    /// The socket could not be bound to the path.
    Bind(std::io::Error),
    /// The socket could not listen.
    Listen(std::io::Error),
    /// The socket could not be watched by the event loop.
    Watch(std::io::Error),
}

impl std::fmt::Display for SocketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = crate::ctl::format::io_error_text;
        match self {
            SocketError::AlreadyActive => {
                f.write_str("Control socket is already active (another instance already running?)")
            }
            SocketError::NotASocket => f.write_str(
                "Error binding control socket: the path exists and is not a socket; not \
                 replacing it",
            ),
            SocketError::Create(e) => write!(f, "Error creating control socket: {}", text(e)),
            SocketError::Bind(e) => write!(f, "Error binding control socket: {}", text(e)),
            SocketError::Listen(e) => write!(f, "Error listening on control socket: {}", text(e)),
            SocketError::Watch(e) => {
                write!(f, "Could not setup I/O on control socket: {}", text(e))
            }
        }
    }
}

/// Creates the listening socket at `path` (spec 2.4): refuses if a live daemon answers there,
/// removes a stale socket file, binds with owner-only permissions, listens.
pub fn open_socket(path: &Path) -> Result<OwnedFd, SocketError> {
    use rustix::net::{
        bind, connect, listen, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType,
    };
    // A path too long for an address: Dinit's bind fails with EINVAL, and so does this.
    let addr = SocketAddrUnix::new(path)
        .map_err(|_| SocketError::Bind(std::io::Error::from_raw_os_error(libc::EINVAL)))?;
    let probe = socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| SocketError::Create(e.into()))?;
    if connect(&probe, &addr).is_ok() {
        return Err(SocketError::AlreadyActive);
    }
    drop(probe);
    // Only a socket may be replaced: never follow or delete anything else at that path (a
    // directory is left for bind to refuse).
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            let _ = std::fs::remove_file(path);
        } else if !meta.is_dir() {
            return Err(SocketError::NotASocket);
        }
    }
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
    .map_err(|e| SocketError::Create(e.into()))?;
    // Bound under a restrictive umask, the socket is created 0600: never briefly accessible to
    // others, and no chmod through the path afterwards (which would follow a symbolic link put
    // in its place meanwhile).
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = bind(&fd, &addr);
    rustix::process::umask(old);
    bound.map_err(|e| SocketError::Bind(e.into()))?;
    listen(&fd, 10).map_err(|e| SocketError::Listen(e.into()))?;
    Ok(fd)
}

/// A descriptor (on `/dev/null`) held in reserve for the moment the daemon runs out of them: it
/// is released to accept, and at once close, a connection that could not be accepted
/// otherwise (see [`Daemon::accept_connections`]). One per process, taken when connections are
/// first accepted.
mod spare {
    use rustix::fd::{FromRawFd, IntoRawFd, OwnedFd};
    use std::sync::atomic::{AtomicI32, Ordering};

    static SPARE: AtomicI32 = AtomicI32::new(-1);

    /// Takes the spare descriptor if it is not held.
    pub(super) fn reserve() {
        if SPARE.load(Ordering::Relaxed) >= 0 {
            return;
        }
        if let Ok(fd) = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) {
            let raw = fd.into_raw_fd();
            if SPARE
                .compare_exchange(-1, raw, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
            {
                // SAFETY: `raw` was just taken from an OwnedFd and is not stored anywhere.
                drop(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
    }

    /// Closes the spare descriptor; false if none was held.
    pub(super) fn release() -> bool {
        let raw = SPARE.swap(-1, Ordering::Relaxed);
        if raw < 0 {
            return false;
        }
        // SAFETY: the number came from an OwnedFd given up in `reserve`, and only this swap
        // takes it back.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
        true
    }
}

fn status_block(status: ServiceStatus, format: StatusFormat, mtime: (i64, i64)) -> StatusBlock {
    match format {
        StatusFormat::Status10 => StatusBlock::Status10(status),
        StatusFormat::Status14 => StatusBlock::Status14(status),
        StatusFormat::Status30 => StatusBlock::Status30(
            status,
            Timespec {
                sec: mtime.0,
                nsec: mtime.1,
            },
        ),
    }
}

impl Daemon<'_> {
    /// Accepts pending connections.
    pub(super) fn accept_connections(&mut self) {
        spare::reserve();
        loop {
            let accepted = {
                let Some(listener) = &self.rt.control.listener else {
                    return;
                };
                rustix::net::accept_with(
                    listener,
                    rustix::net::SocketFlags::CLOEXEC | rustix::net::SocketFlags::NONBLOCK,
                )
            };
            let fd = match accepted {
                Ok(fd) => fd,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => break,
                Err(e @ (rustix::io::Errno::MFILE | rustix::io::Errno::NFILE)) => {
                    // The connection stays pending, so the listening socket stays readable:
                    // unless it is taken off the queue, the (level-triggered) loop would come
                    // straight back here, forever. Free the spare descriptor, accept and close
                    // the connection with it, and take the spare again.
                    let refused = spare::release()
                        && self.rt.control.listener.as_ref().is_some_and(|l| {
                            // Closed at once (before the spare is taken again).
                            rustix::net::accept_with(l, rustix::net::SocketFlags::CLOEXEC).is_ok()
                        });
                    spare::reserve();
                    self.rt.log.logf(
                        Level::Warn,
                        format_args!("accepting a control connection: {e}; refusing it"),
                    );
                    if refused {
                        continue;
                    }
                    break;
                }
                Err(e) => {
                    self.rt.log.logf(
                        Level::Warn,
                        format_args!("accepting a control connection: {e}"),
                    );
                    break;
                }
            };
            self.add_connection(fd);
        }
    }

    /// Adds a connection (accepted, or the daemon's end of a `pass-cs-fd` pair). Returns its
    /// index.
    pub(super) fn add_connection(&mut self, fd: OwnedFd) -> Option<usize> {
        let conns = &mut self.rt.control.conns;
        let slot = match conns.iter().position(Option::is_none) {
            Some(i) => i,
            None if conns.len() < MAX_CONNECTIONS => {
                conns.push(None);
                conns.len() - 1
            }
            None => {
                self.rt.log.logf(
                    Level::Warn,
                    format_args!("too many control connections ({MAX_CONNECTIONS}); refusing one"),
                );
                return None;
            }
        };
        let token = super::token(super::TokenKind::Conn, slot);
        if let Err(e) = self.rt.reactor.add(&fd, token, Interest::READ) {
            self.rt.log.logf(
                Level::Warn,
                format_args!("watching a control connection: {e}"),
            );
            return None;
        }
        if let Some(c) = self.rt.control.conns.get_mut(slot) {
            *c = Some(Conn::new(fd));
        }
        Some(slot)
    }

    /// Handles readiness of connection `slot`.
    pub(super) fn connection_ready(&mut self, slot: usize, readable: bool) {
        if readable {
            self.read_connection(slot);
        }
        self.service_connection(slot);
    }

    fn conn(&mut self, slot: usize) -> Option<&mut Conn> {
        self.rt.control.conns.get_mut(slot).and_then(Option::as_mut)
    }

    fn read_connection(&mut self, slot: usize) {
        let Some(c) = self.conn(slot) else { return };
        if c.closing {
            return;
        }
        loop {
            let rlen = c.rlen;
            let Some(space) = c.rbuf.get_mut(rlen..) else {
                return;
            };
            if space.is_empty() {
                break;
            }
            match rustix::io::read(&c.fd, space) {
                Ok(0) => {
                    // EOF: close at once, dropping queued output (spec 4.1).
                    c.dead = true;
                    return;
                }
                Ok(n) => c.rlen += n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => break,
                Err(_) => {
                    c.dead = true;
                    return;
                }
            }
        }
    }

    /// Processes buffered requests, continues streamed replies, writes output, and closes the
    /// connection if it is finished.
    pub(super) fn service_connection(&mut self, slot: usize) {
        let mut guard = 0;
        loop {
            guard += 1;
            if guard > 4096 {
                break;
            }
            let Some(c) = self.conn(slot) else { return };
            if c.dead {
                break;
            }
            if c.pending.is_some() {
                if !self.continue_pending(slot) {
                    break;
                }
                continue;
            }
            let Some(c) = self.conn(slot) else { return };
            if c.closing || c.rlen == 0 {
                break;
            }
            if c.queued() > BACKPRESSURE {
                // The client may have read since the output was queued: write first, so that
                // a connection whose input is no longer watched (its receive buffer is full)
                // goes on once its output drains.
                if !c.write_out() {
                    c.dead = true;
                    break;
                }
                if c.queued() > BACKPRESSURE {
                    break;
                }
            }
            let mut req = [0u8; RECV_CAPACITY];
            let n = match Request::parse_prefix(c.rbuf.get(..c.rlen).unwrap_or(&[])) {
                Ok((_, n)) => n,
                Err(ParseError::Incomplete { needed }) => {
                    if needed > RECV_CAPACITY {
                        self.rt.log.log(
                            Level::Warn,
                            b"received too-large control packet; closing connection",
                        );
                        if let Some(c) = self.conn(slot) {
                            c.dead = true;
                        }
                    }
                    break;
                }
                Err(ParseError::Malformed(m)) => {
                    self.bad_request(slot, m);
                    break;
                }
            };
            let Some(c) = self.conn(slot) else { return };
            if let (Some(dst), Some(src)) = (req.get_mut(..n), c.rbuf.get(..n)) {
                dst.copy_from_slice(src);
            }
            c.rbuf.copy_within(n..c.rlen, 0);
            c.rlen -= n;
            let Ok(request) = Request::parse(req.get(..n).unwrap_or(&[])) else {
                self.bad_request(slot, Malformed::BadLength);
                break;
            };
            self.handle_request(slot, &request);
        }
        self.flush_connection(slot);
    }

    fn bad_request(&mut self, slot: usize, why: Malformed) {
        self.rt.log.logf(
            Level::Debug,
            format_args!("bad control request ({why:?}); closing connection"),
        );
        if let Some(c) = self.conn(slot) {
            c.send(&Reply::BadReq);
            c.closing = true;
            c.rlen = 0;
        }
    }

    /// Writes output; updates interest in writability; closes finished connections.
    pub(super) fn flush_connection(&mut self, slot: usize) {
        let super::Runtime {
            control, reactor, ..
        } = &mut self.rt;
        let Some(c) = control.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if !c.dead && !c.write_out() {
            c.dead = true;
        }
        let finished = c.dead || (c.closing && c.queued() == 0);
        if finished {
            if let Some(c) = control.conns.get_mut(slot).and_then(Option::take) {
                let _ = reactor.remove(&c.fd);
            }
            return;
        }
        let interest = Interest {
            read: !c.closing && c.rlen < RECV_CAPACITY,
            write: c.queued() > 0 || c.pending.is_some(),
        };
        if interest != c.interest {
            c.interest = interest;
            let token = super::token(super::TokenKind::Conn, slot);
            let _ = reactor.modify(c.fd.as_fd(), token, interest);
        }
    }

    /// Sends events for `id` to every connection holding a handle on it (spec 9).
    pub(super) fn broadcast_event(
        rt: &mut super::Runtime,
        id: ServiceId,
        event: ServiceEvent,
        status: &ServiceStatus,
    ) {
        for c in rt.control.conns.iter_mut().flatten() {
            // Highest handle first, as observed of Dinit (the order is unspecified).
            for h in (0..c.handles.len()).rev() {
                if c.handles.get(h).copied().flatten() == Some(id) {
                    if let Ok(handle) = Handle::try_from(h) {
                        c.send_event(handle, event, status);
                    }
                }
            }
        }
    }

    fn reply(&mut self, slot: usize, reply: &Reply<'_>) {
        if let Some(c) = self.conn(slot) {
            c.send(reply);
        }
    }

    /// The service a request's handle names; an unknown handle is a bad request for the
    /// commands the spec says so (4.3), `NAK` for the others.
    fn handle_service(&mut self, slot: usize, handle: Handle, badreq: bool) -> Option<ServiceId> {
        let id = self
            .conn(slot)
            .and_then(|c| c.service(handle))
            .filter(|&id| self.set.contains(id));
        if id.is_none() {
            if badreq {
                self.bad_request(slot, Malformed::BadValue);
            } else {
                self.reply(slot, &Reply::Nak);
            }
        }
        id
    }

    fn status_of(&self, id: ServiceId) -> ServiceStatus {
        self.set.status(id).unwrap_or_default()
    }

    fn mtime_of(&self, id: ServiceId) -> (i64, i64) {
        self.rt.service(id).map(|s| s.data.mtime).unwrap_or((0, 0))
    }

    fn handle_request(&mut self, slot: usize, request: &Request<'_>) {
        match *request {
            Request::QueryVersion => self.reply(
                slot,
                &Reply::CpVersion {
                    min: PROTOCOL_VERSION_MIN,
                    current: PROTOCOL_VERSION,
                },
            ),
            Request::FindService { name } => self.find_or_load(slot, name, false),
            Request::LoadService { name } => self.find_or_load(slot, name, true),
            Request::StartService { flags, handle }
            | Request::StopService { flags, handle }
            | Request::WakeService { flags, handle }
            | Request::ReleaseService { flags, handle } => {
                let Some(id) = self.handle_service(slot, handle, true) else {
                    return;
                };
                if flags.has(StartFlags::PRE_ACK) {
                    self.reply(slot, &Reply::PreAck);
                }
                let reply = self.start_stop(slot, request.command(), flags, id);
                if let Some(reply) = reply {
                    self.reply(slot, &reply);
                }
            }
            Request::UnpinService { handle } => {
                let Some(id) = self.handle_service(slot, handle, true) else {
                    return;
                };
                let now = self.rt.now();
                let _ = self
                    .set
                    .unpin(id, now, &mut super::HostCtx { rt: &mut self.rt });
                self.after_engine();
                self.reply(slot, &Reply::Ack);
            }
            Request::ListServices => self.begin_pending(
                slot,
                Pending::List {
                    next: self.set.first(),
                    format: StatusFormat::Status10,
                },
            ),
            Request::ListServices5 => self.begin_pending(
                slot,
                Pending::List {
                    next: self.set.first(),
                    format: StatusFormat::Status14,
                },
            ),
            Request::UnloadService { handle } => {
                let Some(id) = self.handle_service(slot, handle, true) else {
                    return;
                };
                let reply = self.unload(slot, id, handle);
                self.reply(slot, &reply);
            }
            Request::Shutdown { kind } => {
                self.request_shutdown(kind);
                self.reply(slot, &Reply::Ack);
            }
            Request::AddDep { kind, from, to }
            | Request::RemDep { kind, from, to }
            | Request::EnableService { kind, from, to }
            | Request::EnableServiceV7 { kind, from, to } => {
                let Some(f) = self.handle_service(slot, from, true) else {
                    return;
                };
                let Some(t) = self.handle_service(slot, to, true) else {
                    return;
                };
                if f == t {
                    self.bad_request(slot, Malformed::BadValue);
                    return;
                }
                self.dependency_request(slot, request.command(), kind, f, t);
            }
            Request::QueryLoadMech => self.send_loader_mech(slot),
            Request::QueryServiceName { handle } => {
                let Some(id) = self.handle_service(slot, handle, false) else {
                    return;
                };
                let name = self.set.name(id).unwrap_or(&[]).to_vec();
                let reply = if name.len() > usize::from(u16::MAX) {
                    Reply::Nak
                } else {
                    Reply::ServiceName { name: &name }
                };
                self.reply(slot, &reply);
            }
            Request::ReloadService { handle } => {
                let Some(id) = self.handle_service(slot, handle, true) else {
                    return;
                };
                let reply = self.reload(slot, id);
                self.reply(slot, &reply);
            }
            Request::SetEnv { var } => self.set_env(slot, var),
            Request::ServiceStatus { handle }
            | Request::ServiceStatus5 { handle }
            | Request::ServiceStatus6 { handle } => {
                let Some(id) = self.handle_service(slot, handle, false) else {
                    return;
                };
                let format = request
                    .command()
                    .reply_status_format()
                    .unwrap_or(StatusFormat::Status14);
                let block = status_block(self.status_of(id), format, self.mtime_of(id));
                self.reply(
                    slot,
                    &Reply::ServiceStatus {
                        dep_existed: false,
                        status: block,
                    },
                );
            }
            Request::SetTrigger { handle, value } => {
                let Some(id) = self.handle_service(slot, handle, false) else {
                    return;
                };
                let now = self.rt.now();
                let r =
                    self.set
                        .set_trigger(id, value, now, &mut super::HostCtx { rt: &mut self.rt });
                self.after_engine();
                self.reply(slot, &if r.is_ok() { Reply::Ack } else { Reply::Nak });
            }
            Request::CatLog { clear, handle } => {
                let Some(id) = self.handle_service(slot, handle, false) else {
                    return;
                };
                match self
                    .rt
                    .service(id)
                    .and_then(|s| s.log_buffer.as_ref().map(|b| b.len()))
                {
                    Some(len) => {
                        let mut head = [0u8; 16];
                        if let Ok(n) = BodyReply::ServiceLog.emit_header(len, &mut head) {
                            if let Some(c) = self.conn(slot) {
                                c.push_bytes(head.get(..n).unwrap_or(&[]));
                            }
                        }
                        self.begin_pending(
                            slot,
                            Pending::Log {
                                id,
                                offset: 0,
                                remaining: len,
                                clear,
                            },
                        );
                    }
                    None => self.reply(slot, &Reply::Nak),
                }
            }
            Request::Signal { signal, handle } => {
                let Some(id) = self.handle_service(slot, handle, false) else {
                    return;
                };
                let reply = self.signal_service(id, signal);
                self.reply(slot, &reply);
            }
            Request::QueryServiceDscDir { reserved, handle } => {
                let Some(id) = self.handle_service(slot, handle, false) else {
                    return;
                };
                if reserved != 0 {
                    self.reply(slot, &Reply::Nak);
                    return;
                }
                use std::os::unix::ffi::OsStrExt;
                let dir = self
                    .rt
                    .service(id)
                    .and_then(|s| self.rt.dirs.get(usize::from(s.data.dir_index)))
                    .map(|d| d.as_os_str().as_bytes().to_vec())
                    .unwrap_or_default();
                self.reply(slot, &Reply::SvcDscDir { dir: &dir });
            }
            Request::CloseHandle { handle } => {
                let known = self.conn(slot).and_then(|c| c.service(handle)).is_some();
                if !known {
                    self.bad_request(slot, Malformed::BadValue);
                    return;
                }
                if let Some(c) = self.conn(slot) {
                    c.close_handle(handle);
                }
                self.reply(slot, &Reply::Ack);
            }
            Request::GetAllEnv => {
                let total: usize = self.rt.env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
                let mut head = [0u8; 16];
                if let Ok(n) = BodyReply::AllEnv.emit_header(total, &mut head) {
                    if let Some(c) = self.conn(slot) {
                        c.push_bytes(head.get(..n).unwrap_or(&[]));
                    }
                }
                self.begin_pending(
                    slot,
                    Pending::Env {
                        index: 0,
                        remaining: total,
                    },
                );
            }
            Request::ListenEnv => {
                if let Some(c) = self.conn(slot) {
                    c.listen_env = true;
                }
                self.reply(slot, &Reply::Ack);
            }
        }
    }

    fn begin_pending(&mut self, slot: usize, p: Pending) {
        if let Some(c) = self.conn(slot) {
            c.pending = Some(p);
        }
    }

    /// Emits more of a streamed reply. Returns false when it must wait for the client.
    fn continue_pending(&mut self, slot: usize) -> bool {
        let Some(c) = self.conn(slot) else {
            return false;
        };
        let Some(p) = c.pending else { return true };
        match p {
            Pending::List { next, format } => {
                let mut cur = next;
                while let Some(id) = cur {
                    let room = self.conn(slot).map_or(0, |c| c.room());
                    if room < 2 + 30 + MAX_SVCINFO_NAME_LEN
                        || self.conn(slot).is_some_and(|c| c.queued() > BACKPRESSURE)
                    {
                        if let Some(c) = self.conn(slot) {
                            c.pending = Some(Pending::List {
                                next: Some(id),
                                format,
                            });
                        }
                        return false;
                    }
                    let name = self.set.name(id).unwrap_or(&[]);
                    let name = name
                        .get(..name.len().min(MAX_SVCINFO_NAME_LEN))
                        .unwrap_or(&[]);
                    let status =
                        status_block(self.set.status(id).unwrap_or_default(), format, (0, 0));
                    let mut buf = [0u8; 2 + 30 + MAX_SVCINFO_NAME_LEN];
                    let n = Reply::SvcInfo { name, status }.emit(&mut buf).unwrap_or(0);
                    cur = self.set.next_after(id);
                    if let Some(c) = self.rt.control.conns.get_mut(slot).and_then(Option::as_mut) {
                        c.push_bytes(buf.get(..n).unwrap_or(&[]));
                    }
                }
                if let Some(c) = self.conn(slot) {
                    c.pending = None;
                    c.send(&Reply::ListDone);
                }
                true
            }
            Pending::Env {
                mut index,
                mut remaining,
            } => {
                while remaining > 0 {
                    let entry = self.rt.env.iter().nth(index);
                    let Some(c) = self.rt.control.conns.get_mut(slot).and_then(Option::as_mut)
                    else {
                        return false;
                    };
                    // Another client changed the environment since the size was sent (while
                    // this one was slow to read): the reply can no longer be completed, and
                    // ending the connection is better than breaking the framing.
                    let Some((k, v)) = entry.filter(|(k, v)| k.len() + v.len() + 2 <= remaining)
                    else {
                        c.dead = true;
                        return false;
                    };
                    let need = k.len() + v.len() + 2;
                    if c.room() < need || c.queued() > BACKPRESSURE {
                        c.pending = Some(Pending::Env { index, remaining });
                        return false;
                    }
                    c.push_bytes(k);
                    c.push_bytes(b"=");
                    c.push_bytes(v);
                    c.push_bytes(b"\0");
                    remaining = remaining.saturating_sub(need);
                    index += 1;
                }
                if let Some(c) = self.conn(slot) {
                    c.end_pending();
                }
                true
            }
            Pending::Log {
                id,
                mut offset,
                mut remaining,
                clear,
            } => {
                while remaining > 0 {
                    let Some(c) = self.rt.control.conns.get(slot).and_then(Option::as_ref) else {
                        return false;
                    };
                    // Leave room for the events of the service (as for `list`): a full queue
                    // would end the connection.
                    let n = remaining.min(c.room()).min(4096);
                    if n == 0 || c.queued() > BACKPRESSURE {
                        if let Some(c) = self.conn(slot) {
                            c.pending = Some(Pending::Log {
                                id,
                                offset,
                                remaining,
                                clear,
                            });
                        }
                        return false;
                    }
                    let chunk = self
                        .rt
                        .service(id)
                        .and_then(|s| s.log_buffer.as_ref())
                        .map(|buf| buf.slice(offset, n))
                        .unwrap_or_default();
                    let Some(c) = self.conn(slot) else {
                        return false;
                    };
                    if chunk.len() < n {
                        // The buffer was cleared by another client, or went with an unload or
                        // reload, since its length was sent: the reply can no longer be
                        // completed, and ending the connection is better than breaking the
                        // framing.
                        c.dead = true;
                        return false;
                    }
                    c.push_bytes(&chunk);
                    offset += n;
                    remaining -= n;
                }
                if clear {
                    // Only what was sent: output the service wrote meanwhile stays.
                    if let Some(b) = self.rt.service_mut(id).and_then(|s| s.log_buffer.as_mut()) {
                        b.discard_front(offset);
                    }
                }
                if let Some(c) = self.conn(slot) {
                    c.end_pending();
                }
                true
            }
        }
    }

    fn find_or_load(&mut self, slot: usize, name: &[u8], load: bool) {
        let id = match self.set.find(name) {
            Some(id) => Some(id),
            None if load => match self.load_service(name) {
                Ok(id) => Some(id),
                Err(f) => {
                    // A failure in a dependency is a load error of this service.
                    let reply = match f.reply_kind() {
                        LoadFailureKind::NotFound => Reply::NoService,
                        LoadFailureKind::Description => Reply::ServiceDescErr,
                        LoadFailureKind::Load => Reply::ServiceLoadErr,
                    };
                    self.log_load_failure(name, &f, false);
                    self.reply(slot, &reply);
                    return;
                }
            },
            None => None,
        };
        let Some(id) = id else {
            self.reply(slot, &Reply::NoService);
            return;
        };
        let st = self.status_of(id);
        let Some(handle) = self.conn(slot).and_then(|c| c.new_handle(id)) else {
            // The handle table is full: the protocol's answer to running out of room.
            if let Some(c) = self.conn(slot) {
                c.send(&Reply::Oom);
                c.closing = true;
            }
            return;
        };
        self.reply(
            slot,
            &Reply::ServiceRecord {
                state: st.state,
                handle,
                target: st.target,
            },
        );
    }

    /// START/STOP/WAKE/RELEASE (spec 7.3). Returns the main reply (`None` if the connection
    /// was already answered).
    fn start_stop(
        &mut self,
        slot: usize,
        command: Command,
        flags: StartFlags,
        id: ServiceId,
    ) -> Option<Reply<'static>> {
        let pin = flags.has(StartFlags::PIN);
        let gentle = flags.has(StartFlags::GENTLE);
        let now = self.rt.now();
        let result = match command {
            Command::StartService => self
                .set
                .start(id, pin, now, &mut super::HostCtx { rt: &mut self.rt })
                .map(|()| self.wanted_reply(id, ServiceState::Started, false)),
            Command::StopService if flags.has(StartFlags::RESTART) => self
                .set
                .restart(id, gentle, now, &mut super::HostCtx { rt: &mut self.rt })
                .map(|()| self.wanted_reply(id, ServiceState::Started, false)),
            Command::StopService => self
                .set
                .stop(
                    id,
                    pin,
                    gentle,
                    now,
                    &mut super::HostCtx { rt: &mut self.rt },
                )
                .map(|()| self.wanted_reply(id, ServiceState::Stopped, false)),
            Command::WakeService => self
                .set
                .wake(id, pin, now, &mut super::HostCtx { rt: &mut self.rt })
                .map(|out| {
                    self.wanted_reply(id, ServiceState::Started, !out.found_active_dependent)
                }),
            Command::ReleaseService => self
                .set
                .release(id, pin, now, &mut super::HostCtx { rt: &mut self.rt })
                .map(|()| self.wanted_reply(id, ServiceState::Stopped, false)),
            _ => Ok(Reply::Nak),
        };
        self.after_engine();
        match result {
            Ok(reply) => Some(reply),
            Err(Refusal::ShuttingDown) => Some(Reply::ShuttingDown),
            Err(Refusal::PinnedStopped) => Some(Reply::PinnedStopped),
            Err(Refusal::PinnedStarted) => Some(Reply::PinnedStarted),
            Err(Refusal::NotStarted) => Some(Reply::Nak),
            Err(Refusal::HasDependents) => {
                let deps: Vec<ServiceId> = self.set.active_hard_dependents(id).collect();
                let mut handles: Vec<Handle> = Vec::with_capacity(deps.len());
                for d in deps {
                    match self.conn(slot).and_then(|c| c.new_handle(d)) {
                        Some(h) => handles.push(h),
                        None => {
                            if let Some(c) = self.conn(slot) {
                                c.send(&Reply::Oom);
                                c.closing = true;
                            }
                            return None;
                        }
                    }
                }
                self.reply(
                    slot,
                    &Reply::Dependents {
                        handles: Handles::List(&handles),
                    },
                );
                None
            }
            Err(_) => Some(Reply::Nak),
        }
    }

    /// `ALREADYSS` if the service is now in `wanted`, else `ACK` (or `NAK` for a wake that
    /// found no active dependent).
    fn wanted_reply(&self, id: ServiceId, wanted: ServiceState, nak: bool) -> Reply<'static> {
        if self.set.state(id) == Some(wanted) {
            Reply::AlreadySs
        } else if nak {
            Reply::Nak
        } else {
            Reply::Ack
        }
    }

    /// UNLOADSERVICE: the handle used is released. Any other handle the client holds on the
    /// service keeps its number (it is not given out again until the client closes it, as in
    /// Dinit) but no longer names a service.
    fn unload(&mut self, slot: usize, id: ServiceId, handle: Handle) -> Reply<'static> {
        let others = self
            .rt
            .control
            .conns
            .iter()
            .enumerate()
            .any(|(i, c)| i != slot && c.as_ref().is_some_and(|c| c.holds(id)));
        if others {
            return Reply::Nak;
        }
        let successor = self.set.next_after(id);
        let now = self.rt.now();
        match self
            .set
            .unload(id, now, &mut super::HostCtx { rt: &mut self.rt })
        {
            Ok(()) => {
                // Listings streaming to other clients resume after it.
                for c in self.rt.control.conns.iter_mut().flatten() {
                    if let Some(Pending::List {
                        next: Some(next),
                        format,
                    }) = c.pending
                    {
                        if next == id {
                            c.pending = Some(Pending::List {
                                next: successor,
                                format,
                            });
                        }
                    }
                }
                self.rt.forget_service(id);
                if let Some(c) = self.conn(slot) {
                    c.close_handle(handle);
                }
                Reply::Ack
            }
            Err(_) => Reply::Nak,
        }
    }

    /// RELOADSERVICE (spec 7.11): refused if another connection holds a handle on the
    /// service; otherwise the handle is released and the description read again. Dependencies
    /// it newly names are loaded first (and stay loaded if the reload is then refused).
    fn reload(&mut self, slot: usize, id: ServiceId) -> Reply<'static> {
        let others = self
            .rt
            .control
            .conns
            .iter()
            .enumerate()
            .any(|(i, c)| i != slot && c.as_ref().is_some_and(|c| c.holds(id)));
        if others {
            return Reply::Nak;
        }
        if let Some(c) = self.conn(slot) {
            c.drop_handles(id);
        }
        match self.reload_service(id) {
            Ok(()) => Reply::Ack,
            Err(e) => {
                if !e.is_empty() {
                    self.rt.log.logf(Level::Error, format_args!("{e}"));
                }
                Reply::Nak
            }
        }
    }

    /// Re-reads the description of a loaded service and applies it (see
    /// [`dinit_core::ServiceSet::reload`] for what may change while it runs). A refusal is
    /// the line Dinit logs for it (`Could not reload service NAME: ...`); a failure to load a
    /// newly named dependency is logged as Dinit logs it first.
    pub fn reload_service(&mut self, id: ServiceId) -> Result<(), String> {
        let name = self.set.name(id).unwrap_or(&[]).to_vec();
        let shown = String::from_utf8_lossy(&name).into_owned();
        let refused = |why: &str| format!("Could not reload service {shown}: {why}");
        let dirs = self.rt.dirs.clone();
        let env = self.rt.env.clone();
        let original = self.rt.original_env.clone();
        let mut loader = crate::load::Loader::new(&dirs, &env);
        loader.original_env = &original;
        let mut read = loader
            .read_service(&name)
            .map_err(|e| refused(&e.message()))?;
        // Load what it newly needs, then resolve every declared dependency.
        let mut deps = Vec::new();
        for dep in &read.dependencies {
            let target = if dep.kind.is_ordering() {
                match self.set.find(&dep.name) {
                    Some(t) => t,
                    None => {
                        self.set
                            .begin_load()
                            .map_err(|e| refused(&format!("{e:?}")))?;
                        let p = self
                            .set
                            .placeholder(&dep.name)
                            .map_err(|e| refused(&format!("{e:?}")));
                        let _ = self.set.commit_load();
                        p?
                    }
                }
            } else {
                match self.set.find(&dep.name) {
                    Some(t) => t,
                    None if dep.from_dir.is_some() && !loader.has_description(&dep.name) => {
                        continue
                    }
                    None => {
                        let mut store = super::Store { rt: &mut self.rt };
                        match loader.load(self.set, &mut store, &dep.name) {
                            Ok(t) => t,
                            Err(error) => {
                                let mut within = std::mem::take(&mut loader.failed_within);
                                within.push(name.clone());
                                let f = crate::load::LoadFailure { error, within };
                                let last = refused("could not load dependency.");
                                self.log_load_failure_chain(&f, &last);
                                return Err(String::new());
                            }
                        }
                    }
                }
            };
            deps.push((target, dep.kind));
        }
        if let Some(why) = self.reload_refusal(id, &read, &deps) {
            return Err(refused(&why));
        }
        let chain_to = std::mem::take(&mut read.chain_to);
        let svc = self.rt.prepare_service(read).map_err(|e| refused(&e))?;
        let config = svc.data.config;
        let now = self.rt.now();
        self.set
            .reload(
                id,
                config,
                &chain_to,
                &deps,
                now,
                &mut super::HostCtx { rt: &mut self.rt },
            )
            .map_err(|e| refused(&format!("{e:?}")))?;
        self.after_engine();
        if let Some(old) = self.rt.service_mut(id) {
            old.replace_description(svc);
        }
        Ok(())
    }

    /// What Dinit refuses to change in a service that is not stopped, in its words (`None`
    /// when the new description can be applied).
    fn reload_refusal(
        &self,
        id: ServiceId,
        read: &crate::load::ReadService,
        deps: &[(ServiceId, DepKind)],
    ) -> Option<String> {
        let state = self.set.state(id)?;
        if state == ServiceState::Stopped {
            return None;
        }
        let old = self.rt.service(id)?;
        let (o, d) = (&old.data, &read.data);
        if d.config.kind != o.config.kind {
            return Some("cannot change type of non-stopped service.".into());
        }
        if state != ServiceState::Started {
            return Some(
                "cannot alter settings for service which is currently starting/stopping.".into(),
            );
        }
        for &(to, kind) in deps {
            if matches!(kind, DepKind::Regular | DepKind::PreparedBy)
                && self.set.state(to) != Some(ServiceState::Started)
            {
                return Some(format!(
                    "cannot add non-started dependency '{}'.",
                    String::from_utf8_lossy(self.set.name(to).unwrap_or(&[]))
                ));
            }
        }
        let console = |opts: Options| {
            (
                opts.contains(Options::STARTS_ON_CONSOLE),
                opts.contains(Options::SHARES_CONSOLE),
            )
        };
        if console(d.config.options) != console(o.config.options) {
            return Some(
                "cannot change starts_on_console/shares_console flags for a running service."
                    .into(),
            );
        }
        let kind = o.config.kind;
        if kind == ServiceKind::Bgprocess && d.extra().pid_file != o.extra().pid_file {
            return Some("cannot change pid_file for running service.".into());
        }
        if kind == ServiceKind::Process
            && (d.extra().inittab_id != o.extra().inittab_id
                || d.extra().inittab_line != o.extra().inittab_line)
        {
            return Some(
                "cannot change inittab-id or inittab-line settings for running service.".into(),
            );
        }
        if matches!(
            kind,
            ServiceKind::Process | ServiceKind::Bgprocess | ServiceKind::Scripted
        ) && d.log().log_type != o.log().log_type
        {
            return Some("cannot change log-type for running service.".into());
        }
        None
    }

    fn dependency_request(
        &mut self,
        slot: usize,
        command: Command,
        kind: DepKind,
        from: ServiceId,
        to: ServiceId,
    ) {
        let now = self.rt.now();
        match command {
            Command::RemDep => {
                let r = self.set.rm_dep(
                    from,
                    to,
                    kind,
                    now,
                    &mut super::HostCtx { rt: &mut self.rt },
                );
                self.after_engine();
                self.reply(slot, &if r.is_ok() { Reply::Ack } else { Reply::Nak });
            }
            Command::AddDep | Command::EnableService | Command::EnableServiceV7 => {
                let enable = command != Command::AddDep;
                let r = self.set.add_dep(
                    from,
                    to,
                    kind,
                    enable,
                    now,
                    &mut super::HostCtx { rt: &mut self.rt },
                );
                self.after_engine();
                match (r, command) {
                    (Ok(out), Command::EnableServiceV7) => {
                        let block = status_block(
                            self.status_of(to),
                            StatusFormat::Status30,
                            self.mtime_of(to),
                        );
                        self.reply(
                            slot,
                            &Reply::ServiceStatus {
                                dep_existed: out.already_existed,
                                status: block,
                            },
                        );
                    }
                    (Ok(_), _) => self.reply(slot, &Reply::Ack),
                    (Err(_), _) => self.reply(slot, &Reply::Nak),
                }
            }
            _ => self.reply(slot, &Reply::Nak),
        }
    }

    fn send_loader_mech(&mut self, slot: usize) {
        use std::os::unix::ffi::OsStrExt;
        let cwd = std::env::current_dir()
            .map(|p| p.as_os_str().as_bytes().to_vec())
            .unwrap_or_default();
        let dirs: Vec<Vec<u8>> = self
            .rt
            .dirs
            .iter()
            .map(|d| d.as_os_str().as_bytes().to_vec())
            .collect();
        let refs: Vec<&[u8]> = dirs.iter().map(Vec::as_slice).collect();
        let reply = Reply::LoaderMech {
            cwd: &cwd,
            dirs: ServiceDirs::List(&refs),
        };
        let mut buf = vec![0u8; reply.buffer_len()];
        match reply.emit(&mut buf) {
            Ok(n) => {
                if let Some(c) = self.conn(slot) {
                    c.push_bytes(buf.get(..n).unwrap_or(&[]));
                }
            }
            Err(_) => self.reply(slot, &Reply::Nak),
        }
    }

    fn set_env(&mut self, slot: usize, var: &[u8]) {
        let (name, value) = match var.iter().position(|&b| b == b'=') {
            Some(i) => (
                var.get(..i).unwrap_or(&[]),
                Some(var.get(i + 1..).unwrap_or(&[])),
            ),
            None => (var, None),
        };
        let previously = self.rt.env.get(name).is_some();
        match value {
            Some(v) => {
                self.rt.env.set(name, v);
            }
            None => {
                self.rt.env.unset(name);
            }
        }
        self.rt.env_changed();
        // Listeners hear of the change before the requester has its ACK (as from Dinit: a
        // client listening on its own connection sees the event first).
        let info = Info::EnvEvent {
            overridden: previously,
            var,
        };
        let mut buf = [0u8; 1100];
        if let Ok(n) = info.emit(&mut buf) {
            for c in self.rt.control.conns.iter_mut().flatten() {
                if c.listen_env {
                    c.push_info(buf.get(..n).unwrap_or(&[]));
                }
            }
        }
        self.reply(slot, &Reply::Ack);
    }

    fn signal_service(&mut self, id: ServiceId, signal: i32) -> Reply<'static> {
        let Some(pid) = self.set.status(id).and_then(|s| s.pid()).filter(|&p| p > 0) else {
            return Reply::SignalNoPid;
        };
        match rustix::process::Signal::from_named_raw(signal) {
            Some(sig) => match rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid).unwrap_or(rustix::process::Pid::INIT),
                sig,
            ) {
                Ok(()) => Reply::Ack,
                Err(rustix::io::Errno::INVAL) => Reply::SignalBadSig,
                Err(_) => Reply::SignalKillErr,
            },
            None => {
                // Not a signal the platform knows: let the kernel decide (it answers EINVAL).
                // SAFETY: kill(2) with a plain pid and number.
                let rc = unsafe { libc::kill(pid, signal) };
                if rc == 0 {
                    Reply::Ack
                } else if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                    Reply::SignalBadSig
                } else {
                    Reply::SignalKillErr
                }
            }
        }
    }

    /// A SHUTDOWN request or signal.
    pub(super) fn request_shutdown(&mut self, kind: ShutdownKind) {
        self.rt.log.logf(
            Level::Debug,
            format_args!("shutdown requested: {}", kind_name(kind)),
        );
        let now = self.rt.now();
        self.set
            .shutdown(kind, now, &mut super::HostCtx { rt: &mut self.rt });
        self.after_engine();
    }
}

/// A shutdown kind as the log names it.
fn kind_name(kind: ShutdownKind) -> &'static str {
    match kind {
        ShutdownKind::Remain => "stop services and remain",
        ShutdownKind::Halt => "halt",
        ShutdownKind::Poweroff => "power off",
        ShutdownKind::Reboot => "reboot",
        ShutdownKind::SoftReboot => "soft reboot",
        ShutdownKind::Kexec => "kexec reboot",
    }
}
