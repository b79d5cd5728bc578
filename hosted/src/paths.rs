//! Default locations of dinit(8) "FILES": service description directories, the environment
//! file and the control socket, for system and user instances.

use std::ffi::OsString;
use std::path::PathBuf;

/// Whether paths are those of the system instance or of a user instance (dinit(8) `-s`/`-u`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum InstanceKind {
    /// The system service manager (default for root).
    System,
    /// A user's service manager (default for other users).
    User,
}

impl InstanceKind {
    /// The default for the current process: system for root, user otherwise.
    pub fn default_for_current_user() -> Self {
        if rustix::process::getuid().is_root() {
            InstanceKind::System
        } else {
            InstanceKind::User
        }
    }
}

/// Environment lookups, injectable for tests.
pub trait EnvLookup {
    /// The value of `name`, if set.
    fn var(&self, name: &str) -> Option<OsString>;
}

/// The process environment.
#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl EnvLookup for ProcessEnv {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name).filter(|v| !v.is_empty())
    }
}

/// The directories searched for service descriptions, in order (dinit(8) FILES): for the
/// system instance `/etc/dinit.d`, `/run/dinit.d`, `/usr/local/lib/dinit.d`, `/lib/dinit.d`; for a
/// user instance `$XDG_CONFIG_HOME/dinit.d` (when set), `$HOME/.config/dinit.d` (when `HOME` is
/// set), `/etc/dinit.d/user`, `/usr/lib/dinit.d/user`, `/usr/local/lib/dinit.d/user`.
pub fn default_service_dirs(kind: InstanceKind, env: &impl EnvLookup) -> Vec<PathBuf> {
    match kind {
        InstanceKind::System => [
            "/etc/dinit.d",
            "/run/dinit.d",
            "/usr/local/lib/dinit.d",
            "/lib/dinit.d",
        ]
        .iter()
        .map(PathBuf::from)
        .collect(),
        InstanceKind::User => {
            let mut dirs = Vec::new();
            if let Some(xdg) = env.var("XDG_CONFIG_HOME") {
                dirs.push(PathBuf::from(xdg).join("dinit.d"));
            }
            if let Some(home) = env.var("HOME") {
                let d = PathBuf::from(home).join(".config").join("dinit.d");
                if !dirs.contains(&d) {
                    dirs.push(d);
                }
            }
            for d in [
                "/etc/dinit.d/user",
                "/usr/lib/dinit.d/user",
                "/usr/local/lib/dinit.d/user",
            ] {
                dirs.push(PathBuf::from(d));
            }
            dirs
        }
    }
}

/// The default environment file: `/etc/dinit/environment` for the system instance; none for a
/// user instance (dinit(8) `-e`).
pub fn default_env_file(kind: InstanceKind) -> Option<PathBuf> {
    match kind {
        InstanceKind::System => Some(PathBuf::from("/etc/dinit/environment")),
        InstanceKind::User => None,
    }
}

/// The system instance's control socket (docs/PROTOCOL.md §2.2).
pub const SYSTEM_SOCKET_PATH: &str = "/run/dinitctl";

/// The default control socket: `/run/dinitctl` for the system instance; for a user instance
/// `$XDG_RUNTIME_DIR/dinitctl`, else `$HOME/.dinitctl`, else `<passwd home>/.dinitctl`. `None`
/// if no directory can be determined.
pub fn default_socket_path(kind: InstanceKind, env: &impl EnvLookup) -> Option<PathBuf> {
    match kind {
        InstanceKind::System => Some(PathBuf::from(SYSTEM_SOCKET_PATH)),
        InstanceKind::User => {
            if let Some(dir) = env.var("XDG_RUNTIME_DIR") {
                return Some(PathBuf::from(dir).join("dinitctl"));
            }
            let home = env.var("HOME").map(PathBuf::from).or_else(passwd_home)?;
            Some(home.join(".dinitctl"))
        }
    }
}

/// The home directory of the real user from the password database.
fn passwd_home() -> Option<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    let passwd = std::fs::read("/etc/passwd").ok()?;
    for line in passwd.split(|&b| b == b'\n') {
        let fields: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        if let (Some(id), Some(home)) = (fields.get(2), fields.get(5)) {
            if std::str::from_utf8(id).ok()?.parse::<u32>().ok() == Some(uid) && !home.is_empty() {
                use std::os::unix::ffi::OsStrExt;
                return Some(PathBuf::from(std::ffi::OsStr::from_bytes(home)));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fake(HashMap<&'static str, &'static str>);
    impl EnvLookup for Fake {
        fn var(&self, name: &str) -> Option<OsString> {
            self.0.get(name).map(OsString::from)
        }
    }

    #[test]
    fn system_dirs_in_documented_order() {
        let dirs = default_service_dirs(InstanceKind::System, &Fake(HashMap::new()));
        assert_eq!(
            dirs,
            [
                "/etc/dinit.d",
                "/run/dinit.d",
                "/usr/local/lib/dinit.d",
                "/lib/dinit.d"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn user_dirs_in_documented_order() {
        let env = Fake(HashMap::from([("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]));
        let dirs = default_service_dirs(InstanceKind::User, &env);
        assert_eq!(
            dirs,
            [
                "/x/dinit.d",
                "/h/.config/dinit.d",
                "/etc/dinit.d/user",
                "/usr/lib/dinit.d/user",
                "/usr/local/lib/dinit.d/user"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn socket_paths() {
        let none = Fake(HashMap::new());
        assert_eq!(
            default_socket_path(InstanceKind::System, &none),
            Some(PathBuf::from("/run/dinitctl"))
        );
        let xdg = Fake(HashMap::from([
            ("XDG_RUNTIME_DIR", "/run/user/1"),
            ("HOME", "/h"),
        ]));
        assert_eq!(
            default_socket_path(InstanceKind::User, &xdg),
            Some(PathBuf::from("/run/user/1/dinitctl"))
        );
        let home = Fake(HashMap::from([("HOME", "/h")]));
        assert_eq!(
            default_socket_path(InstanceKind::User, &home),
            Some(PathBuf::from("/h/.dinitctl"))
        );
        assert_eq!(
            default_env_file(InstanceKind::System),
            Some(PathBuf::from("/etc/dinit/environment"))
        );
        assert_eq!(default_env_file(InstanceKind::User), None);
    }
}
