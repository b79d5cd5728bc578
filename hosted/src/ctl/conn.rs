//! A blocking client connection to the control socket.
//!
//! [`Connection`] writes each request in one `write` and reads whatever the daemon sends,
//! framing packets with the codec of `dinit_core::proto`. Information packets may arrive
//! before, between and after replies (PROTOCOL.md §4.4, §10 items 2-4): while waiting for a reply,
//! [`Connection::recv_reply`] records service events and environment events instead of
//! dropping them, so that a command can learn that its outcome was decided before the daemon
//! acknowledged it. [`Connection::recv`] returns packets one by one for the loops that wait for
//! events.

use super::status::SvcStatus;
use dinit_core::proto::{
    DaemonPacket, Handle, InfoCode, InfoPacket, ParseError, Reply, Request, StatusFormat,
    MAX_NAME_LEN, PROTOCOL_VERSION, PROTOCOL_VERSION_MIN,
};
use dinit_core::{ServiceEvent, ServiceState};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// The size of each `read`, as the stock client's receive buffer; a larger packet simply
/// takes several reads.
const READ_CHUNK: usize = 1024;

/// What can go wrong talking to the daemon.
#[derive(Debug)]
pub enum CtlError {
    /// Writing a request failed.
    Write(io::Error),
    /// Reading failed.
    Read(io::Error),
    /// The daemon closed the connection.
    Eof,
    /// The daemon sent bytes that are not a valid packet.
    Malformed,
    /// A request could not be encoded (a string too long for its length field).
    Encode,
}

/// A reply, kept as its bytes with the status block size that parsing it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyBuf {
    /// The whole packet.
    pub bytes: Vec<u8>,
    /// The status block size of the request it answers.
    pub format: StatusFormat,
}

impl ReplyBuf {
    /// The reply code byte.
    pub fn code(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    /// Parses the reply.
    pub fn parse(&self) -> Result<Reply<'_>, CtlError> {
        Reply::parse(&self.bytes, self.format).map_err(|_| CtlError::Malformed)
    }

    /// The status block of a `SERVICESTATUS` or `SVCINFO` reply.
    pub fn status(&self) -> Option<SvcStatus> {
        SvcStatus::decode(self.bytes.get(2..)?, self.format)
    }
}

/// A service event (`SERVICEEVENT5` or `SERVICEEVENT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The handle it was sent for.
    pub handle: Handle,
    /// The raw event code (PROTOCOL.md §6.4).
    pub code: u8,
    /// The status snapshot (absent in the 7-byte legacy form).
    pub status: Option<SvcStatus>,
    /// True for the legacy `SERVICEEVENT` (100), false for `SERVICEEVENT5` (101).
    pub legacy: bool,
}

impl Event {
    /// The event, if the code is a known one.
    pub fn kind(&self) -> Option<ServiceEvent> {
        ServiceEvent::from_u8(self.code)
    }
}

/// An `ENVEVENT`: the activation environment changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvChange {
    /// The variable was set before.
    pub overridden: bool,
    /// `NAME=VALUE` (set) or `NAME` (unset), without the NUL.
    pub var: Vec<u8>,
}

/// One packet from the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A reply.
    Reply(ReplyBuf),
    /// A service event.
    Event(Event),
    /// An environment event.
    Env(EnvChange),
    /// An information packet of another kind (skipped by its length byte).
    OtherInfo(u8),
}

/// The answer to `FINDSERVICE`/`LOADSERVICE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadReply {
    /// Found: the new handle and the service's states.
    Record {
        /// The handle.
        handle: Handle,
        /// Current state.
        state: ServiceState,
        /// Target state.
        target: ServiceState,
    },
    /// `NOSERVICE`.
    NoService,
    /// `SERVICE_DESC_ERR`.
    DescErr,
    /// `SERVICE_LOAD_ERR`.
    LoadErr,
    /// Any other reply (e.g. `BADREQ` for a name starting with `@`), by code.
    Other(u8),
}

/// The daemon's protocol version is outside what this client speaks (PROTOCOL.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionError {
    /// The daemon's minimum is above our maximum.
    ClientTooOld,
    /// The daemon's current version is below our minimum.
    DaemonTooOld,
}

