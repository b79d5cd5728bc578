//! `dinitctl`: each command's request sequence (CONTROL.md §3), its output (CONTROL.md §4) and its
//! exit status (CONTROL.md §4.4). [`run`] is the whole program; the binary only passes it the
//! arguments and the standard streams.
//!
//! One deliberate difference from the stock client (PROTOCOL.md §10 item 4): when the outcome of a
//! start/stop command is already known from events that arrived before the daemon's reply,
//! the command finishes instead of waiting for an event that will not come; and `release` of
//! a service that stays required by its dependents reports that instead of waiting forever
//! (it asks for the service's status after the acknowledgement to find out).

use super::args::{parse_args, CtlArgs, CtlCommand, ParseOutcome, USAGE};
use super::conn::{check_version, Connection, CtlError, Incoming, LoadReply, VersionError};
use super::format::{cat, failure_reason_lines, io_error_text, list_line, status_report};
use super::socket::{open_socket, resolve_socket};
use super::status::SvcStatus;
use super::ui::Ui;
use crate::paths::{InstanceKind, ProcessEnv};
use dinit_core::proto::{Handle, Reply, Request, StartFlags, StatusFormat, Timespec};
use dinit_core::{ServiceEvent, ServiceState, ShutdownKind};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The program name in messages.
pub const PROG: &str = "dinitctl";

/// Runs `dinitctl` with `args` (without the program name); returns the exit status.
pub fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut ui = Ui::new(PROG, out, err);
    let code = run_with(args, &mut ui);
    ui.flush();
    code
}

fn run_with(args: &[OsString], ui: &mut Ui<'_>) -> i32 {
    let a = match parse_args(args) {
        ParseOutcome::Run(a) => a,
        ParseOutcome::Help => {
            ui.data(USAGE.as_bytes());
            return 0;
        }
        ParseOutcome::Version => {
            ui.data(format!("Dinit version {}.\n", crate::VERSION).as_bytes());
            return 0;
        }
        ParseOutcome::SignalList => {
            ui.data(super::format::signal_list().as_bytes());
            return 0;
        }
        ParseOutcome::BadSignal(word) => {
            ui.error(&cat(&[b"'", &word, b"' is not a valid signal name/number"]));
            return 1;
        }
        ParseOutcome::Error(message) => {
            ui.error(message.as_bytes());
            return 1;
        }
        ParseOutcome::Invalid => {
            ui.error(b"Invalid command line.");
            ui.error_line(b"Try 'dinitctl --help' for more information.");
            return 1;
        }
    };
    ui.set_quiet(a.quiet);
    if a.offline {
        if !matches!(a.command, CtlCommand::Enable | CtlCommand::Disable) {
            ui.error(b"offline mode (--offline/-o) not supported for this command");
            return 1;
        }
        return super::enable::offline(&a, ui);
    }
    let mut conn = match connect(&a, ui) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match dispatch(&mut conn, ui, &a) {
        Ok(code) => code,
        Err(e) => report_ctl_error(ui, &e),
    }
}

/// Opens the connection and negotiates the protocol version (CONTROL.md §3.1 steps 2-3). On
/// failure the message is printed and the exit status returned.
pub fn connect(a: &CtlArgs, ui: &mut Ui<'_>) -> Result<Connection, i32> {
    connect_with(&a.socket, ui, ConnectMessages::Dinitctl)
}

/// How a program words a failure to reach the socket; each of Dinit's programs has its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectMessages {
    /// `dinitctl: connecting to socket: PATH: ERROR`, and a hint when no user instance runs.
    Dinitctl,
    /// `dinit-monitor: connecting to socket PATH: ERROR`.
    Monitor,
    /// `connect: ERROR` (what `perror` prints), as the shutdown program reports it.
    Shutdown,
}

