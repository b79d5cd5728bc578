//! `dinit-monitor` (dinit-monitor(8), CONTROL.md §5.1): runs a command whenever a watched service
//! changes state, or (`-E`) whenever the daemon's activation environment changes.
//!
//! Service mode loads each service (only `SERVICERECORD` and `NOSERVICE` are expected) and
//! then reads information packets, acting only on the legacy `SERVICEEVENT` (100) of each
//! event pair, as the stock monitor does: STARTED, STOPPED and FAILEDSTART give `started`,
//! `stopped` and `failed`; cancellations are ignored. Environment mode needs protocol 5:
//! `LISTENENV`, `GETALLENV` for `--initial`, then one command per `ENVEVENT`.
//!
//! The command is split into words at white space (no shell is involved, so a service or
//! variable name can never be taken for shell syntax); in each word `%n` becomes the name,
//! `%v` the variable's value (empty for services and for an unset), `%s` the status text and
//! `%%` a `%`. The monitor waits for the command to finish before it reads the next event.

use super::conn::{Connection, CtlError, LoadReply};
use super::format::cat;
use super::packet::{EnvChange, Incoming, Reply};
use super::socket::SocketOptions;
use super::ui::Ui;
use crate::paths::InstanceKind;
use dinit_core::proto::{EnvEntries, Handle, Request, StatusFormat};
use dinit_core::{ServiceEvent, ServiceState};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// The program name in messages.
pub const PROG: &str = "dinit-monitor";

/// A parsed `dinit-monitor` command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorArgs {
    /// `-e`/`--exit`: stop after the first command.
    pub exit_after_first: bool,
    /// `-E`/`--env`: watch the environment instead of services.
    pub env_mode: bool,
    /// `-i`/`--initial`: also run the command for the initial state.
    pub initial: bool,
    /// Status texts: started, stopped, failed, set, unset.
    pub texts: [Vec<u8>; 5],
    /// `-c`/`--command`.
    pub command: Vec<u8>,
    /// Socket selection.
    pub socket: SocketOptions,
    /// The services or variables watched (all variables if none in `-E` mode).
    pub names: Vec<Vec<u8>>,
}

/// Indices into [`MonitorArgs::texts`].
const STARTED: usize = 0;
const STOPPED: usize = 1;
const FAILED: usize = 2;
const SET: usize = 3;
const UNSET: usize = 4;

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorOutcome {
    /// Monitor.
    Run(MonitorArgs),
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// A command-line error, with its message.
    Invalid(String),
}

/// The text of `dinit-monitor --help`.
pub const USAGE: &str = "\
dinit-monitor: monitor Dinit services or environment

Usage: dinit-monitor [options] -c <command> <service-or-variable>...

Options:
  --help                       show this help and exit
  --version                    show the version and exit
  -e, --exit                   exit after the first command has run
  -E, --env                    monitor the activation environment (all variables if
                               none are named) instead of services
  -s, --system                 use the system service manager (default for root)
  -u, --user                   use the user service manager (default otherwise)
  -i, --initial                also run the command for the initial state
  --str-started <text>         status text for a service that started (started)
  --str-stopped <text>         status text for a service that stopped (stopped)
  --str-failed <text>          status text for a service that failed to start (failed)
  --str-set <text>             status text for a variable that was set (set)
  --str-unset <text>           status text for a variable that was unset (unset)
  -p <path>, --socket-path <path>
                               the control socket
  -c <command>, --command <command>
                               the command; %n is the name, %v the variable's value,
                               %s the status text, %% a percent sign
";

/// Parses the arguments (without the program name), as Dinit's `dinit-monitor` does: options
/// and names in any order; an option it does not know is passed over; a missing value after
/// `-p`, `-c` or `--str-*` is an error of its own; no arguments or `--help` show the help.
pub fn parse_args(args: &[OsString]) -> MonitorOutcome {
    if args.is_empty() {
        return MonitorOutcome::Help;
    }
    let mut m = MonitorArgs {
        exit_after_first: false,
        env_mode: false,
        initial: false,
        texts: [
            b"started".to_vec(),
            b"stopped".to_vec(),
            b"failed".to_vec(),
            b"set".to_vec(),
            b"unset".to_vec(),
        ],
        command: Vec::new(),
        socket: SocketOptions::default(),
        names: Vec::new(),
    };
    let mut command = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let a = arg.as_bytes();
        if a.first() != Some(&b'-') {
            m.names.push(a.to_vec());
        } else if let Some(outcome) = take_option(&mut m, &mut command, arg, &mut it) {
            return outcome;
        }
    }
    finish_args(m, command)
}

