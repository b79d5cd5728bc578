//! Variable substitution of values and commands with arbitrary environments (see
//! `src/subst.rs`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dinit_fuzz::subst::run(data));
