//! The control-protocol codec: every request, reply and information packet parser, round
//! trips, framing of prefixes, and emission of generated values (see `src/proto.rs`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dinit_fuzz::proto::run(data));
