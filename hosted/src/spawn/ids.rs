//! Load-time resolution of the user and group settings (`run-as`, `socket-uid`/`socket-gid`,
//! `logfile-uid`/`logfile-gid`), which dinit-service(5) lets the administrator give either as
//! a name or as a number.
//!
//! * A user **name** is looked up in the user database: its uid, its primary group, and its
//!   supplementary groups from the group database (`getgrouplist`, which includes the primary
//!   group).
//! * A user **number** is taken as it is: that uid, the group left unchanged, and no
//!   supplementary groups (for `run-as`, all of the daemon's are dropped).
//!
//! These lookups go through the C library (NSS), allocate, and may block; they are for service
//! load time only, never for the launch itself.

use core::fmt;
use std::ffi::{CStr, CString};

use crate::sys;

/// The identity a child takes on (`run-as`), or the owner of a file (`logfile-uid`).
#[derive(Clone, PartialEq, Eq, Debug, Default, Hash)]
pub struct Credentials {
    /// The user id.
    pub uid: u32,
    /// The group id: the user's primary group when it was given by name; `None` (leave the
    /// group unchanged) when it was given by number.
    pub gid: Option<u32>,
    /// The supplementary groups to set: the user's groups from the group database when it was
    /// given by name; empty (drop them all) when it was given by number.
    pub groups: Vec<u32>,
}

/// Why a user or group setting could not be resolved. Each message names the user or group.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum IdError {
    /// The text is neither a valid name nor a valid number (empty, a NUL byte, or the
    /// reserved id `4294967295`).
    Invalid(String),
    /// No such user in the user database.
    NoSuchUser(String),
    /// No such group in the group database.
    NoSuchGroup(String),
    /// The database lookup itself failed (the C library's error number).
    Lookup {
        /// The name looked up.
        name: String,
        /// The errno the lookup reported.
        errno: i32,
    },
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Invalid(text) => write!(f, "invalid user or group id \"{text}\""),
            IdError::NoSuchUser(name) => write!(f, "user \"{name}\" not found"),
            IdError::NoSuchGroup(name) => write!(f, "group \"{name}\" not found"),
            IdError::Lookup { name, errno } => write!(
                f,
                "looking up \"{name}\": {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl std::error::Error for IdError {}

/// Parses a numeric id; `None` if `text` is not all digits. The value `u32::MAX` is `(uid_t)-1`,
/// which the system calls take as "unchanged", so it is rejected.
fn numeric_id(text: &str) -> Option<Result<u32, IdError>> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        text.parse::<u32>()
            .ok()
            .filter(|&id| id != u32::MAX)
            .ok_or_else(|| IdError::Invalid(text.to_owned())),
    )
}

fn c_name(text: &str) -> Result<CString, IdError> {
    if text.is_empty() {
        return Err(IdError::Invalid(text.to_owned()));
    }
    CString::new(text).map_err(|_| IdError::Invalid(text.to_owned()))
}

/// The starting buffer size for the `get*_r` functions.
fn initial_buffer_len(which: libc::c_int) -> usize {
    usize::try_from(sys::db::sysconf(which))
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(1024)
}

/// The largest buffer a `get*_r` lookup may ask for before we give up.
const MAX_BUFFER_LEN: usize = 1 << 20;

use crate::users::means_not_found;

/// Looks a user up by name: `(uid, primary gid)`, or `None` if there is no such user.
fn passwd_by_name(name: &CStr, shown: &str) -> Result<Option<(u32, u32)>, IdError> {
    match crate::users::user_by_c_name(name) {
        Ok(entry) => Ok(Some((entry.uid, entry.gid))),
        Err(crate::users::LookupError::NotFound) => Ok(None),
        Err(crate::users::LookupError::Io(e)) => Err(IdError::Lookup {
            name: shown.to_owned(),
            errno: e.raw_os_error().unwrap_or(libc::EIO),
        }),
    }
}

