//! The service status as the client sees it: decoded field by field from a status block
//! (PROTOCOL.md §3.3), keeping the raw exit fields so that output can follow the stock client
//! exactly (legacy blocks carry a wait status, newer ones a `si_code`/`si_status` pair).

use dinit_core::proto::{StatusFormat, StatusView, Timespec};
use dinit_core::{ServiceState, StatusFlags, StopReason};

/// A decoded status block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SvcStatus {
    /// Current state.
    pub state: ServiceState,
    /// Target state.
    pub target: ServiceState,
    /// Flags (PROTOCOL.md §6.8).
    pub flags: StatusFlags,
    /// The raw stop reason byte (PROTOCOL.md §6.2); see [`SvcStatus::stop_reason`].
    pub stop_reason_raw: u8,
    /// The raw exec stage (PROTOCOL.md §6.3); meaningful only for an exec failure.
    pub exec_stage: u16,
    /// The `i32` at offset 6: pid, errno, `si_code` or (status10) the legacy exit field.
    pub detail: i32,
    /// `si_status` (status14/status30 only; 0 for status10).
    pub si_status: i32,
    /// Which block it came from.
    pub format: StatusFormat,
    /// The description file's modification time (status30 only).
    pub mtime: Option<Timespec>,
}

/// How the last process ended, as the block says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitInfo {
    /// Protocol 5+: `si_code` and `si_status`.
    Si {
        /// `si_code` (1 exited, 2 killed, 3 dumped).
        code: i32,
        /// Exit status or signal number.
        status: i32,
    },
    /// Protocol 1-4: a C wait status (the current daemon sends only 0 or -1).
    Wait(i32),
}

/// What [`ExitInfo::details`] reads from an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitDetails {
    /// Exited with this status.
    Exited(i32),
    /// Killed by this signal.
    Signalled(i32),
    /// Anything else (a core dump, a stopped process, an unknown code).
    Unknown,
}

impl ExitInfo {
    /// True if the exit carries a non-zero status (`si_status ≠ 0`, or a non-zero wait status):
    /// the condition under which `dinitctl status` adds the details.
    pub fn is_nonzero(self) -> bool {
        match self {
            ExitInfo::Si { status, .. } => status != 0,
            ExitInfo::Wait(w) => w != 0,
        }
    }

    /// Interprets the exit (PROTOCOL.md §6.9): `CLD_EXITED`/`CLD_KILLED`; a pair of zeros is read
    /// as the wait status 0, as the stock client falls back to the legacy field then.
    pub fn details(self) -> ExitDetails {
        match self {
            ExitInfo::Si { code: 1, status } => ExitDetails::Exited(status),
            ExitInfo::Si { code: 2, status } => ExitDetails::Signalled(status),
            ExitInfo::Si { code: 0, status: 0 } => wait_details(0),
            ExitInfo::Si { .. } => ExitDetails::Unknown,
            ExitInfo::Wait(w) => wait_details(w),
        }
    }
}

/// `WIFEXITED`/`WEXITSTATUS`, `WIFSIGNALED`/`WTERMSIG` of a wait status.
fn wait_details(w: i32) -> ExitDetails {
    let low = w & 0x7f;
    if low == 0 {
        ExitDetails::Exited((w >> 8) & 0xff)
    } else if low != 0x7f {
        ExitDetails::Signalled(low)
    } else {
        ExitDetails::Unknown
    }
}

impl SvcStatus {
    /// The status a block of the codec's view says, field by field: the one place a status
    /// is built (see [`super::packet`]). `None` if its state bytes are not states; any other
    /// value is kept as sent.
    pub fn from_view(view: &StatusView<&[u8]>) -> Option<Self> {
        view.check_len().ok()?;
        Some(SvcStatus {
            state: ServiceState::from_u8(view.state())?,
            target: ServiceState::from_u8(view.target())?,
            flags: view.flags(),
            stop_reason_raw: view.stop_reason(),
            exec_stage: view.exec_stage(),
            detail: view.detail(),
            // status10 has no si_status.
            si_status: view.si_status().unwrap_or(0),
            format: view.format(),
            mtime: view.mtime(),
        })
    }

    /// The stop reason, if it is a known one.
    pub fn stop_reason(&self) -> Option<StopReason> {
        StopReason::from_u8(self.stop_reason_raw)
    }

