//! `dinitctl`: each command's request sequence (CONTROL.md §3), its output (CONTROL.md §4) and its
//! exit status (CONTROL.md §4.4). [`run`] is the whole program; the binary only passes it the
//! arguments and the standard streams. The start/stop family is in [`super::start_stop`],
//! `enable` and `disable` in [`super::enable`].
//!
//! Each command returns an [`Outcome`]: its exit status, or an [`Exit`] when it ends early
//! (a refusal whose message is printed, or a failed exchange that [`run`] reports), so that
//! every step of a sequence is one `?`.

use super::args::{parse_args, CtlArgs, CtlCommand, ParseOutcome, USAGE};
use super::conn::{check_version, Connection, CtlError, LoadReply, VersionError};
use super::format::{cat, io_error_text, list_line, status_report};
use super::packet::{Incoming, Reply};
use super::socket::{open_socket, resolve_socket};
use super::start_stop::start_stop;
use super::status::SvcStatus;
use super::ui::Ui;
use crate::paths::{InstanceKind, ProcessEnv};
use dinit_core::proto::{Handle, Malformed, Request, StatusFormat, Timespec};
use dinit_core::{ServiceState, ShutdownKind};
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
        other => return without_command(other, ui),
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
        Ok(code) | Err(Exit::Code(code)) => code,
        Err(Exit::Ctl(e)) => report_ctl_error(ui, &e),
    }
}

/// What a command line that runs no command prints (help, version, the signal table, or
/// why it is refused); the exit status.
fn without_command(outcome: ParseOutcome, ui: &mut Ui<'_>) -> i32 {
    match outcome {
        ParseOutcome::Run(_) => 0,
        ParseOutcome::Help => {
            ui.data(USAGE.as_bytes());
            0
        }
        ParseOutcome::Version => {
            ui.data(format!("Dinit version {}.\n", crate::VERSION).as_bytes());
            0
        }
        ParseOutcome::SignalList => {
            ui.data(super::format::signal_list().as_bytes());
            0
        }
        ParseOutcome::BadSignal(word) => {
            ui.error(&cat(&[b"'", &word, b"' is not a valid signal name/number"]));
            1
        }
        ParseOutcome::Error(message) => {
            ui.error(message.as_bytes());
            1
        }
        ParseOutcome::Invalid => {
            ui.error(b"Invalid command line.");
            ui.error_line(b"Try 'dinitctl --help' for more information.");
            1
        }
    }
}

/// How a command ends before its last step.
#[derive(Debug)]
pub enum Exit {
    /// With this exit status, its message (if any) printed.
    Code(i32),
    /// A failed exchange with the daemon, which [`run`] reports (CONTROL.md §3.1).
    Ctl(CtlError),
}

impl From<CtlError> for Exit {
    fn from(e: CtlError) -> Self {
        Exit::Ctl(e)
    }
}

/// What a command returns: its exit status, or how it ended early.
pub type Outcome = Result<i32, Exit>;

/// Prints `message` as an error; the command ends with status 1.
pub fn fail(ui: &mut Ui<'_>, message: &[u8]) -> Exit {
    ui.error(message);
    Exit::Code(1)
}

/// `Service 'NAME' WHAT`.
pub fn service_msg(name: &[u8], what: &[u8]) -> Vec<u8> {
    cat(&[b"Service '", name, b"' ", what])
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
        CtlError::Read(_) | CtlError::Eof | CtlError::Malformed(_) => {
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
        LoadReply::Record { .. } | LoadReply::Other => ui.error(b"protocol error"),
    }
    1
}

/// Loads `name` (`LOADSERVICE`): its handle and state, or the end of the command once the
/// failure is printed (CONTROL.md §3.2).
pub fn load_or_report(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    name: &[u8],
) -> Result<(Handle, ServiceState), Exit> {
    match conn.load_service(name, false)? {
        LoadReply::Record { handle, state, .. } => Ok((handle, state)),
        other => Err(Exit::Code(report_load_failure(ui, other))),
    }
}

