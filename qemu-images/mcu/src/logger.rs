//! The `defmt` transport: frames go to the host over semihosting (the debugger's, here QEMU's,
//! standard output), where `defmt-print` decodes them with the firmware's ELF.
//!
//! One frame is encoded into a buffer and handed to the host with one semihosting call when it
//! is complete (a call traps into the debugger: one per frame rather than one per field).
//! Nothing here runs in an interrupt handler (the firmware enables none), so a flag is enough
//! to keep frames from interleaving.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use semihosting::io::Write as _;

/// The firmware's clock in milliseconds, stamped on every message.
static NOW_MS: AtomicU32 = AtomicU32::new(0);

/// Sets the time stamped on the messages that follow.
pub fn set_time_ms(ms: u32) {
    NOW_MS.store(ms, Ordering::Relaxed);
}

defmt::timestamp!("{=u32:05}", NOW_MS.load(Ordering::Relaxed));

/// Bytes of encoded frame kept before a write to the host; longer frames are written in parts.
const FRAME_BUFFER: usize = 128;

struct State {
    encoder: defmt::Encoder,
    frame: heapless::Vec<u8, FRAME_BUFFER>,
    out: Option<semihosting::io::Stdout>,
}

impl State {
    fn put(&mut self, bytes: &[u8]) {
        let Self {
            encoder,
            frame,
            out,
        } = self;
        let mut sink = |chunk: &[u8]| buffer(frame, out, chunk);
        encoder.write(bytes, &mut sink);
    }
}

/// Appends `chunk` to the frame buffer, writing the buffer out first when it would overflow.
fn buffer(
    frame: &mut heapless::Vec<u8, FRAME_BUFFER>,
    out: &mut Option<semihosting::io::Stdout>,
    chunk: &[u8],
) {
    for &b in chunk {
        if frame.push(b).is_err() {
            flush(frame, out);
            // The buffer is empty now: the push cannot fail.
            let _ = frame.push(b);
        }
    }
}

/// Hands the buffered bytes to the host. A host that refuses them (no debugger attached) loses
/// them: logging must never stop the firmware.
fn flush(frame: &mut heapless::Vec<u8, FRAME_BUFFER>, out: &mut Option<semihosting::io::Stdout>) {
    if out.is_none() {
        *out = semihosting::io::stdout().ok();
    }
    if let Some(o) = out.as_mut() {
        let _ = o.write_all(frame);
    }
    frame.clear();
}

/// Set while a frame is being written (between `acquire` and `release`).
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Only touched between `acquire` and `release`, which `TAKEN` makes exclusive.
static mut STATE: State = State {
    encoder: defmt::Encoder::new(),
    frame: heapless::Vec::new(),
    out: None,
};

fn state() -> &'static mut State {
    // SAFETY: defmt calls `write`, `flush` and `release` only between `acquire` and `release`,
    // and `acquire` sets TAKEN (exiting if it was set), so exactly one frame is in progress and
    // this is the only live reference to STATE; there are no interrupts or other cores.
    unsafe { &mut *core::ptr::addr_of_mut!(STATE) }
}

#[defmt::global_logger]
struct SemihostingLogger;

// SAFETY: `acquire` makes the logger exclusive (a re-entrant call ends the firmware rather than
// interleaving frames), as `defmt::Logger` requires.
unsafe impl defmt::Logger for SemihostingLogger {
    fn acquire() {
        if TAKEN.swap(true, Ordering::Acquire) {
            // Only a log call from inside a log call can get here: a firmware bug.
            semihosting::process::exit(3);
        }
        let s = state();
        let State {
            encoder,
            frame,
            out,
        } = s;
        encoder.start_frame(|chunk| buffer(frame, out, chunk));
    }

    unsafe fn flush() {
        let s = state();
        flush(&mut s.frame, &mut s.out);
    }

    unsafe fn release() {
        let s = state();
        let State {
            encoder,
            frame,
            out,
        } = s;
        encoder.end_frame(|chunk| buffer(frame, out, chunk));
        flush(frame, out);
        TAKEN.store(false, Ordering::Release);
    }

    unsafe fn write(bytes: &[u8]) {
        state().put(bytes);
    }
}