/// Checks a `CPVERSION` against the versions this client speaks, `[cmin, cmax]` (PROTOCOL.md §5).
pub fn check_version(daemon_min: u16, daemon_current: u16) -> Result<(), VersionError> {
    if daemon_min > PROTOCOL_VERSION {
        Err(VersionError::ClientTooOld)
    } else if daemon_current < PROTOCOL_VERSION_MIN {
        Err(VersionError::DaemonTooOld)
    } else {
        Ok(())
    }
}

/// A blocking connection to the daemon.
#[derive(Debug)]
pub struct Connection {
    stream: UnixStream,
    buf: Vec<u8>,
    daemon_version: u16,
    events: Vec<Event>,
    env_events: Vec<EnvChange>,
    handles: HashMap<Handle, Vec<u8>>,
}

impl Connection {
    /// Wraps a connected stream. The protocol version is taken as 1 until
    /// [`Connection::query_version`] is called.
    pub fn new(stream: UnixStream) -> Self {
        Connection {
            stream,
            buf: Vec::new(),
            daemon_version: PROTOCOL_VERSION_MIN,
            events: Vec::new(),
            env_events: Vec::new(),
            handles: HashMap::new(),
        }
    }

    /// The daemon's current protocol version, as negotiated.
    pub fn version(&self) -> u16 {
        self.daemon_version
    }

    /// Sends `QUERYVERSION` and returns `(min, current)` if the reply is `CPVERSION`
    /// (`Ok(None)` for another reply). The current version is remembered, capped at ours.
    pub fn query_version(&mut self) -> Result<Option<(u16, u16)>, CtlError> {
        let reply = self.request(&Request::QueryVersion)?;
        match reply.parse() {
            Ok(Reply::CpVersion { min, current }) => {
                self.daemon_version = current.min(PROTOCOL_VERSION);
                Ok(Some((min, current)))
            }
            _ => Ok(None),
        }
    }

    /// Encodes and sends a request in one write.
    pub fn send(&mut self, request: &Request<'_>) -> Result<(), CtlError> {
        let mut out = vec![0u8; request.buffer_len()];
        let len = request.emit(&mut out).map_err(|_| CtlError::Encode)?;
        out.truncate(len);
        self.send_raw(&out)
    }

