//! The JSON Lines decision reader never panics, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cavra_model::read_decisions_jsonl(data);
});
