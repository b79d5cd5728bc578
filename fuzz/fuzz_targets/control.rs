//! The control server's per-connection state machine: arbitrary byte streams written to a
//! connection of a real user-mode daemon running in this process (see `src/control.rs`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dinit_fuzz::control::run(data));
