//! `dinit-core`: the heapless, `no_std` core of dinit-rs.
//!
//! This crate holds everything of the service manager that is pure logic: the service engine
//! (Dinit's activation model as a sans-I/O state machine), and the types the runtime, the
//! service-description parser and the control-protocol codec share. It never allocates (there
//! is no `alloc`), never recurses without bound, never panics (see `just nopanic`), and does
//! no I/O: the hosted runtime (`dinit-hosted`) feeds it events and carries out what it asks.
//!
//! # Capacities
//!
//! Every table is sized at build time by const generics: [`ServiceSet<S, E, N>`] holds `S`
//! services, `E` dependency edges and `N` bytes of names. Running out is an ordinary error
//! ([`CapacityError`]) that changes nothing. [`profile`] fixes the sizes the binaries use.
//!
//! # Using the engine
//!
//! ```
//! use dinit_core::{ServiceSet, ServiceConfig, ServiceKind, DepKind, Instant, ServiceState};
//! use dinit_core::engine::{Host, CommandKind, LaunchFailed, Notice, PidFileResult, ServiceId};
//! use dinit_core::{Pin, ServiceEvent, ServiceStatus};
//!
//! struct Quiet;
//! impl Host for Quiet {
//!     fn spawn(&mut self, _: ServiceId, _: CommandKind, _: bool) -> Result<i32, LaunchFailed> {
//!         Ok(100)
//!     }
//!     fn signal(&mut self, _: ServiceId, _: i32, _: i32, _: bool) {}
//!     fn read_pid_file(&mut self, _: ServiceId) -> PidFileResult { PidFileResult::Invalid }
//!     fn event(&mut self, _: ServiceId, _: ServiceEvent, _: &ServiceStatus) {}
//!     fn notice(&mut self, _: Notice) {}
//! }
//!
//! let mut set: ServiceSet<8, 16, 256> = ServiceSet::new();
//! set.begin_load().unwrap();
//! let boot = set.insert_service(b"boot", ServiceConfig::new(ServiceKind::Internal), b"").unwrap();
//! let net = set.insert_service(b"net", ServiceConfig::new(ServiceKind::Internal), b"").unwrap();
//! set.add_dependency(boot, net, DepKind::Regular).unwrap();
//! set.commit_load().unwrap();
//!
//! set.start(boot, Pin::NoPin, Instant::ZERO, &mut Quiet).unwrap();
//! assert_eq!(set.state(net), Some(ServiceState::Started));
//! assert_eq!(set.state(boot), Some(ServiceState::Started));
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// One behaviour per function (the limit is in the workspace's clippy.toml); the few dispatch
// tables (one arm per setting, command or message) say so where they are allowed.
#![warn(clippy::too_many_lines)]
// An init must not panic: no indexing that can go out of bounds and no arithmetic that can
// overflow outside tests (clippy.toml allows the test-only shortcuts).
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

#[cfg(test)]
extern crate std;

// First, so that every module below can use the macros.
#[macro_use]
mod macros;

pub mod config;
pub mod desc;
pub mod engine;
pub mod proto;
pub mod signal;
pub mod status;
pub mod time;
pub mod types;

mod fmt;

pub use config::{Options, ServiceConfig};
pub use engine::{CapacityError, Gentle, Pin, Refusal, ServiceId, ServiceSet};
pub use status::{ServiceStatus, StatusFlags};
pub use time::{Duration, Instant};
pub use types::{
    AutoRestart, DepKind, ExecStage, ExitStatus, Pid, ServiceEvent, ServiceKind, ServiceState,
    ShutdownKind, StopReason,
};

/// Build-time capacity profiles.
///
/// The default profile covers a full distribution and benchmarks of 10 000 services:
/// 16 384 services, 65 536 dependency edges and 1 MiB of names. An empty set is all zero bits
/// and lives in `.bss`, so these tables cost address space, not file size, and memory only for
/// the pages that services actually use (192 bytes per service and 32 per edge).
///
/// The `small` profile (cargo feature `small`) is for routers and boards: 64 services,
/// 256 edges, 4 KiB of names.
pub mod profile {
    /// Services in the default profile.
    pub const DEFAULT_SERVICES: usize = 16_384;
    /// Dependency edges in the default profile.
    pub const DEFAULT_EDGES: usize = 65_536;
    /// Name bytes in the default profile.
    pub const DEFAULT_NAME_BYTES: usize = 1 << 20;

    /// Services in the `small` profile.
    pub const SMALL_SERVICES: usize = 64;
    /// Dependency edges in the `small` profile.
    pub const SMALL_EDGES: usize = 256;
    /// Name bytes in the `small` profile.
    pub const SMALL_NAME_BYTES: usize = 4096;

    /// The set of the default profile.
    pub type DefaultSet = crate::ServiceSet<DEFAULT_SERVICES, DEFAULT_EDGES, DEFAULT_NAME_BYTES>;
    /// The set of the `small` profile.
    pub type SmallSet = crate::ServiceSet<SMALL_SERVICES, SMALL_EDGES, SMALL_NAME_BYTES>;

    /// Services in the profile this build uses.
    pub const SERVICES: usize = if cfg!(feature = "small") {
        SMALL_SERVICES
    } else {
        DEFAULT_SERVICES
    };
    /// Dependency edges in the profile this build uses.
    pub const EDGES: usize = if cfg!(feature = "small") {
        SMALL_EDGES
    } else {
        DEFAULT_EDGES
    };
    /// Name bytes in the profile this build uses.
    pub const NAME_BYTES: usize = if cfg!(feature = "small") {
        SMALL_NAME_BYTES
    } else {
        DEFAULT_NAME_BYTES
    };

    /// The set this build uses: [`SmallSet`] with the `small` feature, else [`DefaultSet`].
    #[cfg(not(feature = "small"))]
    pub type ConfiguredSet = DefaultSet;
    /// The set this build uses: [`SmallSet`] with the `small` feature, else [`DefaultSet`].
    #[cfg(feature = "small")]
    pub type ConfiguredSet = SmallSet;
}
