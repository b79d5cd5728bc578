//! The event loop's readiness multiplexer and its signal source.
//!
//! One thread, non-blocking file descriptors, and one wait call per loop iteration. On Linux the
//! multiplexer is `epoll` and signals arrive through a `signalfd`; elsewhere (and on Linux with
//! the `poll-reactor` feature, so that the fallback is tested here too) it is `poll(2)` over a
//! table of registrations, with signals delivered through a self-pipe written by the handler.
//! Timers need no descriptor: the loop passes its earliest deadline as the wait's timeout.
//!
//! Storage is reserved up front (`Reactor::new(capacity)`) and, for `poll(2)`, grown only when
//! a registration is added, so waiting never allocates.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
use rustix::fd::{AsRawFd, RawFd};

use crate::sys::signal::{self as sys_signal, SignalSet};
use std::io;
use std::time::Duration;

/// What a registration waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Interest {
    /// Readable (or hung up).
    pub read: bool,
    /// Writable.
    pub write: bool,
}

impl Interest {
    /// Readable only.
    pub const READ: Interest = Interest {
        read: true,
        write: false,
    };
    /// Readable and writable.
    pub const READ_WRITE: Interest = Interest {
        read: true,
        write: true,
    };
}

/// What happened to a registration.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Readiness {
    /// Readable.
    pub readable: bool,
    /// Writable.
    pub writable: bool,
    /// Hang-up or error: reading will report it.
    pub hangup: bool,
}

#[cfg(all(target_os = "linux", not(feature = "poll-reactor")))]
mod backend {
    use super::*;
    use rustix::buffer::spare_capacity;
    use rustix::event::epoll;

    /// `epoll`.
    pub struct Backend {
        epoll: OwnedFd,
        events: Vec<epoll::Event>,
    }

    impl std::fmt::Debug for Backend {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Backend")
                .field("epoll", &self.epoll)
                .finish_non_exhaustive()
        }
    }

    fn flags(interest: Interest) -> epoll::EventFlags {
        let mut f = epoll::EventFlags::empty();
        if interest.read {
            f |= epoll::EventFlags::IN | epoll::EventFlags::RDHUP;
        }
        if interest.write {
            f |= epoll::EventFlags::OUT;
        }
        f
    }

    impl Backend {
        pub fn new(capacity: usize) -> io::Result<Self> {
            Ok(Backend {
                epoll: epoll::create(epoll::CreateFlags::CLOEXEC)?,
                events: Vec::with_capacity(capacity.clamp(16, 1024)),
            })
        }
        pub fn add(
            &mut self,
            fd: BorrowedFd<'_>,
            token: u64,
            interest: Interest,
        ) -> io::Result<()> {
            epoll::add(
                &self.epoll,
                fd,
                epoll::EventData::new_u64(token),
                flags(interest),
            )?;
            Ok(())
        }
        pub fn modify(
            &mut self,
            fd: BorrowedFd<'_>,
            token: u64,
            interest: Interest,
        ) -> io::Result<()> {
            epoll::modify(
                &self.epoll,
                fd,
                epoll::EventData::new_u64(token),
                flags(interest),
            )?;
            Ok(())
        }
        pub fn remove(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
            epoll::delete(&self.epoll, fd)?;
            Ok(())
        }
        pub fn wait(
            &mut self,
            timeout: Option<&rustix::event::Timespec>,
            out: &mut dyn FnMut(u64, Readiness),
        ) -> io::Result<()> {
            self.events.clear();
            match epoll::wait(&self.epoll, spare_capacity(&mut self.events), timeout) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            for ev in &self.events {
                let f = ev.flags;
                out(
                    ev.data.u64(),
                    Readiness {
                        readable: f.intersects(epoll::EventFlags::IN | epoll::EventFlags::PRI),
                        writable: f.contains(epoll::EventFlags::OUT),
                        hangup: f.intersects(
                            epoll::EventFlags::HUP
                                | epoll::EventFlags::ERR
                                | epoll::EventFlags::RDHUP,
                        ),
                    },
                );
            }
            Ok(())
        }
    }
}

