//! The memory of one launch, and the status pipe that says when the child is done with it.
//!
//! A launch maps one region of its own (`mmap`, not the heap):
//!
//! ```text
//! [guard page][stack ...........][header][plan][argv][envp][LISTEN_PID=...][environment text]
//!  shared only  shared only
//! ```
//!
//! The parent fills it before the child starts: the `argv`/`envp` pointer vectors (pointing
//! into the spec, which the launch keeps alive with an `Rc`, and into copies of the base
//! environment made in the region, since the daemon may replace its environment at any time),
//! the `LISTEN_PID=` entry the child completes, and, for a child started in the daemon's
//! memory, the child's stack and its copy of the plan. From then on the parent writes only the
//! region's header (what to release, which the child never reads), and releases nothing until
//! the child is done with it: until end-of-file on the status pipe, which the
//! kernel delivers only after the child has left this memory (at `execve` the new program's
//! memory replaces it before close-on-exec descriptors are closed; at exit the memory is
//! released before the descriptors). [`StatusPipe`] owns both, and releases the region only
//! when it has itself read that end-of-file.

use core::ffi::{c_char, CStr};
use core::ptr::NonNull;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;

use super::super::spec::{SpawnSpec, LISTEN_PID_LEN};
use super::ChildPlan;

/// The child's stack, for a child started in the daemon's memory. Its deepest path (the
/// `PATH` search, with a 4 KiB buffer) uses a fraction of it (two of its sixteen pages: the
/// test `the_child_stack_has_room_to_spare` in `spawn`); only the
/// pages it touches are ever backed by memory.
pub(in crate::spawn) const STACK_LEN: usize = 64 * 1024;

/// What a launch needs room for.
#[derive(Clone, Copy, Debug)]
pub(in crate::spawn) struct Layout {
    /// Entries of `argv`, the NULL included.
    pub argv: usize,
    /// Entries of `envp`, the NULL included (an upper bound).
    pub envp: usize,
    /// Bytes of copied text (C strings, NULs included).
    pub text: usize,
    /// A stack and a guard page for a child in the daemon's memory.
    pub stack: bool,
}

/// A private anonymous mapping, unmapped when dropped.
#[derive(Debug)]
struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once; nothing refers to it any more (its owner,
        // `StatusPipe`, drops it only after the child is done with it).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// What a held region records about itself, at the start of its data area (after the stack):
/// the mapping to release and the spec the child reads. Kept in the region so that the
/// handle the daemon keeps per process is one pointer.
struct Header {
    spec: Rc<SpawnSpec>,
    map: Mapping,
}

/// A region whose child may still be using it: a pointer to its [`Header`]. Dropping it drops
/// the spec and unmaps the region.
#[derive(Debug)]
struct Held(NonNull<Header>);

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: `Held::new` wrote the header, and only this handle reads it back, once. The
        // header's `Mapping` then unmaps the region it lies in, after being moved out of it.
        let Header { spec, map } = unsafe { core::ptr::read(self.0.as_ptr()) };
        drop(spec);
        drop(map);
    }
}

impl Held {
    /// Pages of the region's stack area touched so far (see `Mapping::stack_pages_touched`).
    #[cfg(test)]
    fn stack_pages_touched(&self) -> usize {
        // SAFETY: the header is valid while this handle lives.
        unsafe { self.0.as_ref() }.map.stack_pages_touched()
    }
}

/// A launch's mapped region being filled in (see the module documentation).
#[derive(Debug)]
pub(in crate::spawn) struct Region {
    map: Mapping,
    /// Where the stack ends (its top, page-aligned) and the [`Header`] goes once the child is
    /// started: offset from base.
    header: usize,
    /// The plan's copy (a child in the daemon's memory reads it there): offset from base.
    plan: usize,
    argv: usize,
    envp: usize,
    listen_pid: usize,
    /// The text area's next free byte and its end.
    text: usize,
    text_end: usize,
    argv_len: usize,
    envp_len: usize,
}

