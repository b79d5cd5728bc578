//! Descriptors known by number only: one kept in a static ([`FdSlot`]), one inherited and
//! named on the command line ([`check_inherited`], [`hand_back_inherited`]), and the numbers a
//! `poll(2)` table holds ([`poll`]).

use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
use rustix::event::{PollFlags, Timespec};
#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
use rustix::io::Errno;
use rustix::io::FdFlags;

/// A place for one owned descriptor that a `static` can hold (a descriptor number in an
/// atomic, -1 when empty). Ownership moves in with [`put`](Self::put) and out with
/// [`take`](Self::take); the slot itself never uses the descriptor.
#[derive(Debug)]
pub(crate) struct FdSlot(AtomicI32);

impl FdSlot {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        FdSlot(AtomicI32::new(-1))
    }

    /// Whether the slot holds no descriptor (at the moment of asking).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.load(Ordering::Acquire) < 0
    }

    /// Takes the descriptor out of the slot, if it holds one.
    pub(crate) fn take(&self) -> Option<OwnedFd> {
        let raw = self.0.swap(-1, Ordering::AcqRel);
        if raw < 0 {
            return None;
        }
        // SAFETY: only `put` stores a number, that of an OwnedFd whose ownership it took;
        // swapping -1 in made this call the only one to see the number, so the descriptor
        // is open and owned by nothing else.
        Some(unsafe { OwnedFd::from_raw_fd(raw) })
    }

    /// Puts `fd` in the slot if it is empty; otherwise gives it back.
    pub(crate) fn put(&self, fd: OwnedFd) -> Result<(), OwnedFd> {
        let raw = fd.into_raw_fd();
        match self
            .0
            .compare_exchange(-1, raw, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            // SAFETY: `raw` came from the OwnedFd given up just above, and the slot did not
            // take it: it is still ours alone.
            Err(_) => Err(unsafe { OwnedFd::from_raw_fd(raw) }),
        }
    }
}

impl Drop for FdSlot {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// Borrows a descriptor the process inherited and was told about by number (`dinit
/// --ready-fd N`), for one call; `None` for a negative number, which cannot be open.
fn borrow_inherited<'a>(raw: RawFd) -> Option<BorrowedFd<'a>> {
    if raw < 0 {
        return None;
    }
    // SAFETY: the number is not negative (so not -1, which BorrowedFd cannot hold), and it was
    // named on the command line for this purpose: the parent left the descriptor open for
    // us, and no object of this process owns it (the daemon never wraps it; it only checks,
    // writes to and closes it through the functions below). A number that is not open makes
    // each call fail with EBADF.
    Some(unsafe { BorrowedFd::borrow_raw(raw) })
}

/// Checks an inherited descriptor named on the command line (see [`borrow_inherited`]): true
/// if it is open. One above 2 is made close-on-exec, so that services do not inherit it
/// (0-2 are the standard descriptors the services share).
pub(crate) fn check_inherited(raw: RawFd) -> bool {
    let Some(fd) = borrow_inherited(raw) else {
        return false;
    };
    let Ok(flags) = rustix::io::fcntl_getfd(fd) else {
        return false;
    };
    if raw > 2 {
        let _ = rustix::io::fcntl_setfd(fd, flags | FdFlags::CLOEXEC);
    }
    true
}

/// Writes `bytes` to an inherited descriptor named on the command line (one attempt, errors
/// ignored), then closes it if it is above 2. Called once per descriptor, after
/// [`check_inherited`] accepted it.
pub(crate) fn hand_back_inherited(raw: RawFd, bytes: &[u8]) {
    let Some(fd) = borrow_inherited(raw) else {
        return;
    };
    let _ = rustix::io::write(fd, bytes);
    if raw > 2 {
        // SAFETY: see `borrow_inherited`: the descriptor is open (checked at start-up) and
        // nothing else owns it; the caller forgets the number after this call.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
    }
}

/// Adopts the control connection a client inherited by number (`DINIT_CS_FD`), as the stock
/// client does: in blocking mode (its `O_NONBLOCK` cleared), and descriptor 0 for a number
/// that is not an open descriptor. The caller must not use the number otherwise: the
/// returned descriptor owns it.
pub(crate) fn adopt_inherited_connection(raw: RawFd) -> OwnedFd {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    let open = borrow_inherited(raw).and_then(|fd| Some((fd, fcntl_getfl(fd).ok()?)));
    let raw = match open {
        Some((fd, flags)) => {
            if flags.contains(OFlags::NONBLOCK) {
                let _ = fcntl_setfl(fd, flags - OFlags::NONBLOCK);
            }
            raw
        }
        None => 0,
    };
    // SAFETY: see `borrow_inherited`: the number was named (in the environment) for this
    // purpose and nothing else in the process owns it; descriptor 0 is the stock client's
    // documented fallback, which this client then owns too.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
/// One entry of a [`poll`] table: a descriptor number, the events waited for and the events
/// reported.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct PollEntry(libc::pollfd);

#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
impl std::fmt::Debug for PollEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollEntry")
            .field("fd", &self.0.fd)
            .field("events", &self.0.events)
            .field("revents", &self.0.revents)
            .finish()
    }
}

