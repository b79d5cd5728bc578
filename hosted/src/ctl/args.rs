//! The command line of `dinitctl` (dinitctl(8)).
//!
//! Options may come before or after the command word. General options apply to every
//! command; command options are accepted only by the commands dinitctl(8) lists them for
//! (`--ignore-unstarted` is also accepted, and ignored, by `start` and `wake`, as the stock
//! client does). Anything else is "Invalid command line" (spec §10.1).

use super::socket::SocketOptions;
use crate::paths::InstanceKind;
use dinit_core::DepKind;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// A `dinitctl` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtlCommand {
    /// `start`.
    Start,
    /// `wake`.
    Wake,
    /// `stop`.
    Stop,
    /// `restart`.
    Restart,
    /// `release`.
    Release,
    /// `status`.
    Status,
    /// `is-started`.
    IsStarted,
    /// `is-failed`.
    IsFailed,
    /// `unpin`.
    Unpin,
    /// `unload`.
    Unload,
    /// `reload`.
    Reload,
    /// `list`.
    List,
    /// `shutdown`.
    Shutdown,
    /// `add-dep`.
    AddDep,
    /// `rm-dep`.
    RmDep,
    /// `enable`.
    Enable,
    /// `disable`.
    Disable,
    /// `trigger`.
    Trigger,
    /// `untrigger`.
    Untrigger,
    /// `setenv`.
    SetEnv,
    /// `unsetenv`.
    UnsetEnv,
    /// `catlog`.
    CatLog,
    /// `signal`.
    Signal,
}

impl CtlCommand {
    /// The command named by a word of the command line.
    pub fn from_word(word: &[u8]) -> Option<Self> {
        use CtlCommand as C;
        Some(match word {
            b"start" => C::Start,
            b"wake" => C::Wake,
            b"stop" => C::Stop,
            b"restart" => C::Restart,
            b"release" => C::Release,
            b"status" => C::Status,
            b"is-started" => C::IsStarted,
            b"is-failed" => C::IsFailed,
            b"unpin" => C::Unpin,
            b"unload" => C::Unload,
            b"reload" => C::Reload,
            b"list" => C::List,
            b"shutdown" => C::Shutdown,
            b"add-dep" => C::AddDep,
            b"rm-dep" => C::RmDep,
            b"enable" => C::Enable,
            b"disable" => C::Disable,
            b"trigger" => C::Trigger,
            b"untrigger" => C::Untrigger,
            b"setenv" => C::SetEnv,
            b"unsetenv" => C::UnsetEnv,
            b"catlog" => C::CatLog,
            b"signal" => C::Signal,
            _ => return None,
        })
    }

    /// The start/stop family, which share one request sequence (spec §10.4).
    pub fn is_start_stop(self) -> bool {
        use CtlCommand as C;
        matches!(self, C::Start | C::Wake | C::Stop | C::Restart | C::Release)
    }
}

/// A parsed `dinitctl` command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtlArgs {
    /// The command.
    pub command: CtlCommand,
    /// Its operands (service names, variables, the signal, ...), after the dependency type
    /// of `add-dep`/`rm-dep`.
    pub operands: Vec<Vec<u8>>,
    /// `add-dep`/`rm-dep`: the dependency type.
    pub dep_kind: Option<DepKind>,
    /// `signal`: the signal number (validated while parsing the operands; see
    /// [`ParseOutcome::BadSignal`]).
    pub signal: Option<i32>,
    /// Socket selection.
    pub socket: SocketOptions,
    /// `--quiet`.
    pub quiet: bool,
    /// `--offline`/`-o`.
    pub offline: bool,
    /// `--services-dir`/`-d` (used only with `--offline`).
    pub services_dirs: Vec<PathBuf>,
    /// `--no-wait`.
    pub no_wait: bool,
    /// `--pin`.
    pub pin: bool,
    /// `--force`/`-f`.
    pub force: bool,
    /// `--ignore-unstarted`.
    pub ignore_unstarted: bool,
    /// `catlog --clear`.
    pub clear: bool,
    /// `enable`/`disable --from`.
    pub from: Option<Vec<u8>>,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseOutcome {
    /// Run a command.
    Run(CtlArgs),
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// `signal --list`/`-l`.
    SignalList,
    /// `signal` with a word that is neither a signal name nor a number.
    BadSignal(Vec<u8>),
    /// Invalid command line.
    Invalid,
}

/// Options seen, before they are checked against the command.
#[derive(Default)]
struct Seen {
    no_wait: bool,
    pin: bool,
    force: bool,
    ignore_unstarted: bool,
    clear: bool,
    list: bool,
    from: Option<Vec<u8>>,
    offline: bool,
}

