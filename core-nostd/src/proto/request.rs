//! Requests (client to daemon, codes 0-29; PROTOCOL.md §7).
//!
//! The daemon frames and parses with [`Request::parse_prefix`] (or [`RequestPacket`] and
//! [`Request::parse`]); a client builds a [`Request`] and [`Request::emit`]s it, or
//! [`Request::emit_as_given`]s it when the daemon is to judge what its user typed.
//!
//! Framing follows PROTOCOL.md §4.1 and §7.21: fixed-size requests are complete once their size is
//! buffered; FIND, LOAD and SETENV (`code`, `u16 L`, `L` bytes) first need
//! [`MIN_STRING_REQUEST_LEN`] bytes, then `L` must be 1..=[`MAX_NAME_LEN`], then `3 + L` bytes
//! must be buffered. The remaining checks (name prefix, shutdown and dependency types,
//! reserved bytes) are made on the complete packet. Every check failure is a request the
//! daemon answers with `BADREQ` and a close (PROTOCOL.md §4.3).

use super::codes::{wire_dep_kind, Command, StartFlags};
use super::field::{bytes_at, check_room, u16_at, u8_at, Writer};
use super::{EmitError, Handle, Malformed, ParseError, MAX_NAME_LEN, MIN_STRING_REQUEST_LEN};
use crate::types::{DepKind, ShutdownKind};

/// Field offsets (PROTOCOL.md §7).
mod offset {
    /// The `u16` length of FIND/LOAD/SETENV.
    pub const STRING_LEN: usize = 1;
    /// The string of FIND/LOAD/SETENV.
    pub const STRING: usize = 3;
    /// The second byte: flags, reserved, shutdown type or dependency type.
    pub const BYTE1: usize = 1;
    /// The handle right after the code: UNPIN, UNLOAD, RELOAD, the status requests,
    /// SETTRIGGER, CLOSEHANDLE.
    pub const HANDLE: usize = 1;
    /// The handle after the second byte: START/STOP/WAKE/RELEASE, QUERYSERVICENAME, CATLOG,
    /// QUERYSERVICEDSCDIR.
    pub const HANDLE_AFTER_BYTE1: usize = 2;
    /// SIGNAL's handle, after the signal number.
    pub const SIGNAL_HANDLE: usize = 5;
    /// The dependency requests' "from" handle.
    pub const DEP_FROM: usize = 2;
    /// The dependency requests' "to" handle.
    pub const DEP_TO: usize = 6;
    /// SETTRIGGER's value.
    pub const TRIGGER_VALUE: usize = 5;
    /// SIGNAL's signal number.
    pub const SIGNAL: usize = 1;
}

/// Where a request's (single) service handle sits, if it has one.
const fn handle_offset(cmd: Command) -> Option<usize> {
    use Command as C;
    match cmd {
        C::StartService
        | C::StopService
        | C::WakeService
        | C::ReleaseService
        | C::QueryServiceName
        | C::CatLog
        | C::QueryServiceDscDir => Some(offset::HANDLE_AFTER_BYTE1),
        C::UnpinService
        | C::UnloadService
        | C::ReloadService
        | C::ServiceStatus
        | C::SetTrigger
        | C::CloseHandle
        | C::ServiceStatus5
        | C::ServiceStatus6 => Some(offset::HANDLE),
        C::Signal => Some(offset::SIGNAL_HANDLE),
        _ => None,
    }
}

/// True for the requests carrying a `u16`-length string.
const fn is_string_request(cmd: Command) -> bool {
    matches!(
        cmd,
        Command::FindService | Command::LoadService | Command::SetEnv
    )
}

/// Finds the end of the request at the start of `buf` (see the module documentation).
fn frame(buf: &[u8]) -> Result<usize, ParseError> {
    let code = u8_at(buf, 0).ok_or(ParseError::Incomplete { needed: 1 })?;
    let cmd = Command::from_u8(code).ok_or(Malformed::UnknownCode(code))?;
    let needed = match cmd.fixed_len() {
        Some(len) => len,
        None => {
            let len = match u16_at(buf, offset::STRING_LEN) {
                Some(len) if buf.len() >= MIN_STRING_REQUEST_LEN => usize::from(len),
                _ => {
                    return Err(ParseError::Incomplete {
                        needed: MIN_STRING_REQUEST_LEN,
                    })
                }
            };
            if len == 0 || len > MAX_NAME_LEN {
                return Err(Malformed::BadLength.into());
            }
            // At most 3 + 1021: no overflow.
            offset::STRING.saturating_add(len)
        }
    };
    if buf.len() < needed {
        Err(ParseError::Incomplete { needed })
    } else {
        Ok(needed)
    }
}

