//! A few spare descriptors, so that a launch still works when the daemon's descriptor table is
//! full.
//!
//! A launch needs descriptors of its own: the status pipe in the parent (two), and in the
//! child, whose table is a copy of the parent's, room for `/dev/null`, the log file and the
//! moves of step 1. When the daemon has reached `RLIMIT_NOFILE` (clients holding connections,
//! many services with pipes), the restart of a crashed service would then fail, and with it
//! the service's supervision. So the spawner keeps [`RESERVE`] descriptors open (`/dev/null`,
//! close-on-exec): when the status pipe cannot be created, the parent closes two of them and
//! tries again; the child closes its copies of the others before it opens anything. The
//! reserve is topped up at the next launch, as far as free descriptors allow. Opening and
//! closing descriptors allocates no memory.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use rustix::fs::{Mode, OFlags};

use crate::sys::fd::FdSlot;

/// How many descriptors are kept in reserve.
pub(super) const RESERVE: usize = 4;

/// The reserve between launches.
static SLOTS: [FdSlot; RESERVE] = [const { FdSlot::new() }; RESERVE];

/// The reserve, held by one launch; it goes back when dropped.
pub(super) struct Reserve {
    fds: [Option<OwnedFd>; RESERVE],
}

impl Reserve {
    /// Takes the reserve for one launch, topping it up as far as the descriptor limit allows.
    /// A launch on another thread meanwhile finds it empty and opens its own.
    pub(super) fn take() -> Reserve {
        let mut fds = [const { None }; RESERVE];
        for (slot, fd) in SLOTS.iter().zip(fds.iter_mut()) {
            *fd = slot.take().or_else(|| {
                rustix::fs::open(
                    c"/dev/null",
                    OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
                    Mode::empty(),
                )
                .ok()
            });
        }
        Reserve { fds }
    }

    /// Closes up to `n` reserve descriptors, making room for as many new ones.
    pub(super) fn release(&mut self, n: usize) {
        for fd in self.fds.iter_mut().filter(|f| f.is_some()).take(n) {
            *fd = None;
        }
    }

    /// The numbers of the descriptors still held (-1 for none): the child closes its copies.
    pub(super) fn raw(&self) -> [RawFd; RESERVE] {
        let mut out = [-1; RESERVE];
        for (o, fd) in out.iter_mut().zip(self.fds.iter()) {
            if let Some(fd) = fd {
                *o = fd.as_raw_fd();
            }
        }
        out
    }
}

impl Drop for Reserve {
    fn drop(&mut self) {
        for (slot, fd) in SLOTS.iter().zip(self.fds.iter_mut()) {
            if let Some(fd) = fd.take() {
                // Another launch refilled this slot meanwhile: this one is surplus, and
                // closed.
                drop(slot.put(fd));
            }
        }
    }
}
