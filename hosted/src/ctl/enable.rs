//! `dinitctl enable` and `disable` (spec §10.12), online (with the daemon) and `--offline`.
//!
//! Both add or remove a waits-for dependency of the "from" service on the "to" service and
//! make it persistent with a symbolic link named after "to" in the one `waits-for.d`
//! directory of "from". "from" is `--from`, else the `@meta enable-via` of "to", else `boot`.
//! The client reads the description files itself, with the loader the daemon uses
//! ([`crate::load::Loader`]): online, from the directory the daemon loaded each service from
//! and with the daemon's environment (`GETALLENV`) for substitutions; offline, from the
//! service directories (`-d`, or the defaults of the instance) and with its own environment.
//!
//! The link points to `../<file>` when the `waits-for.d` directory sits in the directory of
//! "to"'s description file (the usual layout, observed as `boot.d/enableme -> ../enableme`),
//! and to the absolute path of the file otherwise.

use super::args::CtlArgs;
use super::commands::{load_or_report, report_load_failure, wait_for, Phase};
use super::conn::{base_name, Connection, CtlError, LoadReply};
use super::format::{cat, failure_reason_lines, io_error_text};
use super::ui::Ui;
use crate::environ::Environment;
use crate::load::{LoadError, Loader};
use crate::paths::{default_service_dirs, InstanceKind, ProcessEnv};
use dinit_core::proto::{EnvEntries, Reply, Request};
use dinit_core::{DepKind, ServiceEvent, ServiceState};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The service "from" defaults to.
const DEFAULT_FROM: &[u8] = b"boot";

/// Prints a failure to read a description the client parses itself; returns 1.
fn report_read_error(ui: &mut Ui<'_>, e: &LoadError) -> i32 {
    if e.is_not_found() {
        return report_load_failure(ui, LoadReply::NoService);
    }
    ui.error(e.to_string().as_bytes());
    1
}

/// Reads `name` with `loader`.
fn read(loader: &mut Loader<'_>, name: &[u8]) -> Result<crate::load::ReadService, LoadError> {
    loader.read_service(name)
}

/// The "from" of the command: `--from`, or the `@meta enable-via` of "to", or `boot`.
fn choose_from(
    a: &CtlArgs,
    loader: &mut Loader<'_>,
    to: &[u8],
    ui: &mut Ui<'_>,
) -> Result<Vec<u8>, i32> {
    if let Some(from) = &a.from {
        return Ok(from.clone());
    }
    match read(loader, to) {
        Ok(read) => Ok(read
            .data
            .extra()
            .enable_via
            .clone()
            .unwrap_or_else(|| DEFAULT_FROM.to_vec())),
        Err(e) => Err(report_read_error(ui, &e)),
    }
}

/// Checks the description of "from" (spec §10.12 step 5) and returns its `waits-for.d`
/// directory.
fn waits_for_dir(
    loader: &mut Loader<'_>,
    from: &[u8],
    to: &[u8],
    ui: &mut Ui<'_>,
) -> Result<PathBuf, i32> {
    let read = read(loader, from).map_err(|e| report_read_error(ui, &e))?;
    let fixed = read.dependencies.iter().any(|d| {
        d.from_dir.is_none()
            && d.name == to
            && matches!(
                d.kind,
                DepKind::Regular | DepKind::Milestone | DepKind::WaitsFor
            )
    });
    if fixed {
        ui.error(&cat(&[
            b"there is a fixed dependency to service '",
            to,
            b"' in the service description of '",
            from,
            b"'.",
        ]));
        return Err(1);
    }
    match read.data.extra().waits_for_dirs.as_slice() {
        [dir] => Ok(dir.clone()),
        [] => {
            ui.error(&cat(&[
                b"service '",
                from,
                b"' has no waits-for.d directory specified",
            ]));
            Err(1)
        }
        _ => {
            ui.error(&cat(&[
                b"service '",
                from,
                b"' has multiple waits-for.d directories specified in service description",
            ]));
            Err(1)
        }
    }
}

/// The same directory, comparing canonical paths when both exist.
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// What the link in `wdir` for the service described by `to_file` points to.
pub fn link_target(wdir: &Path, to_file: &Path) -> PathBuf {
    if let (Some(parent), Some(file_dir), Some(file_name)) =
        (wdir.parent(), to_file.parent(), to_file.file_name())
    {
        if same_dir(parent, file_dir) {
            return Path::new("..").join(file_name);
        }
    }
    if to_file.is_absolute() {
        to_file.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(to_file))
            .unwrap_or_else(|_| to_file.to_path_buf())
    }
}

