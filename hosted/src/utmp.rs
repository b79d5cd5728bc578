//! The utmp/wtmp databases (utmp(5)): entries for services with `inittab-id`/`inittab-line`
//! (dinit-service(5)), and the boot record written once the root file system is writable
//! (`starts-rwfs`). Through the C library's utmpx functions, as other tools (`who`, `last`)
//! read them.

use crate::sys::db::{empty_utmpx, find_utmp, write_utmp};

fn fill(dst: &mut [libc::c_char], src: &[u8]) {
    for (d, s) in dst
        .iter_mut()
        .zip(src.iter().chain(std::iter::repeat(&0u8)))
    {
        *d = *s as libc::c_char;
    }
}

/// The time now as utmp(5) keeps it: seconds and microseconds in 32-bit fields (x86_64), or a
/// `timeval` of `time_t` and `suseconds_t` (64-bit on aarch64, 32-bit on the 32-bit targets).
fn now() -> (i32, i32) {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (
        i32::try_from(t.as_secs()).unwrap_or(0),
        i32::try_from(t.subsec_micros()).unwrap_or(0),
    )
}

fn entry(kind: libc::c_short, id: &[u8], line: &[u8], pid: i32) -> libc::utmpx {
    let mut u = empty_utmpx();
    u.ut_type = kind;
    u.ut_pid = pid;
    fill(&mut u.ut_id, id);
    fill(&mut u.ut_line, line);
    let (sec, usec) = now();
    u.ut_tv.tv_sec = sec as _;
    u.ut_tv.tv_usec = usec as _;
    u
}

/// A service process started: an `INIT_PROCESS` entry.
pub fn process_started(id: &[u8], line: &[u8], pid: i32) {
    write_utmp(&entry(libc::INIT_PROCESS, id, line, pid), false);
}

/// The service process ended: the entry becomes `DEAD_PROCESS` (also recorded in wtmp).
pub fn process_ended(id: &[u8], line: &[u8], pid: i32) {
    write_utmp(&entry(libc::DEAD_PROCESS, id, line, pid), true);
}

/// The system booted: a `BOOT_TIME` entry in utmp and wtmp. The utmp file is created first when
/// missing (it normally lives on a fresh tmpfs, and the C library does not create it); existing
/// entries are kept.
pub fn boot() {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o664)
        .open("/var/run/utmp");
    let mut u = entry(libc::BOOT_TIME, b"", b"~", 0);
    fill(&mut u.ut_user, b"reboot");
    write_utmp(&u, true);
}

/// Looks up the entry with `id` (for tests and diagnostics): its type and pid.
pub fn find(id: &[u8]) -> Option<(i16, i32)> {
    let mut key = entry(libc::INIT_PROCESS, id, b"", 0);
    key.ut_type = libc::INIT_PROCESS;
    find_utmp(&key)
}
