//! The command line of `dinit` (dinit(8) OPTIONS), and the kernel command line rules that
//! apply when it runs as PID 1 (dinit(8) COMMAND LINE FROM KERNEL).
//!
//! Arguments are taken one at a time, as Dinit takes them: the first error, `--help` or
//! `--version` ends the parse, so what follows it is not looked at. The error messages are
//! Dinit's, word for word.

use crate::log::Level;
use crate::paths::InstanceKind;
use dinit_core::desc::cnum;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// Parsed `dinit` options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DaemonOptions {
    /// `-d`: service directories (empty: the defaults).
    pub service_dirs: Vec<PathBuf>,
    /// `-e`: the environment file.
    pub env_file: Option<PathBuf>,
    /// `-p`: the control socket path.
    pub socket_path: Option<PathBuf>,
    /// `-F`: the descriptor to report readiness to (checked open, and not 0).
    pub ready_fd: Option<i32>,
    /// `-l`: the log file (instead of syslog).
    pub log_file: Option<PathBuf>,
    /// `-s`/`-u`: system or user instance (default by uid); the last one given counts.
    pub instance: Option<InstanceKind>,
    /// `-m` (true) / `-o` (false): system manager or not (default: when PID 1); the last one
    /// given counts.
    pub system_manager: Option<bool>,
    /// `-r`: start the recovery service on boot failure without asking.
    pub auto_recovery: bool,
    /// `-q`: quiet.
    pub quiet: bool,
    /// `-b`: cgroup path for relative `run-in-cgroup` settings.
    pub cgroup_path: Option<PathBuf>,
    /// `--console-level`.
    pub console_level: Option<Level>,
    /// `--log-level`.
    pub log_level: Option<Level>,
    /// Services to start (default `boot`).
    pub services: Vec<Vec<u8>>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the daemon with these options.
    Run(DaemonOptions),
    /// `--help`: print the usage text and exit with 0.
    Help,
    /// `--version`: print the version and exit with 0.
    Version,
}

/// The usage text of `dinit --help`.
pub const USAGE: &str = "\
dinit: supervise processes and manage services

Usage: dinit [options] [service-name...]

Options:
  -d dir, --services-dir dir   take service descriptions from dir (repeatable)
  -e file, --env-file file     read the initial environment from file
  -p path, --socket-path path  the control socket
  -F fd, --ready-fd fd         write the socket path to fd once ready
  -l path, --log-file path     log to path instead of syslog
  -s, --system                 run as the system service manager
  -m, --system-mgr             run as the system manager (shutdown, recovery)
  -u, --user                   run as a user service manager
  -o, --container              container mode: exit instead of shutting down
  -r, --auto-recovery          start the recovery service on boot failure
  -q, --quiet                  no output to the console
  -b path, --cgroup-path path  base for relative run-in-cgroup paths
  --console-level level        console log level: debug, info, warn, error, none
  --log-level level            main log level: debug, info, warn, error, none
  -t name, --service name      start this service (repeatable; default boot)
  --help                       show this help
  --version                    show the version
";

/// The level named by a `--console-level`/`--log-level` value: exactly the words Dinit
/// accepts (`info` is the level we call notice).
fn level_word(word: &[u8]) -> Option<Level> {
    match word {
        b"none" => Some(Level::None),
        b"error" => Some(Level::Error),
        b"warn" => Some(Level::Warn),
        b"info" => Some(Level::Notice),
        b"debug" => Some(Level::Debug),
        _ => None,
    }
}

/// Reads a descriptor number as C's `strtoul(s, &end, 10)` does, with nothing allowed after
/// it, then keeps the low bits as an `int` cast would. `None` when there are no digits or
/// something follows them.
fn fd_number(s: &[u8]) -> Option<i32> {
    let n = cnum::scan(s, cnum::Radix::Decimal).filter(|n| n.end == s.len())?;
    // The low 32 bits, as a conversion to int keeps them.
    Some(n.unsigned() as u32 as i32)
}