/// Finds `name` (`FINDSERVICE`), as `unload` does: `NOSERVICE` is "service not loaded.",
/// the other failures as a load's.
fn find_or_report(conn: &mut Connection, ui: &mut Ui<'_>, name: &[u8]) -> Result<Handle, Exit> {
    match conn.load_service(name, true)? {
        LoadReply::Record { handle, .. } => Ok(handle),
        LoadReply::NoService => Err(fail(ui, b"service not loaded.")),
        other => Err(Exit::Code(report_load_failure(ui, other))),
    }
}

/// One line per command.
fn dispatch(conn: &mut Connection, ui: &mut Ui<'_>, a: &CtlArgs) -> Outcome {
    use CtlCommand as C;
    let needed = match a.command {
        C::Trigger | C::Untrigger | C::CatLog | C::Signal => 2,
        C::Enable | C::Disable => 3,
        _ => 1,
    };
    if conn.version() < needed {
        return Err(fail(ui, b"daemon too old or protocol error"));
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

/// status, is-started, is-failed (CONTROL.md §3.5, §4.2, §4.3).
fn status(conn: &mut Connection, ui: &mut Ui<'_>, cmd: CtlCommand, name: &[u8]) -> Outcome {
    let is_status = cmd == CtlCommand::Status;
    let handle = find_for_status(conn, ui, name, is_status)?;
    // Protocol 1 and 2 cannot tell where the description is; the report then has no File line.
    let file = if conn.version() >= 3 {
        let Some(f) = conn.service_file(handle, name)? else {
            return Err(fail(ui, b"protocol error"));
        };
        Some(f)
    } else {
        None
    };
    let request = conn.status_request(handle);
    let Some(st) = conn.status_of(&request)? else {
        return Err(fail(ui, b"protocol error."));
    };
    if !is_status {
        return Ok(print_bare_state(ui, cmd, &st));
    }
    let modified = match (&file, st.mtime) {
        (Some(file), Some(mtime)) => std::fs::metadata(file)
            .map(|m| Timespec::new(m.mtime(), m.mtime_nsec()) != mtime)
            .unwrap_or(false),
        _ => false,
    };
    let file_bytes = file.as_deref().map(|f: &Path| f.as_os_str().as_bytes());
    ui.data(&status_report(name, file_bytes, modified, &st));
    Ok(0)
}

/// `FINDSERVICE` for status, is-started and is-failed: only `status` says why it failed.
fn find_for_status(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    name: &[u8],
    is_status: bool,
) -> Result<Handle, Exit> {
    match conn.load_service(name, true)? {
        LoadReply::Record { handle, .. } => Ok(handle),
        LoadReply::NoService if is_status => Err(fail(ui, b"service not loaded.")),
        other if is_status => Err(Exit::Code(report_load_failure(ui, other))),
        _ => Err(Exit::Code(1)),
    }
}

/// is-started, is-failed (CONTROL.md §4.3): the bare state unless `--quiet`; the exit status.
fn print_bare_state(ui: &mut Ui<'_>, cmd: CtlCommand, st: &SvcStatus) -> i32 {
    if !ui.quiet() {
        ui.data(cat(&[st.state.name().as_bytes(), b"\n"]).as_slice());
    }
    let yes = if cmd == CtlCommand::IsStarted {
        st.state == ServiceState::Started
    } else {
        st.is_failed()
    };
    if yes {
        0
    } else {
        1
    }
}

/// list (CONTROL.md §3.6).
fn list(conn: &mut Connection, ui: &mut Ui<'_>) -> Outcome {
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
    let listed = list_entries(conn, format, &mut lines);
    ui.data(&lines);
    if listed? {
        Ok(0)
    } else {
        Err(fail(ui, b"control socket protocol error"))
    }
}

/// The `SVCINFO` replies of a listing, as lines added to `lines`, up to `LISTDONE` (true) or
/// a reply that has no place in a listing (false).
fn list_entries(
    conn: &mut Connection,
    format: StatusFormat,
    lines: &mut Vec<u8>,
) -> Result<bool, CtlError> {
    loop {
        match conn.recv_reply(format)? {
            Reply::SvcInfo { name, status } => lines.extend_from_slice(&list_line(&name, &status)),
            Reply::ListDone => return Ok(true),
            Reply::Invalid(_) => return Err(CtlError::Malformed(Malformed::BadValue)),
            _ => return Ok(false),
        }
    }
}

/// unpin (CONTROL.md §3.7).
fn unpin(conn: &mut Connection, ui: &mut Ui<'_>, name: &[u8]) -> Outcome {
    let (handle, _) = load_or_report(conn, ui, name)?;
    if conn.request(&Request::UnpinService { handle })? != Reply::Ack {
        return Err(fail(ui, b"protocol error."));
    }
    ui.info(&service_msg(name, b"unpinned."));
    Ok(0)
}

/// unload (CONTROL.md §3.8).
fn unload(conn: &mut Connection, ui: &mut Ui<'_>, name: &[u8]) -> Outcome {
    let handle = find_or_report(conn, ui, name)?;
    match conn.request(&Request::UnloadService { handle })? {
        Reply::Ack => {
            conn.forget_service(handle);
            ui.info(&service_msg(name, b"unloaded."));
            Ok(0)
        }
        Reply::Nak => Err(fail(
            ui,
            b"could not unload service; service not stopped, or is a dependency of another service.",
        )),
        _ => Err(fail(ui, b"protocol error.")),
    }
}

/// reload (CONTROL.md §3.9).
fn reload(conn: &mut Connection, ui: &mut Ui<'_>, name: &[u8]) -> Outcome {
    let handle = match conn.load_service(name, true)? {
        LoadReply::Record { handle, .. } => handle,
        LoadReply::NoService => {
            // Not loaded: loading it is as good as reloading it.
            load_or_report(conn, ui, name)?;
            ui.info(&service_msg(name, b"reloaded."));
            return Ok(0);
        }
        other => return Ok(report_load_failure(ui, other)),
    };
    let reply = conn.request(&Request::ReloadService { handle })?;
    conn.forget_service(handle);
    match reply {
        Reply::Ack => {
            ui.info(&service_msg(name, b"reloaded."));
            Ok(0)
        }
        Reply::Nak => Err(fail(
            ui,
            b"could not reload service; service in wrong state, incompatible change, or bad service description.",
        )),
        _ => Err(fail(ui, b"protocol error.")),
    }
}

/// shutdown (CONTROL.md §3.10): always HALT; waits for the daemon to close the connection.
fn shutdown(conn: &mut Connection, ui: &mut Ui<'_>) -> Outcome {
    let reply = conn.request(&Request::Shutdown {
        kind: ShutdownKind::Halt,
    })?;
    if reply != Reply::Ack {
        return Err(fail(ui, b"control socket protocol error"));
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
fn add_rm_dep(conn: &mut Connection, ui: &mut Ui<'_>, a: &CtlArgs) -> Outcome {
    let (Some(from), Some(to), Some(kind)) = (a.operands.first(), a.operands.get(1), a.dep_kind)
    else {
        return Ok(1);
    };
    let (from_h, _) = load_or_report(conn, ui, from)?;
    let (to_h, _) = load_or_report(conn, ui, to)?;
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
    match conn.request(&request)? {
        Reply::Ack => {
            let what: &[u8] = if add { b"' added" } else { b"' removed" };
            ui.info(&cat(&[b"Service '", from, b"': dependency '", to, what]));
            Ok(0)
        }
        Reply::Nak if add => Err(fail(
            ui,
            b"could not add dependency: circular dependency or wrong state",
        )),
        Reply::Nak => Err(fail(ui, b"no such dependency to remove")),
        _ => Err(fail(ui, b"control socket protocol error")),
    }
}

/// trigger, untrigger (CONTROL.md §3.14).
fn trigger(conn: &mut Connection, ui: &mut Ui<'_>, value: bool, name: &[u8]) -> Outcome {
    let (handle, _) = load_or_report(conn, ui, name)?;
    match conn.request(&Request::SetTrigger { handle, value })? {
        Reply::Ack => Ok(0),
        Reply::Nak => Err(fail(
            ui,
            b"cannot trigger a service that is not of 'triggered' type.",
        )),
        _ => Err(fail(ui, b"protocol error.")),
    }
}

/// setenv, unsetenv (CONTROL.md §3.13): one `SETENV` per argument, in order.
fn setenv(conn: &mut Connection, ui: &mut Ui<'_>, a: &CtlArgs) -> Outcome {
    let set = a.command == CtlCommand::SetEnv;
    for arg in &a.operands {
        let var = setenv_string(ui, set, arg)?;
        match conn.request(&Request::SetEnv { var: &var })? {
            Reply::Ack => {}
            Reply::BadReq => return Err(fail(ui, b"failed to export environment.")),
            _ => return Err(fail(ui, b"protocol error")),
        }
    }
    Ok(0)
}

/// The string `SETENV` sends for one argument of setenv (`set`) or unsetenv: `NAME=VALUE`
/// as given, `NAME=` and the client's own value of NAME, or `NAME` to unset.
fn setenv_string(ui: &mut Ui<'_>, set: bool, arg: &[u8]) -> Result<Vec<u8>, Exit> {
    let eq = arg.iter().position(|&b| b == b'=');
    let var_name = eq.and_then(|i| arg.get(..i)).unwrap_or(arg);
    let var = match (set, eq) {
        (true, Some(_)) | (false, None) => arg.to_vec(),
        (true, None) => {
            let value = std::env::var_os(std::ffi::OsStr::from_bytes(arg)).unwrap_or_default();
            cat(&[arg, b"=", value.as_bytes()])
        }
        (false, Some(_)) => {
            return Err(fail(
                ui,
                &cat(&[
                    b"environment variable '",
                    arg,
                    b"' must not contain the '=' sign.",
                ]),
            ))
        }
    };
    if var.len() > dinit_core::proto::MAX_NAME_LEN {
        return Err(fail(
            ui,
            &cat(&[b"environment variable '", var_name, b"' too long."]),
        ));
    }
    if var.is_empty() {
        // An empty SETENV would stall the daemon (it waits for a fourth byte).
        return Err(fail(ui, b"failed to export environment."));
    }
    Ok(var)
}

/// catlog (CONTROL.md §3.15).
fn catlog(conn: &mut Connection, ui: &mut Ui<'_>, clear: bool, name: &[u8]) -> Outcome {
    let (handle, _) = load_or_report(conn, ui, name)?;
    match conn.request(&Request::CatLog { clear, handle })? {
        Reply::ServiceLog(log) => {
            ui.data(&log);
            if log.last().is_some_and(|&b| b != b'\n') {
                ui.data(b"\n(last line is truncated or incomplete)\n");
            }
            Ok(0)
        }
        Reply::Nak => Err(fail(
            ui,
            b"cannot cat log for service not configured to buffer output.",
        )),
        _ => Err(fail(ui, b"protocol error.")),
    }
}

/// signal (CONTROL.md §3.16).
fn signal(conn: &mut Connection, ui: &mut Ui<'_>, signal: i32, name: &[u8]) -> Outcome {
    let (handle, _) = load_or_report(conn, ui, name)?;
    let msg: &[u8] = match conn.request(&Request::Signal { signal, handle })? {
        Reply::Ack => return Ok(0),
        Reply::SignalNoPid => b"could not get valid PID of service; service is not process-based or is in wrong state.",
        Reply::SignalBadSig => b"provided signal was invalid.",
        Reply::SignalKillErr => b"failed sending signal to service.",
        _ => b"protocol error.",
    };
    Err(fail(ui, msg))
}