    /// True if flag `flag` (a [`StatusFlags`] constant) is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags.has(flag)
    }

    /// The pid, if the service has a process.
    pub fn pid(&self) -> Option<i32> {
        self.has(StatusFlags::HAS_PID).then_some(self.detail)
    }

    /// The exit fields (meaningful when there is no process and the stop reason is not an
    /// exec failure).
    pub fn exit(&self) -> ExitInfo {
        match self.format {
            StatusFormat::Status10 => ExitInfo::Wait(self.detail),
            _ => ExitInfo::Si {
                code: self.detail,
                status: self.si_status,
            },
        }
    }

    /// The `is-failed` test (CONTROL.md §4.3): stopped with reason DEPFAILED, FAILED, EXECFAILED or
    /// TIMEDOUT.
    pub fn is_failed(&self) -> bool {
        self.state == ServiceState::Stopped
            && matches!(
                self.stop_reason(),
                Some(
                    StopReason::DepFailed
                        | StopReason::Failed
                        | StopReason::ExecFailed
                        | StopReason::TimedOut
                )
            )
    }

    /// The `X` of `dinitctl list` (CONTROL.md §4.1): TERMINATED with anything but a clean exit 0,
    /// or any stop reason other than NORMAL and TERMINATED.
    pub fn list_failed(&self) -> bool {
        match self.stop_reason() {
            Some(StopReason::Normal) => false,
            Some(StopReason::Terminated) => match self.exit() {
                ExitInfo::Si { code, status } => code != 1 || status != 0,
                ExitInfo::Wait(w) => w != 0,
            },
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(block: &[u8], format: StatusFormat) -> Option<SvcStatus> {
        SvcStatus::from_view(&StatusView::new_unchecked(block, format))
    }

    #[test]
    #[cfg_attr(
        target_endian = "big",
        ignore = "Dinit's bytes as captured on x86_64, little-endian (docs/CROSS.md)"
    )]
    fn decodes_all_sizes() {
        // Test vector V7 (PROTOCOL.md §12): status14 with a pid.
        let b14 = [
            0x02, 0x02, 0x18, 0x00, 0x00, 0x00, 0xe9, 0x2c, 0, 0, 0, 0, 0, 0,
        ];
        let s = decode(&b14, StatusFormat::Status14).unwrap();
        assert_eq!(s.state, ServiceState::Started);
        assert_eq!(s.pid(), Some(0x2ce9));
        assert!(s.has(StatusFlags::MARKED_ACTIVE));
        // V39: status10, exit field -1.
        let b10 = [0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let s = decode(&b10, StatusFormat::Status10).unwrap();
        assert_eq!(s.exit(), ExitInfo::Wait(-1));
        assert_eq!(s.exit().details(), ExitDetails::Unknown);
        assert!(s.exit().is_nonzero());
        // V5: status30 mtime.
        // A `struct timespec` of two C longs, in the machine's byte order.
        let b30 = [
            &[0u8; 14][..],
            &0x6b09_1b9c_isize.to_ne_bytes(),
            &0x37c2_5f90_isize.to_ne_bytes(),
        ]
        .concat();
        let s = decode(&b30, StatusFormat::Status30).unwrap();
        assert_eq!(s.mtime, Some(Timespec::new(0x6b09_1b9c, 0x37c2_5f90)));
        assert!(decode(&b30[..20], StatusFormat::Status30).is_none());
        let mut bad = b14;
        bad[0] = 9;
        assert!(decode(&bad, StatusFormat::Status14).is_none());
    }

    #[test]
    fn exit_details() {
        assert_eq!(
            ExitInfo::Si { code: 1, status: 3 }.details(),
            ExitDetails::Exited(3)
        );
        assert_eq!(
            ExitInfo::Si { code: 2, status: 9 }.details(),
            ExitDetails::Signalled(9)
        );
        assert_eq!(
            ExitInfo::Si { code: 3, status: 6 }.details(),
            ExitDetails::Unknown
        );
        assert_eq!(
            ExitInfo::Si { code: 0, status: 0 }.details(),
            ExitDetails::Exited(0)
        );
        assert_eq!(ExitInfo::Wait(3 << 8).details(), ExitDetails::Exited(3));
        assert_eq!(ExitInfo::Wait(9).details(), ExitDetails::Signalled(9));
        assert_eq!(ExitInfo::Wait(0x8b).details(), ExitDetails::Signalled(11));
    }
}
