//! The text `dinitctl` prints: the `list` line (CONTROL.md §4.1), the `status` report (CONTROL.md
//! §4.2), the reasons after "failed to start" (CONTROL.md §3.4), error texts and the signal table
//! (PROTOCOL.md §6.10). Pure functions producing bytes (service names are bytes and are printed as
//! they are).

use super::status::{ExitDetails, ExitInfo, SvcStatus};
use dinit_core::{ServiceState, StatusFlags, StopReason};
use std::io;

/// `strerror(errno)`: the C library's message for an error number.
pub fn strerror(errno: i32) -> String {
    io_error_text(&io::Error::from_raw_os_error(errno))
}

/// The message of an I/O error as `strerror` gives it (without Rust's " (os error N)").
pub fn io_error_text(e: &io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .map(str::to_owned)
            .unwrap_or(text),
        None => text,
    }
}

/// `exited - status N`, `signalled - signal N` or `unknown reason` (PROTOCOL.md §6.9).
pub fn exit_details_text(exit: ExitInfo) -> String {
    match exit.details() {
        ExitDetails::Exited(n) => format!("exited - status {n}"),
        ExitDetails::Signalled(n) => format!("signalled - signal {n}"),
        ExitDetails::Unknown => "unknown reason".to_owned(),
    }
}

/// The description of an exec failure stage (PROTOCOL.md §6.3). Unknown stages (the spare values
/// 13-17) have no text; the stock client would crash on them.
pub fn exec_stage_text(stage: u16) -> &'static str {
    dinit_core::ExecStage::from_u16(stage).map_or("", dinit_core::ExecStage::description)
}

/// Concatenates byte strings.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// One line of `dinitctl list` (CONTROL.md §4.1), with its newline.
pub fn list_line(name: &[u8], s: &SvcStatus) -> Vec<u8> {
    let active = s.has(StatusFlags::MARKED_ACTIVE);
    let target_started = s.target == ServiceState::Started;
    let target_stopped = s.target == ServiceState::Stopped;
    let mut line = Vec::with_capacity(name.len().saturating_add(40));
    line.push(b'[');
    line.push(if active {
        b'['
    } else if target_started {
        b'{'
    } else {
        b' '
    });
    line.push(match s.state {
        ServiceState::Started if s.has(StatusFlags::START_SKIPPED) => b's',
        ServiceState::Started => b'+',
        _ => b' ',
    });
    line.push(if active {
        b']'
    } else if target_started {
        b'}'
    } else {
        b' '
    });
    line.extend_from_slice(match s.state {
        ServiceState::Starting => b"<<",
        ServiceState::Stopping => b">>",
        _ => b"  ",
    });
    line.push(if target_stopped { b'{' } else { b' ' });
    line.push(match s.state {
        ServiceState::Stopped if s.list_failed() => b'X',
        ServiceState::Stopped => b'-',
        _ => b' ',
    });
    line.push(if target_stopped { b'}' } else { b' ' });
    line.extend_from_slice(b"] ");
    line.extend_from_slice(name);
    if s.state != ServiceState::Stopped {
        if let Some(pid) = s.pid() {
            line.extend_from_slice(format!(" (pid: {pid})").as_bytes());
        }
    }
    if s.state == ServiceState::Stopped && s.stop_reason() == Some(StopReason::Terminated) {
        let suffix = match s.exit() {
            ExitInfo::Si { code: 1, status } => Some(format!(" (exit status: {status})")),
            ExitInfo::Si { code: 2, status } => Some(format!(" (signal: {status})")),
            ExitInfo::Si { .. } => None,
            ExitInfo::Wait(w) => match ExitInfo::Wait(w).details() {
                ExitDetails::Exited(n) => Some(format!(" (exit status: {n})")),
                ExitDetails::Signalled(n) => Some(format!(" (signal: {n})")),
                ExitDetails::Unknown => None,
            },
        };
        if let Some(suffix) = suffix {
            line.extend_from_slice(suffix.as_bytes());
        }
    }
    if s.has(StatusFlags::HAS_CONSOLE) {
        line.extend_from_slice(b" (has console)");
    } else if s.has(StatusFlags::WAITING_FOR_CONSOLE) {
        line.extend_from_slice(b" (waiting for console)");
    }
    line.push(b'\n');
    line
}

/// The exit details of a status when there is no process, if they are to be shown (only a
/// non-zero status is).
fn nonzero_exit(s: &SvcStatus) -> Option<String> {
    if s.pid().is_some() || !s.exit().is_nonzero() {
        None
    } else {
        Some(exit_details_text(s.exit()))
    }
}

