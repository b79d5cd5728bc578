//! Smoke versions of the fuzz targets of `fuzz/` that need only the core: the control-protocol
//! codec (`proto`), the description parser with includes and substitution (`desc`) and
//! substitution alone (`subst`). Each runs the fuzz harness's own `run` (the same source file,
//! through `#[path]`) on the committed seeds, on arbitrary bytes and on mutated seeds, for a
//! bounded number of cases. The environment-file target needs `dinit-hosted`: its smoke test
//! is in `tests/fuzz_smoke.rs`.

// Test code: the panicking shortcuts are what a failing check should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/desc.rs"]
mod desc;
#[path = "../../fuzz/src/proto.rs"]
mod proto;
#[path = "../../fuzz/src/smoke.rs"]
mod smoke;
#[path = "../../fuzz/src/subst.rs"]
mod subst;
#[path = "../../fuzz/src/util.rs"]
mod util;

#[test]
fn proto() {
    smoke::check("proto", proto::run, 256, 512, 512);
}

#[test]
fn desc() {
    smoke::check("desc", desc::run, 1024, 192, 192);
}

#[test]
fn subst() {
    smoke::check("subst", subst::run, 512, 256, 256);
}