packet_view! {
    /// A zero-copy view of the request at the start of a buffer.
    ///
    /// [`RequestPacket::new_checked`] frames the request once (a known command, all of its
    /// bytes present); the getters then read fields in place and cannot fail. Those of fields
    /// only some requests have return `None` for the other requests.
    pub struct RequestPacket {}
    fields {
        /// The code byte.
        code: u8 = 0;
        /// START/STOP/WAKE/RELEASE: the flags byte.
        flags: StartFlags = offset::BYTE1, when command() is (
            Command::StartService
                | Command::StopService
                | Command::WakeService
                | Command::ReleaseService
        );
        /// ADD_DEP/REM_DEP/ENABLE*: the raw dependency type byte.
        dep_kind: u8 = offset::BYTE1, when command() is (
            Command::AddDep | Command::RemDep | Command::EnableService | Command::EnableServiceV7
        );
        /// ADD_DEP/REM_DEP/ENABLE*: the dependent's handle.
        dep_from: Handle = offset::DEP_FROM, when command() is (
            Command::AddDep | Command::RemDep | Command::EnableService | Command::EnableServiceV7
        );
        /// ADD_DEP/REM_DEP/ENABLE*: the dependency's handle.
        dep_to: Handle = offset::DEP_TO, when command() is (
            Command::AddDep | Command::RemDep | Command::EnableService | Command::EnableServiceV7
        );
        /// SHUTDOWN: the raw shutdown type byte.
        shutdown_kind: u8 = offset::BYTE1, when command() is (Command::Shutdown);
        /// QUERYSERVICENAME, QUERYSERVICEDSCDIR, GETALLENV: the reserved byte.
        reserved: u8 = offset::BYTE1, when command() is (
            Command::QueryServiceName | Command::QueryServiceDscDir | Command::GetAllEnv
        );
        /// CATLOG: the flags byte (bit 0: clear the buffer).
        catlog_flags: u8 = offset::BYTE1, when command() is (Command::CatLog);
        /// SETTRIGGER: the value byte (non-zero sets the trigger).
        trigger_value: u8 = offset::TRIGGER_VALUE, when command() is (Command::SetTrigger);
        /// SIGNAL: the signal number.
        signal: i32 = offset::SIGNAL, when command() is (Command::Signal);
    }
}

impl<T: AsRef<[u8]>> RequestPacket<T> {
    /// Frames the first request: its length if it is complete, [`ParseError::Incomplete`] if
    /// more bytes are needed, or [`ParseError::Malformed`] for an unknown code or an
    /// out-of-range string length. Field values are not checked here; [`Request::parse`] does.
    pub fn check_len(&self) -> Result<usize, ParseError> {
        frame(self.buffer.as_ref())
    }

    /// The command, if the code is one (always, once checked).
    pub fn command(&self) -> Option<Command> {
        Command::from_u8(self.code())
    }

    /// The service handle of the requests that name one service (not the dependency
    /// requests; see [`Self::dep_from`] and [`Self::dep_to`]).
    pub fn handle(&self) -> Option<Handle> {
        handle_offset(self.command()?).map(|off| self.get(off))
    }

    /// FIND/LOAD: the service name; SETENV: the `NAME=VALUE` or `NAME` string. `None` for
    /// other requests, and until the whole string is buffered.
    pub fn string(&self) -> Option<&[u8]> {
        if !is_string_request(self.command()?) {
            return None;
        }
        let buf = self.buffer.as_ref();
        let len = u16_at(buf, offset::STRING_LEN)?;
        bytes_at(buf, offset::STRING, usize::from(len))
    }
}

