//! A service's log file with a size limit (`logfile-max-size`, `logfile-rotate`; dinit-rs
//! extensions), written by the daemon.
//!
//! Without a limit the service writes its log file itself (as with Dinit). With one, its
//! output comes to the daemon through a pipe (kept across restarts, as for `log-type =
//! buffer`) and the daemon appends it to the file, so that it can rotate the file: when the
//! next line would take the file past the limit, `NAME.N-1` becomes `NAME.N` (the oldest,
//! `NAME.N`, is replaced), ..., `NAME.1` becomes `NAME.2`, `NAME` becomes `NAME.1`, and a new
//! `NAME` is started (`logfile-rotate = 0`: `NAME` is removed and started again). The rules:
//!
//! - a line is never split between two files, nor written twice: a rotation happens only
//!   between lines. A line longer than the limit goes whole into a file of its own, and an
//!   unfinished line (output without its newline yet) is finished in the file it started in,
//!   so a file can pass the limit by the rest of that one line;
//! - the file is opened as the service would open it (`O_APPEND`, never through a symbolic
//!   link, `logfile-permissions` applied, owner `logfile-uid`/`logfile-gid`), and so is each
//!   new one;
//! - the daemon never waits for the service: it reads the pipe when the loop says it is
//!   readable, at most [`READ_PER_TURN`] bytes per turn, and writes them to the file at once
//!   (a write to a regular file on a local disk does not wait for anything but the disk);
//! - a file that cannot be written, renamed or opened is reported in the daemon's log (once
//!   per failure, with the file's name) and the output is dropped until it can again.

use crate::spawn::Logfile;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use std::ffi::CString;
use std::path::{Path, PathBuf};

/// The most output taken from a service's pipe in one turn of the loop: a service that
/// writes without pause does not keep the daemon from everything else.
pub const READ_PER_TURN: usize = 64 * 1024;

/// The file (created as the service would create it) and its limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    /// `logfile`, `logfile-permissions`, `logfile-uid`, `logfile-gid`.
    pub file: Logfile,
    /// `logfile-max-size`.
    pub max_size: u64,
    /// `logfile-rotate`.
    pub keep: u8,
}

/// What went wrong, to log.
#[derive(Debug)]
pub struct LogFileError {
    /// What was being done ("writing", "rotating", "opening").
    pub doing: &'static str,
    /// The file concerned.
    pub path: PathBuf,
    /// The error.
    pub errno: Errno,
}

impl std::fmt::Display for LogFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "log file {}: {}: {}",
            self.path.display(),
            self.doing,
            crate::log::Errno(self.errno.raw_os_error())
        )
    }
}

/// The open log file and where it stands.
#[derive(Debug)]
pub struct RotatingLog {
    spec: FileSpec,
    /// `None` after a failure to open: tried again at the next output.
    fd: Option<OwnedFd>,
    /// Bytes in the current file.
    size: u64,
    /// The last byte written ended a line (or nothing was written yet).
    at_line_start: bool,
    /// The last write failed (and was reported): the next failure is not reported again.
    failing: bool,
}

impl RotatingLog {
    /// The log file of `spec`, opened (created) at the first output.
    pub fn new(spec: FileSpec) -> Self {
        RotatingLog {
            spec,
            fd: None,
            size: 0,
            at_line_start: true,
            failing: false,
        }
    }

    /// [`RotatingLog::write`], returning the failure only if the previous write succeeded: a
    /// file that cannot be written is reported once, not for every line.
    pub fn write_reporting(&mut self, bytes: &[u8]) -> Option<LogFileError> {
        match self.write(bytes) {
            Ok(()) => {
                self.failing = false;
                None
            }
            Err(e) => (!std::mem::replace(&mut self.failing, true)).then_some(e),
        }
    }

    /// The settings it was opened with (a reload that changes them opens it again).
    pub fn spec(&self) -> &FileSpec {
        &self.spec
    }