    /// Sends bytes as they are (for requests the daemon should judge itself, such as a
    /// `SETENV` of `=x` that the stock client sends and the daemon answers with `BADREQ`).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), CtlError> {
        self.stream.write_all(bytes).map_err(CtlError::Write)
    }

    /// Sends a FIND/LOAD/SETENV-style request (`code`, `u16` length, bytes) without checking
    /// its contents; strings longer than 1021 bytes are refused with [`CtlError::Encode`].
    pub fn send_string_request(&mut self, code: u8, s: &[u8]) -> Result<(), CtlError> {
        if s.len() > MAX_NAME_LEN {
            return Err(CtlError::Encode);
        }
        let len = u16::try_from(s.len()).map_err(|_| CtlError::Encode)?;
        let mut out = Vec::with_capacity(s.len().saturating_add(3));
        out.push(code);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(s);
        self.send_raw(&out)
    }

    /// Reads until the buffer holds at least `needed` bytes.
    fn fill(&mut self, needed: usize) -> Result<(), CtlError> {
        let mut chunk = [0u8; READ_CHUNK];
        while self.buf.len() < needed {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(CtlError::Eof),
                Ok(n) => self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CtlError::Read(e)),
            }
        }
        Ok(())
    }

    /// Reads the next packet, whatever it is. `format` is the status block size of the
    /// request whose reply may come next.
    pub fn recv(&mut self, format: StatusFormat) -> Result<Incoming, CtlError> {
        let len = loop {
            match DaemonPacket::frame(&self.buf, format) {
                Ok(len) => break len,
                Err(ParseError::Incomplete { needed }) => self.fill(needed)?,
                Err(ParseError::Malformed(_)) => return Err(CtlError::Malformed),
            }
        };
        let packet: Vec<u8> = self.buf.drain(..len).collect();
        let code = packet.first().copied().unwrap_or(0);
        if code < 100 {
            return Ok(Incoming::Reply(ReplyBuf {
                bytes: packet,
                format,
            }));
        }
        match InfoCode::from_u8(code) {
            Some(InfoCode::ServiceEvent | InfoCode::ServiceEvent5) => {
                let view = InfoPacket::new_unchecked(&packet[..]);
                let (Some(handle), Some(event)) = (view.handle(), view.event()) else {
                    return Err(CtlError::Malformed);
                };
                let status = match (view.status(), view.status_format()) {
                    (Some(block), Some(fmt)) => SvcStatus::decode(block.into_inner(), fmt),
                    _ => None,
                };
                Ok(Incoming::Event(Event {
                    handle,
                    code: event,
                    status,
                    legacy: code == InfoCode::ServiceEvent as u8,
                }))
            }
            Some(InfoCode::EnvEvent) => match dinit_core::proto::Info::parse(&packet) {
                Ok(dinit_core::proto::Info::EnvEvent { overridden, var }) => {
                    Ok(Incoming::Env(EnvChange {
                        overridden,
                        var: var.to_vec(),
                    }))
                }
                _ => Err(CtlError::Malformed),
            },
            None => Ok(Incoming::OtherInfo(code)),
        }
    }

    /// Waits for the next reply, recording the service and environment events that come
    /// first (see [`Connection::events`] and [`Connection::take_env_events`]).
    pub fn recv_reply(&mut self, format: StatusFormat) -> Result<ReplyBuf, CtlError> {
        loop {
            match self.recv(format)? {
                Incoming::Reply(reply) => return Ok(reply),
                Incoming::Event(ev) => self.events.push(ev),
                Incoming::Env(env) => self.env_events.push(env),
                Incoming::OtherInfo(_) => {}
            }
        }
    }

    /// Sends a request and waits for its reply (recording events meanwhile). The status
    /// format is the one the request's reply uses.
    pub fn request(&mut self, request: &Request<'_>) -> Result<ReplyBuf, CtlError> {
        self.send(request)?;
        let format = request
            .command()
            .reply_status_format()
            .unwrap_or(StatusFormat::Status10);
        self.recv_reply(format)
    }

    /// The events recorded while waiting for replies, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Forgets the recorded events (done before a command whose outcome events decide, and
    /// after `PREACK`).
    pub fn clear_events(&mut self) {
        self.events.clear();
    }

    /// Takes the recorded environment events.
    pub fn take_env_events(&mut self) -> Vec<EnvChange> {
        std::mem::take(&mut self.env_events)
    }

    /// Sends `FINDSERVICE` (`find`) or `LOADSERVICE` for `name` and reads the answer. The name
    /// is sent as given (the daemon judges it); a name over 1021 bytes is refused with
    /// [`CtlError::Encode`]. A returned handle is remembered with the name.
    pub fn load_service(&mut self, name: &[u8], find: bool) -> Result<LoadReply, CtlError> {
        let code = if find { 1 } else { 2 };
        self.send_string_request(code, name)?;
        let reply = self.recv_reply(StatusFormat::Status10)?;
        Ok(match reply.parse() {
            Ok(Reply::ServiceRecord {
                state,
                handle,
                target,
            }) => {
                self.handles.insert(handle, name.to_vec());
                LoadReply::Record {
                    handle,
                    state,
                    target,
                }
            }
            Ok(Reply::NoService) => LoadReply::NoService,
            Ok(Reply::ServiceDescErr) => LoadReply::DescErr,
            Ok(Reply::ServiceLoadErr) => LoadReply::LoadErr,
            _ => LoadReply::Other(reply.code()),
        })
    }

    /// The name a handle was obtained for (by [`Connection::load_service`] or
    /// [`Connection::remember_handle`]), if it is still valid.
    pub fn handle_name(&self, handle: Handle) -> Option<&[u8]> {
        self.handles.get(&handle).map(Vec::as_slice)
    }

    /// Records a handle the daemon allocated otherwise (`DEPENDENTS`), with its name once
    /// known.
    pub fn remember_handle(&mut self, handle: Handle, name: &[u8]) {
        self.handles.insert(handle, name.to_vec());
    }

    /// Forgets every handle of the service `handle` refers to: after a successful unload or
    /// any reload they are all invalid (PROTOCOL.md §4.5, §10 item 12).
    pub fn forget_service(&mut self, handle: Handle) {
        if let Some(name) = self.handles.get(&handle).cloned() {
            self.handles.retain(|_, n| *n != name);
        }
    }

    /// Sends `CLOSEHANDLE` (protocol 4+) and forgets the handle; `Ok(false)` if the daemon
    /// did not acknowledge it.
    pub fn close_handle(&mut self, handle: Handle) -> Result<bool, CtlError> {
        let reply = self.request(&Request::CloseHandle { handle })?;
        self.handles.remove(&handle);
        Ok(matches!(reply.parse(), Ok(Reply::Ack)))
    }

    /// `QUERYSERVICENAME`: the name of a handle's service, `None` if the reply is not
    /// `SERVICENAME`.
    pub fn service_name(&mut self, handle: Handle) -> Result<Option<Vec<u8>>, CtlError> {
        let reply = self.request(&Request::QueryServiceName { handle })?;
        Ok(match reply.parse() {
            Ok(Reply::ServiceName { name }) => {
                let name = name.to_vec();
                self.handles.insert(handle, name.clone());
                Some(name)
            }
            _ => None,
        })
    }

    /// The directory a service's description was loaded from, made absolute with the
    /// daemon's working directory when it is relative (CONTROL.md §3.3): `QUERYSERVICEDSCDIR`, and
    /// `QUERY_LOAD_MECH` if needed. `None` on any unexpected or empty answer.
    pub fn service_dir(&mut self, handle: Handle) -> Result<Option<PathBuf>, CtlError> {
        let reply = self.request(&Request::QueryServiceDscDir {
            reserved: 0,
            handle,
        })?;
        let dir = match reply.parse() {
            Ok(Reply::SvcDscDir { dir }) if !dir.is_empty() => dir.to_vec(),
            _ => return Ok(None),
        };
        let dir = PathBuf::from(std::ffi::OsStr::from_bytes(&dir));
        if dir.is_absolute() {
            return Ok(Some(dir));
        }
        let reply = self.request(&Request::QueryLoadMech)?;
        match reply.parse() {
            Ok(Reply::LoaderMech { cwd, .. }) if !cwd.is_empty() => Ok(Some(
                PathBuf::from(std::ffi::OsStr::from_bytes(cwd)).join(dir),
            )),
            _ => Ok(None),
        }
    }

    /// The description file of the service `name` (loaded as `handle`): its directory per
    /// [`Connection::service_dir`] joined with the part of the name before `@`.
    pub fn service_file(
        &mut self,
        handle: Handle,
        name: &[u8],
    ) -> Result<Option<PathBuf>, CtlError> {
        Ok(self
            .service_dir(handle)?
            .map(|dir| dir.join(std::ffi::OsStr::from_bytes(base_name(name)))))
    }

    /// The status request this daemon understands best: `SERVICESTATUS6` (v6+),
    /// `SERVICESTATUS5` (v5) or `SERVICESTATUS`.
    pub fn status_request(&self, handle: Handle) -> Request<'static> {
        match self.daemon_version {
            v if v >= 6 => Request::ServiceStatus6 { handle },
            5 => Request::ServiceStatus5 { handle },
            _ => Request::ServiceStatus { handle },
        }
    }

    /// The status request without the modification time: `SERVICESTATUS5` (v5+) or
    /// `SERVICESTATUS` (what `enable`/`disable` send).
    pub fn status5_request(&self, handle: Handle) -> Request<'static> {
        if self.daemon_version >= 5 {
            Request::ServiceStatus5 { handle }
        } else {
            Request::ServiceStatus { handle }
        }
    }

    /// Sends `request` (a status request) and returns the status if the reply is
    /// `SERVICESTATUS`.
    pub fn status_of(&mut self, request: &Request<'_>) -> Result<Option<SvcStatus>, CtlError> {
        let reply = self.request(request)?;
        if reply.code() != dinit_core::proto::ReplyCode::ServiceStatus as u8 {
            return Ok(None);
        }
        reply.status().map(Some).ok_or(CtlError::Malformed)
    }
}