/// [`connect`] from the socket options alone (shared with `dinit-monitor`, the shutdown
/// program and `dinit-check --online`).
pub fn connect_with(
    socket: &super::socket::SocketOptions,
    ui: &mut Ui<'_>,
    messages: ConnectMessages,
) -> Result<Connection, i32> {
    let default_kind = InstanceKind::default_for_current_user();
    let (source, kind) = match resolve_socket(socket, &ProcessEnv, default_kind) {
        Ok(r) => r,
        Err(e) => {
            ui.error(e.message().as_bytes());
            return Err(1);
        }
    };
    let stream = match open_socket(&source, kind) {
        Ok(s) => s,
        Err(e) => {
            let path = e.path.as_os_str().as_bytes();
            let why = io_error_text(&e.error);
            match messages {
                ConnectMessages::Dinitctl => {
                    ui.error(&cat(&[
                        b"connecting to socket: ",
                        path,
                        b": ",
                        why.as_bytes(),
                    ]));
                    if e.suggest_user_instance {
                        ui.error(b"perhaps no user instance is running?");
                    }
                }
                ConnectMessages::Monitor => ui.error(&cat(&[
                    b"connecting to socket ",
                    path,
                    b": ",
                    why.as_bytes(),
                ])),
                ConnectMessages::Shutdown => ui.error_line(&cat(&[b"connect: ", why.as_bytes()])),
            }
            return Err(1);
        }
    };
    let mut conn = Connection::new(stream);
    match conn.query_version() {
        Ok(Some((min, current))) => match check_version(min, current) {
            Ok(()) => Ok(conn),
            Err(VersionError::DaemonTooOld) => {
                ui.error(b"daemon too old or protocol error");
                Err(1)
            }
            Err(VersionError::ClientTooOld) => {
                ui.error(b"client too old or protocol error");
                Err(1)
            }
        },
        Ok(None) => {
            ui.error(b"control socket read failure or protocol error");
            Err(1)
        }
        Err(e) => Err(report_ctl_error(ui, &e)),
    }
}

/// Prints the generic message for a failed exchange (CONTROL.md §3.1) and returns 1.
pub fn report_ctl_error(ui: &mut Ui<'_>, e: &CtlError) -> i32 {
    match e {
        CtlError::Write(err) => {
            ui.error(format!("control socket write error: {}", io_error_text(err)).as_bytes())
        }
        CtlError::Encode => ui.error(b"protocol error"),
        CtlError::Read(_) | CtlError::Eof | CtlError::Malformed => {
            ui.error(b"control socket read failure or protocol error")
        }
    }
    1
}

/// Prints what a failed FIND/LOAD means (CONTROL.md §3.2) and returns 1.
pub fn report_load_failure(ui: &mut Ui<'_>, reply: LoadReply) -> i32 {
    match reply {
        LoadReply::NoService => {
            ui.error(b"failed to find service description.");
            ui.error(b"check service description file exists / service name spelling.");
        }
        LoadReply::DescErr => {
            ui.error(b"error in service description.");
            ui.error(b"try 'dinit-check <service-name>' or check log for more information.");
        }
        LoadReply::LoadErr => {
            ui.error(b"error loading service (or dependency of service).");
            ui.error(b"try 'dinit-check <service-name>' or check log for more information.");
        }
        LoadReply::Record { .. } | LoadReply::Other(_) => ui.error(b"protocol error"),
    }
    1
}

/// Loads `name` (LOADSERVICE), printing the load failure if any.
pub fn load_or_report(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    name: &[u8],
) -> Result<Result<(Handle, ServiceState), i32>, CtlError> {
    Ok(match conn.load_service(name, false)? {
        LoadReply::Record { handle, state, .. } => Ok((handle, state)),
        other => Err(report_load_failure(ui, other)),
    })
}

fn dispatch(conn: &mut Connection, ui: &mut Ui<'_>, a: &CtlArgs) -> Result<i32, CtlError> {
    use CtlCommand as C;
    let needed = match a.command {
        C::Trigger | C::Untrigger | C::CatLog | C::Signal => 2,
        C::Enable | C::Disable => 3,
        _ => 1,
    };
    if conn.version() < needed {
        ui.error(b"daemon too old or protocol error");
        return Ok(1);
    }
    let name = a.operands.first().map(Vec::as_slice).unwrap_or_default();
    match a.command {
        C::Start | C::Wake | C::Stop | C::Restart | C::Release => start_stop(conn, ui, a, name),
        C::Status | C::IsStarted | C::IsFailed => status(conn, ui, a.command, name),
        C::List => list(conn, ui),
        C::Unpin => unpin(conn, ui, name),
        C::Unload => unload(conn, ui, name),
        C::Reload => reload(conn, ui, name),
        C::Shutdown => shutdown(conn, ui),
        C::AddDep | C::RmDep => add_rm_dep(conn, ui, a),
        C::Enable | C::Disable => super::enable::online(conn, ui, a),
        C::Trigger | C::Untrigger => trigger(conn, ui, a.command == C::Trigger, name),
        C::SetEnv | C::UnsetEnv => setenv(conn, ui, a),
        C::CatLog => catlog(conn, ui, a.clear, name),
        C::Signal => signal(conn, ui, a.signal.unwrap_or(0), name),
    }
}

