//! Smoke versions of the fuzz targets of `fuzz/` that need the hosted runtime: the
//! environment-file format with its hosted users (`envfile`), the real loader on a scratch
//! service directory (`load`) and the control server's per-connection state machine in a
//! user-mode daemon running in this process (`control`). Each runs the fuzz harness's own
//! `run` (the same source file, through `#[path]`) on the committed seeds, on arbitrary bytes
//! and on mutated seeds, for a bounded number of cases. The core-only targets are in
//! `core-nostd/tests/fuzz_smoke.rs`.

// Test code: the panicking shortcuts are what a failing check should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/src/control.rs"]
mod control;
#[path = "../fuzz/src/envfile.rs"]
mod envfile;
#[path = "../fuzz/src/load.rs"]
mod load;
#[path = "../fuzz/src/smoke.rs"]
mod smoke;
#[path = "../fuzz/src/util.rs"]
mod util;

#[test]
fn envfile() {
    smoke::check("envfile", envfile::run, 512, 256, 256);
}

/// One test for the loader: its scratch directory is per process.
#[test]
fn load() {
    smoke::check("load", load::run, 1024, 128, 128);
    load::cleanup();
}

/// One test for the control server: one daemon per process, on this test's thread.
#[test]
fn control() {
    smoke::check("control", control::run, 256, 192, 192);
    control::cleanup();
}