    /// Appends output, rotating between lines as needed. Returns the first failure (the rest
    /// of `bytes` is dropped then).
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<(), LogFileError> {
        if self.fd.is_none() {
            self.reopen()?;
        }
        while !bytes.is_empty() {
            let max = self.spec.max_size;
            // The longest run of whole lines that still fits, or else the next line alone.
            let room = max.saturating_sub(self.size);
            let fits = usize::try_from(room).unwrap_or(usize::MAX).min(bytes.len());
            let whole = if fits == bytes.len() {
                // Everything fits, an unfinished last line included.
                bytes.len()
            } else {
                bytes
                    .get(..fits)
                    .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
                    .map_or(0, |i| i + 1)
            };
            let n = if whole > 0 {
                whole
            } else if self.at_line_start && self.size > 0 {
                self.rotate()?;
                continue;
            } else {
                // The next line does not fit in an empty file, or finishes a line already
                // started here: it goes here whole.
                bytes
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |i| i + 1)
            };
            let (chunk, rest) = bytes.split_at(n);
            self.write_all(chunk)?;
            bytes = rest;
        }
        Ok(())
    }

    fn write_all(&mut self, mut chunk: &[u8]) -> Result<(), LogFileError> {
        let Some(fd) = &self.fd else {
            return Ok(());
        };
        if let Some(&last) = chunk.last() {
            self.at_line_start = last == b'\n';
        }
        while !chunk.is_empty() {
            match rustix::io::write(fd, chunk) {
                Ok(0) => break,
                Ok(w) => {
                    self.size = self.size.saturating_add(w as u64);
                    chunk = chunk.get(w..).unwrap_or(&[]);
                }
                Err(Errno::INTR) => continue,
                Err(errno) => return Err(self.error("writing", &self.path(), errno)),
            }
        }
        Ok(())
    }

    /// `NAME.K-1` -> `NAME.K` for K from `keep` down to 2, `NAME` -> `NAME.1`, a new `NAME`.
    fn rotate(&mut self) -> Result<(), LogFileError> {
        self.fd = None;
        let path = self.path();
        let keep = self.spec.keep;
        if keep == 0 {
            match rustix::fs::unlink(&path) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(errno) => return Err(self.error("rotating", &path, errno)),
            }
        }
        for k in (1..keep).rev() {
            let from = numbered(&path, k);
            match rustix::fs::rename(&from, numbered(&path, k + 1)) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(errno) => return Err(self.error("rotating", &from, errno)),
            }
        }
        if keep > 0 {
            if let Err(errno) = rustix::fs::rename(&path, numbered(&path, 1)) {
                if errno != Errno::NOENT {
                    return Err(self.error("rotating", &path, errno));
                }
            }
        }
        self.reopen()
    }

    fn reopen(&mut self) -> Result<(), LogFileError> {
        let fd = open_log(&self.spec.file)
            .map_err(|errno| self.error("opening", &self.path(), errno))?;
        let size = rustix::fs::fstat(&fd).map_or(0, |st| st.st_size.max(0) as u64);
        self.fd = Some(fd);
        self.size = size;
        self.at_line_start = true;
        Ok(())
    }

    fn path(&self) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(&self.spec.file.path))
    }

    fn error(&self, doing: &'static str, path: &Path, errno: Errno) -> LogFileError {
        LogFileError {
            doing,
            path: path.to_path_buf(),
            errno,
        }
    }
}

/// `PATH.K`.
fn numbered(path: &Path, k: u8) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{k}"));
    PathBuf::from(name)
}