/// What the events recorded for one handle while waiting for a reply say.
#[derive(Clone, Copy, Debug, Default)]
struct Recorded {
    started: bool,
    stopped: bool,
    /// The status that came with the first `STOPPED` event.
    stopped_status: Option<SvcStatus>,
    failed: Option<Option<SvcStatus>>,
}

impl Recorded {
    fn of(conn: &Connection, handle: Handle) -> Self {
        let mut r = Recorded::default();
        for ev in conn.events().iter().filter(|e| e.handle == handle) {
            match ev.kind() {
                Some(ServiceEvent::Started) => r.started = true,
                Some(ServiceEvent::Stopped) if !r.stopped => {
                    r.stopped = true;
                    r.stopped_status = ev.status;
                }
                Some(ServiceEvent::FailedStart) if r.failed.is_none() => r.failed = Some(ev.status),
                _ => {}
            }
        }
        r
    }
}

fn service_msg(name: &[u8], what: &[u8]) -> Vec<u8> {
    cat(&[b"Service '", name, b"' ", what])
}

/// Prints "failed to start" and the reason lines.
fn print_failed(ui: &mut Ui<'_>, name: &[u8], status: Option<&SvcStatus>) {
    ui.info(&service_msg(name, b"failed to start."));
    for line in failure_reason_lines(status) {
        ui.info(line.as_bytes());
    }
}

/// The phase an event wait is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// Waiting for the service to start (start, wake, the second half of restart, enable).
    Start,
    /// Waiting for it to stop (stop, release, the first half of restart).
    Stop,
}

/// Waits for the event that ends `phase` for `handle` (CONTROL.md §3.4 step 9), prints the result
/// and returns the exit status.
///
/// Unlike the stock client, a start also ends with a `STOPPED` event that says the service is
/// no longer wanted (target state STOPPED): it was stopped before it could start (say, a
/// start that had to wait for a stop in progress, or the start half of a restart, when a
/// dependency is then stopped with `--force`), the daemon sends no `STARTCANCELLED` for it,
/// and no start will follow. That is reported as a cancelled start instead of waiting forever.
pub fn wait_for(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    handle: Handle,
    name: &[u8],
    phase: Phase,
) -> i32 {
    wait_event(conn, ui, handle, name, phase).0
}

/// [`wait_for`], also returning the status that came with the event that ended the wait.
fn wait_event(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    handle: Handle,
    name: &[u8],
    phase: Phase,
) -> (i32, Option<SvcStatus>) {
    loop {
        let ev = match conn.recv(StatusFormat::Status10) {
            Ok(Incoming::Event(ev)) => ev,
            Ok(Incoming::Env(_) | Incoming::OtherInfo(_)) => continue,
            Ok(Incoming::Reply(_)) | Err(CtlError::Eof | CtlError::Malformed) => {
                ui.error(b"protocol error");
                return (1, None);
            }
            Err(CtlError::Read(e) | CtlError::Write(e)) => {
                ui.error(format!("read: {}", io_error_text(&e)).as_bytes());
                return (1, None);
            }
            Err(CtlError::Encode) => {
                ui.error(b"protocol error");
                return (1, None);
            }
        };
        if ev.handle != handle {
            continue;
        }
        let unwanted = ev.status.is_some_and(|s| s.target == ServiceState::Stopped);
        let code = match (phase, ev.kind()) {
            (Phase::Start, Some(ServiceEvent::Started)) => {
                ui.info(&service_msg(name, b"started."));
                0
            }
            (Phase::Start, Some(ServiceEvent::StartCancelled)) => {
                ui.info(&service_msg(name, b"start cancelled."));
                1
            }
            (Phase::Start, Some(ServiceEvent::Stopped)) if unwanted => {
                ui.info(&service_msg(name, b"start cancelled."));
                1
            }
            (Phase::Start, Some(ServiceEvent::FailedStart)) => {
                print_failed(ui, name, ev.status.as_ref());
                1
            }
            (Phase::Stop, Some(ServiceEvent::Stopped)) => {
                ui.info(&service_msg(name, b"stopped."));
                0
            }
            (Phase::Stop, Some(ServiceEvent::StopCancelled)) => {
                ui.info(&service_msg(name, b"stop cancelled."));
                1
            }
            _ => continue,
        };
        return (code, ev.status);
    }
}