fn page_size() -> usize {
    // SAFETY: sysconf takes a number only.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

fn round_up(n: usize, to: usize) -> Option<usize> {
    n.checked_add(to.checked_sub(1)?).map(|n| n / to * to)
}

impl Region {
    /// Maps a region for `layout`, zeroed.
    pub(in crate::spawn) fn map(layout: Layout) -> Result<Region, Errno> {
        const PTR: usize = size_of::<*const c_char>();
        let page = page_size();
        let overflow = Errno::NOMEM;
        let stack = if layout.stack {
            page.checked_add(STACK_LEN).ok_or(overflow)?
        } else {
            0
        };
        // The header, then the plan: both hold pointers, and the stack's end is page-aligned.
        let header = stack;
        let plan = round_up(
            header + size_of::<Header>(),
            align_of::<ChildPlan<'static>>(),
        )
        .ok_or(overflow)?;
        let argv = round_up(plan + size_of::<ChildPlan<'static>>(), PTR).ok_or(overflow)?;
        let envp = layout
            .argv
            .checked_mul(PTR)
            .and_then(|n| argv.checked_add(n))
            .ok_or(overflow)?;
        let listen_pid = layout
            .envp
            .checked_mul(PTR)
            .and_then(|n| envp.checked_add(n))
            .ok_or(overflow)?;
        let text = listen_pid.checked_add(LISTEN_PID_LEN).ok_or(overflow)?;
        let text_end = text.checked_add(layout.text).ok_or(overflow)?;
        let len = round_up(text_end, page).ok_or(overflow)?;
        // SAFETY: a new private anonymous mapping, at an address the kernel chooses; nothing
        // else refers to it.
        let base = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(last_errno());
        }
        let base = NonNull::new(base.cast::<u8>()).ok_or(Errno::NOMEM)?;
        let region = Region {
            map: Mapping { base, len },
            header,
            plan,
            argv,
            envp,
            listen_pid,
            text,
            text_end,
            argv_len: layout.argv,
            envp_len: layout.envp,
        };
        if layout.stack {
            // SAFETY: the first page of our own mapping becomes inaccessible: a child that
            // overflowed its stack faults there instead of writing over another mapping.
            if unsafe { libc::mprotect(base.as_ptr().cast(), page, libc::PROT_NONE) } != 0 {
                return Err(last_errno());
            }
        }
        Ok(region)
    }

    /// The `argv` vector, to fill in.
    pub(in crate::spawn) fn argv(&mut self) -> &mut [*const c_char] {
        let start = self.map.at(self.argv).cast();
        // SAFETY: `argv_len` pointers at `argv` lie within the mapping (see `map`), aligned,
        // zeroed (null pointers), and borrowed mutably from `self`.
        unsafe { core::slice::from_raw_parts_mut(start, self.argv_len) }
    }

    /// The `envp` vector, to fill in.
    pub(in crate::spawn) fn envp(&mut self) -> &mut [*const c_char] {
        let start = self.map.at(self.envp).cast();
        // SAFETY: as for `argv`.
        unsafe { core::slice::from_raw_parts_mut(start, self.envp_len) }
    }

    /// The `LISTEN_PID=` buffer, which the child completes.
    pub(in crate::spawn) fn listen_pid(&mut self) -> &mut [u8] {
        let start = self.map.at(self.listen_pid);
        // SAFETY: LISTEN_PID_LEN bytes at `listen_pid` lie within the mapping, borrowed
        // mutably from `self`.
        unsafe { core::slice::from_raw_parts_mut(start, LISTEN_PID_LEN) }
    }

    /// Copies `text` (with its NUL) into the text area; where the copy is, or `None` when the
    /// area is full (the layout was too small).
    pub(in crate::spawn) fn copy(&mut self, text: &CStr) -> Option<*const c_char> {
        let bytes = text.to_bytes_with_nul();
        let end = self.text.checked_add(bytes.len())?;
        if end > self.text_end {
            return None;
        }
        let at = self.map.at(self.text);
        // SAFETY: `text..end` lies within the mapping's text area, which nothing else uses,
        // and cannot overlap `bytes` (which is not in this mapping: the region is filled
        // only from outside it).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), at, bytes.len()) };
        self.text = end;
        Some(at.cast_const().cast())
    }

    /// Raw pointers for the plan: `(argv, envp, listen_pid)`.
    pub(in crate::spawn) fn vectors(
        &mut self,
    ) -> (*const *const c_char, *const *const c_char, *mut u8) {
        let argv = self.argv().as_ptr();
        let envp = self.envp().as_ptr();
        let listen_pid = self.listen_pid().as_mut_ptr();
        (argv, envp, listen_pid)
    }

    /// Turns the region into a handle held while the child may use it, recording the mapping
    /// and `spec` in its header.
    fn hold(self, spec: Rc<SpawnSpec>) -> Held {
        let map = core::mem::ManuallyDrop::new(self.map);
        let slot = map.at(self.header).cast::<Header>();
        let header = Header {
            spec,
            map: Mapping {
                base: map.base,
                len: map.len,
            },
        };
        // SAFETY: the header's slot lies within the mapping (see `map`), aligned (after the
        // page-aligned stack), unused by the plan and vectors; the mapping is now owned by the
        // header written there (the region's own `Mapping` is not dropped).
        unsafe { core::ptr::write(slot, header) };
        // SAFETY: within a mapping, so not null.
        Held(unsafe { NonNull::new_unchecked(slot) })
    }

    /// Puts the plan in the region, for a child in the daemon's memory: where it is, and the
    /// top of the child's stack. Only for a region mapped with a stack.
    pub(super) fn place_plan(
        &mut self,
        plan: &ChildPlan<'_>,
    ) -> (*mut ChildPlan<'static>, *mut u8) {
        let slot = self.map.at(self.plan).cast::<ChildPlan<'static>>();
        // SAFETY: the plan's slot lies within the mapping, aligned (after the page-aligned
        // stack and the header); `ChildPlan` holds only references, raw pointers and numbers,
        // so a bitwise copy is a valid value. Its reference to the spec is kept valid by the
        // `Rc` the launch holds until the child is done with the region.
        unsafe {
            core::ptr::copy_nonoverlapping(
                core::ptr::from_ref(plan).cast::<ChildPlan<'static>>(),
                slot,
                1,
            );
        }
        (slot, self.map.at(self.header))
    }
}

impl Mapping {
    /// The address `offset` bytes into the mapping (callers stay within it).
    fn at(&self, offset: usize) -> *mut u8 {
        self.base.as_ptr().wrapping_add(offset)
    }

    /// Pages of a region's stack area (the guard page, then `STACK_LEN` bytes) that have
    /// been touched (backed by memory): the child's stack depth, for tests.
    #[cfg(test)]
    fn stack_pages_touched(&self) -> usize {
        let page = page_size();
        let pages = STACK_LEN / page;
        let mut vec = vec![0u8; pages];
        // SAFETY: mincore writes one byte per page of the range into `vec`, which has that
        // many; the range (after the guard page) is within our mapping and page-aligned.
        let rc = unsafe { libc::mincore(self.at(page).cast(), STACK_LEN, vec.as_mut_ptr()) };
        assert_eq!(rc, 0);
        vec.iter().filter(|&&b| b & 1 != 0).count()
    }
}

fn last_errno() -> Errno {
    Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::NOMEM)
}

