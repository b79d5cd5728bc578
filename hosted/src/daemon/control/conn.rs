//! One control connection as a sans-I/O state machine: bytes in ([`Connection::recv_space`],
//! [`Connection::received`]), bytes out ([`Connection::transmit`], [`Connection::transmitted`]),
//! requests answered through a [`Server`] (what the connection needs from the daemon). It owns
//! no descriptor and makes no system call: the daemon moves bytes between it and the socket
//! (see `super`), tests and the fuzz target drive it from memory.
//!
//! What it keeps: a receive buffer of [`RECV_CAPACITY`] bytes (the largest request), the output
//! queue ([`OUT_CAPACITY`]), the client's handles (at most [`MAX_HANDLES`]), a streamed reply in
//! progress (`Pending`), and information packets held back while a reply body streams.

use super::server::Server;
use dinit_core::proto::{
    emit_service_event_pair, Handle, Malformed, ParseError, Reply, Request, SERVICE_EVENT_PAIR_LEN,
};
use dinit_core::{ServiceEvent, ServiceId, ServiceStatus};

/// Most handles one connection may hold.
pub const MAX_HANDLES: usize = 1024;
/// Output queue of one connection.
pub const OUT_CAPACITY: usize = 64 * 1024;
/// Input is held back while more output than this waits (PROTOCOL.md §4.1).
pub const BACKPRESSURE: usize = 16 * 1024;
/// The receive buffer: the largest request.
pub const RECV_CAPACITY: usize = 1024;
/// Information packets held back while a reply body streams (see `Connection::push_info`).
pub const HELD_CAPACITY: usize = 16 * 1024;
/// Requests and stream steps handled in one call of [`Connection::process`] before it returns
/// (the event loop comes back for the rest): one client cannot hold the loop for long.
const STEPS_PER_CALL: usize = 4096;

/// A streamed reply in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    /// `LISTSERVICES*`: the next service to describe.
    List {
        next: Option<ServiceId>,
        format: dinit_core::proto::StatusFormat,
    },
    /// `GETALLENV`: the next variable and the body bytes still to send.
    Env { index: usize, remaining: usize },
    /// `CATLOG`: the service, the absolute position in its buffer of the next byte to send,
    /// bytes still to send, and whether to clear the buffer at the end.
    Log {
        id: ServiceId,
        offset: usize,
        remaining: usize,
        clear: bool,
    },
}

/// What the client sent, not yet parsed.
#[derive(Debug)]
struct Input {
    buf: [u8; RECV_CAPACITY],
    len: usize,
}

