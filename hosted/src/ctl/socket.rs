//! Finding and opening the control socket, client side (PROTOCOL.md §2.3 and §2.5).
//!
//! Order of precedence:
//!
//! 1. `--use-passed-cfd` with a parsable `DINIT_CS_FD`: the inherited, already connected
//!    descriptor (this wins over `-p`);
//! 2. `-p`/`--socket-path`;
//! 3. `$DINIT_SOCKET_PATH`;
//! 4. user mode: `$XDG_RUNTIME_DIR/dinitctl`, `$HOME/.dinitctl`, `<passwd home>/.dinitctl`;
//! 5. system mode: `/run/dinitctl`.
//!
//! Resolution ([`resolve_socket`]) is pure over an [`EnvLookup`], so the rules are unit-tested;
//! [`open_socket`] does the system calls.

use crate::paths::{default_socket_path, EnvLookup, InstanceKind, SYSTEM_SOCKET_PATH};
use dinit_core::desc::cnum;
use std::ffi::OsString;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// The socket-related options of a client's command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SocketOptions {
    /// `-p`/`--socket-path`, if given.
    pub socket_path: Option<OsString>,
    /// `--use-passed-cfd`.
    pub use_passed_cfd: bool,
    /// `-s`/`--system` or `-u`/`--user` (the last one given), if any.
    pub instance: Option<InstanceKind>,
}

/// Where the connection comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketSource {
    /// The descriptor number parsed from `DINIT_CS_FD` (not yet validated; see
    /// [`open_passed_fd`]).
    PassedFd(i64),
    /// A socket path to connect to.
    Path {
        /// The path.
        path: PathBuf,
        /// It came from `-p` (the "perhaps no user instance" hint is then not given).
        from_option: bool,
    },
}

/// Why no socket could be chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketError {
    /// User mode, and neither `XDG_RUNTIME_DIR`, `HOME` nor the password database gave a
    /// directory.
    NoSocketDir,
}

impl SocketError {
    /// The message, without the program-name prefix.
    pub fn message(self) -> &'static str {
        match self {
            SocketError::NoSocketDir => {
                "cannot determine control socket directory (set XDG_RUNTIME_DIR or HOME, check /etc/passwd file, or specify socket path via -p)"
            }
        }
    }
}

/// Parses a descriptor number the way `strtol(s, NULL, 10)` does: leading white space, an
/// optional sign, then decimal digits up to the first non-digit. `None` if there are no digits
/// (the "unparsable" case of PROTOCOL.md §2.5). Values beyond `i64` saturate, as `strtol` clamps.
pub fn parse_cs_fd(s: &[u8]) -> Option<i64> {
    cnum::scan(s, cnum::Radix::Decimal).map(|n| n.signed())
}

/// Chooses the socket (PROTOCOL.md §2.3). `default_kind` is the instance kind used when neither
/// `-s` nor `-u` was given (system for root, user otherwise); the kind actually used is returned
/// too, as the "perhaps no user instance is running?" hint depends on it.
pub fn resolve_socket(
    opts: &SocketOptions,
    env: &impl EnvLookup,
    default_kind: InstanceKind,
) -> Result<(SocketSource, InstanceKind), SocketError> {
    let kind = opts.instance.unwrap_or(default_kind);
    if opts.use_passed_cfd {
        if let Some(fd) = env
            .var("DINIT_CS_FD")
            .and_then(|v| parse_cs_fd(v.as_bytes()))
        {
            return Ok((SocketSource::PassedFd(fd), kind));
        }
    }
    if let Some(path) = &opts.socket_path {
        return Ok((
            SocketSource::Path {
                path: PathBuf::from(path),
                from_option: true,
            },
            kind,
        ));
    }
    if let Some(path) = env.var("DINIT_SOCKET_PATH") {
        return Ok((
            SocketSource::Path {
                path: PathBuf::from(path),
                from_option: false,
            },
            kind,
        ));
    }
    let path = match kind {
        InstanceKind::System => Some(PathBuf::from(SYSTEM_SOCKET_PATH)),
        InstanceKind::User => default_socket_path(InstanceKind::User, env),
    };
    match path {
        Some(path) => Ok((
            SocketSource::Path {
                path,
                from_option: false,
            },
            kind,
        )),
        None => Err(SocketError::NoSocketDir),
    }
}

/// Takes over an inherited control connection and makes it blocking (PROTOCOL.md §2.5): the
/// daemon creates both ends of the socket pair non-blocking, and a blocking client must clear
/// `O_NONBLOCK`. As the stock client does, a number that is not an open descriptor (or does
/// not fit an `int`) yields descriptor 0.
pub fn open_passed_fd(fd: i64) -> OwnedFd {
    crate::sys::fd::adopt_inherited_connection(RawFd::try_from(fd).unwrap_or(-1))
}

/// Why [`open_socket`] failed.
#[derive(Debug)]
pub struct ConnectError {
    /// The path that could not be connected to.
    pub path: PathBuf,
    /// The error of `connect`.
    pub error: io::Error,
    /// Add "perhaps no user instance is running?": user mode, `ENOENT`, path not from `-p`.
    pub suggest_user_instance: bool,
}

