//! The user database, through the C library (so NSS sources beyond /etc/passwd work): what
//! `load-options = export-passwd-vars` exports and what `run-as` by name resolves to.

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

enum Key<'a> {
    Name(&'a CStr),
    Uid(u32),
}

fn lookup(key: Key<'_>) -> Result<UserEntry, LookupError> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `passwd` is plain old data that getpw*_r fills in; `buf` outlives the call
        // and every pointer the result holds points into it; `result` is an out-parameter.
        let mut passwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            match key {
                Key::Name(name) => libc::getpwnam_r(
                    name.as_ptr(),
                    &mut passwd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    &mut result,
                ),
                Key::Uid(uid) => libc::getpwuid_r(
                    uid,
                    &mut passwd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    &mut result,
                ),
            }
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            let len = buf.len() * 2;
            buf.resize(len, 0);
            continue;
        }
        if (rc == 0 && result.is_null()) || (rc != 0 && means_not_found(rc)) {
            return Err(LookupError::NotFound);
        }
        if rc != 0 || result.is_null() {
            return Err(LookupError::Io(std::io::Error::from_raw_os_error(rc)));
        }
        // SAFETY: on success the string fields are NUL-terminated strings inside `buf` (or
        // static storage of the C library), valid until `buf` is dropped below.
        let field = |p: *const libc::c_char| -> Vec<u8> {
            if p.is_null() {
                Vec::new()
            } else {
                unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
            }
        };
        return Ok(UserEntry {
            name: field(passwd.pw_name),
            uid: passwd.pw_uid,
            gid: passwd.pw_gid,
            home: field(passwd.pw_dir),
            shell: field(passwd.pw_shell),
        });
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
    lookup(Key::Name(&name))
}

/// Looks a user up by a name already in C form.
pub(crate) fn user_by_c_name(name: &CStr) -> Result<UserEntry, LookupError> {
    lookup(Key::Name(name))
}

/// Looks a user up by uid.
pub fn user_by_uid(uid: u32) -> Result<UserEntry, LookupError> {
    lookup(Key::Uid(uid))
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