/// Parses the arguments (without the program name).
pub fn parse_args(args: &[OsString]) -> ParseOutcome {
    let mut socket = SocketOptions::default();
    let mut quiet = false;
    let mut services_dirs = Vec::new();
    let mut seen = Seen::default();
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut it = args.iter();
    let mut only_operands = false;
    while let Some(arg) = it.next() {
        let a = arg.as_bytes();
        if only_operands || !a.starts_with(b"-") || a == b"-" {
            words.push(a.to_vec());
            continue;
        }
        match a {
            b"--" => only_operands = true,
            b"--help" => return ParseOutcome::Help,
            b"--version" => return ParseOutcome::Version,
            b"-s" | b"--system" => socket.instance = Some(InstanceKind::System),
            b"-u" | b"--user" => socket.instance = Some(InstanceKind::User),
            b"-p" | b"--socket-path" => match it.next() {
                Some(p) if !p.is_empty() => socket.socket_path = Some(p.clone()),
                _ => return ParseOutcome::Invalid,
            },
            b"--use-passed-cfd" => socket.use_passed_cfd = true,
            b"--quiet" => quiet = true,
            b"-o" | b"--offline" => seen.offline = true,
            b"-d" | b"--services-dir" => match it.next() {
                Some(d) if !d.is_empty() => services_dirs.push(PathBuf::from(d)),
                _ => return ParseOutcome::Invalid,
            },
            b"--no-wait" => seen.no_wait = true,
            b"--pin" => seen.pin = true,
            b"-f" | b"--force" => seen.force = true,
            b"--ignore-unstarted" => seen.ignore_unstarted = true,
            b"--clear" => seen.clear = true,
            b"-l" | b"--list" => seen.list = true,
            b"--from" => match it.next() {
                Some(f) if !f.is_empty() => seen.from = Some(f.clone().into_vec()),
                _ => return ParseOutcome::Invalid,
            },
            _ => return ParseOutcome::Invalid,
        }
    }
    let mut words = words.into_iter();
    let Some(command) = words.next().and_then(|w| CtlCommand::from_word(&w)) else {
        return ParseOutcome::Invalid;
    };
    let mut operands: Vec<Vec<u8>> = words.collect();
    if !options_fit(command, &seen) {
        return ParseOutcome::Invalid;
    }
    use CtlCommand as C;
    let mut dep_kind = None;
    let mut signal = None;
    let count_ok = match command {
        C::List | C::Shutdown => operands.is_empty(),
        C::SetEnv | C::UnsetEnv => true,
        C::AddDep | C::RmDep => {
            if operands.len() != 3 {
                return ParseOutcome::Invalid;
            }
            dep_kind = match operands.remove(0).as_slice() {
                b"need" | b"regular" => Some(DepKind::Regular),
                b"milestone" => Some(DepKind::Milestone),
                b"waits-for" => Some(DepKind::WaitsFor),
                _ => return ParseOutcome::Invalid,
            };
            true
        }
        C::Signal => {
            if seen.list {
                return if operands.is_empty() {
                    ParseOutcome::SignalList
                } else {
                    ParseOutcome::Invalid
                };
            }
            if operands.len() != 2 {
                return ParseOutcome::Invalid;
            }
            let word = operands.remove(0);
            match super::format::parse_signal(&word) {
                Some(n) => signal = Some(n),
                None => return ParseOutcome::BadSignal(word),
            }
            true
        }
        _ => operands.len() == 1,
    };
    // A service name must not be empty: the daemon would wait for a fourth byte of the
    // request forever (spec §4.1).
    let names_ok = match command {
        C::SetEnv | C::UnsetEnv => true,
        _ => operands.iter().all(|o| !o.is_empty()),
    };
    if !count_ok || !names_ok {
        return ParseOutcome::Invalid;
    }
    if matches!(&seen.from, Some(f) if f.contains(&b'@')) {
        return ParseOutcome::Invalid;
    }
    ParseOutcome::Run(CtlArgs {
        command,
        operands,
        dep_kind,
        signal,
        socket,
        quiet,
        offline: seen.offline,
        services_dirs,
        no_wait: seen.no_wait,
        pin: seen.pin,
        force: seen.force,
        ignore_unstarted: seen.ignore_unstarted,
        clear: seen.clear,
        from: seen.from,
    })
}

/// True if every command option given applies to `command`.
fn options_fit(command: CtlCommand, seen: &Seen) -> bool {
    use CtlCommand as C;
    let start_stop = command.is_start_stop();
    let enable = matches!(command, C::Enable | C::Disable);
    let start_stop_only = !(seen.no_wait || seen.pin || seen.ignore_unstarted);
    (start_stop || start_stop_only)
        && (!seen.force || matches!(command, C::Stop | C::Restart))
        && (!seen.clear || command == C::CatLog)
        && (!seen.list || command == C::Signal)
        && (seen.from.is_none() || enable)
        && (!seen.offline || enable)
}

/// The text of `dinitctl --help`.
pub const USAGE: &str = "\
dinitctl: control Dinit services

