//! `dinitctl enable` and `disable` (CONTROL.md §3.12), online (with the daemon) and `--offline`.
//!
//! Both add or remove a waits-for dependency of the "from" service on the "to" service and
//! make it persistent with a symbolic link named after "to" in the one `waits-for.d`
//! directory of "from". "from" is `--from`, else the `@meta enable-via` of "to", else `boot`.
//!
//! The client reads the description files itself, as Dinit's dinitctl reads them: online,
//! from the directory the daemon loaded each service from and with the daemon's environment
//! (`GETALLENV`) for substitutions; offline, from the service directories (`-d`, or the
//! defaults of the instance) and with no environment but the system instance's environment
//! file. It does not load them: only the shape of each line is checked, and only the settings
//! that matter are read (`@meta enable-via` in "to"; `depends-on`, `depends-ms`, `waits-for`
//! and `waits-for.d` in "from"), so a description with other faults is no obstacle. Every
//! message is Dinit's.
//!
//! The link is named `<waits-for.d>/<to>`, resolved against the directory of the description
//! of "from"; it points to `../<file>` when the description of "to" sits beside the
//! `waits-for.d` directory (the usual layout: `boot.d/svc -> ../svc`), else to that file's
//! path (absolute), else to `../<to>`. The daemon reads only the names in the directory.

use super::args::CtlArgs;
use super::commands::{fail, load_or_report, service_msg, Exit, Outcome};
use super::conn::{base_name, Connection, CtlError};
use super::format::{cat, io_error_text};
use super::packet::Reply;
use super::start_stop::{print_failed, wait_for, Phase};
use super::status::SvcStatus;
use super::ui::Ui;
use crate::environ::Environment;
use crate::load::MAX_INCLUDE_DEPTH;
use crate::paths::{default_env_file, default_service_dirs, InstanceKind, ProcessEnv};
use dinit_core::desc::{DescError, DescErrorKind, Item, Parser, Setting, SubstEnv};
use dinit_core::proto::{EnvEntries, Handle, Request};
use dinit_core::{DepKind, ServiceEvent, ServiceState};
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// The service "from" defaults to.
const DEFAULT_FROM: &[u8] = b"boot";

/// Room for one setting's value while a description is read.
const SCRATCH: usize = 64 * 1024;

