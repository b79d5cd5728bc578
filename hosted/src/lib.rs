//! `dinit-hosted`: the POSIX/Linux runtime of dinit-rs.
//!
//! Around the pure engine of `dinit-core` this crate provides what needs an operating system:
//! the default paths, the global environment, the loader that reads service description files
//! into the engine, and (as the issues that build them land) process spawning, the event loop,
//! the control socket, logging and the PID-1 duties. The binaries live in `src/bin/`.

#![warn(missing_docs)]

pub mod check;
pub mod environ;
pub mod load;
pub mod paths;
pub mod service;
pub mod users;

/// The version of dinit-rs, as `--version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The engine capacities this build was made with: (services, dependency edges). The `small`
/// profile of `dinit-core` shrinks them.
pub const fn capacities() -> (usize, usize) {
    (dinit_core::profile::SERVICES, dinit_core::profile::EDGES)
}
