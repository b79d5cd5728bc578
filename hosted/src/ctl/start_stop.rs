//! `start`, `wake`, `stop`, `restart`, `release` (CONTROL.md §3.4), and the wait for a service's
//! start or stop that they and `enable` end with.
//!
//! One deliberate difference from the stock client (PROTOCOL.md §10 item 4): when the outcome of a
//! start/stop command is already known from events that arrived before the daemon's reply,
//! the command finishes instead of waiting for an event that will not come; and `release` of
//! a service that stays required by its dependents reports that instead of waiting forever
//! (it asks for the service's status after the acknowledgement to find out).

use super::args::{CtlArgs, CtlCommand};
use super::commands::{fail, report_load_failure, service_msg, Exit, Outcome};
use super::conn::{Connection, CtlError, LoadReply};
use super::format::{cat, failure_reason_lines, io_error_text};
use super::packet::{Event, Incoming, Reply};
use super::status::SvcStatus;
use super::ui::Ui;
use dinit_core::proto::{Handle, Request, StartFlags, StatusFormat, Timespec};
use dinit_core::{ServiceEvent, ServiceState};
use std::os::unix::fs::MetadataExt;

use CtlCommand as C;

/// start, wake, stop, restart, release (CONTROL.md §3.4).
pub fn start_stop(conn: &mut Connection, ui: &mut Ui<'_>, a: &CtlArgs, name: &[u8]) -> Outcome {
    let (handle, state) = load_target(conn, ui, a, name)?;
    if conn.version() >= 6 && matches!(a.command, C::Start | C::Wake | C::Restart) {
        check_mtime(conn, ui, handle, name)?;
    }
    let reply = send_start_stop(conn, &start_stop_request(a, handle))?;
    judge_reply(conn, ui, a, name, state, reply)?;
    if a.no_wait {
        let what: &[u8] = if is_stopping(a.command) {
            b"stop"
        } else {
            b"start"
        };
        ui.info(&cat(&[
            b"Issued ",
            what,
            b" command successfully for service '",
            name,
            b"'.",
        ]));
        return Ok(0);
    }
    await_outcome(conn, ui, a.command, handle, name)
}

/// `stop` and `release` want the service stopped; the others want it started.
fn is_stopping(cmd: CtlCommand) -> bool {
    matches!(cmd, C::Stop | C::Release)
}

/// Step 1: `LOADSERVICE`. With `--ignore-unstarted` (stop, restart, release) a failed load
/// ends the command silently with status 0.
fn load_target(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    a: &CtlArgs,
    name: &[u8],
) -> Result<(Handle, ServiceState), Exit> {
    let ignore_unstarted =
        a.ignore_unstarted && matches!(a.command, C::Stop | C::Restart | C::Release);
    match conn.load_service(name, false)? {
        LoadReply::Record { handle, state, .. } => Ok((handle, state)),
        LoadReply::NoService | LoadReply::DescErr | LoadReply::LoadErr if ignore_unstarted => {
            Err(Exit::Code(0))
        }
        other => Err(Exit::Code(report_load_failure(ui, other))),
    }
}

/// Step 2: warns if the description file changed since the service was loaded.
fn check_mtime(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    handle: Handle,
    name: &[u8],
) -> Result<(), Exit> {
    let Some(file) = conn.service_file(handle, name)? else {
        return Err(fail(ui, b"protocol error"));
    };
    let Ok(meta) = std::fs::metadata(&file) else {
        return Ok(());
    };
    let Some(st) = conn.status_of(&Request::ServiceStatus6 { handle })? else {
        return Err(fail(ui, b"protocol error."));
    };
    if st.mtime != Some(Timespec::new(meta.mtime(), meta.mtime_nsec())) {
        ui.error(&cat(&[
            b"warning: service description may have changed; use 'dinitctl reload ",
            name,
            b"' to apply changes.",
        ]));
    }
    Ok(())
}

