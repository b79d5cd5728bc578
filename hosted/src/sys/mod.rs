//! The system interfaces that rustix does not wrap safely, each behind a safe function: with
//! the child side of a launch (`spawn::child`), the only place in this crate where `unsafe`
//! is allowed. Everything else calls rustix, or these.
//!
//! Each function is sound for every argument its signature admits, with one convention: a
//! descriptor named by number on the command line (`fd::check_inherited`,
//! `fd::hand_back_inherited`) is owned by no object of the process. Each `unsafe` block says
//! why it is sound in its `SAFETY` comment. What is here, and why rustix does not do it:
//!
//! * [`signal`]: signal sets, the process and thread masks, dispositions, `signalfd`, and the
//!   self-pipe handler of the `poll` reactor (rustix has only raw, unsafe versions);
//! * [`fd`]: descriptors known by number only, which a `BorrowedFd` cannot stand for safely
//!   (a descriptor in a `static`, one named on the command line, a `poll` table);
//! * [`db`]: the C library's user, group and utmp databases and `strerror`;
//! * here: `kill` of every process or with a number rustix has no name for, the terminal's
//!   foreground group by a raw group id, `swapoff`, a read-only remount with no data,
//!   `execve` of prepared vectors, the C allocator's tunables, and giving back the unused
//!   part of the main thread's stack.
//!
//! The child of a launch (between `clone`/`fork` and `execve`) may call these functions too:
//! none of them allocates or locks, except the [`db`] lookups and [`CStringArray::new`].

pub(crate) mod db;
pub(crate) mod fd;
pub(crate) mod signal;

use std::ffi::{CStr, CString};
use std::io;

use rustix::io::Errno;
use rustix::process::{RawPid, Signal};