/// Opens the file as a service's log file is opened (spawn's step 6'): appending, created if
/// missing, never through a symbolic link, never waiting; then the permissions and owner.
fn open_log(spec: &Logfile) -> Result<OwnedFd, Errno> {
    let c = CString::new(spec.path.as_slice()).map_err(|_| Errno::INVAL)?;
    let fd = rustix::fs::open(
        c.as_c_str(),
        OFlags::WRONLY
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::CLOEXEC
            | OFlags::NOCTTY,
        Mode::from_raw_mode(spec.mode & 0o7777),
    )?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(spec.mode & 0o7777))?;
    if spec.uid.is_some() || spec.gid.is_some() {
        let uid = spec.uid.map(rustix::fs::Uid::from_raw);
        let gid = spec.gid.map(rustix::fs::Gid::from_raw);
        rustix::fs::fchown(&fd, uid, gid)?;
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("logfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn spec(path: &Path, max_size: u64, keep: u8) -> FileSpec {
        use std::os::unix::ffi::OsStrExt;
        let mut file = Logfile::new(path.as_os_str().as_bytes());
        file.mode = 0o640;
        FileSpec {
            file,
            max_size,
            keep,
        }
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn rotates_between_lines_and_keeps_n_files() {
        let d = dir("rotate");
        let path = d.join("svc.log");
        let mut log = RotatingLog::new(spec(&path, 20, 2));
        // 6 lines of 8 bytes: two per file.
        for i in 1..=6 {
            log.write(format!("line {i:02}\n").as_bytes()).unwrap();
        }
        assert_eq!(read(&path), "line 05\nline 06\n");
        assert_eq!(read(&d.join("svc.log.1")), "line 03\nline 04\n");
        assert_eq!(read(&d.join("svc.log.2")), "line 01\nline 02\n");
        log.write(b"line 07\n").unwrap();
        log.write(b"line 08\nline 09\n").unwrap();
        // The oldest went; nothing is lost among the files kept, nothing written twice.
        assert_eq!(read(&d.join("svc.log.2")), "line 05\nline 06\n");
        assert_eq!(read(&d.join("svc.log.1")), "line 07\nline 08\n");
        assert_eq!(read(&path), "line 09\n");
        assert!(!d.join("svc.log.3").exists());
        let mode = std::fs::metadata(&path).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o640
        );
    }

    #[test]
    fn a_line_is_never_split_and_a_long_line_gets_a_file_of_its_own() {
        let d = dir("long");
        let path = d.join("l");
        let mut log = RotatingLog::new(spec(&path, 16, 3));
        log.write(b"short\n").unwrap();
        log.write(b"a line much longer than sixteen bytes\n")
            .unwrap();
        log.write(b"next\n").unwrap();
        assert_eq!(read(&d.join("l.2")), "short\n");
        assert_eq!(
            read(&d.join("l.1")),
            "a line much longer than sixteen bytes\n"
        );
        assert_eq!(read(&path), "next\n");
        // An unfinished line is finished in its file, whatever the size.
        log.write(b"0123456789").unwrap();
        log.write(b"abcdef").unwrap();
        log.write(b"ghij\nz\n").unwrap();
        assert_eq!(read(&d.join("l.1")), "next\n0123456789abcdefghij\n");
        assert_eq!(read(&path), "z\n");
    }

    #[test]
    fn keep_zero_starts_the_file_again_and_an_existing_file_counts() {
        let d = dir("zero");
        let path = d.join("z");
        std::fs::write(&path, "0123456789\n").unwrap();
        let mut log = RotatingLog::new(spec(&path, 16, 0));
        log.write(b"abcdefgh\n").unwrap();
        assert_eq!(read(&path), "abcdefgh\n");
        assert!(!d.join("z.1").exists());
    }

    #[test]
    fn a_symbolic_link_is_not_followed_and_the_failure_names_the_file() {
        let d = dir("link");
        let path = d.join("link");
        std::os::unix::fs::symlink(d.join("target"), &path).unwrap();
        let mut log = RotatingLog::new(spec(&path, 1024, 1));
        let e = log.write_reporting(b"x\n").expect("an error");
        assert_eq!(e.errno, Errno::LOOP);
        assert!(e.to_string().contains("link: opening:"), "{e}");
        assert!(!d.join("target").exists());
        assert!(log.write_reporting(b"y\n").is_none(), "reported once");
        std::fs::remove_file(&path).unwrap();
        assert!(log.write_reporting(b"z\n").is_none());
        assert_eq!(read(&path), "z\n");
    }
}
