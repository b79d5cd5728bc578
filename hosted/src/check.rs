//! `dinit-check` (dinit-check(8)): checks service descriptions and the services they depend on,
//! printing what Dinit's `dinit-check` prints, byte for byte (the differential corpus of
//! tests/compat/check/ holds it to that).
//!
//! Standard output gets `Checking service: NAME...` for each service as it is checked,
//! `Performing secondary checks...`, and the verdict (`No problems found.` or `One or more
//! errors/warnings issued.`); standard error gets each problem as it is found and `Secondary
//! checks complete.`. The exit status is 1 if any error or lint warning was printed (or the
//! command line was wrong), else 0.
//!
//! The order of the work is Dinit's:
//!
//! 1. The services named (default `boot`) are checked in order, then, breadth first, what each
//!    checked service names: its dependencies (in the order of its description, `.d`
//!    directories included), its `before` and `after` services, and its `consumer-of`
//!    service (not `chain-to`). Dependencies deeper than 33 are not followed.
//! 2. Each service is read as dinit would read it ([`Loader`] with its lint on), then its
//!    working directory, its `command` and `stop-command` executables and its log file's
//!    directory are looked at.
//! 3. Secondary checks, in the order of the services' names: `consumer-of` against the
//!    consumed service's `log-type` and type; dependency depth; then a depth-first search for a
//!    dependency cycle from each service named on the command line (`before`/`after` count as
//!    dependencies here), reporting the first cycle found.

use crate::environ::Environment;
use crate::load::{strerror, Diagnostic, LoadError, Loader, ReadService};
use crate::paths::{default_env_file, default_service_dirs, InstanceKind, ProcessEnv};
use dinit_core::desc::LogType;
use dinit_core::{DepKind, ServiceKind};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Dinit's bound on the depth of dependencies.
const MAX_DEP_DEPTH: u32 = 32;

/// Parsed command line.
#[derive(Debug, Default)]
struct Options {
    dirs: Vec<PathBuf>,
    env_file: Option<PathBuf>,
    kind: Option<InstanceKind>,
    online: bool,
    socket_path: Option<OsString>,
    services: Vec<Vec<u8>>,
    help: bool,
}

const USAGE: &str = "\
dinit-check: check dinit service descriptions

Usage: dinit-check [options] [service-name...]

Options:
  -d dir, --services-dir dir   check services in dir (may be given more than once;
                               the default directories are then not searched)
  -e file, --env-file file     read the environment for substitutions from file
  -s, --system                 use the defaults of the system instance (default as root)
  -u, --user                   use the defaults of a user instance (default otherwise)
  -n, --online                 ask a running dinit for its directories and environment
  -p path, --socket-path path  the control socket for --online
  --help                       show this help

Without service names, the 'boot' service is checked. Dependencies are checked too.
";

/// Parses the command line as Dinit's dinit-check does; an error is the message to print.
fn parse_args(args: &[OsString]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let bytes = arg.as_bytes();
        if bytes.first() != Some(&b'-') {
            o.services.push(bytes.to_vec());
            continue;
        }
        // An option's argument must be there and not empty.
        let mut value = |missing: &str| {
            it.next()
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| format!("dinit-check: {missing}"))
        };
        match bytes {
            b"-d" | b"--services-dir" => o.dirs.push(PathBuf::from(value(
                "'--services-dir' (-d) requires an argument",
            )?)),
            b"-s" | b"--system" => o.kind = Some(InstanceKind::System),
            b"-u" | b"--user" => o.kind = Some(InstanceKind::User),
            b"-p" | b"--socket-path" => {
                o.socket_path = Some(value("--socket-path/-p should be followed by socket path")?);
            }
            b"-n" | b"--online" => o.online = true,
            b"-e" | b"--env-file" => {
                o.env_file = Some(PathBuf::from(value(
                    "--env-file/-e should be followed by environment file path",
                )?));
            }
            b"--help" => {
                o.help = true;
                return Ok(o);
            }
            _ => {
                return Err(format!(
                    "dinit-check: unrecognized option: '{}' (use '--help' for help)",
                    arg.to_string_lossy()
                ))
            }
        }
    }
    if o.services.is_empty() {
        o.services.push(b"boot".to_vec());
    }
    Ok(o)
}

