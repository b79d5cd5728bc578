//! `dinit-check` (dinit-check(8)): checks service descriptions and the services they depend on
//! for syntax errors, invalid values, missing dependencies and dependency cycles, and warns about
//! settings that do not apply to a service's type and about variable substitution (whose result
//! depends on the environment of the running dinit).
//!
//! Output (on standard output): `Checking service: NAME...` for each service checked, then one
//! line per problem, `Error: ...` or `Warning: ...`, then a summary. The exit status is 1 if
//! there was an error (including a command-line error), 0 otherwise; warnings alone do not fail.

use crate::environ::Environment;
use crate::load::{LoadError, Loader};
use crate::paths::{default_env_file, default_service_dirs, InstanceKind, ProcessEnv};
use dinit_core::engine::LoadError as EngineLoadError;
use dinit_core::profile::DefaultSet;
use std::collections::{BTreeSet, VecDeque};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::Mutex;

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

fn parse_args(args: &[OsString]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let a = arg.to_string_lossy();
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("'{a}' requires an argument ({what})"))
        };
        match a.as_ref() {
            "-d" | "--services-dir" => o.dirs.push(PathBuf::from(value("a directory")?)),
            "-e" | "--env-file" => o.env_file = Some(PathBuf::from(value("a file")?)),
            "-p" | "--socket-path" => o.socket_path = Some(value("a socket path")?),
            "-s" | "--system" => o.kind = Some(InstanceKind::System),
            "-u" | "--user" => o.kind = Some(InstanceKind::User),
            "-n" | "--online" => o.online = true,
            "--help" => o.help = true,
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(format!("unrecognized option: {s}"))
            }
            _ => o.services.push(arg.clone().into_vec()),
        }
    }
    if o.services.is_empty() {
        o.services.push(b"boot".to_vec());
    }
    Ok(o)
}

