//! The audit-log verifier never panics on arbitrary bytes and never accepts
//! a log that holds anything (no record verifies without the audit key).
#![no_main]

use std::sync::OnceLock;

use cavra_deliver::audit::verify_log;
use cavra_render::signed::{PublicKey, SigningKey};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().expect("a key").public_key())
}

fuzz_target!(|data: &[u8]| {
    let v = verify_log(std::io::Cursor::new(data), key(), None);
    assert!(!v.ok(), "a log verified without the audit key: {v:?}");
});
