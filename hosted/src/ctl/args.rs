//! The command line of `dinitctl` (dinitctl(8)), read as Dinit's `dinitctl` reads it, so that
//! every command line is accepted or refused alike, with the same message and exit status.
//!
//! Arguments are taken left to right. General options (and `--no-wait`, `--pin`,
//! `--ignore-unstarted`) may come anywhere; the command options `--force`/`-f` (stop,
//! restart), `--clear` (catlog), `--list`/`-l` (signal) and `--from` (enable, disable) only
//! after their command word. `--help` shows the help whatever else the line holds; no argument
//! at all does too (exit status 0). The errors with a message of their own end the parse at
//! once: an unknown option, a missing value after `-p`, `-d` or `--from`, an unknown command,
//! an empty argument after the command, a `signal` without its signal or service. Everything
//! else wrong is "Invalid command line".

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

    /// The start/stop family, which share one request sequence (CONTROL.md §3.4).
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
    /// `--help`, or no arguments.
    Help,
    /// `--version`.
    Version,
    /// `signal --list`/`-l`.
    SignalList,
    /// `signal` with a word that is neither a signal name nor a number.
    BadSignal(Vec<u8>),
    /// An error with its own message (printed after `dinitctl: `).
    Error(String),
    /// Invalid command line.
    Invalid,
}

/// Parses the arguments (without the program name).
pub fn parse_args(args: &[OsString]) -> ParseOutcome {
    let mut p = Parse::new(args.is_empty());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let w = arg.as_bytes();
        let step = if w.first() == Some(&b'-') {
            p.option(arg, &mut it)
        } else if let Some(cmd) = p.command {
            p.operand(cmd, w)
        } else {
            p.command_word(arg)
        };
        match step {
            Step::Next => {}
            Step::Stop => break,
            Step::End(outcome) => return outcome,
        }
    }
    p.finish()
}

/// What reading one argument says.
enum Step {
    /// Go on with the next argument.
    Next,
    /// Read no further; what was read decides ([`Parse::finish`]).
    Stop,
    /// The parse ends with this outcome (an error with its own message, `--version`).
    End(ParseOutcome),
}

/// What a parse has read so far.
struct Parse {
    a: CtlArgs,
    command: Option<CtlCommand>,
    show_help: bool,
    invalid: bool,
    /// `signal --list`.
    list: bool,
    /// add-dep/rm-dep: the type, then two names.
    dep_type_seen: bool,
    /// signal: the signal word, then the name.
    signal_word: Option<Vec<u8>>,
}

impl Parse {
    /// A parse of a command line; an empty one shows the help.
    fn new(empty: bool) -> Self {
        Parse {
            a: CtlArgs {
                command: CtlCommand::List,
                operands: Vec::new(),
                dep_kind: None,
                signal: None,
                socket: SocketOptions::default(),
                quiet: false,
                offline: false,
                services_dirs: Vec::new(),
                no_wait: false,
                pin: false,
                force: false,
                ignore_unstarted: false,
                clear: false,
                from: None,
            },
            command: None,
            show_help: empty,
            invalid: false,
            list: false,
            dep_type_seen: false,
            signal_word: None,
        }
    }

    /// An option; its value, if it takes one, is the next of `rest`.
    fn option(&mut self, arg: &OsString, rest: &mut std::slice::Iter<'_, OsString>) -> Step {
        use CtlCommand as C;
        let w = arg.as_bytes();
        if self.flag(w) {
            return Step::Next;
        }
        let mut value = || rest.next().filter(|v| !v.is_empty());
        let missing = |message: &str| Step::End(ParseOutcome::Error(message.to_owned()));
        match w {
            b"--help" => {
                self.show_help = true;
                return Step::Stop;
            }
            b"--version" => return Step::End(ParseOutcome::Version),
            b"-p" | b"--socket-path" => match value() {
                Some(p) => self.a.socket.socket_path = Some(p.clone()),
                None => return missing("--socket-path/-p should be followed by socket path"),
            },
            b"--from" if matches!(self.command, Some(C::Enable | C::Disable)) => match value() {
                Some(f) => self.a.from = Some(f.clone().into_vec()),
                None => return missing("--from should be followed by a service name"),
            },
            b"-d" | b"--services-dir" => match value() {
                Some(d) => self.a.services_dirs.push(PathBuf::from(d)),
                None => return missing("'--services-dir' (-d) requires an argument"),
            },
            b"--from" | b"-f" | b"--force" | b"--clear" | b"-l" | b"--list" => {
                // A command option before (or without) its command.
                self.invalid = true;
                return Step::Stop;
            }
            _ => {
                return Step::End(ParseOutcome::Error(format!(
                    "unrecognized/invalid option: {} (use --help for help)",
                    arg.to_string_lossy()
                )))
            }
        }
        Step::Next
    }

    /// An option without a value, if `w` is one (the command options only after their
    /// command): true once it is noted.
    fn flag(&mut self, w: &[u8]) -> bool {
        use CtlCommand as C;
        let cmd = self.command;
        match w {
            b"--no-wait" => self.a.no_wait = true,
            b"--ignore-unstarted" => self.a.ignore_unstarted = true,
            b"--quiet" => self.a.quiet = true,
            b"-s" | b"--system" => self.a.socket.instance = Some(InstanceKind::System),
            b"-u" | b"--user" => self.a.socket.instance = Some(InstanceKind::User),
            b"--pin" => self.a.pin = true,
            b"--use-passed-cfd" => self.a.socket.use_passed_cfd = true,
            b"-o" | b"--offline" => self.a.offline = true,
            b"-f" | b"--force" if matches!(cmd, Some(C::Stop | C::Restart)) => self.a.force = true,
            b"--clear" if cmd == Some(C::CatLog) => self.a.clear = true,
            b"-l" | b"--list" if cmd == Some(C::Signal) => self.list = true,
            _ => return false,
        }
        true
    }

