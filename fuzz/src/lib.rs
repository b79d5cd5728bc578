//! The checks behind the fuzz targets of `fuzz_targets/`, one module per target. Each module
//! has a `run(&[u8])` that panics when an invariant breaks. The same files are compiled into
//! the proptest smoke tests of the normal test suite (`core-nostd/tests/fuzz_smoke.rs`,
//! `tests/fuzz_smoke.rs`) through `#[path]`, so that both run exactly the same checks;
//! `smoke.rs`, which drives them there with proptest, is compiled into those tests only.

pub mod control;
pub mod desc;
pub mod envfile;
pub mod load;
pub mod proto;
pub mod subst;
pub mod util;
