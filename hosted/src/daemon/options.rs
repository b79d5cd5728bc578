//! The command line of `dinit` (dinit(8) OPTIONS), and the kernel command line rules that
//! apply when it runs as PID 1 (dinit(8) COMMAND LINE FROM KERNEL).

use crate::log::Level;
use crate::paths::InstanceKind;
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
    /// `-F`: the descriptor to report readiness to.
    pub ready_fd: Option<i32>,
    /// `-l`: the log file (instead of syslog).
    pub log_file: Option<PathBuf>,
    /// `-s`/`-u`: system or user instance (default by uid).
    pub instance: Option<InstanceKind>,
    /// `-m`: system manager (default when PID 1).
    pub system_manager: Option<bool>,
    /// `-o`: container mode.
    pub container: bool,
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
    /// `--help`.
    pub help: bool,
    /// `--version`.
    pub version: bool,
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
  --console-level level        console log level: debug, notice, warn, error, none
  --log-level level            main log level: debug, notice, warn, error, none
  -t name, --service name      start this service (repeatable; default boot)
  --help                       show this help
  --version                    show the version
";

/// Parses `args` (without the program name). With `from_kernel` (PID 1 of a Linux system),
/// "word-like" arguments other than `single` are ignored unless they follow `-o`/`-m`, as the
/// kernel passes its own unrecognised options on (dinit(8) COMMAND LINE FROM KERNEL).
pub fn parse(args: &[OsString], from_kernel: bool) -> Result<DaemonOptions, String> {
    let mut o = DaemonOptions::default();
    let mut names_allowed = !from_kernel;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let a = arg.to_string_lossy().into_owned();
        let mut value = |what: &str| -> Result<OsString, String> {
            it.next()
                .cloned()
                .ok_or_else(|| format!("'{a}' requires an argument ({what})"))
        };
        match a.as_str() {
            "-d" | "--services-dir" => o.service_dirs.push(PathBuf::from(value("a directory")?)),
            "-e" | "--env-file" => o.env_file = Some(PathBuf::from(value("a file")?)),
            "-p" | "--socket-path" => {
                let p = value("a path")?;
                if p.is_empty() {
                    return Err("the socket path must not be empty".into());
                }
                o.socket_path = Some(PathBuf::from(p));
            }
            "-F" | "--ready-fd" => {
                let v = value("a file descriptor number")?;
                let fd: i32 = v
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .filter(|&fd| fd >= 0)
                    .ok_or_else(|| {
                        format!("'{}' is not a file descriptor number", v.to_string_lossy())
                    })?;
                o.ready_fd = Some(fd);
            }
            "-l" | "--log-file" => o.log_file = Some(PathBuf::from(value("a path")?)),
            "-s" | "--system" => o.instance = Some(InstanceKind::System),
            "-u" | "--user" => o.instance = Some(InstanceKind::User),
            "-m" | "--system-mgr" => {
                o.system_manager = Some(true);
                names_allowed = true;
            }
            "-o" | "--container" => {
                o.container = true;
                names_allowed = true;
            }
            "-r" | "--auto-recovery" => o.auto_recovery = true,
            "-q" | "--quiet" => {
                o.quiet = true;
                o.console_level = Some(Level::None);
            }
            "-b" | "--cgroup-path" => o.cgroup_path = Some(PathBuf::from(value("a path")?)),
            "--console-level" => {
                let v = value("a level")?;
                o.console_level = Some(Level::parse(&v.to_string_lossy()).ok_or_else(|| {
                    format!(
                        "'{}' is not a log level (debug, notice, warn, error, none)",
                        v.to_string_lossy()
                    )
                })?);
            }
            "--log-level" => {
                let v = value("a level")?;
                o.log_level = Some(Level::parse(&v.to_string_lossy()).ok_or_else(|| {
                    format!(
                        "'{}' is not a log level (debug, notice, warn, error, none)",
                        v.to_string_lossy()
                    )
                })?);
            }
            "-t" | "--service" => o.services.push(value("a service name")?.into_vec()),
            "--help" => o.help = true,
            "--version" => o.version = true,
            s if s.starts_with('-') && s.len() > 1 => {
                if from_kernel {
                    // The kernel passes on options it does not know; ignore what we do not
                    // know either.
                    continue;
                }
                return Err(format!("unrecognized option: {s}"));
            }
            _ => {
                if from_kernel && arg.as_bytes().contains(&b'=') {
                    continue;
                }
                if names_allowed || arg.as_bytes() == b"single" {
                    o.services.push(arg.clone().into_vec());
                }
            }
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn every_documented_option() {
        let o = parse(
            &args(&[
                "-d",
                "/a",
                "--services-dir",
                "/b",
                "-e",
                "/env",
                "-p",
                "/sock",
                "-F",
                "3",
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
            ]),
            false,
        )
        .unwrap();
        assert_eq!(o.service_dirs, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(o.env_file, Some(PathBuf::from("/env")));
        assert_eq!(o.socket_path, Some(PathBuf::from("/sock")));
        assert_eq!(o.ready_fd, Some(3));
        assert_eq!(o.log_file, Some(PathBuf::from("/log")));
        assert_eq!(o.instance, Some(InstanceKind::User));
        assert!(o.container && o.auto_recovery && o.quiet);
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
    fn errors_are_clear() {
        assert_eq!(
            parse(&args(&["--bogus"]), false).unwrap_err(),
            "unrecognized option: --bogus"
        );
        assert_eq!(
            parse(&args(&["-d"]), false).unwrap_err(),
            "'-d' requires an argument (a directory)"
        );
        assert!(parse(&args(&["--log-level", "loud"]), false)
            .unwrap_err()
            .contains("not a log level"));
        assert!(parse(&args(&["-F", "x"]), false).is_err());
    }

    #[test]
    fn kernel_command_line_rules() {
        // dinit(8): "dinit ignores all 'word like' options other than 'single' ... Service names
        // following the '--container' ('-o') or '--system-mgr' ('-m') options are not ignored.
        // Also, the '--service' ('-t') option can be used to force a service name".
        let o = parse(
            &args(&[
                "auto",
                "quiet",
                "single",
                "ro",
                "-t",
                "rescue",
                "foo=bar",
                "--unknown",
            ]),
            true,
        )
        .unwrap();
        assert_eq!(o.services, [b"single".to_vec(), b"rescue".to_vec()]);
        let o = parse(&args(&["-m", "mysvc"]), true).unwrap();
        assert_eq!(o.services, [b"mysvc".to_vec()]);
    }
}