/// The `State:` text of `dinitctl status` (CONTROL.md §4.2), and the extra `Stage:`/`Error:` lines
/// of an exec failure.
pub fn state_text(s: &SvcStatus) -> (String, Vec<String>) {
    let mut extra = Vec::new();
    let text = match s.state {
        ServiceState::Stopped => match s.stop_reason() {
            Some(StopReason::DepRestart) => "STOPPED (dependency restarted)".to_owned(),
            Some(StopReason::DepFailed) => "STOPPED (dependency failed/terminated)".to_owned(),
            Some(StopReason::Failed) => match nonzero_exit(s) {
                Some(d) => format!("STOPPED (failed to start; {d})"),
                None => "STOPPED (failed to start)".to_owned(),
            },
            Some(StopReason::ExecFailed) => {
                extra.push(format!("        Stage: {}", exec_stage_text(s.exec_stage)));
                extra.push(format!("        Error: {}", strerror(s.detail)));
                "STOPPED (could not be launched)".to_owned()
            }
            Some(StopReason::Terminated) => match nonzero_exit(s) {
                Some(d) => format!("STOPPED (terminated; {d})"),
                None => "STOPPED (terminated)".to_owned(),
            },
            Some(StopReason::TimedOut) => "STOPPED (start timed out)".to_owned(),
            Some(StopReason::Normal) | None => "STOPPED".to_owned(),
        },
        ServiceState::Starting => {
            if s.target == ServiceState::Stopped {
                "STARTING (target state: STOPPED)".to_owned()
            } else {
                "STARTING".to_owned()
            }
        }
        ServiceState::Started => {
            if s.has(StatusFlags::START_SKIPPED) {
                "STARTED (startup skipped)".to_owned()
            } else {
                "STARTED".to_owned()
            }
        }
        ServiceState::Stopping => {
            let mut t = "STOPPING".to_owned();
            if s.target == ServiceState::Started {
                t.push_str(" (target state: STARTED)");
            }
            if let Some(d) = nonzero_exit(s) {
                // Sic: no space before the parenthesis, and the space before the semicolon
                // (CONTROL.md §4.2).
                t.push_str(&format!("(terminated ;{d})"));
            }
            t
        }
    };
    (text, extra)
}

