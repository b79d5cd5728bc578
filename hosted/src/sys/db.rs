//! The C library's databases: users and groups (through NSS, so that sources beyond
//! `/etc/passwd` work; in a static glibc build, `/etc/passwd` and `/etc/group` only: see
//! [`files_only_in_static_glibc`]), utmp/wtmp, and the error messages of `strerror`. rustix
//! does not cover them; each function here copies what it needs out of the C library's
//! structures.

use std::ffi::CStr;

use crate::users::UserEntry;

/// Which user [`user_entry`] looks up.
#[derive(Clone, Copy, Debug)]
pub(crate) enum UserKey<'a> {
    /// By login name (`getpwnam_r`).
    Name(&'a CStr),
    /// By uid (`getpwuid_r`).
    Uid(u32),
}

/// Confines the user, group and group-membership databases to their `files` source
/// (`/etc/passwd`, `/etc/group`) in a statically linked glibc, once, before the first lookup;
/// a no-op in any other build.
///
/// A static glibc has `files` built in, but loads any other source that
/// `/etc/nsswitch.conf` names (`systemd`, `sss`, `ldap`, ...) with `dlopen` from the shared C
/// library installed, which drags a second C library into the process and works only if it is
/// the very version linked in (the linker warns of this). On Debian 12 with `libnss-systemd`
/// (`passwd: files systemd`), `run-as` of a user with a supplementary group crashed the daemon
/// in `getgrouplist`, static PIE or not, even with the same glibc version installed, and a
/// static C program calling `getgrouplist` for that user crashed the same way. So the static daemon reads the files, as Dinit does on
/// musl systems; users of other sources are named by number (`run-as = 1234:1234`). See
/// packaging/README.md.
fn files_only_in_static_glibc() {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_feature = "crt-static"))]
    {
        extern "C" {
            // <nss.h>: replaces the nsswitch.conf line of one database.
            fn __nss_configure_lookup(
                dbname: *const libc::c_char,
                service_line: *const libc::c_char,
            ) -> libc::c_int;
        }
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            for db in [c"passwd", c"group", c"initgroups"] {
                // SAFETY: two C strings, read during the call; the function only replaces the
                // C library's lookup configuration of that database. Done once, before any
                // lookup of this module (each calls this first), and the daemon has one thread.
                unsafe {
                    __nss_configure_lookup(db.as_ptr(), c"files".as_ptr());
                }
            }
        });
    }
}

/// A string field of a C library entry, copied out (empty for NULL).
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that stays valid during the call.
unsafe fn field(p: *const libc::c_char) -> Vec<u8> {
    if p.is_null() {
        return Vec::new();
    }
    // SAFETY: the caller's guarantee.
    unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
}

/// `getpwnam_r` or `getpwuid_r` with `buf` as the string buffer: the error number (0 on
/// success, `ERANGE` if `buf` is too small) and the entry, if one was found.
pub(crate) fn user_entry(key: UserKey<'_>, buf: &mut [u8]) -> (i32, Option<UserEntry>) {
    files_only_in_static_glibc();
    // SAFETY: struct passwd is plain data (integers and pointers), for which all-zero bytes
    // are a valid value; getpw*_r overwrites it.
    let mut passwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = match key {
        // SAFETY: the name is a C string; `passwd` and `result` are out-parameters; the
        // string fields are written into `buf`, which is valid for its length.
        UserKey::Name(name) => unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut passwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        },
        // SAFETY: as above, with a uid instead of a name.
        UserKey::Uid(uid) => unsafe {
            libc::getpwuid_r(
                uid,
                &mut passwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        },
    };
    if rc != 0 || result.is_null() {
        return (rc, None);
    }
    // SAFETY: on success `result` points to `passwd`, whose string fields are NULL or
    // NUL-terminated strings inside `buf` (or static storage of the C library), valid while
    // `buf` is borrowed here.
    let name = unsafe { field(passwd.pw_name) };
    // SAFETY: as for the name.
    let home = unsafe { field(passwd.pw_dir) };
    // SAFETY: as for the name.
    let shell = unsafe { field(passwd.pw_shell) };
    let entry = UserEntry {
        name,
        uid: passwd.pw_uid,
        gid: passwd.pw_gid,
        home,
        shell,
    };
    (rc, Some(entry))
}

