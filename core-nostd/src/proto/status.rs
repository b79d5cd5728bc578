//! The service status block (PROTOCOL.md §3.3) in its three sizes, and its conversion to and from
//! [`ServiceStatus`].
//!
//! All three start with the same 6 bytes: state, target state, flags, stop reason and a `u16`
//! exec stage. What follows depends on the case:
//!
//! | case | status14 bytes 6..10 | 10..14 | status10 bytes 6..10 |
//! |---|---|---|---|
//! | the service has a process (flag `HAS_PID`) | pid | 0 | pid |
//! | no process, stop reason EXECFAILED | errno | 0 | errno |
//! | otherwise | `si_code` | `si_status` | 0 if `si_status` is 0, else -1 |
//!
//! and the exec stage is non-zero only in the EXECFAILED case. status30 appends the service
//! description file's modification time as a C `struct timespec` ([`Timespec`]): two `i64` on
//! 64-bit targets, hence its name, but two `i32` on 32-bit ones, where the block is 22 bytes
//! ([`StatusFormat::size`]). Every integer is in the machine's byte order, as Dinit copies it.
//!
//! Going from a `ServiceStatus` to the wire loses what the case does not carry;
//! [`StatusBlock::normalized`] computes what survives, and parsing an emitted block gives
//! exactly that back.

use super::field::{check_room, timespec_at, Writer, TIMESPEC_LEN};
use super::{EmitError, Malformed, ParseError};
use crate::status::{ServiceStatus, StatusFlags};
use crate::types::{ExecStage, ExitStatus, ServiceState, StopReason};

/// A `struct timespec` as status30 carries it (PROTOCOL.md §3.2): seconds and nanoseconds, each a
/// C `long` on the wire ([`TIMESPEC_LEN`] bytes for both), widened to `i64` here. It is the
/// modification time of a service's description file when it
/// was loaded; zero when unknown.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Timespec {
    /// Seconds (`tv_sec`).
    pub sec: i64,
    /// Nanoseconds (`tv_nsec`).
    pub nsec: i64,
}

impl Timespec {
    /// The zero time, sent when the modification time is unknown.
    pub const ZERO: Timespec = Timespec { sec: 0, nsec: 0 };

    /// A time from its two fields.
    pub const fn new(sec: i64, nsec: i64) -> Self {
        Timespec { sec, nsec }
    }
}

/// Which of the three status block sizes a packet carries (PROTOCOL.md §3.3). Only the request
/// tells; see [`super::Command::reply_status_format`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StatusFormat {
    /// 10 bytes, protocol 1-4: the exit field is a legacy 0/-1 (a C wait status in old
    /// daemons).
    Status10,
    /// 14 bytes, protocol 5+: the exit status as a `si_code`/`si_status` pair.
    Status14,
    /// Protocol 6+: status14 and the description file's modification time, a C
    /// `struct timespec`: 30 bytes on 64-bit targets, 22 on 32-bit ones.
    Status30,
}

impl StatusFormat {
    /// The block's size in bytes (status30's depends on the target: [`TIMESPEC_LEN`]).
    pub const fn size(self) -> usize {
        match self {
            Self::Status10 => 10,
            Self::Status14 => 14,
            Self::Status30 => 14 + TIMESPEC_LEN,
        }
    }
}

/// Field offsets (PROTOCOL.md §3.3).
mod offset {
    pub const STATE: usize = 0;
    pub const TARGET: usize = 1;
    pub const FLAGS: usize = 2;
    pub const STOP_REASON: usize = 3;
    pub const EXEC_STAGE: usize = 4;
    pub const DETAIL: usize = 6;
    pub const SI_STATUS: usize = 10;
    pub const MTIME: usize = 14;
}

packet_view! {
    /// A zero-copy view of a status block of a given size.
    ///
    /// [`StatusView::new_checked`] checks once that the buffer holds a whole block; the getters
    /// then read the raw fields in place and cannot fail.
    pub struct StatusView {
        /// The block's size.
        format: StatusFormat,
    }
    fields {
        /// Current state byte (PROTOCOL.md §6.1).
        state: u8 = offset::STATE;
        /// Target state byte (PROTOCOL.md §6.1).
        target: u8 = offset::TARGET;
        /// Flags (PROTOCOL.md §6.8).
        flags: StatusFlags = offset::FLAGS;
        /// Stop reason byte (PROTOCOL.md §6.2).
        stop_reason: u8 = offset::STOP_REASON;
        /// Exec failure stage (PROTOCOL.md §6.3).
        exec_stage: u16 = offset::EXEC_STAGE;
        /// The `i32` at offset 6: pid, errno, `si_code` or (status10) the legacy exit field,
        /// depending on the case.
        detail: i32 = offset::DETAIL;
    }
}