impl Input {
    fn filled(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Drops the first `n` bytes (a request that has been handled).
    fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

/// The connection's side of the conversation: what goes out and what the client holds.
#[derive(Debug)]
pub(crate) struct Session {
    out: Vec<u8>,
    out_pos: usize,
    handles: Vec<Option<ServiceId>>,
    /// The client asked for environment events (`LISTENENV`).
    pub(super) listen_env: bool,
    /// `BADREQ` or `OOM` queued: no more input; close once the output is written.
    pub(super) closing: bool,
    /// To be dropped at once (end of input, an error, an overflowing queue).
    pub(super) dead: bool,
    pub(super) pending: Option<Pending>,
    /// Information packets that arrived while a reply body was half queued; they follow it.
    /// Allocated when first needed.
    held: Vec<u8>,
}

/// One control connection.
#[derive(Debug)]
pub struct Connection {
    input: Input,
    pub(super) session: Session,
}

impl Default for Connection {
    fn default() -> Self {
        Self::new()
    }
}

impl Connection {
    /// A new connection: nothing received, nothing to send.
    pub fn new() -> Connection {
        Connection {
            input: Input {
                buf: [0; RECV_CAPACITY],
                len: 0,
            },
            session: Session {
                out: Vec::with_capacity(OUT_CAPACITY),
                out_pos: 0,
                handles: Vec::with_capacity(16),
                listen_env: false,
                closing: false,
                dead: false,
                pending: None,
                held: Vec::new(),
            },
        }
    }

    /// Where the next bytes from the client go; empty when no more input is taken (the buffer
    /// holds an incomplete request that fills it, or the connection is closing).
    pub fn recv_space(&mut self) -> &mut [u8] {
        if self.session.closing || self.session.dead {
            return &mut [];
        }
        let len = self.input.len;
        self.input.buf.get_mut(len..).unwrap_or(&mut [])
    }

    /// `n` bytes were written into [`Connection::recv_space`].
    pub fn received(&mut self, n: usize) {
        self.input.len = self.input.len.saturating_add(n).min(RECV_CAPACITY);
    }

    /// The client closed its end (or the socket failed): the connection ends at once, queued
    /// output dropped (PROTOCOL.md §4.3).
    pub fn peer_closed(&mut self) {
        self.session.dead = true;
    }

    /// Bytes waiting to be sent to the client.
    pub fn transmit(&self) -> &[u8] {
        self.session.out.get(self.session.out_pos..).unwrap_or(&[])
    }

    /// `n` bytes of [`Connection::transmit`] were sent.
    pub fn transmitted(&mut self, n: usize) {
        let s = &mut self.session;
        s.out_pos = s.out_pos.saturating_add(n).min(s.out.len());
        if s.out_pos == s.out.len() {
            s.out.clear();
            s.out_pos = 0;
        }
    }

    /// Input would be taken now.
    pub fn wants_read(&self) -> bool {
        !self.session.closing && !self.session.dead && self.input.len < RECV_CAPACITY
    }

    /// Output waits, or a streamed reply is to be continued once the client reads.
    pub fn wants_write(&self) -> bool {
        self.session.queued() > 0 || self.session.pending.is_some()
    }

    /// Work is left for [`Connection::process`] or the socket: output, a streamed reply, or
    /// the connection is to be closed.
    pub fn has_output(&self) -> bool {
        self.wants_write() || self.session.dead
    }

    /// The connection is over: drop it (after a `BADREQ`/`OOM`, once that has been sent).
    pub fn is_finished(&self) -> bool {
        self.session.dead || (self.session.closing && self.session.queued() == 0)
    }

    /// Does the client hold a handle on `id`?
    pub fn holds(&self, id: ServiceId) -> bool {
        self.session.handles.contains(&Some(id))
    }

    /// Queues the events of `id` for each handle the client holds on it (highest handle
    /// first, as observed of Dinit; the order is unspecified).
    pub fn service_event(&mut self, id: ServiceId, event: ServiceEvent, status: &ServiceStatus) {
        self.session.service_event(id, event, status);
    }

    /// Queues an environment event (an encoded `ENVEVENT` packet) if the client listens for
    /// them.
    pub fn env_event(&mut self, packet: &[u8]) {
        if self.session.listen_env {
            self.session.push_info(packet);
        }
    }

    /// A streamed listing that was to describe `id` next resumes at `successor` (`id` is
    /// being unloaded).
    pub fn skip_in_listing(&mut self, id: ServiceId, successor: Option<ServiceId>) {
        if let Some(Pending::List {
            next: Some(next),
            format,
        }) = self.session.pending
        {
            if next == id {
                self.session.pending = Some(Pending::List {
                    next: successor,
                    format,
                });
            }
        }
    }

    /// Handles the requests received, each parsed once where it lies in the receive buffer,
    /// and continues a streamed reply, as far as the output queue allows.
    pub fn process<S: Server + ?Sized>(&mut self, server: &mut S) {
        for _ in 0..STEPS_PER_CALL {
            let s = &mut self.session;
            if s.dead {
                return;
            }
            if s.pending.is_some() {
                if !s.continue_pending(server) {
                    return;
                }
                continue;
            }
            if s.closing || self.input.len == 0 || s.queued() > BACKPRESSURE {
                return;
            }
            let n = match Request::parse_prefix(self.input.filled()) {
                Ok((request, n)) => {
                    s.dispatch(&request, server);
                    n
                }
                Err(ParseError::Incomplete { needed }) => {
                    if needed > RECV_CAPACITY {
                        server.too_large_request();
                        s.dead = true;
                    }
                    return;
                }
                Err(ParseError::Malformed(why)) => {
                    s.bad_request(server, why);
                    return;
                }
            };
            self.input.consume(n);
        }
    }
}

impl Session {
    fn queued(&self) -> usize {
        self.out.len() - self.out_pos
    }

    pub(super) fn room(&self) -> usize {
        OUT_CAPACITY - self.queued()
    }

    pub(super) fn over_backpressure(&self) -> bool {
        self.queued() > BACKPRESSURE
    }

    /// Queues raw bytes; a queue that would overflow kills the connection.
    pub(super) fn push_bytes(&mut self, bytes: &[u8]) -> bool {
        if self.dead {
            return false;
        }
        if bytes.len() > self.room() {
            self.dead = true;
            return false;
        }
        if self.out.len() + bytes.len() > self.out.capacity() && self.out_pos > 0 {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
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
    /// inside one: while a reply body streams they wait, and follow it. A client that lets
    /// more than [`HELD_CAPACITY`] bytes of them pile up that way is disconnected, as one whose
    /// queue overflows.
    pub(super) fn push_info(&mut self, bytes: &[u8]) -> bool {
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
    pub(super) fn end_pending(&mut self) {
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
            // bytes a handle), the loader's directories, a long directory in `SVCDSCDIR`.
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

    /// Queues a reply after the events that work done for this request caused (the engine's
    /// events reach the client before the answer to what caused them, as from Dinit).
    pub(super) fn answer<S: Server + ?Sized>(&mut self, server: &mut S, reply: &Reply<'_>) {
        self.take_events(server);
        self.send(reply);
    }

    /// Queues the service events the server kept for this connection while it was busy.
    pub(super) fn take_events<S: Server + ?Sized>(&mut self, server: &mut S) {
        server.take_events(&mut |id, event, status| self.service_event(id, event, status));
    }

    /// Queues the events of `id` for each handle the client holds on it (highest handle
    /// first, as observed of Dinit; the order is unspecified).
    fn service_event(&mut self, id: ServiceId, event: ServiceEvent, status: &ServiceStatus) {
        for h in (0..self.handles.len()).rev() {
            if self.handles.get(h).copied().flatten() == Some(id) {
                if let Ok(handle) = Handle::try_from(h) {
                    self.send_event(handle, event, status);
                }
            }
        }
    }

    /// Queues a pair of service events (v5, then legacy) for `handle`.
    fn send_event(&mut self, handle: Handle, event: ServiceEvent, status: &ServiceStatus) -> bool {
        let mut buf = [0u8; SERVICE_EVENT_PAIR_LEN];
        match emit_service_event_pair(handle, event, status, &mut buf) {
            Ok(n) => self.push_info(buf.get(..n).unwrap_or(&[])),
            Err(_) => false,
        }
    }

    /// `BADREQ`, then the connection closes once that has been sent.
    pub(super) fn bad_request<S: Server + ?Sized>(&mut self, server: &mut S, why: Malformed) {
        server.bad_request(why);
        self.answer(server, &Reply::BadReq);
        self.closing = true;
    }

    /// `OOM` (the handle table is full), then the connection closes.
    pub(super) fn out_of_handles<S: Server + ?Sized>(&mut self, server: &mut S) {
        self.answer(server, &Reply::Oom);
        self.closing = true;
    }

    /// Allocates the lowest free handle for `id`.
    pub(super) fn new_handle(&mut self, id: ServiceId) -> Option<Handle> {
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

    /// The service `handle` names, if any.
    pub(super) fn service(&self, handle: Handle) -> Option<ServiceId> {
        self.handles
            .get(usize::try_from(handle).ok()?)
            .copied()
            .flatten()
    }

    /// Releases one handle (its number may be given out again).
    pub(super) fn close_handle(&mut self, handle: Handle) {
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
}