/// Runs `dinit-check` with `args` (without the program name), writing its report to `out`.
/// Returns the exit status.
pub fn run(args: &[OsString], out: &mut impl Write) -> i32 {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(out, "dinit-check: {e}");
            let _ = writeln!(out, "Try 'dinit-check --help' for more information.");
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
        return match online_settings(&opts, kind, out) {
            Ok((dirs, env)) => {
                let mut checker = Checker::new(&dirs, &env, &env);
                checker.online = true;
                let report = checker.check(&opts.services);
                print_report(&report, out)
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
    let env_file = opts.env_file.clone().or_else(|| default_env_file(kind));
    if let Some(path) = env_file {
        match std::fs::read(&path) {
            Ok(text) => {
                if let Err(e) = env.apply_env_file(&text, &original) {
                    let _ = writeln!(out, "Error: environment file {}, {e}", path.display());
                    return 1;
                }
            }
            // The default file is optional; one named on the command line is not.
            Err(e) if opts.env_file.is_some() => {
                let _ = writeln!(
                    out,
                    "Error: cannot read environment file {}: {e}",
                    path.display()
                );
                return 1;
            }
            Err(_) => {}
        }
    }
    let mut checker = Checker::new(&dirs, &env, &original);
    let report = checker.check(&opts.services);
    print_report(&report, out)
}

/// Prints the report and its summary; returns the exit status.
fn print_report(report: &Report, out: &mut impl Write) -> i32 {
    for line in &report.lines {
        let _ = writeln!(out, "{line}");
    }
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    if report.errors > 0 {
        let _ = writeln!(
            out,
            "One or more errors found ({}, {}).",
            plural(report.errors, "error"),
            plural(report.warnings, "warning")
        );
        1
    } else if report.warnings > 0 {
        let _ = writeln!(
            out,
            "No errors found ({}).",
            plural(report.warnings, "warning")
        );
        0
    } else {
        let _ = writeln!(out, "No problems found.");
        0
    }
}

/// `--online`: the service directories and environment of the running daemon (`-p`,
/// `DINIT_SOCKET_PATH` or the instance's default socket), through `QUERY_LOAD_MECH` and
/// `GETALLENV`. Relative directories are resolved against the daemon's working directory.
fn online_settings(
    opts: &Options,
    kind: InstanceKind,
    out: &mut impl Write,
) -> Result<(Vec<PathBuf>, Environment), i32> {
    use crate::ctl::commands::connect_with;
    use crate::ctl::socket::SocketOptions;
    use dinit_core::proto::{Reply, Request};
    use std::os::unix::ffi::OsStrExt;
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
    let _ = out.write_all(&msgs);
    let mut conn = connected?;
    let fail = |out: &mut dyn Write| {
        let _ = writeln!(
            out,
            "dinit-check: cannot query the running dinit: control socket protocol error"
        );
        1
    };
    let dirs = match conn.request(&Request::QueryLoadMech) {
        Ok(reply) => match reply.parse() {
            Ok(Reply::LoaderMech { cwd, dirs }) => {
                let cwd = PathBuf::from(std::ffi::OsStr::from_bytes(cwd));
                dirs.iter()
                    .map(|d| cwd.join(std::ffi::OsStr::from_bytes(d)))
                    .collect::<Vec<_>>()
            }
            _ => return Err(fail(out)),
        },
        Err(_) => return Err(fail(out)),
    };
    let env = match crate::ctl::enable::daemon_env(&mut conn) {
        Ok(Some(env)) => env,
        _ => return Err(fail(out)),
    };
    Ok((dirs, env))
}

/// The outcome of a check.
#[derive(Debug, Default)]
pub struct Report {
    /// The lines to print, in order.
    pub lines: Vec<String>,
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
}

/// A service that was read successfully: name, configuration and dependencies.
type ReadOk = (
    Vec<u8>,
    dinit_core::ServiceConfig,
    Vec<(dinit_core::DepKind, Vec<u8>)>,
);

/// Checks services and their dependencies.
#[derive(Debug)]
pub struct Checker<'a> {
    loader: Loader<'a>,
    /// The environment is the running daemon's (`--online`): substitutions need no warning.
    pub online: bool,
}

impl<'a> Checker<'a> {
    /// A checker over `dirs`, substituting from `env` (`original` is what `!import` reads).
    pub fn new(dirs: &'a [PathBuf], env: &'a Environment, original: &'a Environment) -> Self {
        let mut loader = Loader::new(dirs, env);
        loader.detect_substitution = true;
        loader.original_env = original;
        Checker {
            loader,
            online: false,
        }
    }

    /// Checks `services` and everything they depend on.
    pub fn check(&mut self, services: &[Vec<u8>]) -> Report {
        let mut report = Report::default();
        let mut queue: VecDeque<(Vec<u8>, Option<Vec<u8>>)> =
            services.iter().map(|s| (s.clone(), None)).collect();
        let mut seen: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut good: Vec<ReadOk> = Vec::new();
        while let Some((name, needed_by)) = queue.pop_front() {
            if !seen.insert(name.clone()) {
                continue;
            }
            report.lines.push(format!(
                "Checking service: {}...",
                String::from_utf8_lossy(&name)
            ));
            let mut errors = Vec::new();
            let warnings_before = self.loader.warnings.len();
            let read = self.loader.read_service(&name, &mut errors);
            if let Err(LoadError::NotFound { name: n, .. }) = &read {
                errors.clear();
                errors.push(LoadError::NotFound {
                    name: n.clone(),
                    needed_by: needed_by.clone(),
                });
            } else if let Err(e) = &read {
                if errors.is_empty() {
                    errors.push(e.duplicate());
                }
            }
            for e in &errors {
                report.lines.push(format!("Error: {e}"));
                report.errors += 1;
            }
            let new_warnings: Vec<String> = self
                .loader
                .warnings
                .iter()
                .skip(warnings_before)
                .map(|w| format!("Warning: {w}"))
                .collect();
            report.warnings += new_warnings.len();
            report.lines.extend(new_warnings);
            let Ok(read) = read else { continue };
            for setting in read.substituted.iter().filter(|_| !self.online) {
                report.lines.push(format!(
                    "Warning: service '{}': '{setting}' depends on environment variables; dinit substitutes them from its own environment, which may differ",
                    String::from_utf8_lossy(&name)
                ));
                report.warnings += 1;
            }
            let mut deps = Vec::new();
            for dep in &read.dependencies {
                if dep.from_dir && !self.loader.has_description(&dep.name) {
                    report.lines.push(format!(
                        "Warning: service '{}': no description for '{}' named in a dependency directory; ignored",
                        String::from_utf8_lossy(&name),
                        String::from_utf8_lossy(&dep.name)
                    ));
                    report.warnings += 1;
                    continue;
                }
                deps.push((dep.kind, dep.name.clone()));
                if !dep.kind.is_ordering() {
                    queue.push_back((dep.name.clone(), Some(name.clone())));
                }
            }
            if let Some(target) = &read.data.extra().consumer_of {
                queue.push_back((target.clone(), Some(name.clone())));
            }
            good.push((name, read.data.config, deps));
        }
        self.check_cycles(&good, &mut report);
        report
    }

    /// Loads the shape of the graph into an engine set to find cycles.
    fn check_cycles(&self, services: &[ReadOk], report: &mut Report) {
        // The set is large: it lives in a static (in .bss) rather than on the stack.
        static SET: Mutex<DefaultSet> = Mutex::new(DefaultSet::new());
        let mut set = SET.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        set.reset();
        if set.begin_load().is_err() {
            return;
        }
        for (name, config, _) in services {
            if let Err(e) = set.insert_service(name, *config, b"") {
                report
                    .lines
                    .push(format!("Error: cannot check for cycles: {e:?}"));
                report.errors += 1;
                return;
            }
        }
        for (name, _, deps) in services {
            let Some(from) = set.find(name) else { continue };
            for (kind, dep) in deps {
                let to = match set.find(dep) {
                    Some(t) => t,
                    None if kind.is_ordering() => match set.placeholder(dep) {
                        Ok(t) => t,
                        Err(_) => continue,
                    },
                    None => continue,
                };
                if let Err(EngineLoadError::SelfDependency(_)) = set.add_dependency(from, to, *kind)
                {
                    report.lines.push(format!(
                        "Error: service '{}': it depends on itself",
                        String::from_utf8_lossy(name)
                    ));
                    report.errors += 1;
                }
            }
        }
        if let Err(EngineLoadError::Cycle(cycle)) = set.commit_load() {
            let mut names: Vec<String> = set
                .cycle_members(&cycle)
                .map(|id| String::from_utf8_lossy(set.name(id).unwrap_or(b"?")).into_owned())
                .collect();
            names.reverse();
            if let Some(first) = names.first().cloned() {
                names.push(first);
            }
            report
                .lines
                .push(format!("Error: dependency cycle: {}", names.join(" -> ")));
            report.errors += 1;
            set.abort_load();
        }
    }
}