/// The report of `dinitctl status` (CONTROL.md §4.2). `file` is the description file (absent when
/// the daemon is too old to say where it is); `modified` adds "(modified since loaded)".
pub fn status_report(name: &[u8], file: Option<&[u8]>, modified: bool, s: &SvcStatus) -> Vec<u8> {
    let mut out = cat(&[b"Service: ", name, b"\n"]);
    if let Some(file) = file {
        out.extend_from_slice(b"    File: ");
        out.extend_from_slice(file);
        if modified {
            out.extend_from_slice(b" (modified since loaded)");
        }
        out.push(b'\n');
    }
    let (state, extra) = state_text(s);
    out.extend_from_slice(b"    State: ");
    out.extend_from_slice(state.as_bytes());
    if s.has(StatusFlags::HAS_CONSOLE) {
        out.extend_from_slice(b" (holding console)");
    }
    if s.has(StatusFlags::WAITING_FOR_CONSOLE) {
        out.extend_from_slice(b" (waiting for console)");
    }
    out.push(b'\n');
    for line in extra {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    if s.target == ServiceState::Started {
        out.extend_from_slice(if s.has(StatusFlags::MARKED_ACTIVE) {
            b"    Activation: explicitly started\n"
        } else {
            b"    Activation: start due to dependent(s)\n"
        });
    }
    if let Some(pid) = s.pid() {
        out.extend_from_slice(format!("    Process ID: {pid}\n").as_bytes());
    }
    out
}

/// The lines after "Service '...' failed to start." (CONTROL.md §3.4), from the status that came
/// with the failure event.
pub fn failure_reason_lines(s: Option<&SvcStatus>) -> Vec<String> {
    let Some(s) = s else {
        return vec!["Reason unknown/unrecognised. Check dinit log.".to_owned()];
    };
    match s.stop_reason() {
        Some(StopReason::DepFailed) => {
            vec!["Reason: a dependency of the service failed to start. Check dinit log.".to_owned()]
        }
        Some(StopReason::TimedOut) => vec!["Reason: start timed out.".to_owned()],
        Some(StopReason::ExecFailed) => vec![
            "Reason: execution of service process failed:".to_owned(),
            format!("        Stage: {}", exec_stage_text(s.exec_stage)),
            format!("        Error: {}", strerror(s.detail)),
        ],
        Some(StopReason::Failed) => vec![format!(
            "Reason: service process terminated before ready: {}",
            exit_details_text(s.exit())
        )],
        _ => vec!["Reason unknown/unrecognised. Check dinit log.".to_owned()],
    }
}

/// A signal given to `dinitctl signal`: a name of the table (case-sensitive; `none`/`NONE`
/// are refused) or a decimal number.
pub fn parse_signal(arg: &[u8]) -> Option<i32> {
    if let Some(n) = dinit_core::signal::by_name(arg) {
        return Some(n);
    }
    std::str::from_utf8(arg).ok()?.parse::<i32>().ok()
}

/// The output of `dinitctl signal --list`.
pub fn signal_list() -> String {
    let mut s = String::from("dinitctl: The following signal names are supported:\n");
    for (name, num) in dinit_core::signal::NAMES {
        s.push_str(&format!("dinitctl: {name:<4} -> {num}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use dinit_core::proto::StatusFormat;

    fn st(state: ServiceState, target: ServiceState, flags: u8, reason: u8) -> SvcStatus {
        SvcStatus {
            state,
            target,
            flags: StatusFlags::from_bits(flags),
            stop_reason_raw: reason,
            exec_stage: 0,
            detail: 0,
            si_status: 0,
            format: StatusFormat::Status14,
            mtime: None,
        }
    }

    #[test]
    fn strerror_texts() {
        assert_eq!(strerror(2), "No such file or directory");
        assert_eq!(
            io_error_text(&io::Error::from_raw_os_error(libc::ECONNREFUSED)),
            "Connection refused"
        );
    }

    /// The core's signal numbers (it has no C library) are this target's (they differ on MIPS).
    #[test]
    fn core_signal_numbers_are_the_c_librarys() {
        use dinit_core::signal as s;
        assert_eq!(
            [
                s::HUP,
                s::INT,
                s::QUIT,
                s::KILL,
                s::USR1,
                s::USR2,
                s::TERM,
                s::CONT,
                s::STOP
            ],
            [
                libc::SIGHUP,
                libc::SIGINT,
                libc::SIGQUIT,
                libc::SIGKILL,
                libc::SIGUSR1,
                libc::SIGUSR2,
                libc::SIGTERM,
                libc::SIGCONT,
                libc::SIGSTOP
            ]
        );
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal(b"KILL"), Some(9));
        assert_eq!(parse_signal(b"99"), Some(99));
        assert_eq!(parse_signal(b"0"), Some(0));
        assert_eq!(parse_signal(b"none"), None);
        assert_eq!(parse_signal(b"NONE"), None);
        assert_eq!(parse_signal(b"kill"), None);
        assert!(signal_list().contains("dinitctl: HUP  -> 1\n"));
        assert!(signal_list().contains(&format!("dinitctl: USR1 -> {}\n", libc::SIGUSR1)));
    }

    #[test]
    fn list_lines_as_documented() {
        use ServiceState::*;
        let mut s = st(Started, Started, 0x18, 0);
        s.detail = 30783;
        assert_eq!(
            list_line(b"sleeper", &s),
            b"[[+]     ] sleeper (pid: 30783)\n"
        );
        s.flags = StatusFlags::from_bits(0x10);
        assert_eq!(
            list_line(b"sleeper", &s),
            b"[{+}     ] sleeper (pid: 30783)\n"
        );
        let mut s = st(Stopped, Stopped, 0, 6);
        s.detail = 1;
        s.si_status = 7;
        assert_eq!(
            list_line(b"shortlived", &s),
            b"[     {X}] shortlived (exit status: 7)\n"
        );
        s.detail = 2;
        s.si_status = 9;
        assert_eq!(list_line(b"killed", &s), b"[     {X}] killed (signal: 9)\n");
        assert_eq!(
            list_line(b"waiter", &st(Stopped, Stopped, 0, 0)),
            b"[     {-}] waiter\n"
        );
        assert_eq!(
            list_line(b"trig", &st(Starting, Started, 0x08, 0)),
            b"[[ ]<<   ] trig\n"
        );
        assert_eq!(
            list_line(b"c2", &st(Starting, Started, 0x09, 0)),
            b"[[ ]<<   ] c2 (waiting for console)\n"
        );
        assert_eq!(
            list_line(b"sk", &st(Started, Started, 0x0c, 0)),
            b"[[s]     ] sk\n"
        );
    }

    #[test]
    fn legacy_list_and_status_exit() {
        let mut s = st(ServiceState::Stopped, ServiceState::Stopped, 0, 6);
        s.format = StatusFormat::Status10;
        s.detail = -1;
        assert_eq!(list_line(b"x", &s), b"[     {X}] x\n");
        assert_eq!(state_text(&s).0, "STOPPED (terminated; unknown reason)");
        s.detail = 0;
        assert_eq!(list_line(b"x", &s), b"[     {-}] x (exit status: 0)\n");
        assert_eq!(state_text(&s).0, "STOPPED (terminated)");
    }

    #[test]
    fn stopping_with_exit_has_the_odd_spacing() {
        let mut s = st(ServiceState::Stopping, ServiceState::Started, 0, 6);
        s.detail = 1;
        s.si_status = 4;
        assert_eq!(
            state_text(&s).0,
            "STOPPING (target state: STARTED)(terminated ;exited - status 4)"
        );
    }
}