/// The status text an option `--str-*` sets (an index into [`MonitorArgs::texts`]).
fn text_slot(option: &[u8]) -> Option<usize> {
    match option {
        b"--str-started" => Some(STARTED),
        b"--str-stopped" => Some(STOPPED),
        b"--str-failed" => Some(FAILED),
        b"--str-set" => Some(SET),
        b"--str-unset" => Some(UNSET),
        _ => None,
    }
}

/// One option `arg`, with its value taken from `rest` if it has one; what ends the parse
/// there (the help, the version, an error), if anything does.
fn take_option(
    m: &mut MonitorArgs,
    command: &mut Option<Vec<u8>>,
    arg: &OsString,
    rest: &mut std::slice::Iter<'_, OsString>,
) -> Option<MonitorOutcome> {
    let a = arg.as_bytes();
    let invalid = |message: &str| Some(MonitorOutcome::Invalid(message.to_owned()));
    if let Some(slot) = text_slot(a) {
        return match (rest.next(), m.texts.get_mut(slot)) {
            (Some(v), Some(t)) => {
                *t = v.clone().into_vec();
                None
            }
            _ => invalid(&format!(
                "{} should be followed by an argument",
                arg.to_string_lossy()
            )),
        };
    }
    match a {
        b"--help" => return Some(MonitorOutcome::Help),
        b"--version" => return Some(MonitorOutcome::Version),
        b"-e" | b"--exit" => m.exit_after_first = true,
        b"-E" | b"--env" => m.env_mode = true,
        b"-s" | b"--system" => m.socket.instance = Some(InstanceKind::System),
        b"-u" | b"--user" => m.socket.instance = Some(InstanceKind::User),
        b"-i" | b"--initial" => m.initial = true,
        b"-p" | b"--socket-path" => match rest.next() {
            // An empty path means the default one.
            Some(p) => m.socket.socket_path = (!p.is_empty()).then(|| p.clone()),
            None => return invalid("--socket-path/-p should be followed by socket path"),
        },
        b"-c" | b"--command" => match rest.next() {
            Some(c) => *command = Some(c.clone().into_vec()),
            None => return invalid("--command/-c should be followed by command"),
        },
        _ => {}
    }
    None
}

/// The checks once every argument is read.
fn finish_args(mut m: MonitorArgs, command: Option<Vec<u8>>) -> MonitorOutcome {
    if !m.env_mode && m.names.is_empty() {
        return MonitorOutcome::Invalid("specify at least one service name".into());
    }
    let Some(command) = command else {
        return MonitorOutcome::Invalid("command must specified".into());
    };
    if split_command(&command).is_empty() {
        return MonitorOutcome::Invalid("specified command is empty".into());
    }
    m.command = command;
    MonitorOutcome::Run(m)
}

/// The command's words: split at white space, except inside double quotes, which group and
/// are then dropped (as Dinit's `dinit-monitor` reads the command).
fn split_command(command: &[u8]) -> Vec<Vec<u8>> {
    let mut words = Vec::new();
    let mut bytes = command.iter().copied().peekable();
    loop {
        while bytes.next_if(u8::is_ascii_whitespace).is_some() {}
        if bytes.peek().is_none() {
            return words;
        }
        let mut word = Vec::new();
        let mut quoted = false;
        while let Some(b) = bytes.next_if(|b| quoted || !b.is_ascii_whitespace()) {
            if b == b'"' {
                quoted = !quoted;
            }
            word.push(b);
        }
        words.push(word);
    }
}

/// The command's words with `%n`, `%v`, `%s` and `%%` substituted, quotes removed.
pub fn expand_command(command: &[u8], name: &[u8], value: &[u8], status: &[u8]) -> Vec<Vec<u8>> {
    split_command(command)
        .into_iter()
        .map(|word| {
            let mut out = Vec::with_capacity(word.len());
            let mut bytes = word.iter().copied();
            while let Some(b) = bytes.next() {
                match b {
                    b'"' => {}
                    b'%' => match bytes.next() {
                        Some(b'n') => out.extend_from_slice(name),
                        Some(b'v') => out.extend_from_slice(value),
                        Some(b's') => out.extend_from_slice(status),
                        Some(b'%') => out.push(b'%'),
                        Some(other) => out.extend_from_slice(&[b'%', other]),
                        None => out.push(b'%'),
                    },
                    b => out.push(b),
                }
            }
            out
        })
        .collect()
}