/// A request as a value. Strings borrow from the parsed buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Request<'a> {
    /// `QUERYVERSION` (0).
    QueryVersion,
    /// `FINDSERVICE` (1): a loaded service by name.
    FindService {
        /// 1..=1021 bytes, not starting with `.` or `@`; may contain `@argument`.
        name: &'a [u8],
    },
    /// `LOADSERVICE` (2): find or load by name.
    LoadService {
        /// As for [`Request::FindService`].
        name: &'a [u8],
    },
    /// `STARTSERVICE` (3).
    StartService {
        /// Pin and pre-ack apply.
        flags: StartFlags,
        /// The service.
        handle: Handle,
    },
    /// `STOPSERVICE` (4); with [`StartFlags::RESTART`], a restart.
    StopService {
        /// Pin, gentle, restart and pre-ack apply.
        flags: StartFlags,
        /// The service.
        handle: Handle,
    },
    /// `WAKESERVICE` (5).
    WakeService {
        /// Pin and pre-ack apply.
        flags: StartFlags,
        /// The service.
        handle: Handle,
    },
    /// `RELEASESERVICE` (6).
    ReleaseService {
        /// Pin and pre-ack apply.
        flags: StartFlags,
        /// The service.
        handle: Handle,
    },
    /// `UNPINSERVICE` (7).
    UnpinService {
        /// The service.
        handle: Handle,
    },
    /// `LISTSERVICES` (8): `SVCINFO` with status10 entries, then `LISTDONE`.
    ListServices,
    /// `UNLOADSERVICE` (9).
    UnloadService {
        /// The service.
        handle: Handle,
    },
    /// `SHUTDOWN` (10).
    Shutdown {
        /// What to do once everything has stopped.
        kind: ShutdownKind,
    },
    /// `ADD_DEP` (11).
    AddDep {
        /// Regular, waits-for or milestone (see [`super::WIRE_DEP_KINDS`]).
        kind: DepKind,
        /// The dependent.
        from: Handle,
        /// The dependency.
        to: Handle,
    },
    /// `REM_DEP` (12).
    RemDep {
        /// Regular, waits-for or milestone.
        kind: DepKind,
        /// The dependent.
        from: Handle,
        /// The dependency.
        to: Handle,
    },
    /// `QUERY_LOAD_MECH` (13).
    QueryLoadMech,
    /// `ENABLESERVICE` (14): add the dependency and start it; replies `ACK`.
    EnableService {
        /// Regular, waits-for or milestone.
        kind: DepKind,
        /// The dependent.
        from: Handle,
        /// The dependency.
        to: Handle,
    },
    /// `QUERYSERVICENAME` (15). Its reserved byte is ignored on parse and sent as 0.
    QueryServiceName {
        /// The service.
        handle: Handle,
    },
    /// `RELOADSERVICE` (16).
    ReloadService {
        /// The service.
        handle: Handle,
    },
    /// `SETENV` (17).
    SetEnv {
        /// `NAME=VALUE` to set or `NAME` to unset: 1..=1021 bytes, not starting with `=`.
        var: &'a [u8],
    },
    /// `SERVICESTATUS` (18): status10.
    ServiceStatus {
        /// The service.
        handle: Handle,
    },
    /// `SETTRIGGER` (19).
    SetTrigger {
        /// The service.
        handle: Handle,
        /// Set (true) or clear the trigger; any non-zero byte reads as true, and true is sent
        /// as 1.
        value: bool,
    },
    /// `CATLOG` (20).
    CatLog {
        /// Flag bit 0: clear the log buffer after reading it (the other bits are ignored).
        clear: bool,
        /// The service.
        handle: Handle,
    },
    /// `SIGNAL` (21).
    Signal {
        /// The raw signal number.
        signal: i32,
        /// The service.
        handle: Handle,
    },
    /// `QUERYSERVICEDSCDIR` (22).
    QueryServiceDscDir {
        /// Must be 0; the daemon answers `NAK` (not `BADREQ`) otherwise, so it is kept.
        reserved: u8,
        /// The service.
        handle: Handle,
    },
    /// `CLOSEHANDLE` (23).
    CloseHandle {
        /// The handle to release.
        handle: Handle,
    },
    /// `GETALLENV` (24). Its reserved byte must be 0 (else `BADREQ`).
    GetAllEnv,
    /// `LISTSERVICES5` (25): `SVCINFO` with status14 entries, then `LISTDONE`.
    ListServices5,
    /// `SERVICESTATUS5` (26): status14.
    ServiceStatus5 {
        /// The service.
        handle: Handle,
    },
    /// `LISTENENV` (27).
    ListenEnv,
    /// `SERVICESTATUS6` (28): status30.
    ServiceStatus6 {
        /// The service.
        handle: Handle,
    },
    /// `ENABLE_SERVICE_V7` (29): like `ENABLESERVICE`, replying with the target's status30.
    EnableServiceV7 {
        /// Regular, waits-for or milestone.
        kind: DepKind,
        /// The dependent.
        from: Handle,
        /// The dependency.
        to: Handle,
    },
}