Usage:
    dinitctl [options] status <service-name>
    dinitctl [options] is-started <service-name>
    dinitctl [options] is-failed <service-name>
    dinitctl [options] start [options] <service-name>
    dinitctl [options] stop [options] <service-name>
    dinitctl [options] restart [options] <service-name>
    dinitctl [options] wake [options] <service-name>
    dinitctl [options] release [options] <service-name>
    dinitctl [options] unpin <service-name>
    dinitctl [options] unload <service-name>
    dinitctl [options] reload <service-name>
    dinitctl [options] list
    dinitctl [options] shutdown
    dinitctl [options] add-dep <type> <from-service> <to-service>
    dinitctl [options] rm-dep <type> <from-service> <to-service>
    dinitctl [options] enable [--from <from-service>] <to-service>
    dinitctl [options] disable [--from <from-service>] <to-service>
    dinitctl [options] trigger <service-name>
    dinitctl [options] untrigger <service-name>
    dinitctl [options] setenv [name[=value] ...]
    dinitctl [options] unsetenv [name ...]
    dinitctl [options] catlog [--clear] <service-name>
    dinitctl [options] signal <signal-name-or-number> <service-name>
    dinitctl [options] signal --list

Note: An activated service continues running when its dependents stop.

General options:
  --help                     show this help and exit
  --version                  show the version and exit
  -s, --system               control the system service manager (default for root)
  -u, --user                 control the user service manager (default otherwise)
  -p <path>, --socket-path <path>
                             the control socket (default: $DINIT_SOCKET_PATH, else
                             the instance's default socket)
  --use-passed-cfd           use the connection passed in $DINIT_CS_FD
  --quiet                    suppress output other than errors
  -o, --offline              enable/disable only: work without the daemon
  -d <dir>, --services-dir <dir>
                             with --offline: a service directory (repeatable)

Command options:
  --no-wait                  do not wait for the command to complete
  --pin                      pin the service in the requested state
  -f, --force                stop/restart even if dependents must stop
  --ignore-unstarted         stop/restart/release: succeed if the service is not
                             started or does not exist
  --clear                    catlog: clear the log buffer after showing it

Dependency types for add-dep/rm-dep: need (or regular), milestone, waits-for.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> ParseOutcome {
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        parse_args(&args)
    }

    fn run(words: &[&str]) -> CtlArgs {
        match parse(words) {
            ParseOutcome::Run(a) => a,
            other => panic!("{words:?}: {other:?}"),
        }
    }

    #[test]
    fn options_anywhere() {
        let a = run(&["-p", "/s", "stop", "--force", "x", "--quiet"]);
        assert_eq!(a.command, CtlCommand::Stop);
        assert_eq!(a.operands, [b"x".to_vec()]);
        assert!(a.force && a.quiet);
        assert_eq!(a.socket.socket_path, Some(OsString::from("/s")));
        let a = run(&["--pin", "start", "x"]);
        assert!(a.pin);
        assert!(run(&["start", "--ignore-unstarted", "x"]).ignore_unstarted);
    }

    #[test]
    fn invalid_lines() {
        for bad in [
            &[][..],
            &["frobnicate"],
            &["start"],
            &["start", "a", "b"],
            &["list", "x"],
            &["start", "--force", "x"],
            &["status", "--no-wait", "x"],
            &["list", "--clear"],
            &["start", "--bogus", "x"],
            &["-p"],
            &["-p", "", "list"],
            &["add-dep", "soft", "a", "b"],
            &["add-dep", "need", "a"],
            &["enable", "--from", "a@b", "c"],
            &["start", "--offline", "x"],
            &["start", ""],
            &["signal", "--list", "x"],
            &["signal", "TERM"],
        ] {
            assert_eq!(parse(bad), ParseOutcome::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn special_outcomes() {
        assert_eq!(parse(&["list", "--help"]), ParseOutcome::Help);
        assert_eq!(parse(&["--version"]), ParseOutcome::Version);
        assert_eq!(parse(&["signal", "-l"]), ParseOutcome::SignalList);
        assert_eq!(parse(&["signal", "--list"]), ParseOutcome::SignalList);
        assert_eq!(
            parse(&["signal", "FOO", "x"]),
            ParseOutcome::BadSignal(b"FOO".to_vec())
        );
        let a = run(&["signal", "HUP", "x"]);
        assert_eq!((a.signal, a.operands), (Some(1), vec![b"x".to_vec()]));
        let a = run(&["add-dep", "regular", "a", "b"]);
        assert_eq!(a.dep_kind, Some(DepKind::Regular));
        assert_eq!(a.operands, [b"a".to_vec(), b"b".to_vec()]);
        let a = run(&["-o", "-d", "sd", "enable", "--from", "f", "t"]);
        assert!(a.offline);
        assert_eq!(a.from, Some(b"f".to_vec()));
        assert_eq!(a.services_dirs, [PathBuf::from("sd")]);
        assert_eq!(run(&["setenv"]).operands.len(), 0);
    }
}