/// The pre-start check (CONTROL.md §3.4 step 2): warns if the description file changed since the
/// service was loaded. `Some(exit status)` if the command must end here.
fn check_mtime(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    handle: Handle,
    name: &[u8],
) -> Result<Option<i32>, CtlError> {
    let Some(file) = conn.service_file(handle, name)? else {
        ui.error(b"protocol error");
        return Ok(Some(1));
    };
    let Ok(meta) = std::fs::metadata(&file) else {
        return Ok(None);
    };
    let Some(st) = conn.status_of(&Request::ServiceStatus6 { handle })? else {
        ui.error(b"protocol error.");
        return Ok(Some(1));
    };
    if st.mtime != Some(Timespec::new(meta.mtime(), meta.mtime_nsec())) {
        ui.error(&cat(&[
            b"warning: service description may have changed; use 'dinitctl reload ",
            name,
            b"' to apply changes.",
        ]));
    }
    Ok(None)
}

/// start, wake, stop, restart, release (CONTROL.md §3.4).
fn start_stop(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    a: &CtlArgs,
    name: &[u8],
) -> Result<i32, CtlError> {
    use CtlCommand as C;
    let cmd = a.command;
    let ignore_unstarted = a.ignore_unstarted && matches!(cmd, C::Stop | C::Restart | C::Release);
    let (handle, state) = match conn.load_service(name, false)? {
        LoadReply::Record { handle, state, .. } => (handle, state),
        LoadReply::NoService | LoadReply::DescErr | LoadReply::LoadErr if ignore_unstarted => {
            return Ok(0)
        }
        other => return Ok(report_load_failure(ui, other)),
    };
    if conn.version() >= 6 && matches!(cmd, C::Start | C::Wake | C::Restart) {
        if let Some(code) = check_mtime(conn, ui, handle, name)? {
            return Ok(code);
        }
    }
    let mut flags = StartFlags::NONE;
    if a.pin {
        flags = flags.with(StartFlags::PIN);
    }
    if matches!(cmd, C::Stop | C::Restart) && !a.force {
        flags = flags.with(StartFlags::GENTLE);
    }
    if cmd == C::Restart {
        flags = flags.with(StartFlags::RESTART).with(StartFlags::PRE_ACK);
    }
    let request = match cmd {
        C::Start => Request::StartService { flags, handle },
        C::Wake => Request::WakeService { flags, handle },
        C::Release => Request::ReleaseService { flags, handle },
        _ => Request::StopService { flags, handle },
    };
    let stopping = matches!(cmd, C::Stop | C::Release);
    conn.clear_events();
    conn.send(&request)?;
    let mut reply = conn.recv_reply(StatusFormat::Status10)?;
    while matches!(reply.parse(), Ok(Reply::PreAck)) {
        conn.clear_events();
        reply = conn.recv_reply(StatusFormat::Status10)?;
    }
    match reply.parse() {
        Ok(Reply::Ack) => {}
        Ok(Reply::AlreadySs) => {
            let wanted = if stopping {
                ServiceState::Stopped
            } else {
                ServiceState::Started
            };
            let text: &[u8] = match (cmd, state == wanted, stopping) {
                (C::Restart, _, _) => b"Service restarted.",
                (_, true, false) => b"Service (already) started.",
                (_, true, true) => b"Service (already) stopped.",
                (_, false, false) => b"Service started.",
                (_, false, true) => b"Service stopped.",
            };
            ui.info(text);
            return Ok(0);
        }
        Ok(Reply::PinnedStarted) => {
            ui.error(&cat(&[
                b"cannot stop service '",
                name,
                b"' as it is pinned started",
            ]));
            return Ok(1);
        }
        Ok(Reply::PinnedStopped) => {
            ui.error(&cat(&[
                b"cannot start service '",
                name,
                b"' as it is pinned stopped",
            ]));
            return Ok(1);
        }
        Ok(Reply::Dependents { handles }) if matches!(cmd, C::Stop | C::Restart) => {
            let handles: Vec<Handle> = handles.iter().collect();
            return list_dependents(conn, ui, name, cmd == C::Stop, &handles);
        }
        Ok(Reply::Nak) if cmd == C::Restart => {
            if a.ignore_unstarted {
                ui.info(&service_msg(name, b"is not currently started."));
                return Ok(0);
            }
            ui.error(b"cannot restart service; service not started.");
            return Ok(1);
        }
        Ok(Reply::Nak) if cmd == C::Wake => {
            ui.error(b"service has no active dependents, cannot wake.");
            return Ok(1);
        }
        Ok(Reply::ShuttingDown) => {
            ui.error(b"cannot start/restart/wake service, shutdown is in progress.");
            return Ok(1);
        }
        _ => {
            ui.error(b"protocol error.");
            return Ok(1);
        }
    }
    if a.no_wait {
        let what: &[u8] = if stopping { b"stop" } else { b"start" };
        ui.info(&cat(&[
            b"Issued ",
            what,
            b" command successfully for service '",
            name,
            b"'.",
        ]));
        return Ok(0);
    }
    let rec = Recorded::of(conn, handle);
    if stopping {
        if rec.stopped {
            ui.info(&service_msg(name, b"stopped."));
            return Ok(0);
        }
        if cmd == C::Release {
            return release_outcome(conn, ui, handle, name);
        }
        return Ok(wait_for(conn, ui, handle, name, Phase::Stop));
    }
    if cmd == C::Restart {
        let stopped = if rec.stopped {
            ui.info(&service_msg(name, b"stopped."));
            rec.stopped_status
        } else {
            let (code, status) = wait_event(conn, ui, handle, name, Phase::Stop);
            if code != 0 {
                return Ok(code);
            }
            status
        };
        // Stopped, and no longer wanted: the start half will not come (see `wait_for`).
        if !rec.started
            && rec.failed.is_none()
            && stopped.is_some_and(|s| s.target == ServiceState::Stopped)
        {
            ui.info(&service_msg(name, b"start cancelled."));
            return Ok(1);
        }
    }
    if rec.started {
        ui.info(&service_msg(name, b"started."));
        return Ok(0);
    }
    if let Some(status) = rec.failed {
        // As the stock client, which keeps the stop reason and exit data of an early
        // FAILEDSTART but not the exec stage (CONTROL.md §3.4 step 8).
        let status = status.map(|mut s| {
            s.exec_stage = 0;
            s
        });
        print_failed(ui, name, status.as_ref());
        return Ok(1);
    }
    Ok(wait_for(conn, ui, handle, name, Phase::Start))
}