/// Step 3: the request and its flags.
fn start_stop_request(a: &CtlArgs, handle: Handle) -> Request<'static> {
    let cmd = a.command;
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
    match cmd {
        C::Start => Request::StartService { flags, handle },
        C::Wake => Request::WakeService { flags, handle },
        C::Release => Request::ReleaseService { flags, handle },
        _ => Request::StopService { flags, handle },
    }
}

/// Step 4: sends the request and waits for its reply, noting the events that come first; a
/// `PREACK` clears what was noted.
fn send_start_stop(conn: &mut Connection, request: &Request<'_>) -> Result<Reply, CtlError> {
    conn.clear_events();
    conn.send(request)?;
    loop {
        match conn.recv_reply(StatusFormat::Status10)? {
            Reply::PreAck => conn.clear_events(),
            reply => return Ok(reply),
        }
    }
}

/// Step 5: every reply but `ACK` ends the command, with its message.
fn judge_reply(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    a: &CtlArgs,
    name: &[u8],
    state: ServiceState,
    reply: Reply,
) -> Result<(), Exit> {
    let cmd = a.command;
    match reply {
        Reply::Ack => return Ok(()),
        Reply::AlreadySs => {
            ui.info(already_text(cmd, state));
            return Err(Exit::Code(0));
        }
        Reply::PinnedStarted => ui.error(&cat(&[
            b"cannot stop service '",
            name,
            b"' as it is pinned started",
        ])),
        Reply::PinnedStopped => ui.error(&cat(&[
            b"cannot start service '",
            name,
            b"' as it is pinned stopped",
        ])),
        Reply::Dependents(handles) if matches!(cmd, C::Stop | C::Restart) => {
            list_dependents(conn, ui, name, cmd == C::Stop, &handles)?;
        }
        Reply::Nak if cmd == C::Restart && a.ignore_unstarted => {
            ui.info(&service_msg(name, b"is not currently started."));
            return Err(Exit::Code(0));
        }
        Reply::Nak if cmd == C::Restart => {
            ui.error(b"cannot restart service; service not started.");
        }
        Reply::Nak if cmd == C::Wake => {
            ui.error(b"service has no active dependents, cannot wake.");
        }
        Reply::ShuttingDown => {
            ui.error(b"cannot start/restart/wake service, shutdown is in progress.");
        }
        _ => ui.error(b"protocol error."),
    }
    Err(Exit::Code(1))
}

/// What `ALREADYSS` prints: `state` is the state the load reported.
fn already_text(cmd: CtlCommand, state: ServiceState) -> &'static [u8] {
    let stopping = is_stopping(cmd);
    let wanted = if stopping {
        ServiceState::Stopped
    } else {
        ServiceState::Started
    };
    match (cmd, state == wanted, stopping) {
        (C::Restart, _, _) => b"Service restarted.",
        (_, true, false) => b"Service (already) started.",
        (_, true, true) => b"Service (already) stopped.",
        (_, false, false) => b"Service started.",
        (_, false, true) => b"Service stopped.",
    }
}

/// The `DEPENDENTS` refusal of a gentle stop or restart (step 5): the names of the dependents,
/// asked for one by one.
fn list_dependents(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    name: &[u8],
    is_stop: bool,
    handles: &[Handle],
) -> Result<(), Exit> {
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
        let Some(dep) = conn.service_name(h)? else {
            return Err(fail(ui, b"protocol error."));
        };
        line.push(b' ');
        line.extend_from_slice(&dep);
    }
    ui.error_line(&line);
    Ok(())
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

