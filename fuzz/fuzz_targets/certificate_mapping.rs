//! See `portico::fuzzing::certificate_mapping`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = portico::fuzzing::certificate_mapping(data);
});
