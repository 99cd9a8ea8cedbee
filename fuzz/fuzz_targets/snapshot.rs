//! The snapshot parser never panics, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for gate in [cavra_model::gate::GateMode::FailClosed, cavra_model::gate::GateMode::Redact] {
            let _ = cavra_model::Snapshot::from_json_str(text, &cavra_model::LoadOptions { gate });
        }
    }
});