/// Runs `dinit-check` with `args` (without the program name), writing its report to `out`
/// (standard output) and `err` (standard error). Returns the exit status.
pub fn run(args: &[OsString], out: &mut impl Write, err: &mut impl Write) -> i32 {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    if opts.help {
        let _ = out.write_all(USAGE.as_bytes());
        return 0;
    }
    let kind = opts
        .kind
        .unwrap_or_else(InstanceKind::default_for_current_user);
    if opts.online {
        return match online_settings(&opts, kind, err) {
            Ok((dirs, env)) => {
                let mut loader = Loader::new(&dirs, &env);
                loader.lint = true;
                loader.online = true;
                Checker::new(loader, out, err).check(&opts.services)
            }
            Err(code) => code,
        };
    }
    let dirs = if opts.dirs.is_empty() {
        default_service_dirs(kind, &ProcessEnv)
    } else {
        opts.dirs.clone()
    };
    let original = Environment::from_process();
    let mut env = original.clone();
    if let Some(path) = opts.env_file.clone().or_else(|| default_env_file(kind)) {
        match std::fs::read(&path) {
            Ok(text) => {
                for skipped in env.apply_env_file(&text, &original) {
                    let what = if skipped.bad_command {
                        "bad command"
                    } else {
                        "invalid environment variable setting"
                    };
                    let _ = writeln!(
                        err,
                        "dinit-check: warning: {what} in environment file {} (line {})",
                        path.display(),
                        skipped.line
                    );
                }
            }
            // A missing file is no error, even one named on the command line (as in Dinit).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let _ = writeln!(
                    err,
                    "dinit-check: error reading environment file {}: {}",
                    path.display(),
                    strerror(&e)
                );
                return 1;
            }
        }
    }
    let mut loader = Loader::new(&dirs, &env);
    loader.original_env = &original;
    loader.lint = true;
    Checker::new(loader, out, err).check(&opts.services)
}

/// `--online`: the service directories and environment of the running daemon (`-p`,
/// `DINIT_SOCKET_PATH` or the instance's default socket), through `QUERY_LOAD_MECH` and
/// `GETALLENV`. Relative directories are resolved against the daemon's working directory.
fn online_settings(
    opts: &Options,
    kind: InstanceKind,
    err: &mut impl Write,
) -> Result<(Vec<PathBuf>, Environment), i32> {
    use crate::ctl::commands::connect_with;
    use crate::ctl::socket::SocketOptions;
    use crate::ctl::Reply;
    use dinit_core::proto::Request;
    let mut msgs: Vec<u8> = Vec::new();
    let mut info: Vec<u8> = Vec::new();
    let socket = SocketOptions {
        socket_path: opts.socket_path.clone(),
        use_passed_cfd: false,
        instance: Some(kind),
    };
    let connected = {
        let mut ui = crate::ctl::Ui::new("dinit-check", &mut info, &mut msgs);
        connect_with(
            &socket,
            &mut ui,
            crate::ctl::commands::ConnectMessages::Dinitctl,
        )
    };
    // dinit-check words the connection failure as Dinit's does (without dinitctl's colon
    // after "socket", nor its hint about user instances).
    let text = String::from_utf8_lossy(&msgs).replace(
        "dinit-check: connecting to socket: ",
        "dinit-check: connecting to socket ",
    );
    for line in text.lines() {
        if !line.contains("perhaps no user instance is running?") {
            let _ = writeln!(err, "{line}");
        }
    }
    let mut conn = connected?;
    let fail = |err: &mut dyn Write| {
        let _ = writeln!(
            err,
            "dinit-check: control socket read failure or protocol error"
        );
        1
    };
    let dirs = match conn.request(&Request::QueryLoadMech) {
        Ok(Reply::LoaderMech { cwd, dirs }) => {
            let cwd = PathBuf::from(std::ffi::OsStr::from_bytes(&cwd));
            dirs.iter()
                .map(|d| cwd.join(std::ffi::OsStr::from_bytes(d)))
                .collect::<Vec<_>>()
        }
        _ => return Err(fail(err)),
    };
    let env = match crate::ctl::enable::daemon_env(&mut conn) {
        Ok(Some(env)) => env,
        _ => return Err(fail(err)),
    };
    Ok((dirs, env))
}

