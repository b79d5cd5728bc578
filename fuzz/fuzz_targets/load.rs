//! The real loader on files written to a scratch directory: includes, env-files, `.d`
//! directories, dependencies, one load transaction (see `src/load.rs`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dinit_fuzz::load::run(data));
