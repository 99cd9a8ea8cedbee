//! The archive layout check and `verify` never panic on arbitrary bytes.
#![no_main]

use std::sync::OnceLock;

use cavra_package::verify::{verify_package, Limits};
use cavra_render::signed::SigningKey;
use libfuzzer_sys::fuzz_target;

fn key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().expect("a key").public_key_file())
}

fuzz_target!(|data: &[u8]| {
    let _ = cavra_package::layout::check_layout(&mut std::io::Cursor::new(data), 1 << 20);
    let v = verify_package(std::io::Cursor::new(data), key(), &Limits::default()).expect("the key is valid");
    assert!(!v.ok(), "random bytes verified as a package");
});