#[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
mod backend {
    use super::*;
    use crate::sys::fd::{poll, PollEntry};
    use rustix::event::PollFlags;

    #[derive(Debug, Clone, Copy)]
    struct Entry {
        fd: RawFd,
        token: u64,
        interest: Interest,
    }

    /// `poll(2)` over a table of registrations.
    #[derive(Debug)]
    pub struct Backend {
        entries: Vec<Entry>,
        /// The poll array, rebuilt from `entries` before each wait (within its capacity).
        pollfds: Vec<PollEntry>,
        /// Results of the last poll, copied out so that the table may change while they are
        /// handled.
        ready: Vec<(u64, Readiness)>,
    }

    /// A registration table that cannot grow.
    fn no_memory(_: std::collections::TryReserveError) -> io::Error {
        io::Error::from_raw_os_error(libc::ENOMEM)
    }

    impl Backend {
        pub fn new(capacity: usize) -> io::Result<Self> {
            Ok(Backend {
                entries: Vec::with_capacity(capacity),
                pollfds: Vec::with_capacity(capacity),
                ready: Vec::with_capacity(capacity),
            })
        }
        pub fn add(
            &mut self,
            fd: BorrowedFd<'_>,
            token: u64,
            interest: Interest,
        ) -> io::Result<()> {
            let raw = fd.as_raw_fd();
            if self.entries.iter().any(|e| e.fd == raw) {
                return Err(io::Error::from_raw_os_error(libc::EEXIST));
            }
            if self.entries.len() == self.entries.capacity() {
                // The table grows with the registrations (a connection, a service's pipes),
                // never during a wait: the arrays a wait fills are grown with it.
                let more = self.entries.capacity().max(8);
                self.entries.try_reserve(more).map_err(no_memory)?;
                let total = self.entries.capacity();
                let pollfds = total.saturating_sub(self.pollfds.len());
                let ready = total.saturating_sub(self.ready.len());
                self.pollfds.try_reserve(pollfds).map_err(no_memory)?;
                self.ready.try_reserve(ready).map_err(no_memory)?;
            }
            self.entries.push(Entry {
                fd: raw,
                token,
                interest,
            });
            Ok(())
        }
        pub fn modify(
            &mut self,
            fd: BorrowedFd<'_>,
            token: u64,
            interest: Interest,
        ) -> io::Result<()> {
            let raw = fd.as_raw_fd();
            match self.entries.iter_mut().find(|e| e.fd == raw) {
                Some(e) => {
                    e.token = token;
                    e.interest = interest;
                    Ok(())
                }
                None => Err(io::Error::from_raw_os_error(libc::ENOENT)),
            }
        }
        pub fn remove(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
            let raw = fd.as_raw_fd();
            let before = self.entries.len();
            self.entries.retain(|e| e.fd != raw);
            if self.entries.len() == before {
                return Err(io::Error::from_raw_os_error(libc::ENOENT));
            }
            Ok(())
        }
        pub fn wait(
            &mut self,
            timeout: Option<&rustix::event::Timespec>,
            out: &mut dyn FnMut(u64, Readiness),
        ) -> io::Result<()> {
            self.pollfds.clear();
            for e in &self.entries {
                let mut flags = PollFlags::empty();
                if e.interest.read {
                    flags |= PollFlags::IN;
                }
                if e.interest.write {
                    flags |= PollFlags::OUT;
                }
                self.pollfds.push(PollEntry::new(e.fd, flags));
            }
            let result = poll(&mut self.pollfds, timeout);
            self.ready.clear();
            for (pfd, e) in self.pollfds.iter().zip(&self.entries) {
                let r = pfd.revents();
                if !r.is_empty() {
                    self.ready.push((
                        e.token,
                        Readiness {
                            readable: r.contains(PollFlags::IN),
                            writable: r.contains(PollFlags::OUT),
                            hangup: r.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL),
                        },
                    ));
                }
            }
            self.pollfds.clear();
            match result {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            for &(token, readiness) in &self.ready {
                out(token, readiness);
            }
            Ok(())
        }
    }
}

