//! See `portico::fuzzing::id_token_hint`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico::fuzzing::id_token_hint(data));