/// Checks a `--ready-fd` descriptor as Dinit does: it must be open and not standard input.
/// One above 2 is made close-on-exec, so that services do not inherit it.
fn check_ready_fd(fd: i32) -> bool {
    let open = crate::sys::fd::check_inherited(fd);
    open && fd != 0
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Parses `args` (without the program name). The error is Dinit's message (bytes: it may
/// quote an argument that is not UTF-8), to be printed after `dinit: ` on standard error;
/// the exit status is then 1.
///
/// With `from_kernel` (process 1 run by root, on Linux: its arguments come from the kernel),
/// options it does not know are ignored, and so are names other than `single` until `-m` or
/// `-o` is seen, as the kernel passes its own unrecognised parameters on (dinit(8) COMMAND
/// LINE FROM KERNEL).
pub fn parse(args: &[OsString], from_kernel: bool) -> Result<Command, Vec<u8>> {
    let mut o = DaemonOptions::default();
    let mut kernel_args = from_kernel;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let a = arg.as_bytes();
        // The next argument, when there is one and it is not empty.
        let mut value = |long: &str, short: &str| -> Result<OsString, Vec<u8>> {
            match it.next() {
                Some(v) if !v.is_empty() => Ok(v.clone()),
                _ => Err(format!("'{long}' ({short}) requires an argument").into_bytes()),
            }
        };
        if a.first() == Some(&b'-') {
            match a {
                b"-e" | b"--env-file" => {
                    o.env_file = Some(PathBuf::from(value("--env-file", "-e")?));
                }
                b"-d" | b"--services-dir" => {
                    o.service_dirs
                        .push(PathBuf::from(value("--services-dir", "-d")?));
                }
                b"-s" | b"--system" => o.instance = Some(InstanceKind::System),
                b"-m" | b"--system-mgr" => {
                    o.system_manager = Some(true);
                    kernel_args = false;
                }
                b"-u" | b"--user" => o.instance = Some(InstanceKind::User),
                b"-o" | b"--container" => {
                    o.system_manager = Some(false);
                    kernel_args = false;
                }
                b"-r" | b"--auto-recovery" => o.auto_recovery = true,
                b"-p" | b"--socket-path" => {
                    o.socket_path = Some(PathBuf::from(value("--socket-path", "-p")?));
                }
                b"-F" | b"--ready-fd" => o.ready_fd = Some(ready_fd(it.next())?),
                b"-l" | b"--log-file" => {
                    o.log_file = Some(PathBuf::from(value("--log-file", "-l")?));
                }
                b"-q" | b"--quiet" => {
                    o.quiet = true;
                    o.console_level = Some(Level::None);
                }
                b"--console-level" | b"--log-level" => {
                    let level = level_value(a, it.next())?;
                    if a == b"--log-level" {
                        o.log_level = Some(level);
                    } else {
                        o.console_level = Some(level);
                    }
                }
                b"-b" | b"--cgroup-path" => {
                    o.cgroup_path = Some(PathBuf::from(value("--cgroup-path", "-b")?));
                }
                b"-t" | b"--service" => {
                    o.services.push(value("--service", "-t")?.into_vec());
                }
                b"--version" => return Ok(Command::Version),
                b"--help" => return Ok(Command::Help),
                // Arguments from the kernel: what is not ours is the kernel's.
                _ if kernel_args => {}
                _ => return Err(cat(&[b"unrecognized option: ", a])),
            }
        } else {
            o.services.extend(service_name(a, kernel_args)?);
        }
    }
    Ok(Command::Run(o))
}

/// The value of `--ready-fd`: a number (an empty value is not missing here: it is not a
/// number) of an open descriptor (see [`check_ready_fd`]).
fn ready_fd(value: Option<&OsString>) -> Result<i32, Vec<u8>> {
    let v = value.ok_or(b"'--ready-fd' (-F) requires an argument".to_vec())?;
    let fd = fd_number(v.as_bytes())
        .ok_or(b"'--ready-fd' (-F) requires a numerical argument".to_vec())?;
    if !check_ready_fd(fd) {
        return Err(b"'--ready-fd' (-F) requires an open file descriptor".to_vec());
    }
    Ok(fd)
}

/// The value of `--console-level` or `--log-level` (`option`).
fn level_value(option: &[u8], value: Option<&OsString>) -> Result<Level, Vec<u8>> {
    match value {
        Some(v) if !v.is_empty() => level_word(v.as_bytes()).ok_or_else(|| {
            cat(&[
                b"'",
                option,
                b"' accepts only arguments: 'none', 'error', 'warn', 'info', 'debug'",
            ])
        }),
        _ => Err(cat(&[b"'", option, b"' requires an argument"])),
    }
}