/// The readiness multiplexer.
#[derive(Debug)]
pub struct Reactor {
    backend: backend::Backend,
}

impl Reactor {
    /// A multiplexer with room for `capacity` registrations to begin with (the poll backend
    /// grows its table as registrations are added, never during a wait; epoll has no table
    /// but reports at most that many events per wait).
    pub fn new(capacity: usize) -> io::Result<Self> {
        Ok(Reactor {
            backend: backend::Backend::new(capacity)?,
        })
    }

    /// Registers `fd` under `token`. The descriptor must stay open until it is removed.
    pub fn add(&mut self, fd: impl AsFd, token: u64, interest: Interest) -> io::Result<()> {
        self.backend.add(fd.as_fd(), token, interest)
    }

    /// Changes a registration.
    pub fn modify(&mut self, fd: impl AsFd, token: u64, interest: Interest) -> io::Result<()> {
        self.backend.modify(fd.as_fd(), token, interest)
    }

    /// Removes a registration (before the descriptor is closed).
    pub fn remove(&mut self, fd: impl AsFd) -> io::Result<()> {
        self.backend.remove(fd.as_fd())
    }

    /// Waits until something is ready or `timeout` passes (forever if `None`), then calls
    /// `out` for each ready registration. An interrupted wait returns with no events.
    pub fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut dyn FnMut(u64, Readiness),
    ) -> io::Result<()> {
        let ts = timeout.map(|d| rustix::event::Timespec {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        self.backend.wait(ts.as_ref(), out)
    }
}

/// Every signal the daemon may handle through its loop rather than by default action (see
/// [`handled_signals`]); all are restored to their defaults before handing over to another
/// program.
pub const HANDLED_SIGNALS: [i32; 5] = [
    libc::SIGCHLD,
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGQUIT,
    libc::SIGUSR1,
];

/// The signals a daemon handles (dinit(8) SIGNALS): every role takes SIGCHLD, SIGINT, SIGTERM
/// and SIGUSR1; only the system manager takes SIGQUIT (immediate shutdown). Any other signal
/// has its default action, as with Dinit: a user instance dies of SIGQUIT, SIGHUP or SIGUSR2
/// (and as process 1 the kernel does not deliver such signals at all).
pub fn handled_signals(system_manager: bool) -> &'static [i32] {
    const USER_INSTANCE: [i32; 4] = [libc::SIGCHLD, libc::SIGINT, libc::SIGTERM, libc::SIGUSR1];
    if system_manager {
        &HANDLED_SIGNALS
    } else {
        &USER_INSTANCE
    }
}

/// Signals as a readable descriptor.
///
/// On Linux a `signalfd` reads the signals, which are blocked. With the `poll` reactor a
/// handler writes each signal's number, as one byte, to a pipe (a self-pipe) whose read end
/// this is; the write end is kept for good (see `sys::signal::forward_to_pipe`).
#[derive(Debug)]
pub struct SignalSource {
    fd: OwnedFd,
}

impl SignalSource {
    /// Starts receiving `signals` through a descriptor (and blocks or catches them).
    pub fn new(signals: &[i32]) -> io::Result<Self> {
        #[cfg(all(target_os = "linux", not(feature = "poll-reactor")))]
        {
            let set = SignalSet::of(signals);
            sys_signal::block(&set)?;
            Ok(SignalSource {
                fd: sys_signal::signalfd(&set)?,
            })
        }
        #[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
        {
            let (read, write) = rustix::pipe::pipe_with(
                rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
            )?;
            sys_signal::forward_to_pipe(signals, write)?;
            Ok(SignalSource { fd: read })
        }
    }

