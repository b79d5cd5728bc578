//! The system calls the child makes that rustix does not wrap, made without the C library.
//!
//! Where the child shares the daemon's memory (see [`super::start`]), it also shares the
//! daemon's thread pointer, and with it the C library's `errno`: a failing libc call in the
//! child would overwrite the `errno` the daemon may be about to read. On the architectures
//! listed in [`SHARES_MEMORY`] every call the child makes therefore goes straight to the
//! kernel: rustix's own calls (its `linux_raw` backend, the default there) and the ones below,
//! issued with one instruction of inline assembly and returning the kernel's error number.
//! Elsewhere the child is an ordinary `fork` copy, and these go through `libc::syscall`.

use core::ffi::{c_char, c_int, c_long, CStr};
use std::os::fd::RawFd;

/// Whether launches on this architecture start the child in the daemon's memory
/// (`clone(CLONE_VM)`): where the system calls below are made without the C library, and
/// rustix's default backend makes raw system calls as well.
pub(crate) const SHARES_MEMORY: bool = cfg!(all(
    target_os = "linux",
    any(
        all(target_arch = "x86_64", target_pointer_width = "64"),
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
));

/// The result of a system call: its value, or the error number.
type Result = core::result::Result<usize, i32>;

/// Turns the kernel's return value (-4095 to -1: an error number) into a result.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn from_kernel(value: isize) -> Result {
    if (-4095..0).contains(&value) {
        Err(i32::try_from(value.unsigned_abs()).unwrap_or(libc::EIO))
    } else {
        // Not an error: the value's bits (an address or a count).
        Ok(value as usize)
    }
}

/// `syscall(number, args...)`.
///
/// # Safety
/// The arguments must be what the system call expects (valid pointers where it takes them).
#[cfg(all(
    target_os = "linux",
    target_arch = "x86_64",
    target_pointer_width = "64"
))]
unsafe fn syscall(number: c_long, args: [usize; 6]) -> Result {
    let value: isize;
    // SAFETY: the Linux x86-64 system call convention: number in rax, arguments in rdi, rsi,
    // rdx, r10, r8, r9, result in rax; the instruction clobbers rcx and r11. The caller
    // guarantees the arguments.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => value,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack, preserves_flags)
        );
    }
    from_kernel(value)
}

/// `syscall(number, args...)`.
///
/// # Safety
/// As above.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn syscall(number: c_long, args: [usize; 6]) -> Result {
    let value: isize;
    // SAFETY: the Linux AArch64 convention: number in x8, arguments in x0-x5, result in x0.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") number,
            inlateout("x0") args[0] => value,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x5") args[5],
            options(nostack)
        );
    }
    from_kernel(value)
}

/// `syscall(number, args...)`.
///
/// # Safety
/// As above.
#[cfg(all(target_os = "linux", target_arch = "riscv64"))]
unsafe fn syscall(number: c_long, args: [usize; 6]) -> Result {
    let value: isize;
    // SAFETY: the Linux RISC-V convention: number in a7, arguments in a0-a5, result in a0.
    unsafe {
        core::arch::asm!(
            "ecall",
            in("a7") number,
            inlateout("a0") args[0] => value,
            in("a1") args[1],
            in("a2") args[2],
            in("a3") args[3],
            in("a4") args[4],
            in("a5") args[5],
            options(nostack)
        );
    }
    from_kernel(value)
}

/// `syscall(number, args...)` through the C library, for the architectures where the child
/// is a `fork` copy with its own `errno`.
///
/// # Safety
/// As above.
#[cfg(not(all(
    target_os = "linux",
    any(
        all(target_arch = "x86_64", target_pointer_width = "64"),
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
)))]
unsafe fn syscall(number: c_long, args: [usize; 6]) -> Result {
    let [a, b, c, d, e, f] = args;
    // SAFETY: forwarded to the caller.
    let value = unsafe { libc::syscall(number, a, b, c, d, e, f) };
    if value == -1 {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    } else {
        Ok(usize::try_from(value).unwrap_or(0))
    }
}

/// A descriptor number as a system call argument.
fn fd_arg(fd: RawFd) -> usize {
    // Descriptor numbers are passed as (sign-extended) ints.
    fd as isize as usize
}

/// `close(fd)`, its result ignored (the descriptor is gone either way).
pub(super) fn close(fd: RawFd) {
    // SAFETY: close takes a number; closing one this process does not use changes nothing
    // the child relies on (callers pass only descriptors they own).
    let _ = unsafe { syscall(libc::SYS_close, [fd_arg(fd), 0, 0, 0, 0, 0]) };
}

/// `dup3(src, target, 0)`: `src` onto `target`, without close-on-exec. The numbers must
/// differ.
pub(super) fn dup3(src: RawFd, target: RawFd) -> core::result::Result<(), i32> {
    // SAFETY: dup3 takes numbers only.
    unsafe { syscall(libc::SYS_dup3, [fd_arg(src), fd_arg(target), 0, 0, 0, 0]) }.map(drop)
}

