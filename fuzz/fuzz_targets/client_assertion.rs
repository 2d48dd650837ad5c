//! See `portico::fuzzing::client_assertion`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // What the endpoint answered is for the harness's own tests; a panic is the finding.
    let _ = portico::fuzzing::client_assertion(data);
});