    /// The descriptor to register for reading.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads pending signals, calling `out` with each signal number.
    pub fn drain(&mut self, out: &mut dyn FnMut(i32)) {
        #[cfg(all(target_os = "linux", not(feature = "poll-reactor")))]
        {
            // struct signalfd_siginfo is 128 bytes; the signal number is its first u32.
            let mut buf = [0u8; 128 * 8];
            loop {
                match rustix::io::read(&self.fd, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        for rec in buf.get(..n).unwrap_or(&[]).chunks_exact(128) {
                            let mut b = [0u8; 4];
                            if let Some(src) = rec.get(..4) {
                                b.copy_from_slice(src);
                            }
                            out(i32::try_from(u32::from_ne_bytes(b)).unwrap_or(0));
                        }
                    }
                }
            }
        }
        #[cfg(any(not(target_os = "linux"), feature = "poll-reactor"))]
        {
            let mut buf = [0u8; 64];
            loop {
                match rustix::io::read(&self.fd, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        for &b in buf.get(..n).unwrap_or(&[]) {
                            out(i32::from(b));
                        }
                    }
                }
            }
        }
    }
}

/// Restores default dispositions and an empty mask for the handled signals (used before
/// handing over to another program, e.g. the shutdown program).
pub fn restore_default_signals() {
    for &s in &HANDLED_SIGNALS {
        sys_signal::set_default(s);
    }
    let _ = sys_signal::unblock(&SignalSet::of(&HANDLED_SIGNALS));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_readable_pipes_by_token() {
        let mut r = Reactor::new(8).unwrap();
        let (a_read, a_write) = rustix::pipe::pipe().unwrap();
        let (b_read, _b_write) = rustix::pipe::pipe().unwrap();
        r.add(&a_read, 1, Interest::READ).unwrap();
        r.add(&b_read, 2, Interest::READ).unwrap();
        let mut seen = Vec::new();
        r.wait(Some(Duration::from_millis(10)), &mut |t, _| seen.push(t))
            .unwrap();
        assert!(seen.is_empty());
        rustix::io::write(&a_write, b"x").unwrap();
        r.wait(Some(Duration::from_secs(5)), &mut |t, rd| {
            seen.push((t, rd.readable).0)
        })
        .unwrap();
        assert_eq!(seen, [1]);
        r.remove(&a_read).unwrap();
        seen.clear();
        r.wait(Some(Duration::from_millis(10)), &mut |t, _| seen.push(t))
            .unwrap();
        assert!(seen.is_empty());
        drop(a_write);
    }

    #[test]
    fn registrations_beyond_the_initial_capacity_are_served() {
        // (The poll backend grows its table: a daemon with many services or connections must
        // not be refused a registration.)
        let mut r = Reactor::new(2).unwrap();
        let pipes: Vec<_> = (0..40).map(|_| rustix::pipe::pipe().unwrap()).collect();
        for (i, (read, _)) in pipes.iter().enumerate() {
            r.add(read, i as u64, Interest::READ).unwrap();
        }
        for i in [39usize, 0, 20] {
            let (_, write) = &pipes[i];
            rustix::io::write(write, b"x").unwrap();
            let mut seen = Vec::new();
            r.wait(Some(Duration::from_secs(5)), &mut |t, _| seen.push(t))
                .unwrap();
            assert_eq!(seen, [i as u64]);
            let mut buf = [0u8; 1];
            rustix::io::read(&pipes[i].0, &mut buf).unwrap();
        }
    }

    #[test]
    fn hang_up_is_reported() {
        let mut r = Reactor::new(8).unwrap();
        let (read, write) = rustix::pipe::pipe().unwrap();
        r.add(&read, 7, Interest::READ).unwrap();
        drop(write);
        let mut seen = Vec::new();
        r.wait(Some(Duration::from_secs(5)), &mut |t, rd| {
            seen.push((t, rd.hangup || rd.readable))
        })
        .unwrap();
        assert_eq!(seen, [(7, true)]);
    }

    #[test]
    fn a_timeout_ends_the_wait_without_events() {
        // (No assertion on the time taken: a signal to the test process may end the wait
        // early, and a loaded machine late.)
        let mut r = Reactor::new(8).unwrap();
        let mut seen = 0;
        r.wait(Some(Duration::from_millis(30)), &mut |_, _| seen += 1)
            .unwrap();
        assert_eq!(seen, 0);
    }
}