/// After `release` was acknowledged: if the service stays required by active dependents, or
/// stays started because it is pinned, it will not stop (not before something else happens),
/// so say so rather than wait indefinitely (PROTOCOL.md §10 item 4); otherwise wait.
fn release_outcome(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    handle: Handle,
    name: &[u8],
) -> Result<i32, CtlError> {
    let request = conn.status_request(handle);
    let status = conn.status_of(&request)?;
    if Recorded::of(conn, handle).stopped {
        ui.info(&service_msg(name, b"stopped."));
        return Ok(0);
    }
    match status {
        Some(s) if s.state == ServiceState::Stopped => {
            ui.info(&service_msg(name, b"stopped."));
            Ok(0)
        }
        Some(s) if s.target == ServiceState::Started => {
            ui.info(&service_msg(
                name,
                b"released; it remains active as other services require it.",
            ));
            Ok(0)
        }
        // Still started though nothing wants it: a service being stopped is STOPPING at once,
        // so this one is pinned started, and stops only once unpinned.
        Some(s) if s.state == ServiceState::Started => {
            ui.info(&service_msg(
                name,
                b"released; it remains started as it is pinned.",
            ));
            Ok(0)
        }
        Some(_) => Ok(wait_for(conn, ui, handle, name, Phase::Stop)),
        None => {
            ui.error(b"protocol error.");
            Ok(1)
        }
    }
}