#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
impl PollEntry {
    /// Waits for `events` on descriptor number `fd`.
    pub(crate) fn new(fd: RawFd, events: PollFlags) -> Self {
        PollEntry(libc::pollfd {
            fd,
            events: i16::from_ne_bytes(events.bits().to_ne_bytes()),
            revents: 0,
        })
    }

    /// The events the last [`poll`] reported.
    pub(crate) fn revents(&self) -> PollFlags {
        PollFlags::from_bits_retain(u16::from_ne_bytes(self.0.revents.to_ne_bytes()))
    }
}

#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
/// `poll(2)` over descriptor numbers, until one is ready or `timeout` passes (forever if
/// `None`); returns how many entries have events. Unlike rustix's `poll`, which takes borrowed
/// descriptors, the table holds plain numbers: polling does no I/O on them, and a number that
/// is not open is reported as `POLLNVAL`.
pub(crate) fn poll(entries: &mut [PollEntry], timeout: Option<&Timespec>) -> Result<usize, Errno> {
    let count = libc::nfds_t::try_from(entries.len()).map_err(|_| Errno::INVAL)?;
    let table = entries.as_mut_ptr().cast::<libc::pollfd>();
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly"
    ))]
    let rc = {
        let timeout = match timeout {
            Some(t) => Some(libc::timespec {
                tv_sec: libc::time_t::try_from(t.tv_sec).map_err(|_| Errno::OVERFLOW)?,
                tv_nsec: t.tv_nsec as _,
            }),
            None => None,
        };
        let timeout_ptr = timeout
            .as_ref()
            .map_or(std::ptr::null(), std::ptr::from_ref);
        // SAFETY: `table` points to `count` pollfd structures (PollEntry is a transparent
        // wrapper), which ppoll reads and whose `revents` it writes; the timeout is a valid
        // timespec or NULL; no signal mask is given.
        unsafe { libc::ppoll(table, count, timeout_ptr, std::ptr::null()) }
    };
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly"
    )))]
    let rc = {
        // Milliseconds, rounded up, as rustix converts a timeout for poll(2).
        let millis = match timeout {
            None => -1,
            Some(t) => t
                .tv_sec
                .checked_mul(1000)
                .and_then(|ms| ms.checked_add((t.tv_nsec + 999_999) / 1_000_000))
                .and_then(|ms| libc::c_int::try_from(ms).ok())
                .ok_or(Errno::INVAL)?,
        };
        // SAFETY: `table` points to `count` pollfd structures (PollEntry is a transparent
        // wrapper), which poll reads and whose `revents` it writes.
        unsafe { libc::poll(table, count, millis) }
    };
    usize::try_from(rc)
        .map_err(|_| Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO))
}
