//! The control socket: Dinit's control protocol (docs/PROTOCOL.md) over a Unix stream socket,
//! served from the event loop.
//!
//! Three parts, one place for each behaviour:
//!
//! * [`conn`]: one connection as a sans-I/O state machine (bytes in, replies and events out);
//! * `dispatch`: each request to its handler, one line per command;
//! * [`server`]: the narrow interface through which those reach the daemon, and
//!   `daemon_side`, the daemon's implementation of it (what each command does to services).
//!
//! This module moves bytes between the sockets and the state machines. Bounds: at most
//! [`MAX_CONNECTIONS`] connections (more are accepted and closed at once, with a warning), and
//! per connection the bounds of [`conn`]. Input is not processed while more than 16 KiB of
//! output waits; long replies (`list`, the environment, a service log) are streamed into the
//! queue as the client drains it. A client that lets its queue overflow (it never reads its
//! events) is disconnected; one that sends a malformed request gets `BADREQ` and is
//! disconnected once it has been sent. None of this affects other clients or the services.

pub mod conn;
mod daemon_side;
pub use daemon_side::ReloadError;
mod dispatch;
pub mod server;

use super::Daemon;
use crate::log::Level;
use crate::reactor::Interest;
pub use conn::{Connection, BACKPRESSURE, HELD_CAPACITY, MAX_HANDLES, OUT_CAPACITY, RECV_CAPACITY};
use dinit_core::{ServiceEvent, ServiceId, ServiceStatus};
use rustix::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Most simultaneous control connections.
pub const MAX_CONNECTIONS: usize = 128;

/// A connection's socket and its state machine.
#[derive(Debug)]
pub(super) struct Client {
    fd: OwnedFd,
    /// What the socket is registered for. Input is watched only while it can be taken (not
    /// closing, room in the receive buffer): the reactor is level-triggered, and unread input
    /// of a client that does not read its replies would otherwise wake the loop at once,
    /// forever.
    interest: Interest,
    pub(super) conn: Connection,
}

/// The control socket and its connections.
#[derive(Debug, Default)]
pub struct Control {
    pub(super) listener: Option<OwnedFd>,
    /// Where the socket is (or will be) bound.
    pub path: Option<PathBuf>,
    pub(super) clients: Vec<Option<Client>>,
    /// The slot of the connection being served from the table (taken out of it meanwhile,
    /// and not given to a new connection).
    pub(super) reserved: Option<usize>,
    /// A connection is being served: events are parked for it.
    pub(super) serving: bool,
    /// Service events that happened while a connection was being served, kept for it (it
    /// queues them before its next reply: see [`server::Server::take_events`]).
    pub(super) parked: Vec<(ServiceId, ServiceEvent, ServiceStatus)>,
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

/// Creates the listening socket at `path` (PROTOCOL.md §2.4): refuses if a live daemon answers there,
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
    use crate::sys::fd::FdSlot;

    static SPARE: FdSlot = FdSlot::new();

