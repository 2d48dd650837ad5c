//! See `portico::fuzzing::token_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico::fuzzing::token_request(data));
