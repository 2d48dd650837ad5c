//! See `portico::fuzzing::client_assertion`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico::fuzzing::client_assertion(data));