impl<'a> Request<'a> {
    /// The request's command code.
    pub const fn command(&self) -> Command {
        use Command as C;
        match self {
            Self::QueryVersion => C::QueryVersion,
            Self::FindService { .. } => C::FindService,
            Self::LoadService { .. } => C::LoadService,
            Self::StartService { .. } => C::StartService,
            Self::StopService { .. } => C::StopService,
            Self::WakeService { .. } => C::WakeService,
            Self::ReleaseService { .. } => C::ReleaseService,
            Self::UnpinService { .. } => C::UnpinService,
            Self::ListServices => C::ListServices,
            Self::UnloadService { .. } => C::UnloadService,
            Self::Shutdown { .. } => C::Shutdown,
            Self::AddDep { .. } => C::AddDep,
            Self::RemDep { .. } => C::RemDep,
            Self::QueryLoadMech => C::QueryLoadMech,
            Self::EnableService { .. } => C::EnableService,
            Self::QueryServiceName { .. } => C::QueryServiceName,
            Self::ReloadService { .. } => C::ReloadService,
            Self::SetEnv { .. } => C::SetEnv,
            Self::ServiceStatus { .. } => C::ServiceStatus,
            Self::SetTrigger { .. } => C::SetTrigger,
            Self::CatLog { .. } => C::CatLog,
            Self::Signal { .. } => C::Signal,
            Self::QueryServiceDscDir { .. } => C::QueryServiceDscDir,
            Self::CloseHandle { .. } => C::CloseHandle,
            Self::GetAllEnv => C::GetAllEnv,
            Self::ListServices5 => C::ListServices5,
            Self::ServiceStatus5 { .. } => C::ServiceStatus5,
            Self::ListenEnv => C::ListenEnv,
            Self::ServiceStatus6 { .. } => C::ServiceStatus6,
            Self::EnableServiceV7 { .. } => C::EnableServiceV7,
        }
    }

    /// Parses the first request of `buf` and returns it with its length, so that the next
    /// one starts there (pipelining, PROTOCOL.md §4.1). See the module documentation for when it
    /// answers [`ParseError::Incomplete`] and [`ParseError::Malformed`].
    pub fn parse_prefix(buf: &'a [u8]) -> Result<(Self, usize), ParseError> {
        let len = frame(buf)?;
        let packet = buf
            .get(..len)
            .ok_or(ParseError::Incomplete { needed: len })?;
        Ok((Self::parse_framed(packet)?, len))
    }

    /// Parses the request at the start of `packet` (bytes after it are ignored).
    pub fn parse(packet: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse_prefix(packet).map(|(request, _)| request)
    }

