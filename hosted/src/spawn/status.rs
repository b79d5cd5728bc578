//! The exec status pipe: how the parent learns whether the child's setup and `execve`
//! succeeded.
//!
//! The write end is close-on-exec and held only by the child. If the child reaches `execve`
//! and it succeeds, the kernel closes the write end and the parent reads end-of-file with no
//! data. If any setup step (or `execve`) fails, the child writes one report — the failing
//! [`ExecStage`] as a native-endian `u16` followed by the errno as a native-endian `i32` — and
//! exits with status 127. Six bytes are far below `PIPE_BUF`, so the report arrives whole.

use core::fmt;
#[cfg(test)]
use std::os::fd::OwnedFd;
use std::os::fd::{AsFd, BorrowedFd};

use super::child::StatusPipe;

use dinit_core::ExecStage;
use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;

/// The size of a failure report on the status pipe.
pub(super) const REPORT_LEN: usize = 6;

/// Encodes a failure report.
pub(super) fn encode_report(stage: ExecStage, errno: i32) -> [u8; REPORT_LEN] {
    let [s0, s1] = (stage as u16).to_ne_bytes();
    let [e0, e1, e2, e3] = errno.to_ne_bytes();
    [s0, s1, e0, e1, e2, e3]
}

/// Decodes a failure report; `None` if the stage number is not one of ours.
fn decode_report(report: [u8; REPORT_LEN]) -> Option<ExecFailure> {
    let [s0, s1, e0, e1, e2, e3] = report;
    let stage = ExecStage::from_u16(u16::from_ne_bytes([s0, s1]))?;
    Some(ExecFailure {
        stage,
        errno: i32::from_ne_bytes([e0, e1, e2, e3]),
    })
}

/// A failed launch, as the child reported it: the setup step that failed and its errno
/// (what `dinitctl status` shows as "Stage:" and the error text).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ExecFailure {
    /// The step that failed.
    pub stage: ExecStage,
    /// The error number.
    pub errno: i32,
}

impl fmt::Display for ExecFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.stage.description(),
            std::io::Error::from_raw_os_error(self.errno)
        )
    }
}

/// What became of a launch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ExecOutcome {
    /// The command is running: `execve` succeeded.
    Started,
    /// Setup or `execve` failed; the child has exited (status 127) and must still be reaped.
    Failed(ExecFailure),
}

/// The parent's end of a child's status pipe. Non-blocking: register [`as_fd`](AsFd::as_fd)
/// for readability with the event loop and call [`poll`](Self::poll) when it is readable, or
/// use [`wait`](Self::wait) where blocking is fine (tests, tools).
#[derive(Debug)]
pub struct ExecStatus {
    pipe: StatusPipe,
    report: [u8; REPORT_LEN],
    /// Bytes of `report` read so far (at most `REPORT_LEN`; a byte keeps the watch small).
    received: u8,
}

impl AsFd for ExecStatus {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }
}

impl ExecStatus {
    #[cfg(test)]
    pub(super) fn new(fd: OwnedFd) -> Self {
        ExecStatus::from_pipe(StatusPipe::plain(fd))
    }

    /// Whether the launch's memory is still held: the outcome may be known (a failure report),
    /// but the pipe's end-of-file, after which the child no longer uses that memory, has not
    /// been read. Dropping the status then waits for it.
    pub fn holds_memory(&self) -> bool {
        self.pipe.holds_memory()
    }

    /// Pages of the child's stack that were touched, while the launch's memory is held.
    #[cfg(test)]
    pub(super) fn stack_pages_touched(&self) -> Option<usize> {
        self.pipe.stack_pages_touched()
    }

    /// The status of a launch, from its pipe (which may hold the launch's memory).
    pub(super) fn from_pipe(pipe: StatusPipe) -> Self {
        ExecStatus {
            pipe,
            report: [0; REPORT_LEN],
            received: 0,
        }
    }

    /// Reads what is available without blocking: `Ok(None)` if the child has not yet exec'd
    /// or failed, otherwise the outcome. Once an outcome has been returned, the pipe can be
    /// dropped. An error is a failed read, or a report cut short or carrying an unknown stage
    /// (`EIO`); either way the launch must be taken as failed.
    pub fn poll(&mut self) -> Result<Option<ExecOutcome>, Errno> {
        loop {
            let rest = self
                .report
                .get_mut(usize::from(self.received)..)
                .unwrap_or_default();
            match self.pipe.read(rest) {
                Ok(0) => {
                    return if self.received == 0 {
                        Ok(Some(ExecOutcome::Started))
                    } else {
                        Err(Errno::IO)
                    };
                }
                Ok(n) => {
                    let received = usize::from(self.received).saturating_add(n).min(REPORT_LEN);
                    self.received = u8::try_from(received).unwrap_or(u8::MAX);
                    if received == REPORT_LEN {
                        return decode_report(self.report)
                            .map(|f| Some(ExecOutcome::Failed(f)))
                            .ok_or(Errno::IO);
                    }
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Blocks until the outcome is known.
    pub fn wait(&mut self) -> Result<ExecOutcome, Errno> {
        loop {
            if let Some(outcome) = self.poll()? {
                return Ok(outcome);
            }
            let mut fds = [PollFd::new(&self.pipe, PollFlags::IN)];
            match rustix::event::poll(&mut fds, None) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::pipe::{pipe_with, PipeFlags};

    fn status_pair() -> (ExecStatus, OwnedFd) {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).unwrap();
        (ExecStatus::new(r), w)
    }

    #[test]
    fn reports_round_trip() {
        for stage in [ExecStage::ArrangeFds, ExecStage::SetPrio, ExecStage::DoExec] {
            let f = decode_report(encode_report(stage, 13)).unwrap();
            assert_eq!(f, ExecFailure { stage, errno: 13 });
        }
        let mut bad = encode_report(ExecStage::DoExec, 1);
        bad[..2].copy_from_slice(&14u16.to_ne_bytes());
        assert_eq!(decode_report(bad), None);
    }

    #[test]
    fn eof_without_data_is_success() {
        let (mut status, w) = status_pair();
        assert_eq!(status.poll(), Ok(None));
        drop(w);
        assert_eq!(status.poll(), Ok(Some(ExecOutcome::Started)));
    }

    #[test]
    fn report_in_pieces() {
        let (mut status, w) = status_pair();
        let report = encode_report(ExecStage::Chdir, 2);
        rustix::io::write(&w, &report[..3]).unwrap();
        assert_eq!(status.poll(), Ok(None));
        rustix::io::write(&w, &report[3..]).unwrap();
        let failure = ExecFailure {
            stage: ExecStage::Chdir,
            errno: 2,
        };
        assert_eq!(status.wait(), Ok(ExecOutcome::Failed(failure)));
        assert_eq!(
            failure.to_string(),
            format!(
                "changing directory: {}",
                std::io::Error::from_raw_os_error(2)
            )
        );
    }

    #[test]
    fn truncated_report_is_an_error() {
        let (mut status, w) = status_pair();
        rustix::io::write(&w, &[1, 0]).unwrap();
        drop(w);
        assert_eq!(status.wait(), Err(Errno::IO));
    }
}