    /// Takes the spare descriptor if it is not held.
    pub(super) fn reserve() {
        if !SPARE.is_empty() {
            return;
        }
        if let Ok(fd) = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) {
            // Filled meanwhile by another daemon of this process (tests run several): this
            // one is surplus, and closed.
            drop(SPARE.put(fd));
        }
    }

    /// Closes the spare descriptor; false if none was held.
    pub(super) fn release() -> bool {
        SPARE.take().is_some()
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
        let control = &mut self.rt.control;
        let reserved = control.reserved;
        // The slot of the connection being served is empty only meanwhile.
        let free =
            |(i, c): (usize, &Option<Client>)| (c.is_none() && Some(i) != reserved).then_some(i);
        let slot = match control.clients.iter().enumerate().find_map(free) {
            Some(i) => i,
            None if control.clients.len() < MAX_CONNECTIONS => {
                control.clients.push(None);
                control.clients.len() - 1
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
        if let Some(c) = self.rt.control.clients.get_mut(slot) {
            *c = Some(Client {
                fd,
                interest: Interest::READ,
                conn: Connection::new(),
            });
        }
        Some(slot)
    }

    /// Handles readiness of connection `slot`.
    pub(super) fn connection_ready(&mut self, slot: usize, readable: bool) {
        if readable {
            if let Some(c) = self
                .rt
                .control
                .clients
                .get_mut(slot)
                .and_then(Option::as_mut)
            {
                read_from(c);
            }
        }
        self.service_connection(slot);
    }

    /// Lets connection `slot` handle what it has received and continue its streamed replies
    /// (the daemon serving it through [`server::Server`]), writes its output, and closes it
    /// if it is finished.
    pub(super) fn service_connection(&mut self, slot: usize) {
        let Some(mut client) = self.rt.control.clients.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.rt.control.reserved = Some(slot);
        // Handling stops when the output queue is over its limit; writing may make room.
        for _ in 0..64 {
            self.serve(&mut client.conn);
            let before = client.conn.transmit().len();
            write_to(&mut client);
            if client.conn.transmit().len() == before || client.conn.is_finished() {
                break;
            }
        }
        self.rt.control.reserved = None;
        let reactor = &mut self.rt.reactor;
        if client.conn.is_finished() {
            let _ = reactor.remove(&client.fd);
            return;
        }
        let interest = Interest {
            read: client.conn.wants_read(),
            write: client.conn.wants_write(),
        };
        if interest != client.interest {
            client.interest = interest;
            let token = super::token(super::TokenKind::Conn, slot);
            let _ = reactor.modify(client.fd.as_fd(), token, interest);
        }
        if let Some(place) = self.rt.control.clients.get_mut(slot) {
            *place = Some(client);
        }
    }

    /// Lets a connection that is not in the table (being served, or driven from memory by a
    /// test) handle what it has received and continue its streamed replies, with the daemon
    /// as its [`server::Server`]. Service events that happen meanwhile reach it before its
    /// next reply, or at the end.
    pub fn serve(&mut self, conn: &mut Connection) {
        self.rt.control.serving = true;
        conn.process(self);
        for (id, event, status) in self.rt.control.parked.drain(..) {
            conn.service_event(id, event, &status);
        }
        self.rt.control.serving = false;
    }

    /// Sends events for `id` to every connection holding a handle on it; the one being
    /// served gets them before its next reply.
    pub(super) fn broadcast_event(
        rt: &mut super::Runtime,
        id: ServiceId,
        event: ServiceEvent,
        status: &ServiceStatus,
    ) {
        let control = &mut rt.control;
        for c in control.clients.iter_mut().flatten() {
            c.conn.service_event(id, event, status);
        }
        if control.serving {
            control.parked.push((id, event, *status));
        }
    }
}

/// Reads what the client sent, as far as the connection takes input. A read that leaves room
/// in the buffer took everything there was: the next is left to the next readiness report
/// (the reactor's interest is level-triggered), which saves a system call per request.
fn read_from(c: &mut Client) {
    loop {
        let space = c.conn.recv_space();
        let room = space.len();
        if room == 0 {
            return;
        }
        match rustix::io::read(&c.fd, space) {
            // End of input: the connection ends at once.
            Ok(0) => return c.conn.peer_closed(),
            Ok(n) if n < room => return c.conn.received(n),
            Ok(n) => c.conn.received(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => return,
            Err(_) => return c.conn.peer_closed(),
        }
    }
}

/// Writes queued output without blocking; a failed write ends the connection.
fn write_to(c: &mut Client) {
    while !c.conn.is_finished() {
        let data = c.conn.transmit();
        if data.is_empty() {
            return;
        }
        match rustix::net::send(
            &c.fd,
            data,
            rustix::net::SendFlags::DONTWAIT | rustix::net::SendFlags::NOSIGNAL,
        ) {
            Ok(0) => return c.conn.peer_closed(),
            Ok(n) => c.conn.transmitted(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => return,
            Err(_) => return c.conn.peer_closed(),
        }
    }
}