/// `kill(2)` with any pid (above 0 a process, below -1 a process group, -1 every process we
/// may signal but init and ourselves) and any signal number (0 only checks). rustix's `kill_*`
/// functions cover positive pids and the signals it has names for; this is for the rest.
pub(crate) fn kill_raw(pid: RawPid, signal: i32) -> Result<(), Errno> {
    // SAFETY: kill takes two integers and no memory; what the signal does is the receiver's
    // business.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

/// The process group `pid` is in (`getpgid(2)`), or `None` if there is no such process. 0
/// (a group whose leader is outside this PID namespace) is returned as it is.
pub(crate) fn process_group_of(pid: RawPid) -> Option<RawPid> {
    // SAFETY: getpgid takes an integer and no memory.
    let group = unsafe { libc::getpgid(pid) };
    (group >= 0).then_some(group)
}

/// The daemon's own process group (`getpgrp(2)`; 0 if its leader is outside this PID
/// namespace).
pub(crate) fn own_process_group() -> RawPid {
    // SAFETY: getpgrp takes no arguments and cannot fail.
    unsafe { libc::getpgrp() }
}

/// Sends `signal` to every process we may signal except init and ourselves (`kill(-1, sig)`).
pub(crate) fn kill_all(signal: Signal) {
    let _ = kill_raw(-1, signal.as_raw());
}

/// The error number of the last failed C library call.
fn last_errno() -> Errno {
    let raw = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    // rustix represents the numbers 1 to 4095 only.
    Errno::from_raw_os_error(if (1..4096).contains(&raw) {
        raw
    } else {
        libc::EIO
    })
}

/// Makes the calling process's group the foreground group of the terminal on standard input
/// (`tcsetpgrp(0, getpgrp())`), errors ignored. Not through rustix: the group id is 0 when the
/// group's leader is outside this PID namespace, which its non-zero `Pid` cannot hold (its
/// `getpgrp` asserts against it).
pub(crate) fn foreground_own_group() {
    let group = own_process_group();
    // SAFETY: tcsetpgrp takes integers (standard input, which the standard library keeps
    // open, and a group id) and no memory.
    unsafe { libc::tcsetpgrp(0, group) };
}

/// Turns the kernel's non-critical console output off (`klogctl(SYSLOG_ACTION_CONSOLE_OFF)`:
/// the console log level drops to its minimum; the kernel's log keeps everything). Not in
/// rustix. Errors (no CAP_SYSLOG) are ignored.
#[cfg(target_os = "linux")]
pub(crate) fn kernel_console_off() {
    const SYSLOG_ACTION_CONSOLE_OFF: libc::c_int = 6;
    // SAFETY: this action takes no buffer (null, length 0).
    unsafe { libc::klogctl(SYSLOG_ACTION_CONSOLE_OFF, std::ptr::null_mut(), 0) };
}

/// Turns off the swap area at `path` (`swapoff(2)`; not in rustix).
#[cfg(target_os = "linux")]
pub(crate) fn swapoff(path: &CStr) -> io::Result<()> {
    // SAFETY: swapoff only reads the C string path.
    if unsafe { libc::swapoff(path.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Remounts the file system at `path` read-only: `mount(NULL, path, NULL, MS_REMOUNT |
/// MS_RDONLY, NULL)`. rustix's `mount_remount` passes an empty option string where this
/// passes none, which a file system may read differently.
#[cfg(target_os = "linux")]
pub(crate) fn remount_read_only(path: &CStr) -> io::Result<()> {
    // SAFETY: mount only reads the C string path; the other pointers are NULL, which
    // MS_REMOUNT allows.
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            path.as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_RDONLY,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// C strings with the NULL-terminated vector of pointers to them that `execve(2)` takes. The
/// pointers point into the strings' own heap buffers, which do not move while the strings
/// are held here.
#[derive(Debug, Default)]
pub(crate) struct CStringArray {
    /// The owner of the strings `pointers` points into.
    _strings: Vec<CString>,
    pointers: Vec<*const libc::c_char>,
}

impl CStringArray {
    /// The array of `strings`.
    pub(crate) fn new(strings: Vec<CString>) -> Self {
        let pointers = strings
            .iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        CStringArray {
            _strings: strings,
            pointers,
        }
    }

    /// How many strings it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self._strings.len()
    }

    /// The string at `index`.
    #[cfg(test)]
    pub(crate) fn get(&self, index: usize) -> Option<&CStr> {
        self._strings.get(index).map(CString::as_c_str)
    }

    /// The NULL-terminated pointer vector (for a default-constructed array, which has no
    /// vector, a static one holding only the NULL).
    fn as_ptr(&self) -> *const *const libc::c_char {
        /// A vector with no string: `None` is represented as a NULL pointer.
        static NO_STRINGS: [Option<&u8>; 1] = [None];
        if self.pointers.is_empty() {
            NO_STRINGS.as_ptr().cast()
        } else {
            self.pointers.as_ptr()
        }
    }
}

/// Executes the program at `path` with the arguments `argv` and the environment `envp`.
/// Returns only if that failed, with the reason.
pub(crate) fn execve(path: &CStr, argv: &CStringArray, envp: &CStringArray) -> io::Error {
    // SAFETY: a C string path, and two NULL-terminated vectors of pointers to C strings owned
    // by the arrays, which outlive the call (on success the process image is replaced).
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// Gives memory the C allocator holds free back to the system (`malloc_trim(0)`, glibc).
pub(crate) fn trim_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the C allocator; no block in use
    // moves.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Has the C allocator map blocks of `bytes` and more on their own (`mallopt(
/// M_MMAP_THRESHOLD)`, glibc).
pub(crate) fn set_allocator_mmap_threshold(bytes: i32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tunable of the C allocator, which takes effect for
    // later allocations.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, bytes);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = bytes;
}

/// Gives back the stack pages below this function's frame that the main thread touched and
/// no longer uses (up to 256 KiB under the page below the frame, which the calls made from
/// here use): they are zero pages again the next time they are touched. A no-op on other
/// threads, whose stack may have another's right below it, and off Linux.
///
/// Never inlined: its frame must be a frame of its own, below every frame still in use, for
/// "below this frame" to mean "dead". Inlined into a caller, a live value of the caller's
/// frame could sit under the marker.
#[inline(never)]
pub(crate) fn release_unused_stack() {
    #[cfg(target_os = "linux")]
    {
        if rustix::thread::gettid() != rustix::process::getpid() {
            return;
        }
        // From the C library, which has it from the aux vector it was started with: rustix's
        // page_size reads the aux vector again, through prctl(PR_GET_AUXV) (Linux 6.4 and
        // later) or /proc/self/auxv, and panics when it can do neither, as for PID 1 in an
        // initramfs on an older kernel before /proc is mounted (seen in the QEMU boots).
        let page = usize::try_from(db::sysconf(libc::_SC_PAGESIZE))
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096);
        let marker = 0u8;
        let here = core::hint::black_box(core::ptr::addr_of!(marker)) as usize;
        // The main thread's stack has a guard gap below it (a megabyte at least) that no
        // mapping may occupy: madvise reports ENOMEM for the unmapped part of the range and
        // releases the rest.
        let end = (here & !(page - 1)).saturating_sub(page);
        let len = (256 * 1024usize).min(end);
        let start = end - len;
        // SAFETY: the range lies below the current stack frame of the main thread, the only
        // thread using this stack, or in the unmapped gap under it: no live data is there,
        // and MADV_DONTNEED on private anonymous memory only makes the pages read as zero.
        unsafe {
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
    }
}