/// The `DEPENDENTS` refusal of a gentle stop or restart (CONTROL.md §3.4 step 5).
fn list_dependents(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    name: &[u8],
    is_stop: bool,
    handles: &[Handle],
) -> Result<i32, CtlError> {
    ui.error(&cat(&[
        b"cannot stop service '",
        name,
        b"' due to the following dependents:",
    ]));
    if is_stop {
        ui.error_line(
            b"(only direct dependents are listed. Exercise caution before using '--force' !!)",
        );
    }
    let mut line = vec![b' '];
    for &h in handles {
        match conn.service_name(h)? {
            Some(dep) => {
                line.push(b' ');
                line.extend_from_slice(&dep);
            }
            None => {
                ui.error(b"protocol error.");
                return Ok(1);
            }
        }
    }
    ui.error_line(&line);
    Ok(1)
}

/// status, is-started, is-failed (CONTROL.md §3.5, §4.2, §4.3).
fn status(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    cmd: CtlCommand,
    name: &[u8],
) -> Result<i32, CtlError> {
    let is_status = cmd == CtlCommand::Status;
    let handle = match conn.load_service(name, true)? {
        LoadReply::Record { handle, .. } => handle,
        LoadReply::NoService => {
            if is_status {
                ui.error(b"service not loaded.");
            }
            return Ok(1);
        }
        other => {
            if is_status {
                report_load_failure(ui, other);
            }
            return Ok(1);
        }
    };
    // Protocol 1 and 2 cannot tell where the description is; the report then has no File line.
    let file = if conn.version() >= 3 {
        match conn.service_file(handle, name)? {
            Some(f) => Some(f),
            None => {
                ui.error(b"protocol error");
                return Ok(1);
            }
        }
    } else {
        None
    };
    let request = conn.status_request(handle);
    let Some(st) = conn.status_of(&request)? else {
        ui.error(b"protocol error.");
        return Ok(1);
    };
    let modified = match (&file, st.mtime) {
        (Some(file), Some(mtime)) => std::fs::metadata(file)
            .map(|m| Timespec::new(m.mtime(), m.mtime_nsec()) != mtime)
            .unwrap_or(false),
        _ => false,
    };
    match cmd {
        CtlCommand::IsStarted | CtlCommand::IsFailed => {
            if !ui.quiet() {
                ui.data(cat(&[st.state.name().as_bytes(), b"\n"]).as_slice());
            }
            let yes = if cmd == CtlCommand::IsStarted {
                st.state == ServiceState::Started
            } else {
                st.is_failed()
            };
            Ok(if yes { 0 } else { 1 })
        }
        _ => {
            let file_bytes = file.as_deref().map(|f: &Path| f.as_os_str().as_bytes());
            ui.data(&status_report(name, file_bytes, modified, &st));
            Ok(0)
        }
    }
}

/// list (CONTROL.md §3.6).
fn list(conn: &mut Connection, ui: &mut Ui<'_>) -> Result<i32, CtlError> {
    let request = if conn.version() >= 5 {
        Request::ListServices5
    } else {
        Request::ListServices
    };
    let format = request
        .command()
        .reply_status_format()
        .unwrap_or(StatusFormat::Status10);
    conn.send(&request)?;
    // One write for the whole list rather than a system call per line (5000 services: 5000
    // writes, most of the command's time).
    let mut lines = Vec::new();
    loop {
        let reply = match conn.recv_reply(format) {
            Ok(r) => r,
            Err(e) => {
                ui.data(&lines);
                return Err(e);
            }
        };
        match (reply.parse(), reply.status()) {
            (Ok(Reply::SvcInfo { name, .. }), Some(st)) => {
                lines.extend_from_slice(&list_line(name, &st));
            }
            (Ok(Reply::ListDone), _) => {
                ui.data(&lines);
                return Ok(0);
            }
            (Err(e), _) => {
                ui.data(&lines);
                return Err(e);
            }
            _ => {
                ui.data(&lines);
                ui.error(b"control socket protocol error");
                return Ok(1);
            }
        }
    }
}

/// unpin (CONTROL.md §3.7).
fn unpin(conn: &mut Connection, ui: &mut Ui<'_>, name: &[u8]) -> Result<i32, CtlError> {
    let handle = match load_or_report(conn, ui, name)? {
        Ok((h, _)) => h,
        Err(code) => return Ok(code),
    };
    let reply = conn.request(&Request::UnpinService { handle })?;
    if !matches!(reply.parse(), Ok(Reply::Ack)) {
        ui.error(b"protocol error.");
        return Ok(1);
    }
    ui.info(&service_msg(name, b"unpinned."));
    Ok(0)
}