/// The parent's end of a launch's status pipe, with the memory the child may still be using.
#[derive(Debug)]
pub struct StatusPipe {
    fd: OwnedFd,
    /// The region's mapping and the spec it points into, while the child may use them.
    held: Option<Held>,
}

impl StatusPipe {
    /// A status pipe with nothing held (the child has memory of its own).
    pub(in crate::spawn) fn plain(fd: OwnedFd) -> StatusPipe {
        StatusPipe { fd, held: None }
    }

    /// A status pipe whose child runs in `region` and reads `spec`.
    pub(in crate::spawn) fn holding(
        fd: OwnedFd,
        region: Region,
        spec: Rc<SpawnSpec>,
    ) -> StatusPipe {
        StatusPipe {
            fd,
            held: Some(region.hold(spec)),
        }
    }

    /// Reads from the pipe; at end-of-file the child has left the region, which is released.
    pub(in crate::spawn) fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        let result = rustix::io::read(&self.fd, buf);
        if result == Ok(0) {
            self.held = None;
        }
        result
    }

    /// Pages of the child's stack that were touched, while the region is held.
    #[cfg(test)]
    pub(in crate::spawn) fn stack_pages_touched(&self) -> Option<usize> {
        self.held.as_ref().map(Held::stack_pages_touched)
    }

    /// Whether the region is still held (end-of-file not read yet).
    pub(in crate::spawn) fn holds_memory(&self) -> bool {
        self.held.is_some()
    }
}

impl AsFd for StatusPipe {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for StatusPipe {
    /// Dropped before end-of-file (the outcome was a failure report, read before the child
    /// exited; or the launch is abandoned): waits for the end-of-file, which a child that
    /// reported comes to at once, before the region goes. Should reading fail otherwise, the
    /// region is leaked rather than released under a child that may still use it.
    fn drop(&mut self) {
        if self.held.is_none() {
            return;
        }
        let mut scratch = [0u8; 16];
        loop {
            match rustix::io::read(&self.fd, &mut scratch) {
                Ok(0) => {
                    self.held = None;
                    return;
                }
                Ok(_) | Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => {
                    let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
                    match rustix::event::poll(&mut fds, None) {
                        Ok(_) | Err(Errno::INTR) => {}
                        Err(_) => break,
                    }
                }
                Err(_) => break,
            }
        }
        if let Some(held) = self.held.take() {
            core::mem::forget(held);
        }
    }
}