/// `getgrnam_r` with `buf` as the string buffer: the error number (0 on success, `ERANGE` if
/// `buf` is too small) and the group's id, if one was found.
pub(crate) fn group_id(name: &CStr, buf: &mut [u8]) -> (i32, Option<u32>) {
    files_only_in_static_glibc();
    // SAFETY: struct group is plain data (integers and pointers), for which all-zero bytes
    // are a valid value; getgrnam_r overwrites it.
    let mut entry: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    // SAFETY: the name is a C string; `entry` and `result` are out-parameters; the strings
    // are written into `buf`, which is valid for its length.
    let rc = unsafe {
        libc::getgrnam_r(
            name.as_ptr(),
            &mut entry,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc == 0 && !result.is_null() {
        (rc, Some(entry.gr_gid))
    } else {
        (rc, None)
    }
}

/// `getgrouplist`: fills `groups` with the groups of user `name` whose primary group is
/// `gid`. Returns the C function's result (-1 when `groups` is too small) and the count it
/// reports (the number needed, with glibc, when it was too small).
pub(crate) fn group_list(name: &CStr, gid: u32, groups: &mut [u32]) -> (i32, i32) {
    files_only_in_static_glibc();
    let mut count = libc::c_int::try_from(groups.len()).unwrap_or(libc::c_int::MAX);
    // SAFETY: the name is a C string; `groups` has room for `count` entries (gid_t is u32),
    // and getgrouplist writes at most that many.
    let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
    (rc, count)
}

/// `sysconf(name)`: the value, or -1 if there is none (or `name` is unknown).
pub(crate) fn sysconf(name: libc::c_int) -> libc::c_long {
    // SAFETY: sysconf takes an integer and no memory.
    unsafe { libc::sysconf(name) }
}

/// The C library's message for `errno` in `buf` (the XSI `strerror_r`), or `None` if it has
/// none or it is not UTF-8.
pub(crate) fn strerror(errno: i32, buf: &mut [u8]) -> Option<&str> {
    // SAFETY: the buffer is valid for its length; strerror_r writes a NUL-terminated message
    // into it (truncated if need be) and touches nothing else.
    let r = unsafe { libc::strerror_r(errno, buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return None;
    }
    CStr::from_bytes_until_nul(buf).ok()?.to_str().ok()
}

extern "C" {
    /// glibc: appends an entry to a wtmp file (not in the `libc` crate's bindings).
    fn updwtmpx(wtmp_file: *const libc::c_char, ut: *const libc::utmpx);
}

/// An empty utmp entry (all fields zero).
pub(crate) fn empty_utmpx() -> libc::utmpx {
    // SAFETY: struct utmpx is plain data (integers and character arrays), for which all-zero
    // bytes are a valid, empty entry.
    unsafe { std::mem::zeroed() }
}

/// Writes `entry` to the utmp database (replacing the entry of the same id), and appends it
/// to `/var/log/wtmp` too if `wtmp`.
pub(crate) fn write_utmp(entry: &libc::utmpx, wtmp: bool) {
    // SAFETY: setutxent takes no arguments.
    unsafe { libc::setutxent() };
    // SAFETY: pututxline only reads the entry; its result (a pointer to the C library's
    // static copy, or NULL) is not used.
    unsafe { libc::pututxline(entry) };
    // SAFETY: endutxent takes no arguments.
    unsafe { libc::endutxent() };
    if wtmp {
        let path = c"/var/log/wtmp";
        // SAFETY: a C string path and an entry that updwtmpx only reads.
        unsafe { updwtmpx(path.as_ptr(), entry) };
    }
}

/// Looks up the utmp entry with the id (and type) of `key`: its type and pid.
pub(crate) fn find_utmp(key: &libc::utmpx) -> Option<(i16, i32)> {
    // SAFETY: setutxent takes no arguments.
    unsafe { libc::setutxent() };
    // SAFETY: getutxid only reads the key; it returns NULL or a pointer to the C library's
    // static entry, valid until the next utmpx call.
    let found = unsafe { libc::getutxid(key) };
    // SAFETY: `found` is NULL or points to that static entry; the fields are copied out
    // before endutxent.
    let out = unsafe { found.as_ref() }.map(|u| (u.ut_type, u.ut_pid));
    // SAFETY: endutxent takes no arguments.
    unsafe { libc::endutxent() };
    out
}