/// An argument that is not an option: a service to start, or (from the kernel, before `-m`
/// or `-o`) the kernel's own parameter, ignored unless it is `single`. On Linux a name is
/// checked here, as Dinit does (elsewhere it is taken as it is).
fn service_name(a: &[u8], kernel_args: bool) -> Result<Option<Vec<u8>>, Vec<u8>> {
    if a.is_empty() {
        return Err(b"error: empty command-line argument".to_vec());
    }
    if !cfg!(target_os = "linux") {
        return Ok(Some(a.to_vec()));
    }
    if kernel_args && a != b"single" {
        return Ok(None);
    }
    if a.first() == Some(&b'.') || a.first() == Some(&b'@') {
        return Err(cat(&[b"error: invalid service name '", a, b"'."]));
    }
    Ok(Some(a.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn run(list: &[&str]) -> DaemonOptions {
        match parse(&args(list), false) {
            Ok(Command::Run(o)) => o,
            other => panic!("{list:?}: {other:?}"),
        }
    }

    fn error(list: &[&str]) -> String {
        String::from_utf8(parse(&args(list), false).unwrap_err()).unwrap()
    }

    #[test]
    fn every_documented_option() {
        let o = run(&[
            "-d",
            "/a",
            "--services-dir",
            "/b",
            "-e",
            "/env",
            "-p",
            "/sock",
            "-F",
            "2",
            "-l",
            "/log",
            "-u",
            "-o",
            "-r",
            "-q",
            "--console-level",
            "warn",
            "--log-level",
            "debug",
            "-t",
            "svc",
            "other",
            "-b",
            "/cg",
        ]);
        assert_eq!(o.service_dirs, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(o.env_file, Some(PathBuf::from("/env")));
        assert_eq!(o.socket_path, Some(PathBuf::from("/sock")));
        assert_eq!(o.ready_fd, Some(2));
        assert_eq!(o.log_file, Some(PathBuf::from("/log")));
        assert_eq!(o.instance, Some(InstanceKind::User));
        assert_eq!(o.system_manager, Some(false));
        assert!(o.auto_recovery && o.quiet);
        assert_eq!(
            o.console_level,
            Some(Level::Warn),
            "--console-level after -q re-enables output"
        );
        assert_eq!(o.log_level, Some(Level::Debug));
        assert_eq!(o.services, [b"svc".to_vec(), b"other".to_vec()]);
        assert_eq!(o.cgroup_path, Some(PathBuf::from("/cg")));
    }

    #[test]
    fn the_last_of_opposite_options_counts() {
        assert_eq!(run(&["-o", "-m"]).system_manager, Some(true));
        assert_eq!(run(&["-m", "-o"]).system_manager, Some(false));
        assert_eq!(run(&["-u", "-s"]).instance, Some(InstanceKind::System));
        assert_eq!(run(&["-s", "-u"]).instance, Some(InstanceKind::User));
    }

    #[test]
    fn levels_are_dinits_words() {
        for (word, level) in [
            ("none", Level::None),
            ("error", Level::Error),
            ("warn", Level::Warn),
            ("info", Level::Notice),
            ("debug", Level::Debug),
        ] {
            assert_eq!(run(&["--log-level", word]).log_level, Some(level));
            assert_eq!(run(&["--console-level", word]).console_level, Some(level));
        }
        assert_eq!(
            error(&["--log-level", "notice"]),
            "'--log-level' accepts only arguments: 'none', 'error', 'warn', 'info', 'debug'"
        );
        assert_eq!(
            error(&["--console-level", "loud"]),
            "'--console-level' accepts only arguments: 'none', 'error', 'warn', 'info', 'debug'"
        );
        assert_eq!(
            error(&["--console-level"]),
            "'--console-level' requires an argument"
        );
        assert_eq!(
            error(&["--log-level", ""]),
            "'--log-level' requires an argument"
        );
    }

    #[test]
    fn missing_values_in_dinits_words() {
        for (opts, long, short) in [
            (["-e", "--env-file"], "--env-file", "-e"),
            (["-d", "--services-dir"], "--services-dir", "-d"),
            (["-p", "--socket-path"], "--socket-path", "-p"),
            (["-l", "--log-file"], "--log-file", "-l"),
            (["-b", "--cgroup-path"], "--cgroup-path", "-b"),
            (["-t", "--service"], "--service", "-t"),
        ] {
            for opt in opts {
                let want = format!("'{long}' ({short}) requires an argument");
                assert_eq!(error(&[opt]), want);
                assert_eq!(error(&[opt, ""]), want, "an empty value is missing");
            }
        }
    }

    #[test]
    fn ready_fd_is_a_number_of_an_open_descriptor() {
        assert_eq!(error(&["-F"]), "'--ready-fd' (-F) requires an argument");
        for bad in ["", "x", "3x", "0x3", " "] {
            assert_eq!(
                error(&["-F", bad]),
                "'--ready-fd' (-F) requires a numerical argument",
                "{bad:?}"
            );
        }
        for closed in ["0", "-1", "100000", "99999999999999999999999"] {
            assert_eq!(
                error(&["--ready-fd", closed]),
                "'--ready-fd' (-F) requires an open file descriptor",
                "{closed:?}"
            );
        }
        assert_eq!(run(&["-F", " +2"]).ready_fd, Some(2));
        // Truncated to an int as Dinit's conversion does: 2^32 + 1 is descriptor 1.
        assert_eq!(run(&["-F", "4294967297"]).ready_fd, Some(1));
    }

    #[test]
    fn other_errors_in_dinits_words() {
        assert_eq!(error(&["--bogus"]), "unrecognized option: --bogus");
        assert_eq!(error(&["-"]), "unrecognized option: -");
        assert_eq!(error(&["--"]), "unrecognized option: --");
        assert_eq!(error(&["-ud"]), "unrecognized option: -ud");
        assert_eq!(error(&["-u", ""]), "error: empty command-line argument");
        assert_eq!(error(&[".x"]), "error: invalid service name '.x'.");
        assert_eq!(error(&["@x"]), "error: invalid service name '@x'.");
        // A name given with -t is not checked.
        assert_eq!(run(&["-t", ".x"]).services, [b".x".to_vec()]);
        assert_eq!(
            parse(&[OsString::from_vec(b"--\xff".to_vec())], false).unwrap_err(),
            b"unrecognized option: --\xff"
        );
    }

    #[test]
    fn the_first_of_help_version_and_errors_wins() {
        assert_eq!(
            parse(&args(&["--version", "--bogus"]), false),
            Ok(Command::Version)
        );
        assert_eq!(
            parse(&args(&["--help", "--version"]), false),
            Ok(Command::Help)
        );
        assert_eq!(
            error(&["--bogus", "--help"]),
            "unrecognized option: --bogus"
        );
        // A value is whatever follows its option.
        assert_eq!(
            run(&["-d", "--help"]).service_dirs,
            [PathBuf::from("--help")]
        );
    }

    #[test]
    fn kernel_command_line_rules() {
        // dinit(8): "dinit ignores all 'word like' options other than 'single' ... Service names
        // following the '--container' ('-o') or '--system-mgr' ('-m') options are not ignored.
        // Also, the '--service' ('-t') option can be used to force a service name".
        let o = match parse(
            &args(&[
                "auto",
                "quiet",
                "single",
                "ro",
                "-t",
                "rescue",
                "foo=bar",
                "--unknown",
                ".hidden",
            ]),
            true,
        ) {
            Ok(Command::Run(o)) => o,
            other => panic!("{other:?}"),
        };
        assert_eq!(o.services, [b"single".to_vec(), b"rescue".to_vec()]);
        let o = match parse(&args(&["-m", "mysvc", "a=b"]), true) {
            Ok(Command::Run(o)) => o,
            other => panic!("{other:?}"),
        };
        assert_eq!(o.services, [b"mysvc".to_vec(), b"a=b".to_vec()]);
        // Known options are still checked, and an empty argument is still an error.
        assert!(parse(&args(&["-d"]), true).is_err());
        assert!(parse(&args(&["auto", ""]), true).is_err());
        // After -o, unknown options are errors again.
        assert!(parse(&args(&["-o", "--unknown"]), true).is_err());
    }
}