/// Runs the command for one change and waits for it; a failure is reported (in Dinit's
/// words) but does not stop the monitor.
fn notify(ui: &mut Ui<'_>, m: &MonitorArgs, name: &[u8], value: &[u8], status: &[u8]) {
    let words = expand_command(&m.command, name, value, status);
    let Some((program, rest)) = words.split_first() else {
        return;
    };
    ui.flush();
    let result = std::process::Command::new(OsStr::from_bytes(program))
        .args(rest.iter().map(|w| OsStr::from_bytes(w)))
        .status();
    match result {
        Ok(status) => {
            if let Some(code) = status.code().filter(|&c| c != 0) {
                ui.error(
                    format!("notification command terminated with exit status {code}").as_bytes(),
                );
            } else if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
                ui.error(format!("notification command terminated due to signal {sig}").as_bytes());
            }
        }
        Err(e) => ui.error(&cat(&[
            b"exec: ",
            super::format::io_error_text(&e).as_bytes(),
        ])),
    }
}

/// Runs `dinit-monitor` with `args` (without the program name); returns the exit status.
pub fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut ui = Ui::new(PROG, out, err);
    let code = match parse_args(args) {
        MonitorOutcome::Help => {
            // Status 1, as Dinit's dinit-monitor: nothing was monitored.
            ui.data(USAGE.as_bytes());
            1
        }
        MonitorOutcome::Version => {
            ui.data(format!("Dinit version {}.\n", crate::VERSION).as_bytes());
            0
        }
        MonitorOutcome::Invalid(msg) => {
            ui.error(msg.as_bytes());
            1
        }
        MonitorOutcome::Run(m) => match super::commands::connect_with(
            &m.socket,
            &mut ui,
            super::commands::ConnectMessages::Monitor,
        ) {
            Err(code) => code,
            Ok(mut conn) => {
                let result = if m.env_mode {
                    monitor_env(&mut conn, &mut ui, &m)
                } else {
                    monitor_services(&mut conn, &mut ui, &m)
                };
                match result {
                    Ok(code) => code,
                    Err(e) => super::commands::report_ctl_error(&mut ui, &e),
                }
            }
        },
    };
    ui.flush();
    code
}

fn monitor_services(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    m: &MonitorArgs,
) -> Result<i32, CtlError> {
    let mut names: HashMap<Handle, Vec<u8>> = HashMap::new();
    let mut initial = Vec::new();
    for name in &m.names {
        match conn.load_service(name, false)? {
            LoadReply::Record { handle, state, .. } => {
                names.insert(handle, name.clone());
                initial.push((name.clone(), state));
            }
            LoadReply::NoService => {
                ui.error(&cat(&[b"cannot load service: ", name]));
                return Ok(1);
            }
            // Dinit's monitor takes any other answer (a description error, say) for a protocol
            // error.
            _ => {
                ui.error(b"protocol error");
                return Ok(1);
            }
        }
    }
    if m.initial {
        for (name, state) in initial {
            let text = match state {
                ServiceState::Started => &m.texts[STARTED],
                ServiceState::Stopped => &m.texts[STOPPED],
                // In transition: the event that ends it will be reported.
                _ => continue,
            };
            notify(ui, m, &name, b"", text);
            if m.exit_after_first {
                return Ok(0);
            }
        }
    }
    // Events that came with the load replies are already past; the states above stand for
    // them.
    conn.clear_events();
    loop {
        match conn.recv(StatusFormat::Status10) {
            Ok(Incoming::Event(ev)) if ev.legacy => {
                let slot = match ev.kind() {
                    Some(ServiceEvent::Started) => STARTED,
                    Some(ServiceEvent::Stopped) => STOPPED,
                    Some(ServiceEvent::FailedStart) => FAILED,
                    _ => continue,
                };
                let Some(name) = names.get(&ev.handle) else {
                    continue;
                };
                notify(ui, m, name, b"", &m.texts[slot]);
                if m.exit_after_first {
                    return Ok(0);
                }
            }
            Ok(Incoming::Event(_) | Incoming::Env(_) | Incoming::OtherInfo(_)) => {}
            Ok(Incoming::Reply(_)) => {
                ui.error(b"protocol error");
                return Ok(1);
            }
            Err(e) => return Ok(watch_ended(ui, &e)),
        }
    }
}

/// The connection failed while watching: reported as Dinit's monitor does (the daemon closing
/// it is "connection closed by server"); returns the exit status, 1.
fn watch_ended(ui: &mut Ui<'_>, e: &CtlError) -> i32 {
    match e {
        CtlError::Eof => {
            ui.error(b"connection closed by server");
            1
        }
        CtlError::Read(err) => {
            ui.error(&cat(&[
                b"read: ",
                super::format::io_error_text(err).as_bytes(),
            ]));
            1
        }
        other => super::commands::report_ctl_error(ui, other),
    }
}

