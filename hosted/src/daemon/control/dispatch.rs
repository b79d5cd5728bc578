//! The dispatcher: each request to the one function that handles it, one line per command.
//! Each handler answers through [`Session::answer`], so that the service events its work caused
//! reach the client before its reply.

use super::conn::{Pending, Session};
use super::server::{Acted, Action, DepChange, Gentle, LoadError, Pin, Server, SignalError};
use dinit_core::proto::{
    BodyReply, Handle, Handles, Info, Malformed, Reply, Request, ServiceDirs, StartFlags,
    StatusBlock, StatusFormat, Timespec, MAX_SVCINFO_NAME_LEN, PROTOCOL_VERSION,
    PROTOCOL_VERSION_MIN,
};
use dinit_core::{DepKind, Refusal, ServiceId, ServiceStatus, ShutdownKind};

/// Whether a request naming an unknown handle is malformed (`BADREQ`, the connection closes)
/// or merely refused (`NAK`): PROTOCOL.md §4.3 says which for each command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnknownHandle {
    BadRequest,
    Nak,
}

/// How a dependency change is answered: `ACK`, or (`ENABLE_SERVICE_V7`) the target's status
/// with whether the dependency existed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DepReply {
    Ack,
    TargetStatus,
}

/// Whether `FINDSERVICE` or `LOADSERVICE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    Find,
    Load,
}