impl<T: AsRef<[u8]>> StatusView<T> {
    /// The block's size if the buffer holds it, else [`ParseError::Incomplete`].
    pub fn check_len(&self) -> Result<usize, ParseError> {
        let needed = self.format.size();
        if self.buffer.as_ref().len() < needed {
            Err(ParseError::Incomplete { needed })
        } else {
            Ok(needed)
        }
    }

    /// The block's size.
    pub const fn format(&self) -> StatusFormat {
        self.format
    }

    /// The `i32` at offset 10 of status14 and status30: `si_status`, or 0. `None` for status10.
    pub fn si_status(&self) -> Option<i32> {
        (self.format != StatusFormat::Status10).then(|| self.get(offset::SI_STATUS))
    }

    /// The modification time of status30; `None` for the other sizes.
    pub fn mtime(&self) -> Option<Timespec> {
        (self.format == StatusFormat::Status30).then(|| self.timespec())
    }

    /// The `struct timespec` at the end of status30 (zero outside the buffer, as [`Self::get`]).
    fn timespec(&self) -> Timespec {
        let (sec, nsec) = timespec_at(self.buffer.as_ref(), offset::MTIME).unwrap_or_default();
        Timespec { sec, nsec }
    }
}

/// A status block as a value: the [`ServiceStatus`] it describes, in one of the three sizes,
/// with status30's modification time.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StatusBlock {
    /// The 10-byte legacy block.
    Status10(ServiceStatus),
    /// The 14-byte block of protocol 5.
    Status14(ServiceStatus),
    /// The 30-byte block of protocol 6, with the description file's modification time.
    Status30(ServiceStatus, Timespec),
}

impl StatusBlock {
    /// A block of `format` for `status`; `mtime` is used only by status30.
    pub const fn new(format: StatusFormat, status: ServiceStatus, mtime: Timespec) -> Self {
        match format {
            StatusFormat::Status10 => Self::Status10(status),
            StatusFormat::Status14 => Self::Status14(status),
            StatusFormat::Status30 => Self::Status30(status, mtime),
        }
    }

    /// The block's size class.
    pub const fn format(&self) -> StatusFormat {
        match self {
            Self::Status10(_) => StatusFormat::Status10,
            Self::Status14(_) => StatusFormat::Status14,
            Self::Status30(..) => StatusFormat::Status30,
        }
    }

    /// The status it describes.
    pub const fn status(&self) -> &ServiceStatus {
        match self {
            Self::Status10(s) | Self::Status14(s) | Self::Status30(s, _) => s,
        }
    }

    /// The modification time (status30 only).
    pub const fn mtime(&self) -> Option<Timespec> {
        match self {
            Self::Status30(_, t) => Some(*t),
            _ => None,
        }
    }

    /// The block's size in bytes.
    pub const fn buffer_len(&self) -> usize {
        self.format().size()
    }

    /// Decodes a block of `format` from the start of `bytes` (extra bytes are ignored).
    ///
    /// Unknown state, stop reason or (in the EXECFAILED case) exec stage values are
    /// [`Malformed::BadValue`]. Fields the case does not use are ignored, flag bits 5-7
    /// dropped, and `pid` is 0 unless `HAS_PID` is set. The status10 exit field is read as the
    /// C wait status old clients take it for: 0 is `Exited(0)`, and the current daemon's -1 is
    /// [`LEGACY_FAILURE`] (`Exited(-1)`).
    pub fn parse(bytes: &[u8], format: StatusFormat) -> Result<Self, ParseError> {
        let view = StatusView::new_checked(bytes, format)?;
        let bad = ParseError::Malformed(Malformed::BadValue);
        let state = ServiceState::from_u8(view.state()).ok_or(bad)?;
        let target = ServiceState::from_u8(view.target()).ok_or(bad)?;
        let flags = view.flags();
        let stop_reason = StopReason::from_u8(view.stop_reason()).ok_or(bad)?;
        let detail = view.detail();
        let mut status = ServiceStatus {
            state,
            target,
            flags,
            stop_reason,
            exec_failure: None,
            pid: 0,
            exit: ExitStatus::None,
        };
        if flags.has(StatusFlags::HAS_PID) {
            status.pid = detail;
        } else if stop_reason == StopReason::ExecFailed {
            let stage = ExecStage::from_u16(view.exec_stage()).ok_or(bad)?;
            status.exec_failure = Some((stage, detail));
        } else {
            status.exit = match view.si_status() {
                None => exit_from_wait_status(detail),
                Some(si_status) => ExitStatus::from_si(detail, si_status),
            };
        }
        Ok(match format {
            StatusFormat::Status10 => Self::Status10(status),
            StatusFormat::Status14 => Self::Status14(status),
            StatusFormat::Status30 => Self::Status30(status, view.timespec()),
        })
    }

