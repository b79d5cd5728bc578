//! The environment-file parser against a model of the format, and the hosted environment
//! built from it (see `src/envfile.rs`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dinit_fuzz::envfile::run(data));