/// Splits `NAME=VALUE` (or `NAME`).
fn split_var(var: &[u8]) -> (&[u8], Option<&[u8]>) {
    match var.iter().position(|&b| b == b'=') {
        Some(i) => (
            var.get(..i).unwrap_or_default(),
            var.get(i.saturating_add(1)..),
        ),
        None => (var, None),
    }
}

fn monitor_env(conn: &mut Connection, ui: &mut Ui<'_>, m: &MonitorArgs) -> Result<i32, CtlError> {
    if conn.version() < 5 {
        ui.error(b"daemon too old or protocol error");
        return Ok(1);
    }
    let watched = |name: &[u8]| m.names.is_empty() || m.names.iter().any(|n| n == name);
    if conn.request(&Request::ListenEnv)? != Reply::Ack {
        ui.error(b"protocol error");
        return Ok(1);
    }
    if m.initial {
        let Reply::AllEnv(env) = conn.request(&Request::GetAllEnv)? else {
            ui.error(b"protocol error");
            return Ok(1);
        };
        // Only the variables that are set are reported, in the daemon's order.
        for entry in EnvEntries::new(&env) {
            let (name, value) = split_var(entry);
            if watched(name) {
                notify(ui, m, name, value.unwrap_or_default(), &m.texts[SET]);
                if m.exit_after_first {
                    return Ok(0);
                }
            }
        }
    }
    let mut pending: std::collections::VecDeque<EnvChange> = conn.take_env_events().into();
    loop {
        let change = match pending.pop_front() {
            Some(c) => c,
            None => match conn.recv(StatusFormat::Status10) {
                Ok(Incoming::Env(c)) => c,
                Ok(Incoming::Event(_) | Incoming::OtherInfo(_)) => continue,
                Ok(Incoming::Reply(_)) => {
                    ui.error(b"protocol error");
                    return Ok(1);
                }
                Err(e) => return Ok(watch_ended(ui, &e)),
            },
        };
        let (name, value) = split_var(&change.var);
        if !watched(name) {
            continue;
        }
        match value {
            Some(v) => notify(ui, m, name, v, &m.texts[SET]),
            None => notify(ui, m, name, b"", &m.texts[UNSET]),
        }
        if m.exit_after_first {
            return Ok(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> MonitorOutcome {
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        parse_args(&args)
    }

    #[test]
    fn substitution() {
        assert_eq!(
            expand_command(b"echo %n is %s (%v) 100%% %x %", b"svc", b"val", b"started"),
            [
                b"echo".to_vec(),
                b"svc".to_vec(),
                b"is".to_vec(),
                b"started".to_vec(),
                b"(val)".to_vec(),
                b"100%".to_vec(),
                b"%x".to_vec(),
                b"%".to_vec()
            ]
        );
    }

    #[test]
    fn command_line() {
        let MonitorOutcome::Run(m) = parse(&["-c", "echo %n", "-i", "--str-failed", "bad", "a"])
        else {
            panic!()
        };
        assert!(m.initial && !m.env_mode);
        assert_eq!(m.texts[FAILED], b"bad");
        assert_eq!(m.names, [b"a".to_vec()]);
        assert!(matches!(parse(&["-E", "-c", "x"]), MonitorOutcome::Run(_)));
        // As Dinit's dinit-monitor: an unknown option is passed over.
        assert!(matches!(
            parse(&["-c", "x", "--bogus", "a"]),
            MonitorOutcome::Run(_)
        ));
        for (bad, message) in [
            (&["a"][..], "command must specified"),
            (&["-c", "x"], "specify at least one service name"),
            (&["-c", " ", "a"], "specified command is empty"),
            (&["-c"], "--command/-c should be followed by command"),
            (
                &["a", "--str-set"],
                "--str-set should be followed by an argument",
            ),
        ] {
            assert_eq!(
                parse(bad),
                MonitorOutcome::Invalid(message.into()),
                "{bad:?}"
            );
        }
        assert_eq!(parse(&["--help"]), MonitorOutcome::Help);
        assert_eq!(parse(&[]), MonitorOutcome::Help);
    }

    #[test]
    fn double_quotes_group_words_and_are_dropped() {
        assert_eq!(
            expand_command(br#"sh -c "echo %n %s" x"#, b"svc", b"", b"started"),
            [
                b"sh".to_vec(),
                b"-c".to_vec(),
                b"echo svc started".to_vec(),
                b"x".to_vec()
            ]
        );
    }
}
