//! The setup file and the remediation plan file never panic their parsers,
//! whatever the bytes; a setup file that loads yields its three contract
//! documents, none of which carries what the safety gate refuses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = cavra_ops::response::workflows::NewPlan::from_toml(text);
    let Ok(config) = cavra_deliver::config::Config::from_toml(text) else { return };
    let docs = [
        serde_json::to_string(&cavra_deliver::contracts::setup(&config, "sha256:00")).unwrap(),
        serde_json::to_string(&cavra_deliver::contracts::recipient_policy(&config, "sha256:00")).unwrap(),
        serde_json::to_string(&cavra_deliver::contracts::schedule_policy(&config, "sha256:00")).unwrap(),
    ];
    for d in docs {
        assert!(!d.contains('@'), "no address in a contract document");
    }
});
