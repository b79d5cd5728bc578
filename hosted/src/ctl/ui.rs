//! Where a client's output goes: informational lines to standard output (silenced by
//! `--quiet`), requested data to standard output (always), errors to standard error with the
//! program name in front.

use std::io::Write;

/// The output streams of a client run.
pub struct Ui<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    quiet: bool,
    prog: &'static str,
}

impl std::fmt::Debug for Ui<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui")
            .field("quiet", &self.quiet)
            .field("prog", &self.prog)
            .finish_non_exhaustive()
    }
}

impl<'a> Ui<'a> {
    /// Output of program `prog` (the prefix of error messages) to `out` and `err`.
    pub fn new(prog: &'static str, out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Ui {
            out,
            err,
            quiet: false,
            prog,
        }
    }

    /// Silences [`Ui::info`] (`--quiet`).
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// True if `--quiet` is in effect.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// An informational line on standard output (not under `--quiet`); the newline is added.
    pub fn info(&mut self, line: &[u8]) {
        if !self.quiet {
            let _ = self.out.write_all(line);
            let _ = self.out.write_all(b"\n");
        }
    }

    /// Requested output, written as it is (even under `--quiet`).
    pub fn data(&mut self, bytes: &[u8]) {
        let _ = self.out.write_all(bytes);
    }

    /// An error or warning line on standard error: `prog: msg`.
    pub fn error(&mut self, msg: &[u8]) {
        let _ = self.err.write_all(self.prog.as_bytes());
        let _ = self.err.write_all(b": ");
        let _ = self.err.write_all(msg);
        let _ = self.err.write_all(b"\n");
        let _ = self.err.flush();
    }

    /// A line on standard error without the prefix.
    pub fn error_line(&mut self, line: &[u8]) {
        let _ = self.err.write_all(line);
        let _ = self.err.write_all(b"\n");
        let _ = self.err.flush();
    }

    /// Flushes both streams.
    pub fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }
}
