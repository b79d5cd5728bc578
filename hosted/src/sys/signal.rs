//! Signal sets, masks and dispositions, and the descriptors signals are read through. rustix
//! has none of these as safe functions (its `runtime` module has raw, unsafe ones).

use std::io;
use std::mem::MaybeUninit;

use rustix::fd::OwnedFd;
use rustix::process::Signal;

/// A set of signal numbers (`sigset_t`).
#[derive(Clone, Copy)]
pub(crate) struct SignalSet(libc::sigset_t);

impl std::fmt::Debug for SignalSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries((1..=libc::SIGRTMAX()).filter(|&s| self.contains(s)))
            .finish()
    }
}

impl SignalSet {
    /// The empty set.
    pub(crate) fn empty() -> Self {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset writes a whole, empty set to the pointer it is given, which
        // points to room for one; it cannot fail with a valid pointer.
        unsafe { libc::sigemptyset(set.as_mut_ptr()) };
        // SAFETY: initialised by sigemptyset just above.
        SignalSet(unsafe { set.assume_init() })
    }

    /// Every signal.
    pub(crate) fn full() -> Self {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigfillset writes a whole, full set to the pointer it is given, which
        // points to room for one; it cannot fail with a valid pointer.
        unsafe { libc::sigfillset(set.as_mut_ptr()) };
        // SAFETY: initialised by sigfillset just above.
        SignalSet(unsafe { set.assume_init() })
    }

    /// The set of `signals` (numbers out of range are left out).
    pub(crate) fn of(signals: &[i32]) -> Self {
        let mut set = SignalSet::empty();
        for &s in signals {
            set.add(s);
        }
        set
    }

    /// Adds `signal` (a number out of range is left out).
    pub(crate) fn add(&mut self, signal: i32) {
        // SAFETY: `self.0` is an initialised set; sigaddset only sets a bit in it, and
        // rejects a number out of range (EINVAL) without touching it.
        unsafe { libc::sigaddset(&mut self.0, signal) };
    }

    /// Whether `signal` is in the set.
    pub(crate) fn contains(&self, signal: i32) -> bool {
        // SAFETY: `self.0` is an initialised set that sigismember only reads; a number out
        // of range is an error (-1), not a member.
        unsafe { libc::sigismember(&self.0, signal) == 1 }
    }
}

/// `sigprocmask(how, set, NULL)`.
fn change_process_mask(how: libc::c_int, set: &SignalSet) -> io::Result<()> {
    // SAFETY: `set` is an initialised set, only read; no old mask is asked for.
    let rc = unsafe { libc::sigprocmask(how, &set.0, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Blocks the signals of `set` (adds them to the signal mask).
#[cfg(all(target_os = "linux", not(feature = "poll-reactor")))]
pub(crate) fn block(set: &SignalSet) -> io::Result<()> {
    change_process_mask(libc::SIG_BLOCK, set)
}

/// Unblocks the signals of `set` (removes them from the signal mask).
pub(crate) fn unblock(set: &SignalSet) -> io::Result<()> {
    change_process_mask(libc::SIG_UNBLOCK, set)
}

/// Replaces the calling thread's signal mask with `set`; returns the mask it had.
pub(crate) fn set_thread_mask(set: &SignalSet) -> SignalSet {
    let mut old = SignalSet::empty();
    // SAFETY: `set` is an initialised set, only read; `old` is one, overwritten with the mask
    // the thread had (with SIG_SETMASK and valid pointers pthread_sigmask cannot fail).
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set.0, &mut old.0) };
    old
}

/// A descriptor that reads the signals of `set` (which should be blocked): `signalfd(2)`,
/// non-blocking and close-on-exec.
#[cfg(all(target_os = "linux", not(feature = "poll-reactor")))]
pub(crate) fn signalfd(set: &SignalSet) -> io::Result<OwnedFd> {
    // SAFETY: -1 asks for a new descriptor; `set` is an initialised set, only read.
    let fd = unsafe { libc::signalfd(-1, &set.0, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: signalfd returned a new descriptor, owned by nothing else.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// Sets the disposition of `signal` to one of the two that run no code of ours; returns the
/// previous one (errors, for numbers out of range or not catchable, are ignored: the result
/// is then `SIG_ERR`, which restoring rejects in turn).
fn set_disposition(signal: i32, disposition: libc::sighandler_t) -> libc::sighandler_t {
    // SAFETY: SIG_IGN and SIG_DFL install no handler, so no code runs at delivery; a previous
    // disposition handed back through `with_ignored` is one the process had, which stays
    // valid (it is SIG_IGN, SIG_DFL or a handler of this program, which is never unloaded).
    unsafe { libc::signal(signal, disposition) }
}

/// Ignores `signal` from now on (`SIG_IGN`).
pub(crate) fn ignore(signal: Signal) {
    set_disposition(signal.as_raw(), libc::SIG_IGN);
}

/// Restores the default action of `signal` (`SIG_DFL`), given as a number (the daemon's
/// tables of the signals it handles are numbers).
pub(crate) fn set_default(signal: i32) {
    set_disposition(signal, libc::SIG_DFL);
}

/// Runs `f` with `signal` ignored, then gives it back its previous disposition.
pub(crate) fn with_ignored<R>(signal: Signal, f: impl FnOnce() -> R) -> R {
    let old = set_disposition(signal.as_raw(), libc::SIG_IGN);
    let result = f();
    set_disposition(signal.as_raw(), old);
    result
}

/// Sends `signal` to the calling thread (`raise(3)`).
pub(crate) fn raise(signal: Signal) {
    // SAFETY: raise takes a signal number and no memory; what the signal does is the
    // disposition's business (the callers use it with the default action).
    unsafe { libc::raise(signal.as_raw()) };
}

/// The write end of the self-pipe the handler of [`forward_to_pipe`] writes to (-1: none).
#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
static SELF_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// The handler of [`forward_to_pipe`]: one byte, the signal number, to the self-pipe.
#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SELF_PIPE.load(std::sync::atomic::Ordering::Relaxed);
    if fd >= 0 {
        let byte = u8::try_from(sig).unwrap_or(0);
        // SAFETY: write(2) is async-signal-safe and reads one byte from a local. The number
        // is the write end `forward_to_pipe` took ownership of, which is never closed. A full
        // pipe drops the byte, which is harmless: the loop reaps all children on any SIGCHLD
        // byte.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

/// Catches each of `signals` with a handler that writes its number, as one byte, to `write`
/// (the write end of a non-blocking pipe). The descriptor is kept open for good, for the
/// handler; one given to an earlier call is kept open too (a handler may still be using it).
#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
pub(crate) fn forward_to_pipe(signals: &[i32], write: OwnedFd) -> io::Result<()> {
    let raw = std::os::fd::IntoRawFd::into_raw_fd(write);
    SELF_PIPE.store(raw, std::sync::atomic::Ordering::Relaxed);
    let mask = SignalSet::empty().0;
    for &s in signals {
        // SAFETY: struct sigaction is plain data, for which all-zero bytes are a valid value.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_signal as *const () as usize;
        act.sa_flags = libc::SA_RESTART;
        act.sa_mask = mask;
        // SAFETY: `act` is a complete sigaction whose handler is async-signal-safe and lives
        // as long as the program; no old action is asked for.
        if unsafe { libc::sigaction(s, &act, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