/// unload (CONTROL.md §3.8).
fn unload(conn: &mut Connection, ui: &mut Ui<'_>, name: &[u8]) -> Result<i32, CtlError> {
    let handle = match conn.load_service(name, true)? {
        LoadReply::Record { handle, .. } => handle,
        LoadReply::NoService => {
            ui.error(b"service not loaded.");
            return Ok(1);
        }
        other => return Ok(report_load_failure(ui, other)),
    };
    let reply = conn.request(&Request::UnloadService { handle })?;
    match reply.parse() {
        Ok(Reply::Ack) => {
            conn.forget_service(handle);
            ui.info(&service_msg(name, b"unloaded."));
            Ok(0)
        }
        Ok(Reply::Nak) => {
            ui.error(b"could not unload service; service not stopped, or is a dependency of another service.");
            Ok(1)
        }
        _ => {
            ui.error(b"protocol error.");
            Ok(1)
        }
    }
}

/// reload (CONTROL.md §3.9).
fn reload(conn: &mut Connection, ui: &mut Ui<'_>, name: &[u8]) -> Result<i32, CtlError> {
    let handle = match conn.load_service(name, true)? {
        LoadReply::Record { handle, .. } => handle,
        LoadReply::NoService => {
            // Not loaded: loading it is as good as reloading it.
            return Ok(match load_or_report(conn, ui, name)? {
                Ok(_) => {
                    ui.info(&service_msg(name, b"reloaded."));
                    0
                }
                Err(code) => code,
            });
        }
        other => return Ok(report_load_failure(ui, other)),
    };
    let reply = conn.request(&Request::ReloadService { handle })?;
    conn.forget_service(handle);
    match reply.parse() {
        Ok(Reply::Ack) => {
            ui.info(&service_msg(name, b"reloaded."));
            Ok(0)
        }
        Ok(Reply::Nak) => {
            ui.error(b"could not reload service; service in wrong state, incompatible change, or bad service description.");
            Ok(1)
        }
        _ => {
            ui.error(b"protocol error.");
            Ok(1)
        }
    }
}

/// shutdown (CONTROL.md §3.10): always HALT; waits for the daemon to close the connection.
fn shutdown(conn: &mut Connection, ui: &mut Ui<'_>) -> Result<i32, CtlError> {
    let reply = conn.request(&Request::Shutdown {
        kind: ShutdownKind::Halt,
    })?;
    if !matches!(reply.parse(), Ok(Reply::Ack)) {
        ui.error(b"control socket protocol error");
        return Ok(1);
    }
    ui.info(b"Shutting down dinit...");
    ui.flush();
    // Anything but an information packet (normally the end of the connection) ends the wait.
    while let Ok(Incoming::Event(_) | Incoming::Env(_) | Incoming::OtherInfo(_)) =
        conn.recv(StatusFormat::Status10)
    {}
    ui.info(b"Connection closed.");
    Ok(0)
}

/// add-dep, rm-dep (CONTROL.md §3.11).
fn add_rm_dep(conn: &mut Connection, ui: &mut Ui<'_>, a: &CtlArgs) -> Result<i32, CtlError> {
    let (Some(from), Some(to), Some(kind)) = (a.operands.first(), a.operands.get(1), a.dep_kind)
    else {
        return Ok(1);
    };
    let from_h = match load_or_report(conn, ui, from)? {
        Ok((h, _)) => h,
        Err(code) => return Ok(code),
    };
    let to_h = match load_or_report(conn, ui, to)? {
        Ok((h, _)) => h,
        Err(code) => return Ok(code),
    };
    let add = a.command == CtlCommand::AddDep;
    let request = if add {
        Request::AddDep {
            kind,
            from: from_h,
            to: to_h,
        }
    } else {
        Request::RemDep {
            kind,
            from: from_h,
            to: to_h,
        }
    };
    let reply = conn.request(&request)?;
    match reply.parse() {
        Ok(Reply::Ack) => {
            let what: &[u8] = if add { b"' added" } else { b"' removed" };
            ui.info(&cat(&[b"Service '", from, b"': dependency '", to, what]));
            Ok(0)
        }
        Ok(Reply::Nak) if add => {
            ui.error(b"could not add dependency: circular dependency or wrong state");
            Ok(1)
        }
        Ok(Reply::Nak) => {
            ui.error(b"no such dependency to remove");
            Ok(1)
        }
        _ => {
            ui.error(b"control socket protocol error");
            Ok(1)
        }
    }
}