    /// The first word that is not an option: the command.
    fn command_word(&mut self, arg: &OsString) -> Step {
        match CtlCommand::from_word(arg.as_bytes()) {
            Some(c) => {
                self.command = Some(c);
                Step::Next
            }
            None => Step::End(ParseOutcome::Error(format!(
                "unrecognized command: {} (use --help for help)",
                arg.to_string_lossy()
            ))),
        }
    }

    /// A word after the command `cmd`.
    fn operand(&mut self, cmd: CtlCommand, w: &[u8]) -> Step {
        use CtlCommand as C;
        if w.is_empty() {
            return Step::End(ParseOutcome::Error("Invalid empty argument".into()));
        }
        match cmd {
            C::AddDep | C::RmDep if !self.dep_type_seen => {
                self.a.dep_kind = match w {
                    b"need" | b"regular" => Some(DepKind::Regular),
                    b"milestone" => Some(DepKind::Milestone),
                    b"waits-for" => Some(DepKind::WaitsFor),
                    _ => {
                        self.invalid = true;
                        return Step::Stop;
                    }
                };
                self.dep_type_seen = true;
            }
            C::AddDep | C::RmDep | C::Enable | C::Disable => {
                let room = if matches!(cmd, C::AddDep | C::RmDep) {
                    2
                } else {
                    1
                };
                if self.a.operands.len() >= room {
                    self.invalid = true;
                    return Step::Stop;
                }
                self.a.operands.push(w.to_vec());
            }
            C::Signal => {
                if self.list {
                    self.invalid = true;
                } else if self.signal_word.is_none() {
                    self.signal_word = Some(w.to_vec());
                } else if self.a.operands.is_empty() {
                    self.a.operands.push(w.to_vec());
                } else {
                    self.invalid = true;
                }
            }
            _ => self.a.operands.push(w.to_vec()),
        }
        Step::Next
    }

    /// The checks once the arguments are read: the command's operands.
    fn finish(mut self) -> ParseOutcome {
        use CtlCommand as C;
        let Some(command) = self.command else {
            return if self.show_help {
                ParseOutcome::Help
            } else {
                ParseOutcome::Invalid
            };
        };
        self.a.command = command;
        let operands = self.a.operands.len();
        match command {
            C::Enable | C::Disable | C::SetEnv | C::UnsetEnv => self.invalid |= operands == 0,
            C::Signal if self.list => {
                if self.signal_word.is_some() {
                    self.invalid = true;
                } else if !self.show_help && !self.invalid {
                    return ParseOutcome::SignalList;
                }
            }
            C::Signal => {
                let Some(word) = self.signal_word.take() else {
                    return ParseOutcome::Error("signal number/name must be specified".into());
                };
                if operands == 0 {
                    return ParseOutcome::Error("service name must be specified".into());
                }
                match super::format::parse_signal(&word) {
                    Some(n) => self.a.signal = Some(n),
                    None => return ParseOutcome::BadSignal(word),
                }
            }
            C::List | C::Shutdown => self.invalid |= operands != 0,
            C::AddDep | C::RmDep => self.invalid |= !self.dep_type_seen || operands != 2,
            // No other command takes more than one service name.
            _ => self.invalid |= operands != 1,
        }
        if self.show_help {
            ParseOutcome::Help
        } else if self.invalid {
            ParseOutcome::Invalid
        } else {
            ParseOutcome::Run(self.a)
        }
    }
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
        // Like Dinit's, the waiting and pin options are taken with any command.
        assert!(run(&["status", "--no-wait", "x"]).no_wait);
        assert!(run(&["start", "--ignore-unstarted", "x"]).ignore_unstarted);
    }

    #[test]
    fn invalid_lines() {
        for bad in [
            &["start"][..],
            &["start", "a", "b"],
            &["list", "x"],
            &["start", "--force", "x"],
            &["--force", "stop", "x"],
            &["list", "--clear"],
            &["add-dep", "soft", "a", "b"],
            &["add-dep", "need", "a"],
            &["add-dep", "need", "a", "b", "c"],
            &["enable", "a", "b"],
            &["signal", "--list", "x"],
            &["signal", "HUP", "x", "y"],
            &["setenv"],
            &["unsetenv"],
        ] {
            assert_eq!(parse(bad), ParseOutcome::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn errors_with_their_own_message() {
        // As Dinit's dinitctl words them.
        for (bad, message) in [
            (
                &["frobnicate"][..],
                "unrecognized command: frobnicate (use --help for help)",
            ),
            (
                &["start", "--bogus", "x"],
                "unrecognized/invalid option: --bogus (use --help for help)",
            ),
            (
                &["--", "list"],
                "unrecognized/invalid option: -- (use --help for help)",
            ),
            (
                &["-p"],
                "--socket-path/-p should be followed by socket path",
            ),
            (
                &["-p", "", "list"],
                "--socket-path/-p should be followed by socket path",
            ),
            (&["-d"], "'--services-dir' (-d) requires an argument"),
            (
                &["enable", "--from"],
                "--from should be followed by a service name",
            ),
            (&["start", ""], "Invalid empty argument"),
            (&["signal"], "signal number/name must be specified"),
            (&["signal", "TERM"], "service name must be specified"),
        ] {
            assert_eq!(parse(bad), ParseOutcome::Error(message.into()), "{bad:?}");
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
        assert_eq!(parse(&[]), ParseOutcome::Help);
        assert_eq!(
            parse(&["start", "x", "--help", "--bogus"]),
            ParseOutcome::Help
        );
        assert!(run(&["-o", "start", "x"]).offline);
    }
}