/// A service's status in the block format a reply uses.
pub(super) fn status_block(
    status: ServiceStatus,
    format: StatusFormat,
    mtime: (i64, i64),
) -> StatusBlock {
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

impl Session {
    /// Handles one request.
    pub(super) fn dispatch<S: Server + ?Sized>(&mut self, request: &Request<'_>, s: &mut S) {
        use DepReply::{Ack, TargetStatus};
        match *request {
            Request::QueryVersion => self.answer(s, &version()),
            Request::FindService { name } => self.find_or_load(s, name, Lookup::Find),
            Request::LoadService { name } => self.find_or_load(s, name, Lookup::Load),
            Request::StartService { flags, handle } => self.act(s, handle, start(flags), flags),
            Request::StopService { flags, handle } => self.act(s, handle, stop(flags), flags),
            Request::WakeService { flags, handle } => self.act(s, handle, wake(flags), flags),
            Request::ReleaseService { flags, handle } => self.act(s, handle, release(flags), flags),
            Request::UnpinService { handle } => self.unpin(s, handle),
            Request::ListServices | Request::ListServices5 => self.list(s, status_format(request)),
            Request::UnloadService { handle } => self.unload(s, handle),
            Request::ReloadService { handle } => self.reload(s, handle),
            Request::Shutdown { kind } => self.shutdown(s, kind),
            Request::AddDep { kind, from, to } => self.dep(s, DepChange::Add, kind, from, to, Ack),
            Request::RemDep { kind, from, to } => {
                self.dep(s, DepChange::Remove, kind, from, to, Ack)
            }
            Request::EnableService { kind, from, to } => {
                self.dep(s, DepChange::Enable, kind, from, to, Ack)
            }
            Request::EnableServiceV7 { kind, from, to } => {
                self.dep(s, DepChange::Enable, kind, from, to, TargetStatus)
            }
            Request::QueryLoadMech => self.loader_mech(s),
            Request::QueryServiceName { handle } => self.service_name(s, handle),
            Request::QueryServiceDscDir { reserved, handle } => self.dsc_dir(s, reserved, handle),
            Request::SetEnv { var } => self.set_env(s, var),
            Request::GetAllEnv => self.all_env(s),
            Request::ListenEnv => self.listen_env(s),
            Request::ServiceStatus { handle }
            | Request::ServiceStatus5 { handle }
            | Request::ServiceStatus6 { handle } => self.status(s, handle, status_format(request)),
            Request::SetTrigger { handle, value } => self.trigger(s, handle, value),
            Request::CatLog { clear, handle } => self.catlog(s, handle, clear),
            Request::Signal { signal, handle } => self.signal(s, handle, signal),
            Request::CloseHandle { handle } => self.close(s, handle),
        }
    }

    /// The service a request's handle names; an unknown handle is answered as `unknown` says.
    fn named<S: Server + ?Sized>(
        &mut self,
        s: &mut S,
        handle: Handle,
        unknown: UnknownHandle,
    ) -> Option<ServiceId> {
        let id = self.service(handle).filter(|&id| s.is_loaded(id));
        if id.is_none() {
            match unknown {
                UnknownHandle::BadRequest => self.bad_request(s, Malformed::BadValue),
                UnknownHandle::Nak => self.answer(s, &Reply::Nak),
            }
        }
        id
    }

    /// `FINDSERVICE`, `LOADSERVICE`: a new handle on the service.
    fn find_or_load<S: Server + ?Sized>(&mut self, s: &mut S, name: &[u8], lookup: Lookup) {
        let found = match (s.find(name), lookup) {
            (Some(id), _) => Ok(id),
            (None, Lookup::Load) => s.load(name),
            (None, Lookup::Find) => Err(LoadError::NotFound),
        };
        let id = match found {
            Ok(id) => id,
            Err(LoadError::NotFound) => return self.answer(s, &Reply::NoService),
            Err(LoadError::Description) => return self.answer(s, &Reply::ServiceDescErr),
            Err(LoadError::Load) => return self.answer(s, &Reply::ServiceLoadErr),
        };
        let status = s.status(id);
        let Some(handle) = self.new_handle(id) else {
            return self.out_of_handles(s);
        };
        let reply = Reply::ServiceRecord {
            state: status.state,
            handle,
            target: status.target,
        };
        self.answer(s, &reply);
    }

    /// `STARTSERVICE`, `STOPSERVICE`, `WAKESERVICE`, `RELEASESERVICE`.
    fn act<S: Server + ?Sized>(
        &mut self,
        s: &mut S,
        handle: Handle,
        action: Action,
        flags: StartFlags,
    ) {
        let Some(id) = self.named(s, handle, UnknownHandle::BadRequest) else {
            return;
        };
        if flags.has(StartFlags::PRE_ACK) {
            self.answer(s, &Reply::PreAck);
        }
        let reply = match s.act(action, id) {
            Ok(Acted::AlreadyThere) => Reply::AlreadySs,
            Ok(Acted::Done) => Reply::Ack,
            Ok(Acted::NoActiveDependent) => Reply::Nak,
            Err(Refusal::ShuttingDown) => Reply::ShuttingDown,
            Err(Refusal::PinnedStopped) => Reply::PinnedStopped,
            Err(Refusal::PinnedStarted) => Reply::PinnedStarted,
            Err(Refusal::HasDependents) => return self.dependents(s, id),
            Err(_) => Reply::Nak,
        };
        self.answer(s, &reply);
    }

    /// `DEPENDENTS`: a gentle stop was refused; the client gets a handle on each active
    /// service that needs this one.
    fn dependents<S: Server + ?Sized>(&mut self, s: &mut S, id: ServiceId) {
        let mut deps = Vec::new();
        s.hard_dependents(id, &mut |d| deps.push(d));
        let mut handles: Vec<Handle> = Vec::with_capacity(deps.len());
        for d in deps {
            match self.new_handle(d) {
                Some(h) => handles.push(h),
                None => return self.out_of_handles(s),
            }
        }
        let reply = Reply::Dependents {
            handles: Handles::List(&handles),
        };
        self.answer(s, &reply);
    }

    /// `UNPINSERVICE`.
    fn unpin<S: Server + ?Sized>(&mut self, s: &mut S, handle: Handle) {
        let Some(id) = self.named(s, handle, UnknownHandle::BadRequest) else {
            return;
        };
        let _ = s.act(Action::Unpin, id);
        self.answer(s, &Reply::Ack);
    }

    /// `LISTSERVICES`, `LISTSERVICES5`: streamed, one `SVCINFO` per service, as the client
    /// reads.
    fn list<S: Server + ?Sized>(&mut self, s: &mut S, format: StatusFormat) {
        self.take_events(s);
        self.pending = Some(Pending::List {
            next: s.first(),
            format,
        });
    }

    /// `UNLOADSERVICE`: refused while another connection holds a handle on the service. The
    /// handle used is released; any other handle this client holds on the service keeps its
    /// number (not given out again until closed, as in Dinit) but names no service.
    fn unload<S: Server + ?Sized>(&mut self, s: &mut S, handle: Handle) {
        let Some(id) = self.named(s, handle, UnknownHandle::BadRequest) else {
            return;
        };
        let reply = if s.held_elsewhere(id) || s.unload(id).is_err() {
            Reply::Nak
        } else {
            self.close_handle(handle);
            Reply::Ack
        };
        self.answer(s, &reply);
    }

    /// `RELOADSERVICE`: refused while another connection holds a handle on the service;
    /// otherwise this client's handles on it are released and the description read again.
    fn reload<S: Server + ?Sized>(&mut self, s: &mut S, handle: Handle) {
        let Some(id) = self.named(s, handle, UnknownHandle::BadRequest) else {
            return;
        };
        if s.held_elsewhere(id) {
            return self.answer(s, &Reply::Nak);
        }
        self.drop_handles(id);
        let reply = if s.reload(id) { Reply::Ack } else { Reply::Nak };
        self.answer(s, &reply);
    }

    /// `SHUTDOWN`.
    fn shutdown<S: Server + ?Sized>(&mut self, s: &mut S, kind: ShutdownKind) {
        s.shutdown(kind);
        self.answer(s, &Reply::Ack);
    }

    /// `ADDDEP`, `REMDEP`, `ENABLESERVICE`, `ENABLE_SERVICE_V7` (answered as `reply` says).
    fn dep<S: Server + ?Sized>(
        &mut self,
        s: &mut S,
        change: DepChange,
        kind: DepKind,
        from: Handle,
        to: Handle,
        reply: DepReply,
    ) {
        let Some(from) = self.named(s, from, UnknownHandle::BadRequest) else {
            return;
        };
        let Some(to) = self.named(s, to, UnknownHandle::BadRequest) else {
            return;
        };
        if from == to {
            return self.bad_request(s, Malformed::BadValue);
        }
        match s.change_dependency(change, kind, from, to) {
            Ok(existed) if reply == DepReply::TargetStatus => {
                let status = status_block(s.status(to), StatusFormat::Status30, s.mtime(to));
                let reply = Reply::ServiceStatus {
                    dep_existed: existed,
                    status,
                };
                self.answer(s, &reply);
            }
            Ok(_) => self.answer(s, &Reply::Ack),
            Err(_) => self.answer(s, &Reply::Nak),
        }
    }

    /// `QUERY_LOAD_MECH`: the loader's working directory and service directories.
    fn loader_mech<S: Server + ?Sized>(&mut self, s: &mut S) {
        let (cwd, dirs) = s.loader();
        let refs: Vec<&[u8]> = dirs.iter().map(Vec::as_slice).collect();
        let reply = Reply::LoaderMech {
            cwd: &cwd,
            dirs: ServiceDirs::List(&refs),
        };
        // Too long to encode (a directory longer than the protocol allows): refused.
        let mut buf = vec![0u8; reply.buffer_len()];
        match reply.emit(&mut buf) {
            Ok(n) => {
                self.take_events(s);
                self.push_bytes(buf.get(..n).unwrap_or(&[]));
            }
            Err(_) => self.answer(s, &Reply::Nak),
        }
    }

    /// `QUERYSERVICENAME`.
    fn service_name<S: Server + ?Sized>(&mut self, s: &mut S, handle: Handle) {
        let Some(id) = self.named(s, handle, UnknownHandle::Nak) else {
            return;
        };
        self.take_events(s);
        let name = s.name(id);
        if name.len() > usize::from(u16::MAX) {
            self.send(&Reply::Nak);
        } else {
            self.send(&Reply::ServiceName { name });
        }
    }

    /// `QUERYSERVICEDSCDIR`.
    fn dsc_dir<S: Server + ?Sized>(&mut self, s: &mut S, reserved: u8, handle: Handle) {
        let Some(id) = self.named(s, handle, UnknownHandle::Nak) else {
            return;
        };
        if reserved != 0 {
            return self.answer(s, &Reply::Nak);
        }
        self.take_events(s);
        self.send(&Reply::SvcDscDir {
            dir: s.description_dir(id),
        });
    }

    /// `SETENV`: listeners (this client too) hear of the change before the requester has its
    /// `ACK`, as from Dinit.
    fn set_env<S: Server + ?Sized>(&mut self, s: &mut S, var: &[u8]) {
        let overridden = s.set_env(var);
        let mut buf = [0u8; 1100];
        if let Ok(n) = (Info::EnvEvent { overridden, var }).emit(&mut buf) {
            let packet = buf.get(..n).unwrap_or(&[]);
            s.env_event(packet);
            if self.listen_env {
                self.push_info(packet);
            }
        }
        self.answer(s, &Reply::Ack);
    }

    /// `GETALLENV`: an `ALLENV` header with the body's length, then the body streamed as the
    /// client reads.
    fn all_env<S: Server + ?Sized>(&mut self, s: &mut S) {
        let total = s.env_len();
        self.take_events(s);
        let mut head = [0u8; 16];
        if let Ok(n) = BodyReply::AllEnv.emit_header(total, &mut head) {
            self.push_bytes(head.get(..n).unwrap_or(&[]));
        }
        self.pending = Some(Pending::Env {
            index: 0,
            remaining: total,
        });
    }

    /// `LISTENENV`.
    fn listen_env<S: Server + ?Sized>(&mut self, s: &mut S) {
        self.listen_env = true;
        self.answer(s, &Reply::Ack);
    }

    /// `SERVICESTATUS` in the format of the request's version.
    fn status<S: Server + ?Sized>(&mut self, s: &mut S, handle: Handle, format: StatusFormat) {
        let Some(id) = self.named(s, handle, UnknownHandle::Nak) else {
            return;
        };
        let status = status_block(s.status(id), format, s.mtime(id));
        let reply = Reply::ServiceStatus {
            dep_existed: false,
            status,
        };
        self.answer(s, &reply);
    }

    /// `SETTRIGGER`.
    fn trigger<S: Server + ?Sized>(&mut self, s: &mut S, handle: Handle, value: bool) {
        let Some(id) = self.named(s, handle, UnknownHandle::Nak) else {
            return;
        };
        let reply = match s.set_trigger(id, value) {
            Ok(()) => Reply::Ack,
            Err(_) => Reply::Nak,
        };
        self.answer(s, &reply);
    }

    /// `CATLOG`: a `SERVICE_LOG` header with the length, then the buffer streamed as the
    /// client reads.
    fn catlog<S: Server + ?Sized>(&mut self, s: &mut S, handle: Handle, clear: bool) {
        let Some(id) = self.named(s, handle, UnknownHandle::Nak) else {
            return;
        };
        let Some((start, len)) = s.log_extent(id) else {
            return self.answer(s, &Reply::Nak);
        };
        self.take_events(s);
        let mut head = [0u8; 16];
        if let Ok(n) = BodyReply::ServiceLog.emit_header(len, &mut head) {
            self.push_bytes(head.get(..n).unwrap_or(&[]));
        }
        self.pending = Some(Pending::Log {
            id,
            offset: start,
            remaining: len,
            clear,
        });
    }

    /// `SIGNAL`.
    fn signal<S: Server + ?Sized>(&mut self, s: &mut S, handle: Handle, signal: i32) {
        let Some(id) = self.named(s, handle, UnknownHandle::Nak) else {
            return;
        };
        let reply = match s.signal(id, signal) {
            Ok(()) => Reply::Ack,
            Err(SignalError::NoProcess) => Reply::SignalNoPid,
            Err(SignalError::BadSignal) => Reply::SignalBadSig,
            Err(SignalError::Failed) => Reply::SignalKillErr,
        };
        self.answer(s, &reply);
    }

    /// `CLOSEHANDLE`: a handle the client does not hold is a bad request.
    fn close<S: Server + ?Sized>(&mut self, s: &mut S, handle: Handle) {
        if self.service(handle).is_none() {
            return self.bad_request(s, Malformed::BadValue);
        }
        self.close_handle(handle);
        self.answer(s, &Reply::Ack);
    }

    /// Emits more of a streamed reply. Returns false when it must wait for the client.
    pub(super) fn continue_pending<S: Server + ?Sized>(&mut self, s: &mut S) -> bool {
        match self.pending {
            None => true,
            Some(Pending::List { next, format }) => self.continue_list(s, next, format),
            Some(Pending::Env { index, remaining }) => self.continue_env(s, index, remaining),
            Some(Pending::Log {
                id,
                offset,
                remaining,
                clear,
            }) => self.continue_log(s, id, offset, remaining, clear),
        }
    }

    fn continue_list<S: Server + ?Sized>(
        &mut self,
        s: &mut S,
        mut cur: Option<ServiceId>,
        format: StatusFormat,
    ) -> bool {
        const MAX: usize = 2 + 30 + MAX_SVCINFO_NAME_LEN;
        while let Some(id) = cur {
            if self.room() < MAX || self.over_backpressure() {
                self.pending = Some(Pending::List {
                    next: Some(id),
                    format,
                });
                return false;
            }
            let name = s.name(id);
            let name = name
                .get(..name.len().min(MAX_SVCINFO_NAME_LEN))
                .unwrap_or(&[]);
            let status = status_block(s.status(id), format, (0, 0));
            let mut buf = [0u8; MAX];
            let n = Reply::SvcInfo { name, status }.emit(&mut buf).unwrap_or(0);
            self.push_bytes(buf.get(..n).unwrap_or(&[]));
            cur = s.next_after(id);
        }
        self.pending = None;
        self.send(&Reply::ListDone);
        true
    }

    fn continue_env<S: Server + ?Sized>(
        &mut self,
        s: &mut S,
        mut index: usize,
        mut remaining: usize,
    ) -> bool {
        while remaining > 0 {
            // Another client changed the environment since the size was sent (while this one
            // was slow to read): the reply can no longer be completed, and ending the
            // connection is better than breaking the framing.
            let Some((k, v)) = s
                .env_entry(index)
                .filter(|(k, v)| k.len() + v.len() + 2 <= remaining)
            else {
                self.dead = true;
                return false;
            };
            let need = k.len() + v.len() + 2;
            if self.room() < need || self.over_backpressure() {
                self.pending = Some(Pending::Env { index, remaining });
                return false;
            }
            self.push_bytes(k);
            self.push_bytes(b"=");
            self.push_bytes(v);
            self.push_bytes(b"\0");
            remaining = remaining.saturating_sub(need);
            index += 1;
        }
        self.end_pending();
        true
    }

    fn continue_log<S: Server + ?Sized>(
        &mut self,
        s: &mut S,
        id: ServiceId,
        mut offset: usize,
        mut remaining: usize,
        clear: bool,
    ) -> bool {
        while remaining > 0 {
            // Leave room for the events of the service (as for `list`): a full queue would end
            // the connection.
            let n = remaining.min(self.room()).min(4096);
            if n == 0 || self.over_backpressure() {
                self.pending = Some(Pending::Log {
                    id,
                    offset,
                    remaining,
                    clear,
                });
                return false;
            }
            let chunk = s.log_bytes(id, offset, n);
            if chunk.len() < n {
                // The buffer was cleared by another client, dropped old output to make room
                // (`log-buffer-keep = newest`), or went with an unload or reload, since its
                // length was sent: the reply can no longer be completed, and ending the
                // connection is better than breaking the framing.
                self.dead = true;
                return false;
            }
            self.push_bytes(chunk);
            offset = offset.wrapping_add(n);
            remaining -= n;
        }
        if clear {
            // Only what was sent: output the service wrote meanwhile stays.
            s.log_discard(id, offset);
        }
        self.end_pending();
        true
    }
}

/// `CPVERSION`.
fn version() -> Reply<'static> {
    Reply::CpVersion {
        min: PROTOCOL_VERSION_MIN,
        current: PROTOCOL_VERSION,
    }
}

fn pin(flags: StartFlags) -> Pin {
    if flags.has(StartFlags::PIN) {
        Pin::Pin
    } else {
        Pin::NoPin
    }
}

fn gentle(flags: StartFlags) -> Gentle {
    if flags.has(StartFlags::GENTLE) {
        Gentle::Gentle
    } else {
        Gentle::Force
    }
}

fn start(flags: StartFlags) -> Action {
    Action::Start { pin: pin(flags) }
}

/// `STOPSERVICE`: a restart when the flag says so.
fn stop(flags: StartFlags) -> Action {
    if flags.has(StartFlags::RESTART) {
        Action::Restart {
            gentle: gentle(flags),
        }
    } else {
        Action::Stop {
            pin: pin(flags),
            gentle: gentle(flags),
        }
    }
}

fn wake(flags: StartFlags) -> Action {
    Action::Wake { pin: pin(flags) }
}

fn release(flags: StartFlags) -> Action {
    Action::Release { pin: pin(flags) }
}

/// The status format of the reply to `request` (by the protocol version that added it).
fn status_format(request: &Request<'_>) -> StatusFormat {
    request
        .command()
        .reply_status_format()
        .unwrap_or(StatusFormat::Status14)
}