/// Opens the connection chosen by [`resolve_socket`].
pub fn open_socket(source: &SocketSource, kind: InstanceKind) -> Result<UnixStream, ConnectError> {
    match source {
        SocketSource::PassedFd(n) => Ok(UnixStream::from(open_passed_fd(*n))),
        SocketSource::Path { path, from_option } => {
            UnixStream::connect(path).map_err(|error| ConnectError {
                suggest_user_instance: kind == InstanceKind::User
                    && !*from_option
                    && error.kind() == io::ErrorKind::NotFound,
                path: path.clone(),
                error,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Env(HashMap<&'static str, &'static str>);
    impl EnvLookup for Env {
        fn var(&self, name: &str) -> Option<OsString> {
            self.0
                .get(name)
                .filter(|v| !v.is_empty())
                .map(OsString::from)
        }
    }

    fn path(p: &str, from_option: bool) -> SocketSource {
        SocketSource::Path {
            path: PathBuf::from(p),
            from_option,
        }
    }

    #[test]
    fn strtol_like_parsing() {
        assert_eq!(parse_cs_fd(b"14"), Some(14));
        assert_eq!(parse_cs_fd(b"  7x"), Some(7));
        assert_eq!(parse_cs_fd(b"-3"), Some(-3));
        assert_eq!(parse_cs_fd(b"+5"), Some(5));
        assert_eq!(parse_cs_fd(b""), None);
        assert_eq!(parse_cs_fd(b"abc"), None);
        assert_eq!(parse_cs_fd(b"-"), None);
        assert_eq!(parse_cs_fd(b"99999999999999999999999"), Some(i64::MAX));
    }

    #[test]
    fn precedence() {
        let env = Env(HashMap::from([
            ("DINIT_CS_FD", "14"),
            ("DINIT_SOCKET_PATH", "/env/sock"),
            ("XDG_RUNTIME_DIR", "/xdg"),
            ("HOME", "/home/u"),
        ]));
        let mut o = SocketOptions {
            socket_path: Some("/opt/sock".into()),
            use_passed_cfd: true,
            instance: None,
        };
        let user = InstanceKind::User;
        assert_eq!(
            resolve_socket(&o, &env, user).unwrap().0,
            SocketSource::PassedFd(14)
        );
        o.use_passed_cfd = false;
        assert_eq!(
            resolve_socket(&o, &env, user).unwrap().0,
            path("/opt/sock", true)
        );
        o.socket_path = None;
        assert_eq!(
            resolve_socket(&o, &env, user).unwrap().0,
            path("/env/sock", false)
        );
        // DINIT_SOCKET_PATH applies to system mode too.
        o.instance = Some(InstanceKind::System);
        assert_eq!(
            resolve_socket(&o, &env, user).unwrap(),
            (path("/env/sock", false), InstanceKind::System)
        );
    }

    #[test]
    fn unparsable_cs_fd_falls_back() {
        let env = Env(HashMap::from([("DINIT_CS_FD", "zz"), ("HOME", "/h")]));
        let o = SocketOptions {
            socket_path: None,
            use_passed_cfd: true,
            instance: Some(InstanceKind::User),
        };
        assert_eq!(
            resolve_socket(&o, &env, InstanceKind::System).unwrap(),
            (path("/h/.dinitctl", false), InstanceKind::User)
        );
    }

    #[test]
    fn defaults() {
        let o = SocketOptions::default();
        let xdg = Env(HashMap::from([("XDG_RUNTIME_DIR", "/x"), ("HOME", "/h")]));
        assert_eq!(
            resolve_socket(&o, &xdg, InstanceKind::User).unwrap().0,
            path("/x/dinitctl", false)
        );
        let home = Env(HashMap::from([("HOME", "/h")]));
        assert_eq!(
            resolve_socket(&o, &home, InstanceKind::User).unwrap().0,
            path("/h/.dinitctl", false)
        );
        assert_eq!(
            resolve_socket(&o, &home, InstanceKind::System).unwrap().0,
            path("/run/dinitctl", false)
        );
    }

    #[test]
    fn passed_fd_validation() {
        use std::os::fd::{IntoRawFd, OwnedFd};
        // Not an open descriptor: the stock client's fallback is descriptor 0 (given back
        // here rather than closed: it is the test's standard input).
        let number = |fd: OwnedFd| fd.into_raw_fd();
        assert_eq!(number(open_passed_fd(987_654)), 0);
        assert_eq!(number(open_passed_fd(-1)), 0);
        assert_eq!(number(open_passed_fd(i64::MAX)), 0);
        // A non-blocking socket gets O_NONBLOCK cleared (the adopted descriptor owns it).
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let fd = a.into_raw_fd();
        let adopted = open_passed_fd(i64::from(fd));
        let flags = rustix::fs::fcntl_getfl(&adopted).unwrap();
        assert!(!flags.contains(rustix::fs::OFlags::NONBLOCK));
        use std::os::fd::AsRawFd;
        assert_eq!(adopted.as_raw_fd(), fd);
    }
}