/// trigger, untrigger (CONTROL.md §3.14).
fn trigger(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    value: bool,
    name: &[u8],
) -> Result<i32, CtlError> {
    let handle = match load_or_report(conn, ui, name)? {
        Ok((h, _)) => h,
        Err(code) => return Ok(code),
    };
    let reply = conn.request(&Request::SetTrigger { handle, value })?;
    match reply.parse() {
        Ok(Reply::Ack) => Ok(0),
        Ok(Reply::Nak) => {
            ui.error(b"cannot trigger a service that is not of 'triggered' type.");
            Ok(1)
        }
        _ => {
            ui.error(b"protocol error.");
            Ok(1)
        }
    }
}

/// setenv, unsetenv (CONTROL.md §3.13): one `SETENV` per argument, in order.
fn setenv(conn: &mut Connection, ui: &mut Ui<'_>, a: &CtlArgs) -> Result<i32, CtlError> {
    let set = a.command == CtlCommand::SetEnv;
    for arg in &a.operands {
        let eq = arg.iter().position(|&b| b == b'=');
        let var_name = eq.and_then(|i| arg.get(..i)).unwrap_or(arg);
        let var = match (set, eq) {
            (true, Some(_)) => arg.clone(),
            (true, None) => {
                let value = std::env::var_os(std::ffi::OsStr::from_bytes(arg)).unwrap_or_default();
                cat(&[arg, b"=", value.as_bytes()])
            }
            (false, None) => arg.clone(),
            (false, Some(_)) => {
                ui.error(&cat(&[
                    b"environment variable '",
                    arg,
                    b"' must not contain the '=' sign.",
                ]));
                return Ok(1);
            }
        };
        if var.len() > dinit_core::proto::MAX_NAME_LEN {
            ui.error(&cat(&[b"environment variable '", var_name, b"' too long."]));
            return Ok(1);
        }
        if var.is_empty() {
            // An empty SETENV would stall the daemon (it waits for a fourth byte).
            ui.error(b"failed to export environment.");
            return Ok(1);
        }
        conn.send_string_request(dinit_core::proto::Command::SetEnv as u8, &var)?;
        let reply = conn.recv_reply(StatusFormat::Status10)?;
        match reply.parse() {
            Ok(Reply::Ack) => {}
            Ok(Reply::BadReq) => {
                ui.error(b"failed to export environment.");
                return Ok(1);
            }
            _ => {
                ui.error(b"protocol error");
                return Ok(1);
            }
        }
    }
    Ok(0)
}

/// catlog (CONTROL.md §3.15).
fn catlog(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    clear: bool,
    name: &[u8],
) -> Result<i32, CtlError> {
    let handle = match load_or_report(conn, ui, name)? {
        Ok((h, _)) => h,
        Err(code) => return Ok(code),
    };
    let reply = conn.request(&Request::CatLog { clear, handle })?;
    match reply.parse() {
        Ok(Reply::ServiceLog { log }) => {
            ui.data(log);
            if log.last().is_some_and(|&b| b != b'\n') {
                ui.data(b"\n(last line is truncated or incomplete)\n");
            }
            Ok(0)
        }
        Ok(Reply::Nak) => {
            ui.error(b"cannot cat log for service not configured to buffer output.");
            Ok(1)
        }
        _ => {
            ui.error(b"protocol error.");
            Ok(1)
        }
    }
}

/// signal (CONTROL.md §3.16).
fn signal(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    signal: i32,
    name: &[u8],
) -> Result<i32, CtlError> {
    let handle = match load_or_report(conn, ui, name)? {
        Ok((h, _)) => h,
        Err(code) => return Ok(code),
    };
    let reply = conn.request(&Request::Signal { signal, handle })?;
    let msg: &[u8] = match reply.parse() {
        Ok(Reply::Ack) => return Ok(0),
        Ok(Reply::SignalNoPid) => b"could not get valid PID of service; service is not process-based or is in wrong state.",
        Ok(Reply::SignalBadSig) => b"provided signal was invalid.",
        Ok(Reply::SignalKillErr) => b"failed sending signal to service.",
        _ => b"protocol error.",
    };
    ui.error(msg);
    Ok(1)
}