/// Creates (enable) or removes (disable) the link; prints the failure and returns false.
fn update_link(
    ui: &mut Ui<'_>,
    enable: bool,
    link: &Path,
    to_file: &Path,
    wdir: &Path,
    online: bool,
) -> bool {
    let result = if enable {
        std::os::unix::fs::symlink(link_target(wdir, to_file), link)
    } else {
        std::fs::remove_file(link)
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            let what: &[u8] = if enable { b"create" } else { b"unlink" };
            ui.error(&cat(&[
                b"could not ",
                what,
                b" symlink at ",
                link.as_os_str().as_bytes(),
                b": ",
                io_error_text(&e).as_bytes(),
            ]));
            if online {
                ui.error(if enable {
                    b"note: service was enabled for now; persistent enable failed."
                } else {
                    b"note: service was disabled for now; persistent disable failed."
                });
            }
            false
        }
    }
}

fn done_msg(to: &[u8], enable: bool) -> Vec<u8> {
    let what: &[u8] = if enable { b"enabled." } else { b"disabled." };
    cat(&[b"Service '", to, b"' has been ", what])
}

/// A `--from` service given with an argument cannot hold the link; false (after the message)
/// if so, as Dinit's dinitctl says before anything else.
fn from_is_plain(a: &CtlArgs, ui: &mut Ui<'_>) -> bool {
    if a.from.as_ref().is_some_and(|f| f.contains(&b'@')) {
        ui.error(b"cannot enable/disable from a service with argument (service@arg).");
        return false;
    }
    true
}

/// `enable`/`disable --offline`: edits the links without a daemon.
pub fn offline(a: &CtlArgs, ui: &mut Ui<'_>) -> i32 {
    let enable = a.command == super::args::CtlCommand::Enable;
    let Some(to) = a.operands.first() else {
        return 1;
    };
    if !from_is_plain(a, ui) {
        return 1;
    }
    let dirs = if a.services_dirs.is_empty() {
        let kind = a
            .socket
            .instance
            .unwrap_or_else(InstanceKind::default_for_current_user);
        default_service_dirs(kind, &ProcessEnv)
    } else {
        a.services_dirs.clone()
    };
    let env = Environment::from_process();
    let mut loader = Loader::new(&dirs, &env);
    let base = OsStr::from_bytes(base_name(to));
    let Some(to_file) = dirs.iter().map(|d| d.join(base)).find(|f| f.is_file()) else {
        return report_load_failure(ui, LoadReply::NoService);
    };
    let from = match choose_from(a, &mut loader, to, ui) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let wdir = match waits_for_dir(&mut loader, &from, to, ui) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let link = wdir.join(OsStr::from_bytes(to));
    let exists = link.symlink_metadata().is_ok();
    if enable && exists {
        ui.error(b"service already enabled.");
        return 1;
    }
    if !enable && !exists {
        ui.error(b"service not currently enabled");
        return 1;
    }
    if !update_link(ui, enable, &link, &to_file, &wdir, false) {
        return 1;
    }
    ui.info(&done_msg(to, enable));
    0
}

/// The daemon's activation environment (`GETALLENV`, protocol 4+), used for substitutions
/// in the descriptions the client reads; older daemons cannot say, and the client's own
/// environment stands in.
pub fn daemon_env(conn: &mut Connection) -> Result<Option<Environment>, CtlError> {
    if conn.version() < 4 {
        return Ok(Some(Environment::from_process()));
    }
    let reply = conn.request(&Request::GetAllEnv)?;
    Ok(match reply.parse() {
        Ok(Reply::AllEnv { env }) => {
            let mut out = Environment::new();
            for entry in EnvEntries::new(env) {
                let (name, value) = match entry.iter().position(|&b| b == b'=') {
                    Some(i) => (
                        entry.get(..i).unwrap_or_default(),
                        entry.get(i.saturating_add(1)..).unwrap_or_default(),
                    ),
                    None => (entry, &b""[..]),
                };
                out.set(name, value);
            }
            Some(out)
        }
        _ => None,
    })
}

