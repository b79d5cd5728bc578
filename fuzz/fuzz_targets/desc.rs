//! The service-description parser with `@include` (an in-memory resolver), error recovery,
//! the assembled description and post-load substitution (see `src/desc.rs`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dinit_fuzz::desc::run(data));