    /// Decodes a framed request: `packet` is exactly one request, so every field of its
    /// command is inside it.
    // A dispatch table: one arm per command, each a line or two.
    #[allow(clippy::too_many_lines)]
    fn parse_framed(packet: &'a [u8]) -> Result<Self, ParseError> {
        use offset::{BYTE1, HANDLE, HANDLE_AFTER_BYTE1};
        use Command as C;
        let view = RequestPacket::new_unchecked(packet);
        let code = view.code();
        let cmd = Command::from_u8(code).ok_or(Malformed::UnknownCode(code))?;
        let handle = |off: usize| -> Handle { view.get(off) };
        let flags = || StartFlags::from_bits(view.get(BYTE1));
        let dep = || -> Result<(DepKind, Handle, Handle), ParseError> {
            let raw: u8 = view.get(BYTE1);
            let kind = wire_dep_kind(raw).ok_or(Malformed::BadDepKind(raw))?;
            Ok((kind, view.get(offset::DEP_FROM), view.get(offset::DEP_TO)))
        };
        // FIND/LOAD/SETENV: framing made the packet 3 + length bytes, the length 1..=1021.
        let string = || packet.get(offset::STRING..).ok_or(Malformed::BadLength);
        Ok(match cmd {
            C::QueryVersion => Self::QueryVersion,
            C::FindService | C::LoadService => {
                let name = string()?;
                if matches!(name.first(), Some(b'.' | b'@')) {
                    return Err(Malformed::BadServiceName.into());
                }
                if cmd == C::FindService {
                    Self::FindService { name }
                } else {
                    Self::LoadService { name }
                }
            }
            C::StartService => Self::StartService {
                flags: flags(),
                handle: handle(HANDLE_AFTER_BYTE1),
            },
            C::StopService => Self::StopService {
                flags: flags(),
                handle: handle(HANDLE_AFTER_BYTE1),
            },
            C::WakeService => Self::WakeService {
                flags: flags(),
                handle: handle(HANDLE_AFTER_BYTE1),
            },
            C::ReleaseService => Self::ReleaseService {
                flags: flags(),
                handle: handle(HANDLE_AFTER_BYTE1),
            },
            C::UnpinService => Self::UnpinService {
                handle: handle(HANDLE),
            },
            C::ListServices => Self::ListServices,
            C::UnloadService => Self::UnloadService {
                handle: handle(HANDLE),
            },
            C::Shutdown => {
                let raw: u8 = view.get(BYTE1);
                Self::Shutdown {
                    kind: ShutdownKind::from_u8(raw).ok_or(Malformed::BadShutdownKind(raw))?,
                }
            }
            C::AddDep => {
                let (kind, from, to) = dep()?;
                Self::AddDep { kind, from, to }
            }
            C::RemDep => {
                let (kind, from, to) = dep()?;
                Self::RemDep { kind, from, to }
            }
            C::QueryLoadMech => Self::QueryLoadMech,
            C::EnableService => {
                let (kind, from, to) = dep()?;
                Self::EnableService { kind, from, to }
            }
            C::QueryServiceName => Self::QueryServiceName {
                handle: handle(HANDLE_AFTER_BYTE1),
            },
            C::ReloadService => Self::ReloadService {
                handle: handle(HANDLE),
            },
            C::SetEnv => {
                let var = string()?;
                if var.first() == Some(&b'=') {
                    return Err(Malformed::BadEnvString.into());
                }
                Self::SetEnv { var }
            }
            C::ServiceStatus => Self::ServiceStatus {
                handle: handle(HANDLE),
            },
            C::SetTrigger => Self::SetTrigger {
                handle: handle(HANDLE),
                value: view.get::<u8>(offset::TRIGGER_VALUE) != 0,
            },
            C::CatLog => Self::CatLog {
                clear: view.get::<u8>(BYTE1) & 1 != 0,
                handle: handle(HANDLE_AFTER_BYTE1),
            },
            C::Signal => Self::Signal {
                signal: view.get(offset::SIGNAL),
                handle: handle(offset::SIGNAL_HANDLE),
            },
            C::QueryServiceDscDir => Self::QueryServiceDscDir {
                reserved: view.get(BYTE1),
                handle: handle(HANDLE_AFTER_BYTE1),
            },
            C::CloseHandle => Self::CloseHandle {
                handle: handle(HANDLE),
            },
            C::GetAllEnv => {
                if view.get::<u8>(BYTE1) != 0 {
                    return Err(Malformed::ReservedNotZero.into());
                }
                Self::GetAllEnv
            }
            C::ListServices5 => Self::ListServices5,
            C::ServiceStatus5 => Self::ServiceStatus5 {
                handle: handle(HANDLE),
            },
            C::ListenEnv => Self::ListenEnv,
            C::ServiceStatus6 => Self::ServiceStatus6 {
                handle: handle(HANDLE),
            },
            C::EnableServiceV7 => {
                let (kind, from, to) = dep()?;
                Self::EnableServiceV7 { kind, from, to }
            }
        })
    }

