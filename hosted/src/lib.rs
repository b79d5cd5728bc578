//! `dinit-hosted`: the POSIX/Linux runtime of dinit-rs.
//!
//! This crate will hold the event loop, process spawning, the control socket, logging and the
//! PID-1 duties, and the binaries `dinit`, `dinitctl`, `dinit-check` and `dinit-shutdown`
//! (see the issues that build them). Today it provides the version string the binaries print.

#![warn(missing_docs)]

/// The version of dinit-rs, as `--version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The engine capacities this build was made with (the `small` profile of `dinit-core`
/// shrinks them), for `--version` and the man pages.
pub fn capacities() -> (usize, usize) {
    let set = dinit_core::profile::ConfiguredSet::new;
    let _ = set;
    (
        dinit_core::profile::DEFAULT_SERVICES,
        dinit_core::profile::DEFAULT_EDGES,
    )
}