    /// Writes the block to the start of `out`; returns its size.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        check_room(out, self.buffer_len())?;
        let mut w = Writer::new(out);
        self.write(&mut w)?;
        Ok(w.finish())
    }

    /// Appends the block to a writer.
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let s = self.status();
        let (stage, detail, si_status) = wire_detail(s, self.format());
        w.u8(s.state as u8)?;
        w.u8(s.target as u8)?;
        w.u8(s.flags.bits())?;
        w.u8(s.stop_reason as u8)?;
        w.u16(stage)?;
        w.i32(detail)?;
        match self {
            Self::Status10(_) => {}
            Self::Status14(_) => w.i32(si_status)?,
            Self::Status30(_, mtime) => {
                w.i32(si_status)?;
                w.timespec(mtime.sec, mtime.nsec)?;
            }
        }
        Ok(())
    }

    /// What of this block survives the wire: `parse(emit(b)) == b.normalized()`, and
    /// normalizing twice changes nothing.
    ///
    /// With a process, only the pid is kept (no exec failure, no exit status). Without one,
    /// the pid becomes 0, and an EXECFAILED stop keeps its stage and errno (stage 0 and errno 0
    /// if none was given) while any other keeps its exit status; in status10 that exit status
    /// shrinks to `Exited(0)` (for `si_status` 0, including "no process ended yet") or
    /// [`LEGACY_FAILURE`].
    #[must_use]
    pub fn normalized(&self) -> Self {
        let mut s = *self.status();
        if s.pid().is_some() {
            s.exec_failure = None;
            s.exit = ExitStatus::None;
        } else {
            s.pid = 0;
            if s.stop_reason == StopReason::ExecFailed {
                s.exec_failure = Some(s.exec_failure.unwrap_or((ExecStage::ArrangeFds, 0)));
                s.exit = ExitStatus::None;
            } else {
                s.exec_failure = None;
                if self.format() == StatusFormat::Status10 {
                    s.exit = if s.exit.si_status() == 0 {
                        ExitStatus::Exited(0)
                    } else {
                        LEGACY_FAILURE
                    };
                }
            }
        }
        match self {
            Self::Status10(_) => Self::Status10(s),
            Self::Status14(_) => Self::Status14(s),
            Self::Status30(_, t) => Self::Status30(s, *t),
        }
    }
}

/// The exec stage, the `i32` at offset 6 and the `si_status` field for a status, by the case
/// table of PROTOCOL.md §3.3.
fn wire_detail(s: &ServiceStatus, format: StatusFormat) -> (u16, i32, i32) {
    if let Some(pid) = s.pid() {
        (0, pid, 0)
    } else if s.stop_reason == StopReason::ExecFailed {
        let (stage, errno) = s.exec_failure.unwrap_or((ExecStage::ArrangeFds, 0));
        (stage as u16, errno, 0)
    } else {
        match format {
            StatusFormat::Status10 => (0, if s.exit.si_status() == 0 { 0 } else { -1 }, 0),
            StatusFormat::Status14 | StatusFormat::Status30 => {
                (0, s.exit.si_code(), s.exit.si_status())
            }
        }
    }
}

/// What the status10 exit field -1 reads as: "ended with a non-zero status", which
/// `ServiceStatus` can only say as an exit code no real process has. It is not clean and it
/// is a failure, and it emits as -1 again.
pub const LEGACY_FAILURE: ExitStatus = ExitStatus::Exited(-1);

/// Reads the status10 exit field. The current daemon sends only 0 (clean, or no process ever
/// ended) and -1 ([`LEGACY_FAILURE`]); daemons of protocol 1-4 sent a C wait status
/// (`waitpid(2)`'s `int`), which is what legacy clients take it for: low 7 bits 0 is an exit
/// with the next byte as status, 0x7f a stopped process (not reportable: `None`), anything
/// else the killing signal, bit 7 saying whether a core was dumped.
fn exit_from_wait_status(w: i32) -> ExitStatus {
    if w == -1 {
        return LEGACY_FAILURE;
    }
    let [low, high, _, _] = w.to_le_bytes();
    let signal = low & 0x7f;
    match signal {
        0 => ExitStatus::Exited(i32::from(high)),
        0x7f => ExitStatus::None,
        _ if low & 0x80 != 0 => ExitStatus::Dumped(i32::from(signal)),
        _ => ExitStatus::Signaled(i32::from(signal)),
    }
}