/// `enable`/`disable` with the daemon (spec §10.12).
pub fn online(conn: &mut Connection, ui: &mut Ui<'_>, a: &CtlArgs) -> Result<i32, CtlError> {
    let enable = a.command == super::args::CtlCommand::Enable;
    let Some(to) = a.operands.first() else {
        return Ok(1);
    };
    if !from_is_plain(a, ui) {
        return Ok(1);
    }
    // 1. The daemon's environment.
    let Some(env) = daemon_env(conn)? else {
        ui.error(b"control socket protocol error");
        return Ok(1);
    };
    // 2. "to" and its description file.
    let to_h = match load_or_report(conn, ui, to)? {
        Ok((h, _)) => h,
        Err(code) => return Ok(code),
    };
    let Some(to_file) = conn.service_file(to_h, to)? else {
        ui.error(b"protocol error");
        return Ok(1);
    };
    // 3. "from".
    let to_dirs = [to_file.parent().map(Path::to_path_buf).unwrap_or_default()];
    let from = match choose_from(a, &mut Loader::new(&to_dirs, &env), to, ui) {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    // 4. Load "from" and find its description.
    let (from_h, from_state) = match load_or_report(conn, ui, &from)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let Some(from_file) = conn.service_file(from_h, &from)? else {
        ui.error(b"protocol error");
        return Ok(1);
    };
    // 5. Check it and find its waits-for.d.
    let from_dirs = [from_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()];
    let wdir = match waits_for_dir(&mut Loader::new(&from_dirs, &env), &from, to, ui) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let link = wdir.join(OsStr::from_bytes(to));
    // 6, 7.
    if enable && link.symlink_metadata().is_ok() {
        ui.error(b"service already enabled.");
        return Ok(1);
    }
    if enable && from_state != ServiceState::Started {
        ui.error(b"warning: enabling dependency for non-started service");
    }
    // 8. The run-time dependency.
    let v7 = enable && conn.version() >= 7;
    let request = match (enable, v7) {
        (true, true) => Request::EnableServiceV7 {
            kind: DepKind::WaitsFor,
            from: from_h,
            to: to_h,
        },
        (true, false) => Request::EnableService {
            kind: DepKind::WaitsFor,
            from: from_h,
            to: to_h,
        },
        (false, _) => Request::RemDep {
            kind: DepKind::WaitsFor,
            from: from_h,
            to: to_h,
        },
    };
    let reply = conn.request(&request)?;
    let v7_status = match reply.parse() {
        Ok(Reply::ServiceStatus { .. }) if v7 => reply.status(),
        Ok(Reply::Ack) if !v7 => None,
        Ok(Reply::Nak) => {
            ui.error(if enable {
                b"could not enable service: possible circular dependency"
            } else {
                b"service not currently enabled"
            });
            return Ok(1);
        }
        _ => {
            ui.error(b"control socket protocol error");
            return Ok(1);
        }
    };
    // 9, 10. The link, and the message.
    if !update_link(ui, enable, &link, &to_file, &wdir, true) {
        return Ok(1);
    }
    ui.info(&done_msg(to, enable));
    // 11. The status of "to".
    let status = match v7_status {
        Some(s) => s,
        None => {
            conn.clear_events();
            let request = conn.status5_request(to_h);
            let status = conn.status_of(&request)?;
            if enable {
                // A start that completed meanwhile decides the outcome.
                let event = conn
                    .events()
                    .iter()
                    .filter(|e| e.handle == to_h)
                    .find(|e| {
                        matches!(
                            e.kind(),
                            Some(ServiceEvent::Started | ServiceEvent::FailedStart)
                        )
                    })
                    .copied();
                if let Some(ev) = event {
                    if ev.kind() == Some(ServiceEvent::Started) {
                        ui.info(&cat(&[b"Service '", to, b"' started."]));
                        return Ok(0);
                    }
                    ui.info(&cat(&[b"Service '", to, b"' failed to start."]));
                    for line in failure_reason_lines(ev.status.as_ref()) {
                        ui.info(line.as_bytes());
                    }
                    return Ok(1);
                }
            }
            match status {
                Some(s) => s,
                None => {
                    ui.error(b"protocol error.");
                    return Ok(1);
                }
            }
        }
    };
    if enable {
        if status.state != ServiceState::Started && status.target == ServiceState::Started {
            return Ok(wait_for(conn, ui, to_h, to, Phase::Start));
        }
    } else if status.target != ServiceState::Stopped {
        ui.error(b"note: disabled service may have other dependents");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_targets() {
        let dir = std::env::temp_dir().join(format!("dinit-ctl-link-{}", std::process::id()));
        let sd = dir.join("sd");
        std::fs::create_dir_all(sd.join("boot.d")).unwrap();
        std::fs::write(sd.join("svc"), b"type = internal\n").unwrap();
        assert_eq!(
            link_target(&sd.join("boot.d"), &sd.join("svc")),
            PathBuf::from("../svc")
        );
        let other = dir.join("other.d");
        assert_eq!(link_target(&other, &sd.join("svc")), sd.join("svc"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
