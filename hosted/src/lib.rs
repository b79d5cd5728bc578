//! `dinit-hosted`: the POSIX/Linux runtime of dinit-rs.
//!
//! Around the pure engine of `dinit-core` this crate provides what needs an operating system:
//!
//! * [`paths`], [`environ`], [`users`]: default locations, the global environment, the user
//!   database;
//! * [`load`] and [`service`]: reading service descriptions into the engine; [`check`]:
//!   `dinit-check`;
//! * [`spawn`]: fork/exec with the child's whole setup done without allocation, and a status
//!   pipe reporting the stage that failed;
//! * [`reactor`], [`log`], [`daemon`]: the event loop, non-blocking logging, and the daemon
//!   itself (process supervision, the control socket);
//! * [`ctl`]: the client side of the control protocol behind `dinitctl` and `dinit-monitor`;
//! * [`shutdown`]: `dinit-shutdown` (shutdown(8)), and the system shutdown sequence;
//! * [`utmp`]: utmp/wtmp records.
//!
//! The binaries live in `src/bin/` and are thin wrappers around these modules.

#![warn(missing_docs)]
// Unsafe code lives in `sys` (safe wrappers of what rustix does not wrap) and in the child
// side of a launch (`spawn::child`), each block with its reason.
#![deny(unsafe_code)]
// One behaviour per function (the limit is in the workspace's clippy.toml).
#![warn(clippy::too_many_lines)]

pub mod spawn;

pub mod check;
pub mod ctl;
pub mod daemon;
pub mod environ;
pub mod load;
pub mod log;
pub mod paths;
pub mod reactor;
pub mod service;
pub mod shutdown;
pub mod sweep;
#[allow(unsafe_code)]
mod sys;
pub mod users;
pub mod utmp;

/// The version of dinit-rs, as `--version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The engine capacities this build was made with: (services, dependency edges). The `small`
/// profile of `dinit-core` shrinks them.
pub const fn capacities() -> (usize, usize) {
    (dinit_core::profile::SERVICES, dinit_core::profile::EDGES)
}