/// `close_range(first, ~0, CLOSE_RANGE_CLOEXEC)`: marks every descriptor from `first` up
/// close-on-exec.
pub(super) fn cloexec_range(first: u32) -> core::result::Result<(), i32> {
    // SAFETY: close_range takes numbers only; with this flag it only changes descriptor flags.
    unsafe {
        syscall(
            libc::SYS_close_range,
            [
                first as usize,
                u32::MAX as usize,
                libc::CLOSE_RANGE_CLOEXEC as usize,
                0,
                0,
                0,
            ],
        )
    }
    .map(drop)
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, 0, value)`: this process's I/O priority.
pub(super) fn ioprio_set(value: i32) -> core::result::Result<(), i32> {
    const IOPRIO_WHO_PROCESS: usize = 1;
    // SAFETY: ioprio_set takes numbers only.
    unsafe {
        syscall(
            libc::SYS_ioprio_set,
            [IOPRIO_WHO_PROCESS, 0, value as isize as usize, 0, 0, 0],
        )
    }
    .map(drop)
}

/// `rt_sigaction(signal, {SIG_DFL}, NULL)`: the default disposition for `signal`. The kernel's
/// `struct sigaction` differs between architectures, but all-zero bytes mean the same
/// everywhere (SIG_DFL, no flags, an empty mask); the buffer is larger than any of them.
pub(super) fn default_disposition(signal: c_int) -> core::result::Result<(), i32> {
    let zeroes = [0u64; 8];
    // SAFETY: rt_sigaction reads a sigaction-sized structure from `zeroes` and writes no old
    // action; the last argument is the kernel's signal set size.
    unsafe {
        syscall(
            libc::SYS_rt_sigaction,
            [
                signal as usize,
                zeroes.as_ptr() as usize,
                0,
                KERNEL_SIGSET_BYTES,
                0,
                0,
            ],
        )
    }
    .map(drop)
}

/// The kernel's signal set size (`_NSIG / 8`): 8 bytes, 64 signals, on the architectures that
/// share memory; 16 on MIPS.
pub(super) const KERNEL_SIGSET_BYTES: usize = if cfg!(any(
    target_arch = "mips",
    target_arch = "mips32r6",
    target_arch = "mips64",
    target_arch = "mips64r6"
)) {
    16
} else {
    8
};

/// The highest signal number (`_NSIG`, the kernel's `SIGRTMAX`).
pub(super) const LAST_SIGNAL: c_int = (KERNEL_SIGSET_BYTES * 8) as c_int;

/// `rt_sigprocmask(SIG_SETMASK, {signals}, NULL)`: the signal mask is exactly `signals`.
pub(super) fn set_mask(signals: &[c_int]) -> core::result::Result<(), i32> {
    // The kernel's set: an array of unsigned longs, signal n at bit n-1.
    const WORD_BITS: usize = libc::c_ulong::BITS as usize;
    let mut words: [libc::c_ulong; 4] = [0; 4];
    for &signal in signals {
        let bit = usize::try_from(signal.saturating_sub(1)).unwrap_or(usize::MAX);
        if let Some(word) = words.get_mut(bit / WORD_BITS) {
            *word |= 1 << (bit % WORD_BITS);
        }
    }
    // SAFETY: rt_sigprocmask reads KERNEL_SIGSET_BYTES (at most 16, the size of `words`) from
    // `words` and writes no old mask.
    unsafe {
        syscall(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_SETMASK as usize,
                words.as_ptr() as usize,
                0,
                KERNEL_SIGSET_BYTES,
                0,
                0,
            ],
        )
    }
    .map(drop)
}

/// `getsid(0)`: this process's session id, which is 0 when the session's leader is outside
/// the process's PID namespace (a daemon started by `unshare --pid` without `setsid`).
pub(super) fn own_session() -> core::result::Result<i32, i32> {
    // SAFETY: getsid takes a number only.
    unsafe { syscall(libc::SYS_getsid, [0; 6]) }.map(|sid| i32::try_from(sid).unwrap_or(0))
}

/// `ioctl(fd, TIOCGSID)`: the session the terminal on `fd` controls (0 likewise).
pub(super) fn terminal_session(fd: RawFd) -> core::result::Result<i32, i32> {
    let mut sid: c_int = 0;
    // SAFETY: TIOCGSID writes one int to the pointer, which points to `sid`.
    unsafe {
        syscall(
            libc::SYS_ioctl,
            [
                fd_arg(fd),
                libc::TIOCGSID as usize,
                core::ptr::from_mut(&mut sid) as usize,
                0,
                0,
                0,
            ],
        )
    }?;
    Ok(sid)
}

/// `execve(path, argv, envp)`; returns only on failure, with the error number.
///
/// # Safety
/// `argv` and `envp` must be valid NULL-terminated vectors of C strings.
pub(super) unsafe fn execve(
    path: &CStr,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> i32 {
    // SAFETY: the path is a C string; the caller guarantees the vectors.
    let result = unsafe {
        syscall(
            libc::SYS_execve,
            [
                path.as_ptr() as usize,
                argv as usize,
                envp as usize,
                0,
                0,
                0,
            ],
        )
    };
    match result {
        Ok(_) => libc::EIO,
        Err(errno) => errno,
    }
}

/// `exit_group(status)`: ends the child at once (no atexit handlers, no buffers flushed).
pub(super) fn exit(status: c_int) -> ! {
    loop {
        // SAFETY: exit_group takes a number and does not return.
        let _ = unsafe { syscall(libc::SYS_exit_group, [status as usize, 0, 0, 0, 0, 0]) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_come_back_as_numbers() {
        assert_eq!(dup3(-1, 1000), Err(libc::EBADF));
        assert_eq!(from_kernel(-2), Err(2));
        assert_eq!(from_kernel(5), Ok(5));
        // Large "negative" values that are not error numbers are values (an address).
        assert_eq!(from_kernel(-5000), Ok((-5000isize) as usize));
    }

    #[test]
    fn session_and_terminal_queries_do_not_fail_on_valid_input() {
        assert!(own_session().is_ok());
        // /dev/null is not a terminal.
        let null = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(terminal_session(null.as_raw_fd()), Err(libc::ENOTTY));
    }
}
