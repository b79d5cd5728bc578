//! The user database, through the C library (so NSS sources beyond /etc/passwd work): what
//! `load-options = export-passwd-vars` exports and what `run-as` by name resolves to.

use crate::sys::db::{user_entry, UserKey};
use std::ffi::{CStr, CString};

/// One user's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEntry {
    /// Login name.
    pub name: Vec<u8>,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: Vec<u8>,
    /// Login shell.
    pub shell: Vec<u8>,
}

/// Why a lookup failed.
#[derive(Debug)]
pub enum LookupError {
    /// No such user.
    NotFound,
    /// The database could not be read.
    Io(std::io::Error),
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::NotFound => f.write_str("no such user"),
            LookupError::Io(e) => write!(f, "cannot read the user database: {e}"),
        }
    }
}

fn lookup(key: UserKey<'_>) -> Result<UserEntry, LookupError> {
    let mut buf = vec![0u8; 1024];
    loop {
        let (rc, entry) = user_entry(key, &mut buf);
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            let len = buf.len() * 2;
            buf.resize(len, 0);
            continue;
        }
        if (rc == 0 && entry.is_none()) || (rc != 0 && means_not_found(rc)) {
            return Err(LookupError::NotFound);
        }
        return match entry {
            Some(entry) if rc == 0 => Ok(entry),
            _ => Err(LookupError::Io(std::io::Error::from_raw_os_error(rc))),
        };
    }
}

/// Whether a `getpwnam_r`/`getgrnam_r` error number means "no such entry" (POSIX leaves this
/// open; these are the values the C libraries use).
pub(crate) fn means_not_found(errno: i32) -> bool {
    errno == 0
        || errno == libc::ENOENT
        || errno == libc::ESRCH
        || errno == libc::EBADF
        || errno == libc::EPERM
}

/// Looks a user up by name.
pub fn user_by_name(name: &[u8]) -> Result<UserEntry, LookupError> {
    let name = CString::new(name).map_err(|_| LookupError::NotFound)?;
    lookup(UserKey::Name(&name))
}

/// Looks a user up by a name already in C form.
pub(crate) fn user_by_c_name(name: &CStr) -> Result<UserEntry, LookupError> {
    lookup(UserKey::Name(name))
}

/// Looks a user up by uid.
pub fn user_by_uid(uid: u32) -> Result<UserEntry, LookupError> {
    lookup(UserKey::Uid(uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists() {
        let by_name = user_by_name(b"root").unwrap();
        assert_eq!(by_name.uid, 0);
        let by_uid = user_by_uid(0).unwrap();
        assert_eq!(by_uid.name, b"root");
        assert!(matches!(
            user_by_name(b"no-such-user-xyzzy"),
            Err(LookupError::NotFound)
        ));
    }
}
