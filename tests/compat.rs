//! Compatibility with Dinit, checked against Dinit itself (`just compat`; docs/COMPATIBILITY.md).
//!
//! The reference Dinit is built from `../shared/peers` by `just compat` (into `target/peers`);
//! every test here is `#[ignore]`d so that `cargo test --workspace` does not need it. The parts:
//!
//! - [`igr`]: Dinit's own integration tests (`igr-tests`), run against our binaries;
//! - [`check`]: `dinit-check` on a corpus of descriptions, both programs, byte for byte;
//! - [`scenarios`]: the differential scenarios of `tests/compat/scenarios/`, each run with
//!   Dinit's daemon and client (the expectation), ours, and both mixes, compared after
//!   normalisation;
//! - [`libdinitctl`]: a third-party client, Chimera Linux's libdinitctl (built from
//!   `../shared/peers` with meson and ninja), driven by a C probe of ours against both daemons.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

#[path = "compat/common.rs"]
mod common;

#[path = "compat/igr.rs"]
mod igr;

#[path = "compat/check.rs"]
mod check;

#[path = "compat/scenarios.rs"]
mod scenarios;

#[path = "compat/libdinitctl.rs"]
mod libdinitctl;
