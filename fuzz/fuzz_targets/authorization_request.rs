//! See `portico::fuzzing::authorization_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico::fuzzing::authorization_request(data));