/// How a service was named, for the cycle search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// A dependency of any kind but ordering.
    Dependency,
    /// Added because the other service is `before` this one.
    Before,
    /// Added because this service is `after` the other.
    After,
}

/// What the secondary checks need of a service that was read.
#[derive(Debug)]
struct Record {
    kind: ServiceKind,
    log_type: LogType,
    consumer_of: Option<Vec<u8>>,
    dependencies: Vec<(Vec<u8>, Link)>,
    before: Vec<Vec<u8>>,
    after: Vec<Vec<u8>>,
    topology_index: u32,
    visited: bool,
    cycle_free: bool,
}

impl Record {
    fn new(read: &ReadService) -> Record {
        let mut dependencies = Vec::new();
        let mut before = Vec::new();
        let mut after = Vec::new();
        for dep in &read.dependencies {
            match dep.kind {
                DepKind::Before => before.push(dep.name.clone()),
                DepKind::After => after.push(dep.name.clone()),
                _ => dependencies.push((dep.name.clone(), Link::Dependency)),
            }
        }
        Record {
            kind: read.config.kind,
            log_type: read.data.log().log_type,
            consumer_of: read.data.extra().consumer_of.clone(),
            dependencies,
            before,
            after,
            topology_index: 0,
            visited: false,
            cycle_free: false,
        }
    }
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One run of the checks.
struct Checker<'a, O: Write, E: Write> {
    loader: Loader<'a>,
    out: &'a mut O,
    err: &'a mut E,
    errors_found: bool,
}

impl<'a, O: Write, E: Write> Checker<'a, O, E> {
    fn new(loader: Loader<'a>, out: &'a mut O, err: &'a mut E) -> Self {
        Checker {
            loader,
            out,
            err,
            errors_found: false,
        }
    }

    /// A problem: printed, and the check fails.
    fn problem(&mut self, line: &str) {
        let _ = writeln!(self.err, "{line}");
        self.errors_found = true;
    }

    /// A lint warning about service `name` (it fails the check too).
    fn warning(&mut self, name: &[u8], message: &str) {
        self.problem(&format!("Service '{}': warning: {message}", show(name)));
    }

    /// Checks `services` and everything they lead to; returns the exit status.
    fn check(mut self, services: &[Vec<u8>]) -> i32 {
        let mut to_check: Vec<(Vec<u8>, u32)> = services.iter().map(|s| (s.clone(), 0)).collect();
        let named = to_check.len();
        let mut records: BTreeMap<Vec<u8>, Record> = BTreeMap::new();
        let mut i = 0;
        while let Some((name, depth)) = to_check.get(i).cloned() {
            i += 1;
            let _ = writeln!(self.out, "Checking service: {}...", show(&name));
            if !records.contains_key(&name) {
                let Some(record) = self.check_service(&name) else {
                    continue;
                };
                records.insert(name.clone(), record);
            }
            let Some(record) = records.get(&name) else {
                continue;
            };
            let mut next: Vec<(Vec<u8>, u32)> = record
                .dependencies
                .iter()
                .map(|(d, _)| (d.clone(), depth.saturating_add(1)))
                .collect();
            next.extend(record.before.iter().map(|b| (b.clone(), 0)));
            next.extend(record.after.iter().map(|a| (a.clone(), 0)));
            next.extend(record.consumer_of.iter().map(|c| (c.clone(), 0)));
            for (n, d) in next {
                add_to_check(&mut to_check, &records, n, d);
            }
        }

        let _ = writeln!(self.out, "Performing secondary checks...");
        self.consumers_and_ordering(&mut records);
        self.depths(&mut records);
        let roots: Vec<Vec<u8>> = to_check
            .iter()
            .take(named)
            .map(|(n, _)| n.clone())
            .collect();
        self.cycles(&mut records, &roots);
        let _ = writeln!(self.err, "Secondary checks complete.");
        let verdict = if self.errors_found {
            "One or more errors/warnings issued."
        } else {
            "No problems found."
        };
        let _ = writeln!(self.out, "{verdict}");
        let _ = self.out.flush();
        i32::from(self.errors_found)
    }

