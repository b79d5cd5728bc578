//! A blocking client connection to the control socket.
//!
//! [`Connection`] encodes each request with the codec of `dinit_core::proto`
//! ([`Request::emit_as_given`]: the daemon judges what the user typed) and writes it in one
//! `write`; it reads whatever the daemon sends and hands every packet to
//! [`super::packet::decode`], the one place packets are decoded, so that commands match on
//! typed values ([`Reply`], [`Incoming`]). Information packets may arrive before, between and
//! after replies (PROTOCOL.md §4.4, §10 items 2-4): while waiting for a reply,
//! [`Connection::recv_reply`] records service events and environment events instead of
//! dropping them, so that a command can learn that its outcome was decided before the daemon
//! acknowledged it. [`Connection::recv`] returns packets one by one for the loops that wait
//! for events.

use super::packet::{decode, EnvChange, Event, Incoming, Reply};
use super::status::SvcStatus;
use dinit_core::proto::{
    Handle, Malformed, ParseError, ReplyCode, Request, StatusFormat, PROTOCOL_VERSION,
    PROTOCOL_VERSION_MIN,
};
use dinit_core::ServiceState;
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
    /// The daemon sent bytes that are not a valid packet, or a reply with a value the
    /// exchange cannot use (a status block without valid states): what is wrong.
    Malformed(Malformed),
    /// A request could not be encoded (a string too long for its length field).
    Encode,
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
    /// Any other reply (e.g. `BADREQ` for a name starting with `@`).
    Other,
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
        match self.request(&Request::QueryVersion)? {
            Reply::CpVersion { min, current } => {
                self.daemon_version = current.min(PROTOCOL_VERSION);
                Ok(Some((min, current)))
            }
            _ => Ok(None),
        }
    }

    /// Encodes a request as given (the daemon judges its contents) and sends it in one
    /// write; a string too long for its length field is refused with [`CtlError::Encode`].
    pub fn send(&mut self, request: &Request<'_>) -> Result<(), CtlError> {
        let mut out = vec![0u8; request.buffer_len()];
        let len = request
            .emit_as_given(&mut out)
            .map_err(|_| CtlError::Encode)?;
        out.truncate(len);
        self.stream.write_all(&out).map_err(CtlError::Write)
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

    /// Reads and decodes the next packet, whatever it is. `format` is the status block size
    /// of the request whose reply may come next.
    pub fn recv(&mut self, format: StatusFormat) -> Result<Incoming, CtlError> {
        loop {
            match decode(&self.buf, format) {
                Ok((incoming, len)) => {
                    self.buf.drain(..len);
                    return Ok(incoming);
                }
                Err(ParseError::Incomplete { needed }) => self.fill(needed)?,
                Err(ParseError::Malformed(m)) => return Err(CtlError::Malformed(m)),
            }
        }
    }

    /// Waits for the next reply, recording the service and environment events that come
    /// first (see [`Connection::events`] and [`Connection::take_env_events`]).
    pub fn recv_reply(&mut self, format: StatusFormat) -> Result<Reply, CtlError> {
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
    pub fn request(&mut self, request: &Request<'_>) -> Result<Reply, CtlError> {
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
        let request = if find {
            Request::FindService { name }
        } else {
            Request::LoadService { name }
        };
        Ok(match self.request(&request)? {
            Reply::ServiceRecord {
                handle,
                state,
                target,
            } => {
                self.handles.insert(handle, name.to_vec());
                LoadReply::Record {
                    handle,
                    state,
                    target,
                }
            }
            Reply::NoService => LoadReply::NoService,
            Reply::ServiceDescErr => LoadReply::DescErr,
            Reply::ServiceLoadErr => LoadReply::LoadErr,
            _ => LoadReply::Other,
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
        Ok(reply == Reply::Ack)
    }

    /// `QUERYSERVICENAME`: the name of a handle's service, `None` if the reply is not
    /// `SERVICENAME`.
    pub fn service_name(&mut self, handle: Handle) -> Result<Option<Vec<u8>>, CtlError> {
        Ok(match self.request(&Request::QueryServiceName { handle })? {
            Reply::ServiceName(name) => {
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
        let dir = match self.request(&Request::QueryServiceDscDir {
            reserved: 0,
            handle,
        })? {
            Reply::SvcDscDir(dir) if !dir.is_empty() => dir,
            _ => return Ok(None),
        };
        let dir = PathBuf::from(std::ffi::OsStr::from_bytes(&dir));
        if dir.is_absolute() {
            return Ok(Some(dir));
        }
        match self.request(&Request::QueryLoadMech)? {
            Reply::LoaderMech { cwd, .. } if !cwd.is_empty() => Ok(Some(
                PathBuf::from(std::ffi::OsStr::from_bytes(&cwd)).join(dir),
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
    /// `SERVICESTATUS` (`None` for another reply; a `SERVICESTATUS` without valid states is
    /// [`CtlError::Malformed`]).
    pub fn status_of(&mut self, request: &Request<'_>) -> Result<Option<SvcStatus>, CtlError> {
        match self.request(request)? {
            Reply::ServiceStatus(status) => Ok(Some(status)),
            Reply::Invalid(ReplyCode::ServiceStatus) => {
                Err(CtlError::Malformed(Malformed::BadValue))
            }
            _ => Ok(None),
        }
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
    use dinit_core::ServiceEvent;

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
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
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
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
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
        // The rest of the status30 block, its `struct timespec` as wide as the target's.
        bytes.extend_from_slice(&[0u8; 8 + dinit_core::proto::TIMESPEC_LEN]);
        bytes.extend_from_slice(&[0x66, 5, 1, 4, 0, b'F', b'O', b'O', 0]);
        bytes.extend_from_slice(&[0x70, 3, 9]);
        b.write_all(&bytes).unwrap();
        let Reply::ServiceStatus(status) = conn.recv_reply(StatusFormat::Status30).unwrap() else {
            panic!("not a SERVICESTATUS");
        };
        assert_eq!(status.state, ServiceState::Started);
        assert_eq!(status.mtime, Some(dinit_core::proto::Timespec::new(0, 0)));
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