/// The supplementary groups of user `name` whose primary group is `gid`.
fn group_list(name: &CStr, gid: u32, shown: &str) -> Result<Vec<u32>, IdError> {
    let mut groups: Vec<u32> = vec![0; 32];
    for _ in 0..8 {
        let (rc, count) = sys::db::group_list(name, gid, &mut groups);
        let wanted = usize::try_from(count).unwrap_or(0);
        if rc >= 0 {
            groups.truncate(wanted);
            return Ok(groups);
        }
        // Too small: `count` now holds the number needed (glibc), or is unchanged (others).
        let bigger = wanted.max(groups.len().saturating_mul(2));
        groups.resize(bigger, 0);
    }
    Err(IdError::Lookup {
        name: shown.to_owned(),
        errno: libc::ERANGE,
    })
}

/// Resolves a user setting given as a name or a number (see the module documentation).
///
/// ```no_run
/// let nobody = dinit_hosted::spawn::resolve_user("nobody")?;
/// assert_eq!(nobody.gid, Some(65534));
/// let numeric = dinit_hosted::spawn::resolve_user("1000")?;
/// assert_eq!((numeric.uid, numeric.gid, numeric.groups.len()), (1000, None, 0));
/// # Ok::<(), dinit_hosted::spawn::IdError>(())
/// ```
pub fn resolve_user(text: &str) -> Result<Credentials, IdError> {
    if let Some(uid) = numeric_id(text) {
        return Ok(Credentials {
            uid: uid?,
            gid: None,
            groups: Vec::new(),
        });
    }
    let name = c_name(text)?;
    let (uid, gid) =
        passwd_by_name(&name, text)?.ok_or_else(|| IdError::NoSuchUser(text.to_owned()))?;
    let groups = group_list(&name, gid, text)?;
    Ok(Credentials {
        uid,
        gid: Some(gid),
        groups,
    })
}

/// Resolves a group setting (`socket-gid`, `logfile-gid`) given as a name or a number.
pub fn resolve_group(text: &str) -> Result<u32, IdError> {
    if let Some(gid) = numeric_id(text) {
        return gid;
    }
    let name = c_name(text)?;
    let mut buffer = vec![0u8; initial_buffer_len(libc::_SC_GETGR_R_SIZE_MAX)];
    loop {
        let (rc, gid) = sys::db::group_id(&name, &mut buffer);
        if rc == libc::ERANGE && buffer.len() < MAX_BUFFER_LEN {
            buffer.resize(buffer.len().saturating_mul(2), 0);
            continue;
        }
        if let (0, Some(gid)) = (rc, gid) {
            return Ok(gid);
        }
        if means_not_found(rc) {
            return Err(IdError::NoSuchGroup(text.to_owned()));
        }
        return Err(IdError::Lookup {
            name: text.to_owned(),
            errno: rc,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_taken_as_they_are() {
        let c = resolve_user("65534").unwrap();
        assert_eq!(
            c,
            Credentials {
                uid: 65534,
                gid: None,
                groups: vec![]
            }
        );
        assert_eq!(resolve_user("0").unwrap().uid, 0);
        assert_eq!(resolve_group("123").unwrap(), 123);
        assert!(matches!(
            resolve_user("4294967295"),
            Err(IdError::Invalid(_))
        ));
        assert!(matches!(
            resolve_user("99999999999"),
            Err(IdError::Invalid(_))
        ));
    }

    #[test]
    fn root_by_name() {
        let root = resolve_user("root").unwrap();
        assert_eq!(root.uid, 0);
        assert_eq!(root.gid, Some(0));
        assert!(root.groups.contains(&0));
        assert_eq!(resolve_group("root").unwrap(), 0);
    }

    #[test]
    fn unknown_names_are_named_in_the_error() {
        let e = resolve_user("no-such-user-dinit-rs").unwrap_err();
        assert_eq!(e, IdError::NoSuchUser("no-such-user-dinit-rs".into()));
        assert_eq!(e.to_string(), "user \"no-such-user-dinit-rs\" not found");
        let e = resolve_group("no-such-group-dinit-rs").unwrap_err();
        assert_eq!(e.to_string(), "group \"no-such-group-dinit-rs\" not found");
        assert!(matches!(resolve_user(""), Err(IdError::Invalid(_))));
        assert!(matches!(resolve_user("a\0b"), Err(IdError::Invalid(_))));
    }
}