    /// Reads one service, prints what is wrong with it, and looks at the files it names.
    fn check_service(&mut self, name: &[u8]) -> Option<Record> {
        let mut diags = Vec::new();
        let read = self.loader.read_service_diagnosed(name, &mut diags);
        for d in diags {
            match d {
                Diagnostic::Error(e) => self.problem(&e.check_line()),
                Diagnostic::Lint { service, message } => self.warning(&service, &message),
                Diagnostic::EnvironmentUsed => {
                    let _ = writeln!(
                        self.err,
                        "dinit-check: warning: variable substitution performed by dinit-check \
                         for file paths may not match dinit daemon (environment may differ); use \
                         --online to avoid this warning"
                    );
                }
            }
        }
        match read {
            Ok(read) => {
                self.check_files(name, &read);
                Some(Record::new(&read))
            }
            Err(e) => {
                self.unable_to_load(name, &e);
                None
            }
        }
    }

    fn unable_to_load(&mut self, name: &[u8], e: &LoadError) {
        self.problem(&format!(
            "Unable to load service '{}': {}",
            show(name),
            e.message()
        ));
    }

    /// The working directory, the executables and the log file's directory.
    fn check_files(&mut self, name: &[u8], read: &ReadService) {
        let wdir = match &read.check.working_dir {
            Some(w) => PathBuf::from(std::ffi::OsStr::from_bytes(w)),
            None => read.check.service_dir.clone(),
        };
        // Relative paths below resolve against the working directory if it can be opened,
        // else against the current directory.
        let base = match std::fs::metadata(&wdir) {
            Ok(m) if m.is_dir() => Some(wdir),
            Ok(_) => {
                self.warning(
                    name,
                    &format!(
                        "could not open service working directory: {}",
                        strerror(&std::io::Error::from_raw_os_error(libc::ENOTDIR))
                    ),
                );
                None
            }
            Err(e) => {
                self.warning(
                    name,
                    &format!("could not open service working directory: {}", strerror(&e)),
                );
                None
            }
        };
        for (setting, argv) in [
            ("command", &read.command),
            ("stop command", &read.stop_command),
        ] {
            // A command that substitutes to nothing at all (a single empty word) is as good as
            // unset: Dinit does not look at it.
            let unset = matches!(argv.as_slice(), [] | [_]) && argv.iter().all(|a| a.is_empty());
            if let (Some(program), false) = (argv.first(), unset) {
                self.check_command(name, setting, program.as_bytes());
            }
        }
        if let Some(logfile) = &read.check.logfile {
            let logfile = Path::new(std::ffi::OsStr::from_bytes(logfile));
            let dir = parent_path(logfile);
            if !dir.as_os_str().is_empty() {
                let at = match &base {
                    Some(b) if !dir.is_absolute() => b.join(&dir),
                    _ => dir.clone(),
                };
                match std::fs::metadata(&at) {
                    Err(e) => self.warning(
                        name,
                        &format!(
                            "could not access logfile directory '{}': {}",
                            dir.display(),
                            strerror(&e)
                        ),
                    ),
                    // (Dinit tests the directory bit alone.)
                    Ok(m) if m.mode() & libc::S_IFDIR == 0 => self.warning(
                        name,
                        &format!(
                            "logfile directory '{}' exists but is not a directory.",
                            dir.display()
                        ),
                    ),
                    Ok(_) => {}
                }
            }
        }
    }

    fn check_command(&mut self, name: &[u8], setting: &str, program: &[u8]) {
        let shown = show(program);
        if program.first() != Some(&b'/') {
            self.warning(
                name,
                &format!("{setting} executable '{shown}' is not an absolute path"),
            );
            return;
        }
        match std::fs::metadata(std::ffi::OsStr::from_bytes(program)) {
            Err(e) => self.warning(
                name,
                &format!(
                    "could not stat {setting} executable '{shown}': {}",
                    strerror(&e)
                ),
            ),
            Ok(m) if !m.is_file() => self.warning(
                name,
                &format!("{setting} executable '{shown}' is not a regular file."),
            ),
            Ok(m) if m.mode() & 0o100 == 0 => self.warning(
                name,
                &format!("{setting} executable '{shown}' is not executable by owner."),
            ),
            Ok(_) => {}
        }
    }