/// What a description says that enable and disable look at.
enum Seen<'a> {
    /// `depends-on`, `depends-ms` or `waits-for`: the name, substituted.
    Dependency(&'a [u8]),
    /// `waits-for.d`: the directory, substituted.
    WaitsForDir(&'a [u8]),
    /// `@meta enable-via`: the name, or `None` if the line is malformed.
    EnableVia(Option<&'a [u8]>),
}

/// Why a description could not be read.
enum ScanError {
    /// A file could not be read: its name as given, and why.
    Read(Vec<u8>, std::io::Error),
    /// The description is not readable. `named`: Dinit names the service with it (it does
    /// for most errors, not for those about line continuations and `@include` arguments).
    Desc { message: String, named: bool },
    /// The reader of the settings stopped, having said why.
    Stopped,
}

/// The settings whose values "from"'s check reads.
fn checked_setting(name: &[u8]) -> bool {
    matches!(
        name,
        b"depends-on" | b"depends-ms" | b"waits-for" | b"waits-for.d"
    )
}

/// C's white space (as in descriptions).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// The setting name at the start of `line` (after white space), read as a description's
/// names are read; empty if there is none.
fn setting_name(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(line.len());
    let rest = line.get(start..).unwrap_or(&[]);
    let name_byte =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') || b >= 0x80;
    match rest.first() {
        Some(&b) if name_byte(b) && b != b'-' && b != b'.' && !b.is_ascii_digit() => {
            let len = rest
                .iter()
                .position(|&b| !name_byte(b))
                .unwrap_or(rest.len());
            rest.get(..len).unwrap_or(&[])
        }
        _ => &[],
    }
}

/// The logical lines of `text` (a line ending in an odd number of backslashes goes on with
/// the next): their first and last physical line numbers (from 1) and their bytes.
fn logical_lines(text: &[u8]) -> Vec<(u32, u32, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut number = 0u32;
    let mut current: Option<(u32, usize)> = None;
    while pos < text.len() {
        let rest = text.get(pos..).unwrap_or(&[]);
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = rest.get(..len).unwrap_or(&[]);
        number = number.saturating_add(1);
        let (first, start) = *current.get_or_insert((number, pos));
        let backslashes = line.iter().rev().take_while(|&&b| b == b'\\').count();
        pos = pos.saturating_add(len).saturating_add(1);
        if backslashes % 2 == 0 {
            out.push((first, number, start..pos.min(text.len())));
            current = None;
        }
    }
    if let Some((first, start)) = current {
        out.push((first, number, start..text.len()));
    }
    out
}

/// Reads one description file (already open; `name` as Dinit names it in messages), with its
/// `@include`s, handing what matters to `seen`. `values`: errors in the values of the
/// settings "from"'s check reads count (they do not when only `enable-via` is looked for).
fn scan(
    file: &mut std::fs::File,
    name: &[u8],
    dir: &Path,
    env: &SubstEnv<'_>,
    values: bool,
    depth: usize,
    seen: &mut dyn FnMut(Seen<'_>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let mut text = Vec::new();
    if let Err(e) = file.read_to_end(&mut text) {
        return Err(ScanError::Read(name.to_vec(), e));
    }
    let lines = logical_lines(&text);
    let mut scratch = vec![0u8; SCRATCH];
    let mut parser = Parser::new(&text);
    loop {
        let entry = match parser.next_item(env, &mut scratch) {
            Ok(Some(entry)) => entry,
            Ok(None) => return Ok(()),
            Err(e) if e.fatal => return Err(fatal_error(&e)),
            Err(e) => {
                // An error in one setting: only those read here matter.
                let Some((_, _, range)) =
                    lines.iter().find(|(a, b, _)| (*a..=*b).contains(&e.line))
                else {
                    continue;
                };
                let line = text.get(range.clone()).unwrap_or(&[]);
                if values && checked_setting(setting_name(line)) {
                    reread_setting(line, &e, env, seen)?;
                }
                continue;
            }
        };
        match entry.item {
            Item::Setting(setting) => visit(setting, seen)?,
            Item::UnknownMeta(words) if words.first() == Some(&b"enable-via"[..]) => {
                seen(Seen::EnableVia(None))?;
            }
            Item::UnknownMeta(_) => {}
            Item::Include { path, optional } => {
                let path = path.to_vec();
                include(&path, optional, dir, env, values, depth, seen)?;
            }
        }
    }
}

/// Hands a setting that matters to `seen`.
fn visit(
    setting: Setting<'_>,
    seen: &mut dyn FnMut(Seen<'_>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    match setting {
        Setting::Dependency {
            kind: DepKind::Regular | DepKind::Milestone | DepKind::WaitsFor,
            name,
        } => seen(Seen::Dependency(name)),
        Setting::DependencyDir {
            kind: DepKind::WaitsFor,
            path,
        } => seen(Seen::WaitsForDir(path)),
        Setting::EnableVia(name) => {
            // Dinit reads the name as a setting name: anything else is malformed.
            let valid = setting_name(name) == name;
            seen(Seen::EnableVia(valid.then_some(name)))
        }
        _ => Ok(()),
    }
}

/// A setting "from"'s check reads, whose value the description parser refused (`e`). A
/// value that cannot be read (a quote left open, a misplaced `#`, a bad substitution) is an
/// error, as it is to Dinit; `+=`, which the parser refuses for these settings, is read as
/// `=` (Dinit reads the value whatever the operator); anything else (an invalid name) is no
/// concern of this check.
fn reread_setting(
    line: &[u8],
    e: &DescError,
    env: &SubstEnv<'_>,
    seen: &mut dyn FnMut(Seen<'_>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    match e.kind {
        DescErrorKind::UnterminatedQuote
        | DescErrorKind::HashNotSeparated
        | DescErrorKind::NulByte
        | DescErrorKind::ValueTooLong { .. }
        | DescErrorKind::Subst { .. } => Err(ScanError::Desc {
            message: e.kind.to_string(),
            named: true,
        }),
        DescErrorKind::AppendNotAllowed { .. } => {
            let mut line = line.to_vec();
            let name_end = line
                .iter()
                .position(|&b| !is_space(b))
                .unwrap_or(0)
                .saturating_add(setting_name(&line).len());
            let plus = line
                .iter()
                .skip(name_end)
                .position(|&b| !is_space(b))
                .map(|i| i.saturating_add(name_end));
            if let Some(slot) = plus.and_then(|i| line.get_mut(i)) {
                *slot = b' ';
            }
            let mut scratch = vec![0u8; SCRATCH];
            let mut parser = Parser::new(&line);
            match parser.next_item(env, &mut scratch) {
                Ok(Some(entry)) => match entry.item {
                    Item::Setting(setting) => visit(setting, seen),
                    _ => Ok(()),
                },
                Ok(None) => Ok(()),
                Err(again) if matches!(again.kind, DescErrorKind::AppendNotAllowed { .. }) => {
                    Ok(())
                }
                Err(again) => reread_setting(&line, &again, env, seen),
            }
        }
        _ => Ok(()),
    }
}

/// Reads an `@include`d file (relative to `dir`, the directory of the file that names it).
fn include(
    path: &[u8],
    optional: bool,
    dir: &Path,
    env: &SubstEnv<'_>,
    values: bool,
    depth: usize,
    seen: &mut dyn FnMut(Seen<'_>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let shown = String::from_utf8_lossy(path).into_owned();
    if depth.saturating_add(1) >= MAX_INCLUDE_DEPTH {
        return Err(ScanError::Desc {
            message: format!("{shown}: @include nested more than {MAX_INCLUDE_DEPTH} deep"),
            named: true,
        });
    }
    let full = dir.join(OsStr::from_bytes(path));
    let mut file = match std::fs::File::open(&full) {
        Ok(f) => f,
        Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(ScanError::Desc {
                message: format!("{shown}: cannot open: {}", io_error_text(&e)),
                named: true,
            })
        }
    };
    let inner_dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
    scan(
        &mut file,
        path,
        &inner_dir,
        env,
        values,
        depth.saturating_add(1),
        seen,
    )
}

/// An error that stops the reading of a description.
fn fatal_error(e: &DescError) -> ScanError {
    let named = !matches!(
        e.kind,
        DescErrorKind::EofAfterBackslash
            | DescErrorKind::ContinuationNotIndented
            | DescErrorKind::IncludeArgument { .. }
            | DescErrorKind::IncludeSubst { .. }
    );
    ScanError::Desc {
        message: e.kind.to_string(),
        named,
    }
}

/// Dinit's `combine_paths`: `b` if it is absolute or `a` empty, else `a/b`.
fn combine(a: &[u8], b: &[u8]) -> Vec<u8> {
    if b.is_empty() {
        return a.to_vec();
    }
    if a.is_empty() || b.first() == Some(&b'/') {
        return b.to_vec();
    }
    if a.last() == Some(&b'/') {
        return cat(&[a, b]);
    }
    cat(&[a, b"/", b])
}

/// Dinit's `parent_path`: the path without its last component and the slashes before it; `/`
/// for a file in the root; empty for a bare name.
fn parent_path(p: &[u8]) -> &[u8] {
    let Some(mut slash) = p.iter().rposition(|&b| b == b'/') else {
        return &[];
    };
    while slash > 0 && p.get(slash.saturating_sub(1)) == Some(&b'/') {
        slash -= 1;
    }
    if slash == 0 {
        return b"/";
    }
    p.get(..slash).unwrap_or(&[])
}

fn os(p: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(p))
}

/// Reports a description file that could not be opened, as Dinit's dinitctl does; the exit
/// status.
fn cannot_open(ui: &mut Ui<'_>, path: &[u8], e: &std::io::Error) -> i32 {
    ui.error(&cat(&[
        b"could not open service description file '",
        path,
        b"': ",
        io_error_text(e).as_bytes(),
    ]));
    1
}

/// Opens a description file, reporting a failure (`Err` holds the exit status).
fn open_description(ui: &mut Ui<'_>, path: &[u8]) -> Result<std::fs::File, i32> {
    std::fs::File::open(os(path)).map_err(|e| cannot_open(ui, path, &e))
}

/// The "from" named by the `@meta enable-via` of "to" (read from `to_path`, open as `file`),
/// or `boot`; `Err` with the exit status once the failure is printed.
fn enable_via(
    ui: &mut Ui<'_>,
    to: &[u8],
    to_path: &[u8],
    file: &mut std::fs::File,
    env: &SubstEnv<'_>,
) -> Result<Vec<u8>, i32> {
    let mut via: Option<Vec<u8>> = None;
    let dir = os(parent_path(to_path)).to_path_buf();
    let result = scan(file, to_path, &dir, env, false, 0, &mut |s| match s {
        Seen::EnableVia(Some(name)) => {
            via = Some(name.to_vec());
            Ok(())
        }
        Seen::EnableVia(None) => Err(ScanError::Desc {
            message: "'@meta enable-via' argument missing or malformed".into(),
            named: true,
        }),
        _ => Ok(()),
    });
    let message = match result {
        Ok(()) => return Ok(via.unwrap_or_else(|| DEFAULT_FROM.to_vec())),
        Err(ScanError::Read(file, e)) => {
            // (Dinit's message ends with a newline of its own, hence an empty line.)
            cat(&[to, b": ", &file, b": ", io_error_text(&e).as_bytes(), b"\n"])
        }
        Err(ScanError::Desc { message, named }) => {
            let name: &[u8] = if named { to } else { b"" };
            cat(&[name, b": ", message.as_bytes()])
        }
        Err(ScanError::Stopped) => return Err(1),
    };
    ui.error(&cat(&[b"error loading ", &message]));
    Err(1)
}

/// Checks the description of "from" (read from `from_path`, open as `file`): it must not
/// depend on "to" in itself, and must name one `waits-for.d` directory, which is returned.
fn waits_for_dir(
    ui: &mut Ui<'_>,
    from: &[u8],
    to: &[u8],
    from_path: &[u8],
    file: &mut std::fs::File,
    env: &SubstEnv<'_>,
) -> Result<Vec<u8>, i32> {
    let mut wdir: Option<Vec<u8>> = None;
    let dir = os(parent_path(from_path)).to_path_buf();
    let result = scan(file, from_path, &dir, env, true, 0, &mut |s| match s {
        Seen::Dependency(name) if name == to => {
            ui.error(&cat(&[
                b"there is a fixed dependency to service '",
                to,
                b"' in the service description of '",
                from,
                b"'.",
            ]));
            Err(ScanError::Stopped)
        }
        Seen::WaitsForDir(_) if wdir.is_some() => {
            ui.error(&cat(&[
                b"service '",
                from,
                b"' has multiple waits-for.d directories specified in service description",
            ]));
            Err(ScanError::Stopped)
        }
        Seen::WaitsForDir(dir) => {
            wdir = Some(dir.to_vec());
            Ok(())
        }
        _ => Ok(()),
    });
    match result {
        Ok(()) => {}
        Err(ScanError::Read(file, e)) => {
            ui.error(&cat(&[&file, b": ", io_error_text(&e).as_bytes()]));
            return Err(1);
        }
        Err(ScanError::Desc { message, .. }) => {
            ui.error(&cat(&[
                b"error in service description: ",
                message.as_bytes(),
            ]));
            return Err(1);
        }
        Err(ScanError::Stopped) => return Err(1),
    }
    match wdir {
        Some(d) => Ok(d),
        None => {
            ui.error(&cat(&[
                b"service '",
                from,
                b"' has no waits-for.d directory specified",
            ]));
            Err(1)
        }
    }
}

/// What the link for "to" points to: `../<file>` if the description of "to" (`to_path`) is
/// in the directory that holds the `waits-for.d` directory (`wdir_full`), compared as text;
/// else `to_path` if absolute; else `../<to>`.
pub fn link_target(wdir_full: &[u8], to_path: &[u8], to: &[u8]) -> Vec<u8> {
    if let Some(slash) = wdir_full.iter().rposition(|&b| b == b'/') {
        let prefix = wdir_full.get(..slash).unwrap_or(&[]);
        if to_path.starts_with(prefix) {
            if let Some(rest) = to_path.get(slash.saturating_add(1)..) {
                return cat(&[b"../", rest]);
            }
        }
    }
    if to_path.first() == Some(&b'/') {
        return to_path.to_vec();
    }
    cat(&[b"../", to])
}

/// Where the link is: `<dir of from's description>/<waits-for.d>/<to>`.
fn link_path(from_path: &[u8], wdir: &[u8], to: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let wdir_full = combine(parent_path(from_path), wdir);
    let link = combine(&wdir_full, to);
    (wdir_full, link)
}

/// Whether the link exists; `Err` with the exit status (the failure printed) if that cannot
/// be told.
fn link_exists(ui: &mut Ui<'_>, link: &[u8]) -> Result<bool, i32> {
    match std::fs::symlink_metadata(os(link)) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => {
            ui.error(&cat(&[
                b"checking for existing dependency link: ",
                link,
                b": ",
                io_error_text(&e).as_bytes(),
            ]));
            Err(1)
        }
    }
}

/// Creates (enable) or removes (disable) the link; prints the failure and returns false.
fn update_link(ui: &mut Ui<'_>, enable: bool, link: &[u8], target: &[u8], online: bool) -> bool {
    let result = if enable {
        std::os::unix::fs::symlink(os(target), os(link))
    } else {
        std::fs::remove_file(os(link))
    };
    let Err(e) = result else {
        return true;
    };
    let what: &[u8] = if enable {
        b"could not create symlink at "
    } else {
        b"could not unlink dependency entry "
    };
    ui.error(&cat(&[what, link, b": ", io_error_text(&e).as_bytes()]));
    if online {
        ui.error(if enable {
            b"note: service was enabled for now; persistent enable failed."
        } else {
            b"note: service was disabled for now; persistent disable failed."
        });
    }
    false
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

/// Finds the description `name` (without its argument) in `dirs`: the first directory where
/// opening it fails for another reason than its absence. Its path, and the open file or the
/// error; `None` if it is in none of them.
fn find_description(
    dirs: &[Vec<u8>],
    name: &[u8],
) -> Option<(Vec<u8>, std::io::Result<std::fs::File>)> {
    let base = base_name(name);
    dirs.iter().find_map(|dir| {
        let path = combine(dir, base);
        match std::fs::File::open(os(&path)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            result => Some((path, result)),
        }
    })
}

/// The environment offline substitutions read: none, except what the environment file of the
/// system instance sets (as Dinit's dinitctl has it). `Err` with the exit status once a file
/// that exists but cannot be read is reported.
fn offline_env(ui: &mut Ui<'_>, kind: InstanceKind) -> Result<Environment, i32> {
    let mut env = Environment::new();
    let Some(path) = (kind == InstanceKind::System)
        .then(|| default_env_file(InstanceKind::System))
        .flatten()
    else {
        return Ok(env);
    };
    match std::fs::read(&path) {
        Ok(text) => {
            env.apply_env_file(&text, &Environment::from_process());
            Ok(env)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(env),
        Err(e) => {
            // (Dinit's words, spacing included.)
            ui.error(&cat(&[
                b"cannot read environment file '",
                path.as_os_str().as_bytes(),
                b"' :",
                io_error_text(&e).as_bytes(),
            ]));
            Err(1)
        }
    }
}

/// `enable`/`disable --offline`: edits the links without a daemon; the exit status.
pub fn offline(a: &CtlArgs, ui: &mut Ui<'_>) -> i32 {
    match edit_offline(a, ui) {
        Ok(()) => 0,
        Err(code) => code,
    }
}

/// The steps of [`offline`]; `Err` holds the exit status, the failure printed.
fn edit_offline(a: &CtlArgs, ui: &mut Ui<'_>) -> Result<(), i32> {
    let enable = a.command == super::args::CtlCommand::Enable;
    let Some(to) = a.operands.first() else {
        return Err(1);
    };
    if !from_is_plain(a, ui) {
        return Err(1);
    }
    let kind = a
        .socket
        .instance
        .unwrap_or_else(InstanceKind::default_for_current_user);
    let dirs = offline_dirs(a, kind);
    let env = offline_env(ui, kind)?;
    let subst = SubstEnv::new(&env, None);
    // "to".
    let Some((to_path, to_file)) = find_description(&dirs, to) else {
        ui.error(&cat(&[
            b"could not locate service file for target service '",
            to,
            b"'",
        ]));
        return Err(1);
    };
    // "from".
    let from = match &a.from {
        Some(from) => from.clone(),
        None => offline_enable_via(ui, to, &to_path, to_file, &subst)?,
    };
    let (from_path, mut from_file) = find_from_description(ui, &dirs, &from)?;
    let wdir = waits_for_dir(ui, &from, to, &from_path, &mut from_file, &subst)?;
    let (wdir_full, link) = link_path(&from_path, &wdir, to);
    refuse_if_enabled(ui, enable, &link)?;
    let target = link_target(&wdir_full, &to_path, to);
    if !update_link(ui, enable, &link, &target, false) {
        return Err(1);
    }
    ui.info(&done_msg(to, enable));
    Ok(())
}

/// The service directories offline: `-d`, else the instance's defaults.
fn offline_dirs(a: &CtlArgs, kind: InstanceKind) -> Vec<Vec<u8>> {
    if a.services_dirs.is_empty() {
        default_service_dirs(kind, &ProcessEnv)
    } else {
        a.services_dirs.clone()
    }
    .into_iter()
    .map(|d| d.into_os_string().into_vec())
    .collect()
}

/// The `@meta enable-via` of "to" offline, from its description (`to_path`, opened as
/// `to_file`); `Err` with the exit status once the failure is printed.
fn offline_enable_via(
    ui: &mut Ui<'_>,
    to: &[u8],
    to_path: &[u8],
    to_file: std::io::Result<std::fs::File>,
    subst: &SubstEnv<'_>,
) -> Result<Vec<u8>, i32> {
    let mut file = match to_file {
        Ok(f) => f,
        Err(e) => {
            ui.error(&cat(&[
                b"could not read service description file '",
                to_path,
                b"': ",
                io_error_text(&e).as_bytes(),
            ]));
            return Err(1);
        }
    };
    enable_via(ui, to, to_path, &mut file, subst)
}

/// The description of "from" offline, open; `Err` with the exit status once the failure is
/// printed.
fn find_from_description(
    ui: &mut Ui<'_>,
    dirs: &[Vec<u8>],
    from: &[u8],
) -> Result<(Vec<u8>, std::fs::File), i32> {
    match find_description(dirs, from) {
        Some((path, Ok(file))) => Ok((path, file)),
        Some((path, Err(e))) => Err(cannot_open(ui, &path, &e)),
        None => {
            ui.error(&cat(&[
                b"could not locate service file for service '",
                from,
                b"'",
            ]));
            Err(1)
        }
    }
}

/// Steps 6: enabling a service whose link exists already is refused; `Err` with the exit
/// status once that (or a failure to tell) is printed.
fn refuse_if_enabled(ui: &mut Ui<'_>, enable: bool, link: &[u8]) -> Result<(), i32> {
    if link_exists(ui, link)? && enable {
        ui.error(b"service already enabled.");
        return Err(1);
    }
    Ok(())
}

/// The daemon's activation environment (`GETALLENV`, protocol 4+), used for substitutions
/// in the descriptions the client reads; older daemons cannot say, and the client's own
/// environment stands in.
pub fn daemon_env(conn: &mut Connection) -> Result<Option<Environment>, CtlError> {
    if conn.version() < 4 {
        return Ok(Some(Environment::from_process()));
    }
    Ok(match conn.request(&Request::GetAllEnv)? {
        Reply::AllEnv(env) => {
            let mut out = Environment::new();
            for entry in EnvEntries::new(&env) {
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

/// `enable`/`disable` with the daemon (CONTROL.md §3.12).
pub fn online(conn: &mut Connection, ui: &mut Ui<'_>, a: &CtlArgs) -> Outcome {
    let enable = a.command == super::args::CtlCommand::Enable;
    let Some(to) = a.operands.first() else {
        return Ok(1);
    };
    if !from_is_plain(a, ui) {
        return Ok(1);
    }
    // 1. The daemon's environment.
    let Some(env) = daemon_env(conn)? else {
        return Err(fail(ui, b"control socket protocol error"));
    };
    let subst = SubstEnv::new(&env, None);
    // 2. "to" and its description file.
    let (to_h, _) = load_or_report(conn, ui, to)?;
    let to_path = description_path(conn, ui, to_h, base_name(to))?;
    // 3. "from".
    let from = match &a.from {
        Some(from) => from.clone(),
        None => {
            let mut file = open_description(ui, &to_path).map_err(Exit::Code)?;
            enable_via(ui, to, &to_path, &mut file, &subst).map_err(Exit::Code)?
        }
    };
    // 4. Load "from" and find its description.
    let (from_h, from_state) = load_or_report(conn, ui, &from)?;
    let from_path = description_path(conn, ui, from_h, &from)?;
    let mut from_file = open_description(ui, &from_path).map_err(Exit::Code)?;
    // 5. Check it and find its waits-for.d.
    let wdir =
        waits_for_dir(ui, &from, to, &from_path, &mut from_file, &subst).map_err(Exit::Code)?;
    let (wdir_full, link) = link_path(&from_path, &wdir, to);
    // 6, 7.
    refuse_if_enabled(ui, enable, &link).map_err(Exit::Code)?;
    if enable && from_state != ServiceState::Started {
        ui.error(b"warning: enabling dependency for non-started service");
    }
    // 8. The run-time dependency.
    let v7_status = change_dependency(conn, ui, enable, from_h, to_h)?;
    // 9, 10. The link, and the message.
    let target = link_target(&wdir_full, &to_path, to);
    if !update_link(ui, enable, &link, &target, true) {
        return Ok(1);
    }
    ui.info(&done_msg(to, enable));
    // 11. The status of "to".
    let status = match v7_status {
        Some(s) => s,
        None => status_after_change(conn, ui, enable, to_h, to)?,
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

/// The description file `file` of a service loaded as `handle`, in the directory the daemon
/// loaded it from (CONTROL.md §3.3).
fn description_path(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    handle: Handle,
    file: &[u8],
) -> Result<Vec<u8>, Exit> {
    let Some(dir) = conn.service_dir(handle)? else {
        return Err(fail(ui, b"protocol error"));
    };
    Ok(combine(dir.as_os_str().as_bytes(), file))
}

/// Step 8: adds (`ENABLE_SERVICE_V7` or `ENABLESERVICE`) or removes (`REM_DEP`) the waits-for
/// dependency; the status `ENABLE_SERVICE_V7` answers with.
fn change_dependency(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    enable: bool,
    from: Handle,
    to: Handle,
) -> Result<Option<SvcStatus>, Exit> {
    let v7 = enable && conn.version() >= 7;
    let kind = DepKind::WaitsFor;
    let request = match (enable, v7) {
        (true, true) => Request::EnableServiceV7 { kind, from, to },
        (true, false) => Request::EnableService { kind, from, to },
        (false, _) => Request::RemDep { kind, from, to },
    };
    match conn.request(&request)? {
        Reply::ServiceStatus(status) if v7 => Ok(Some(status)),
        Reply::Ack if !v7 => Ok(None),
        Reply::Nak => Err(fail(
            ui,
            if enable {
                b"could not enable service: possible circular dependency"
            } else {
                b"service not currently enabled"
            },
        )),
        _ => Err(fail(ui, b"control socket protocol error")),
    }
}

/// Step 11 without `ENABLE_SERVICE_V7`: the status of "to" (`SERVICESTATUS5`). When
/// enabling, an event that ends its start meanwhile ends the command with that outcome.
fn status_after_change(
    conn: &mut Connection,
    ui: &mut Ui<'_>,
    enable: bool,
    to_h: Handle,
    to: &[u8],
) -> Result<SvcStatus, Exit> {
    conn.clear_events();
    let request = conn.status5_request(to_h);
    let status = conn.status_of(&request)?;
    if enable {
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
                ui.info(&service_msg(to, b"started."));
                return Err(Exit::Code(0));
            }
            print_failed(ui, to, ev.status.as_ref());
            return Err(Exit::Code(1));
        }
    }
    status.ok_or_else(|| fail(ui, b"protocol error."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_targets_as_dinit_guesses_them() {
        // Beside the waits-for.d directory: relative.
        assert_eq!(link_target(b"sd/boot.d", b"sd/svc", b"svc"), b"../svc");
        assert_eq!(
            link_target(b"/etc/dinit.d/boot.d", b"/etc/dinit.d/svc", b"svc@a"),
            b"../svc"
        );
        // Elsewhere: the absolute path, or ../<to> for a relative one.
        assert_eq!(
            link_target(b"/a/boot.d", b"/b/svc", b"svc"),
            b"/b/svc".to_vec()
        );
        assert_eq!(link_target(b"sd/boot.d", b"other/svc", b"svc"), b"../svc");
        assert_eq!(link_target(b"boot.d", b"other/svc", b"svc"), b"../svc");
    }

    #[test]
    fn paths_combine_as_dinits() {
        assert_eq!(combine(b"sd", b"boot"), b"sd/boot");
        assert_eq!(combine(b"sd/", b"boot"), b"sd/boot");
        assert_eq!(combine(b"sd", b"/abs"), b"/abs");
        assert_eq!(combine(b"", b"boot.d"), b"boot.d");
        assert_eq!(parent_path(b"sd/boot"), b"sd");
        assert_eq!(parent_path(b"sd//boot"), b"sd");
        assert_eq!(parent_path(b"/boot"), b"/");
        assert_eq!(parent_path(b"boot"), b"");
    }

    #[test]
    fn logical_lines_follow_continuations() {
        let text = b"a = 1\nb = x \\\n  y\n\nc = \\\\\nd";
        let lines: Vec<(u32, u32)> = logical_lines(text).iter().map(|l| (l.0, l.1)).collect();
        assert_eq!(lines, [(1, 1), (2, 3), (4, 4), (5, 5), (6, 6)]);
        assert_eq!(setting_name(b"  waits-for.d = x"), b"waits-for.d");
        assert_eq!(setting_name(b"9x = 1"), b"");
    }
}