    /// The request's size in bytes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::FindService { name: s }
            | Self::LoadService { name: s }
            | Self::SetEnv { var: s } => offset::STRING.saturating_add(s.len()),
            // Every other command has a fixed size.
            _ => self.command().fixed_len().unwrap_or(0),
        }
    }

    /// Writes the request to the start of `out` and returns its size.
    ///
    /// Refuses ([`EmitError::InvalidField`]) what the daemon would answer with `BADREQ`: an
    /// empty or `.`/`@`-prefixed service name, an empty or `=`-prefixed SETENV string, a
    /// dependency type other than regular, waits-for or milestone; and
    /// ([`EmitError::TooLong`]) strings over [`MAX_NAME_LEN`] bytes.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        self.validate()?;
        self.emit_as_given(out)
    }

    /// Writes the request as [`Self::emit`] does, but without judging its contents: a client
    /// that passes on what its user typed (a service name `@x`, a SETENV string `=x`) leaves
    /// the verdict to the daemon, which answers `BADREQ`, as Dinit's client does. Only what
    /// the wire cannot carry is refused: a string over [`MAX_NAME_LEN`] bytes
    /// ([`EmitError::TooLong`]). An empty string is sent with length 0.
    pub fn emit_as_given(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        if let Self::FindService { name: s }
        | Self::LoadService { name: s }
        | Self::SetEnv { var: s } = *self
        {
            if s.len() > MAX_NAME_LEN {
                return Err(EmitError::TooLong);
            }
        }
        check_room(out, self.buffer_len())?;
        let mut w = Writer::new(out);
        w.u8(self.command() as u8)?;
        match *self {
            Self::QueryVersion
            | Self::ListServices
            | Self::QueryLoadMech
            | Self::ListServices5
            | Self::ListenEnv => {}
            Self::FindService { name: s }
            | Self::LoadService { name: s }
            | Self::SetEnv { var: s } => {
                // validate() bounded the length to 1021.
                w.u16(u16::try_from(s.len()).map_err(|_| EmitError::TooLong)?)?;
                w.bytes(s)?;
            }
            Self::StartService { flags, handle }
            | Self::StopService { flags, handle }
            | Self::WakeService { flags, handle }
            | Self::ReleaseService { flags, handle } => {
                w.u8(flags.bits())?;
                w.u32(handle)?;
            }
            Self::UnpinService { handle }
            | Self::UnloadService { handle }
            | Self::ReloadService { handle }
            | Self::ServiceStatus { handle }
            | Self::CloseHandle { handle }
            | Self::ServiceStatus5 { handle }
            | Self::ServiceStatus6 { handle } => w.u32(handle)?,
            Self::Shutdown { kind } => w.u8(kind as u8)?,
            Self::AddDep { kind, from, to }
            | Self::RemDep { kind, from, to }
            | Self::EnableService { kind, from, to }
            | Self::EnableServiceV7 { kind, from, to } => {
                w.u8(kind as u8)?;
                w.u32(from)?;
                w.u32(to)?;
            }
            Self::QueryServiceName { handle } => {
                w.u8(0)?;
                w.u32(handle)?;
            }
            Self::SetTrigger { handle, value } => {
                w.u32(handle)?;
                w.u8(u8::from(value))?;
            }
            Self::CatLog { clear, handle } => {
                w.u8(u8::from(clear))?;
                w.u32(handle)?;
            }
            Self::Signal { signal, handle } => {
                w.i32(signal)?;
                w.u32(handle)?;
            }
            Self::QueryServiceDscDir { reserved, handle } => {
                w.u8(reserved)?;
                w.u32(handle)?;
            }
            Self::GetAllEnv => w.u8(0)?,
        }
        Ok(w.finish())
    }

    /// The checks of [`Self::emit`] on field values.
    fn validate(&self) -> Result<(), EmitError> {
        match *self {
            Self::FindService { name } | Self::LoadService { name } => {
                check_string_len(name)?;
                if matches!(name.first(), Some(b'.' | b'@')) {
                    return Err(EmitError::InvalidField);
                }
            }
            Self::SetEnv { var } => {
                check_string_len(var)?;
                if var.first() == Some(&b'=') {
                    return Err(EmitError::InvalidField);
                }
            }
            Self::AddDep { kind, .. }
            | Self::RemDep { kind, .. }
            | Self::EnableService { kind, .. }
            | Self::EnableServiceV7 { kind, .. }
                if wire_dep_kind(kind as u8).is_none() =>
            {
                return Err(EmitError::InvalidField);
            }
            _ => {}
        }
        Ok(())
    }
}

/// A FIND/LOAD/SETENV string must have 1..=1021 bytes.
fn check_string_len(s: &[u8]) -> Result<(), EmitError> {
    if s.is_empty() {
        Err(EmitError::InvalidField)
    } else if s.len() > MAX_NAME_LEN {
        Err(EmitError::TooLong)
    } else {
        Ok(())
    }
}