    /// `consumer-of` against the consumed service, and the `before`/`after` links turned into
    /// dependencies for the cycle search; in the order of the services' names.
    fn consumers_and_ordering(&mut self, records: &mut BTreeMap<Vec<u8>, Record>) {
        let names: Vec<Vec<u8>> = records.keys().cloned().collect();
        for name in &names {
            let Some(record) = records.get(name) else {
                continue;
            };
            let (before, after) = (record.before.clone(), record.after.clone());
            if let Some(target) = record.consumer_of.clone() {
                match records.get(&target) {
                    Some(consumed) if consumed.log_type != LogType::Pipe => self.problem(&format!(
                        "Service '{}': specified as consumer of service '{}' which has log-type \
                         that is not 'pipe'.",
                        show(name),
                        show(&target)
                    )),
                    Some(consumed)
                        if !matches!(
                            consumed.kind,
                            ServiceKind::Process | ServiceKind::Bgprocess | ServiceKind::Scripted
                        ) =>
                    {
                        self.problem(&format!(
                            "Service '{}': specified as consumer of service '{}' which is not a \
                             process-based service.",
                            show(name),
                            show(&target)
                        ));
                    }
                    Some(_) => {}
                    None => {
                        let _ = writeln!(
                            self.err,
                            "Warning: Service '{}' specified as consumer of service '{}' which \
                             was not found.",
                            show(name),
                            show(&target)
                        );
                    }
                }
            }
            for b in before {
                if let Some(other) = records.get_mut(&b) {
                    other.dependencies.push((name.clone(), Link::Before));
                }
            }
            for a in after {
                if records.contains_key(&a) {
                    if let Some(me) = records.get_mut(name) {
                        me.dependencies.push((a, Link::After));
                    }
                }
            }
        }
    }

    /// Dinit's topological pass: a service deeper than the bound is reported (a warning that
    /// does not fail the check).
    fn depths(&mut self, records: &mut BTreeMap<Vec<u8>, Record>) {
        let edges = |r: &Record| -> Vec<Vec<u8>> {
            r.dependencies
                .iter()
                .filter(|(_, l)| *l == Link::Dependency)
                .map(|(n, _)| n.clone())
                .collect()
        };
        let all: Vec<Vec<u8>> = records.values().flat_map(edges).collect();
        for dep in all {
            if let Some(r) = records.get_mut(&dep) {
                r.topology_index = r.topology_index.saturating_add(1);
            }
        }
        let mut current: Vec<Vec<u8>> = records
            .iter()
            .filter(|(_, r)| r.topology_index == 0)
            .map(|(n, _)| n.clone())
            .collect();
        let mut depth: u32 = 0;
        while !current.is_empty() {
            depth = depth.saturating_add(1);
            let mut next = Vec::new();
            for name in &current {
                let deps = records.get(name).map(edges).unwrap_or_default();
                for dep in deps {
                    let Some(r) = records.get_mut(&dep) else {
                        continue;
                    };
                    r.topology_index = r.topology_index.saturating_sub(1);
                    if r.topology_index == 0 {
                        if depth > MAX_DEP_DEPTH {
                            let _ = writeln!(
                                self.err,
                                "Service '{}' exceeds maximum allowed dependency depth \
                                 ({MAX_DEP_DEPTH}).",
                                show(&dep)
                            );
                        }
                        next.push(dep);
                    }
                }
            }
            current = next;
        }
    }