/// Steps 7 to 9, after the `ACK`: the outcome the events noted meanwhile tell, or the wait for
/// it.
fn await_outcome(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    cmd: CtlCommand,
    handle: Handle,
    name: &[u8],
) -> Outcome {
    let rec = Recorded::of(conn, handle);
    if is_stopping(cmd) {
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
        restart_stop_half(conn, ui, handle, name, &rec)?;
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

/// Step 7: the stop half of a restart, noted or waited for. A service stopped and no longer
/// wanted ends the command: its start half will not come (see [`wait_for`]).
fn restart_stop_half(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    handle: Handle,
    name: &[u8],
    rec: &Recorded,
) -> Result<(), Exit> {
    let stopped = if rec.stopped {
        ui.info(&service_msg(name, b"stopped."));
        rec.stopped_status
    } else {
        let (code, status) = wait_event(conn, ui, handle, name, Phase::Stop);
        if code != 0 {
            return Err(Exit::Code(code));
        }
        status
    };
    if !rec.started
        && rec.failed.is_none()
        && stopped.is_some_and(|s| s.target == ServiceState::Stopped)
    {
        ui.info(&service_msg(name, b"start cancelled."));
        return Err(Exit::Code(1));
    }
    Ok(())
}

/// After `release` was acknowledged: if the service stays required by active dependents, or
/// stays started because it is pinned, it will not stop (not before something else happens),
/// so say so rather than wait indefinitely (PROTOCOL.md §10 item 4); otherwise wait.
fn release_outcome(conn: &mut Connection, ui: &mut Ui<'_>, handle: Handle, name: &[u8]) -> Outcome {
    let request = conn.status_request(handle);
    let status = conn.status_of(&request)?;
    if Recorded::of(conn, handle).stopped {
        ui.info(&service_msg(name, b"stopped."));
        return Ok(0);
    }
    let Some(s) = status else {
        return Err(fail(ui, b"protocol error."));
    };
    let what: &[u8] = if s.state == ServiceState::Stopped {
        b"stopped."
    } else if s.target == ServiceState::Started {
        b"released; it remains active as other services require it."
    } else if s.state == ServiceState::Started {
        // Still started though nothing wants it: a service being stopped is STOPPING at
        // once, so this one is pinned started, and stops only once unpinned.
        b"released; it remains started as it is pinned."
    } else {
        return Ok(wait_for(conn, ui, handle, name, Phase::Stop));
    };
    ui.info(&service_msg(name, what));
    Ok(0)
}

/// Prints "failed to start" and the reason lines.
pub fn print_failed(ui: &mut Ui<'_>, name: &[u8], status: Option<&SvcStatus>) {
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
            Ok(Incoming::Reply(_))
            | Err(CtlError::Eof | CtlError::Malformed(_) | CtlError::Encode) => {
                ui.error(b"protocol error");
                return (1, None);
            }
            Err(CtlError::Read(e) | CtlError::Write(e)) => {
                ui.error(format!("read: {}", io_error_text(&e)).as_bytes());
                return (1, None);
            }
        };
        if ev.handle != handle {
            continue;
        }
        if let Some(code) = event_outcome(ui, name, phase, &ev) {
            return (code, ev.status);
        }
    }
}

/// The exit status an event for the waited-for handle ends `phase` with (its line printed), or
/// `None` if it does not end it.
fn event_outcome(ui: &mut Ui<'_>, name: &[u8], phase: Phase, ev: &Event) -> Option<i32> {
    let unwanted = ev.status.is_some_and(|s| s.target == ServiceState::Stopped);
    let (what, code): (&[u8], i32) = match (phase, ev.kind()?) {
        (Phase::Start, ServiceEvent::Started) => (b"started.", 0),
        (Phase::Start, ServiceEvent::StartCancelled) => (b"start cancelled.", 1),
        (Phase::Start, ServiceEvent::Stopped) if unwanted => (b"start cancelled.", 1),
        (Phase::Start, ServiceEvent::FailedStart) => {
            print_failed(ui, name, ev.status.as_ref());
            return Some(1);
        }
        (Phase::Stop, ServiceEvent::Stopped) => (b"stopped.", 0),
        (Phase::Stop, ServiceEvent::StopCancelled) => (b"stop cancelled.", 1),
        _ => return None,
    };
    ui.info(&service_msg(name, what));
    Some(code)
}