/// The part of a service name before the first `@`: the name of its description file.
pub fn base_name(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == b'@') {
        Some(at) => name.get(..at).unwrap_or(name),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_window() {
        assert_eq!(check_version(1, 7), Ok(()));
        assert_eq!(check_version(1, 1), Ok(()));
        assert_eq!(check_version(8, 9), Err(VersionError::ClientTooOld));
        assert_eq!(check_version(0, 0), Err(VersionError::DaemonTooOld));
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name(b"tmpl@foo"), b"tmpl");
        assert_eq!(base_name(b"plain"), b"plain");
    }

    #[test]
    fn handle_bookkeeping() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut conn = Connection::new(a);
        // Two handles for one service, one for another, a dependent named by QUERYSERVICENAME.
        b.write_all(&[0x3b, 2, 0, 0, 0, 0, 2]).unwrap();
        b.write_all(&[0x3b, 2, 1, 0, 0, 0, 2]).unwrap();
        b.write_all(&[0x3b, 0, 2, 0, 0, 0, 0]).unwrap();
        b.write_all(&[0x42, 0, 3, 0, b'd', b'e', b'p']).unwrap();
        for (name, h) in [(&b"boot"[..], 0), (b"boot", 1), (b"x", 2)] {
            assert_eq!(
                conn.load_service(name, false).unwrap(),
                LoadReply::Record {
                    handle: h,
                    state: if h == 2 {
                        ServiceState::Stopped
                    } else {
                        ServiceState::Started
                    },
                    target: if h == 2 {
                        ServiceState::Stopped
                    } else {
                        ServiceState::Started
                    },
                }
            );
        }
        assert_eq!(conn.service_name(7).unwrap(), Some(b"dep".to_vec()));
        assert_eq!(conn.handle_name(7), Some(&b"dep"[..]));
        assert_eq!(conn.handle_name(1), Some(&b"boot"[..]));
        // After an unload or reload every handle of that service is gone (PROTOCOL.md §4.5).
        conn.forget_service(0);
        assert_eq!(conn.handle_name(0), None);
        assert_eq!(conn.handle_name(1), None);
        assert_eq!(conn.handle_name(2), Some(&b"x"[..]));
        // The requests went out as PROTOCOL.md §7 lays them out.
        let mut sent = [0u8; 7 + 7 + 4 + 6];
        b.read_exact(&mut sent).unwrap();
        assert_eq!(&sent[..7], b"\x02\x04\x00boot");
        assert_eq!(&sent[18..], &[0x0f, 0, 7, 0, 0, 0]);
    }

    #[test]
    fn records_events_before_reply_and_frames_pipelined_packets() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut conn = Connection::new(a);
        // Pre-reply events (V29), then a status30 reply, then an ENVEVENT and an unknown info
        // packet, all in one write.
        let mut bytes = vec![
            0x65, 0x15, 6, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x64, 0x11, 6, 0,
            0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        bytes.extend_from_slice(&[0x46, 0x00, 2, 2, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[0u8; 24]);
        bytes.extend_from_slice(&[0x66, 5, 1, 4, 0, b'F', b'O', b'O', 0]);
        bytes.extend_from_slice(&[0x70, 3, 9]);
        b.write_all(&bytes).unwrap();
        let reply = conn.recv_reply(StatusFormat::Status30).unwrap();
        assert_eq!(reply.code(), 0x46);
        assert_eq!(reply.status().unwrap().state, ServiceState::Started);
        assert_eq!(conn.events().len(), 2);
        assert_eq!(conn.events()[0].kind(), Some(ServiceEvent::Started));
        assert!(!conn.events()[0].legacy);
        assert!(conn.events()[1].legacy);
        assert_eq!(
            conn.recv(StatusFormat::Status10).unwrap(),
            Incoming::Env(EnvChange {
                overridden: true,
                var: b"FOO".to_vec()
            })
        );
        assert_eq!(
            conn.recv(StatusFormat::Status10).unwrap(),
            Incoming::OtherInfo(0x70)
        );
        drop(b);
        assert!(matches!(
            conn.recv(StatusFormat::Status10),
            Err(CtlError::Eof)
        ));
    }
}