    /// A depth-first search from each service named on the command line; the first cycle
    /// found is reported.
    fn cycles(&mut self, records: &mut BTreeMap<Vec<u8>, Record>, roots: &[Vec<u8>]) {
        // Each link of the chain: a service and the index of its dependency being followed.
        let mut chain: Vec<(Vec<u8>, usize)> = Vec::new();
        for root in roots {
            match records.get(root) {
                Some(r) if !r.visited => {}
                _ => continue,
            }
            chain.push((root.clone(), 0));
            while let Some((last, index)) = chain.last().cloned() {
                let dep = records
                    .get(&last)
                    .and_then(|r| r.dependencies.get(index))
                    .map(|(n, _)| n.clone());
                let advance = |chain: &mut Vec<(Vec<u8>, usize)>| {
                    if let Some(link) = chain.last_mut() {
                        link.1 += 1;
                    }
                };
                let Some(dep) = dep else {
                    // Every dependency followed: this service is on no cycle.
                    if let Some(r) = records.get_mut(&last) {
                        r.cycle_free = true;
                    }
                    chain.pop();
                    if chain.is_empty() {
                        break;
                    }
                    advance(&mut chain);
                    continue;
                };
                let Some(next) = records.get_mut(&dep) else {
                    advance(&mut chain);
                    continue;
                };
                if next.visited {
                    if next.cycle_free {
                        advance(&mut chain);
                        continue;
                    }
                    let start = chain.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                    chain.drain(..start);
                    break;
                }
                next.visited = true;
                chain.push((dep, 0));
            }
            if !chain.is_empty() {
                break;
            }
        }
        let Some((first, _)) = chain.first().cloned() else {
            return;
        };
        let mut text = String::from("Found dependency cycle:\n");
        for (name, index) in &chain {
            let via = records
                .get(name)
                .and_then(|r| r.dependencies.get(*index))
                .map_or("", |(_, link)| match link {
                    Link::Dependency => "",
                    Link::Before => " (via 'before')",
                    Link::After => " (via 'after')",
                });
            text.push_str(&format!("    {} ->{via}\n", show(name)));
        }
        text.push_str(&format!("    {}.", show(&first)));
        self.problem(&text);
    }
}

/// Adds a service to the list of those to check, unless it is there or checked already (its
/// depth is then raised if need be; Dinit's bookkeeping, though only the bound matters).
fn add_to_check(
    to_check: &mut Vec<(Vec<u8>, u32)>,
    records: &BTreeMap<Vec<u8>, Record>,
    name: Vec<u8>,
    depth: u32,
) {
    if depth > MAX_DEP_DEPTH + 1 || records.contains_key(&name) {
        return;
    }
    if let Some(entry) = to_check.iter_mut().find(|(n, _)| *n == name) {
        entry.1 = entry.1.max(depth);
        return;
    }
    to_check.push((name, depth));
}

/// The directory part of a path as Dinit's `parent_path` gives it: "" for a bare name, "/"
/// for a file in the root, else the path without its last component and trailing slashes.
fn parent_path(path: &Path) -> PathBuf {
    let bytes = path.as_os_str().as_bytes();
    match bytes.iter().rposition(|&b| b == b'/') {
        None => PathBuf::new(),
        Some(mut cut) => {
            while cut > 0 && bytes.get(cut - 1) == Some(&b'/') {
                cut -= 1;
            }
            let dir = bytes.get(..cut.max(1)).unwrap_or(b"/");
            PathBuf::from(OsString::from_vec(dir.to_vec()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn option_errors_are_dinits() {
        let err = |list: &[&str]| parse_args(&args(list)).unwrap_err();
        assert_eq!(
            err(&["-d"]),
            "dinit-check: '--services-dir' (-d) requires an argument"
        );
        assert_eq!(
            err(&["-d", ""]),
            "dinit-check: '--services-dir' (-d) requires an argument"
        );
        assert_eq!(
            err(&["-e"]),
            "dinit-check: --env-file/-e should be followed by environment file path"
        );
        assert_eq!(
            err(&["--socket-path"]),
            "dinit-check: --socket-path/-p should be followed by socket path"
        );
        assert_eq!(
            err(&["x", "--bogus"]),
            "dinit-check: unrecognized option: '--bogus' (use '--help' for help)"
        );
        assert_eq!(
            err(&["-"]),
            "dinit-check: unrecognized option: '-' (use '--help' for help)"
        );
    }

    #[test]
    fn names_and_options_mix() {
        let o = parse_args(&args(&["a", "-d", "sd", "b", "--user", "-n"])).unwrap();
        assert_eq!(o.services, [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(o.dirs, [PathBuf::from("sd")]);
        assert_eq!(o.kind, Some(InstanceKind::User));
        assert!(o.online);
        let o = parse_args(&args(&["-s"])).unwrap();
        assert_eq!(o.services, [b"boot".to_vec()]);
        assert!(parse_args(&args(&["--help", "--bogus"])).unwrap().help);
    }

    #[test]
    fn parent_paths() {
        let p = |s: &str| parent_path(Path::new(s));
        assert_eq!(p("/a"), PathBuf::from("/"));
        assert_eq!(p("/a/b/c"), PathBuf::from("/a/b"));
        assert_eq!(p("foo"), PathBuf::new());
        assert_eq!(p("foo//bar"), PathBuf::from("foo"));
    }
}
