//! The layout check and `verify` never panic on arbitrary or mangled
//! archives, and a genuine package cut or extended at any point never
//! verifies.

use std::io::Cursor;
use std::sync::OnceLock;

use cavra_package::verify::{verify_package, Limits};
use cavra_package::PackageType;
use cavra_render::signed::SigningKey;
use proptest::prelude::*;

fn genuine() -> &'static (Vec<u8>, String) {
    static PKG: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    PKG.get_or_init(|| {
        let snapshot = cavra_model::Snapshot::from_json_str(
            include_str!("../../../examples/sample_snapshot.json"),
            &Default::default(),
        )
        .unwrap();
        let posture = cavra_model::Posture::compute(&snapshot);
        let key = SigningKey::generate().unwrap();
        let p =
            cavra_package::build_package(PackageType::SiemExportBundle, &snapshot, &posture, &Default::default(), &key)
                .unwrap();
        (p.bytes, key.public_key_file())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_panic_or_verify(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let (_, key) = genuine();
        let _ = cavra_package::layout::check_layout(&mut Cursor::new(&data), 1 << 20);
        prop_assert!(!verify_package(Cursor::new(&data), key, &Limits::default()).unwrap().ok());
    }

    #[test]
    fn a_cut_or_extended_package_never_verifies(cut in any::<prop::sample::Index>(), extra in prop::collection::vec(any::<u8>(), 1..64)) {
        let (bytes, key) = genuine();
        let n = cut.index(bytes.len());
        prop_assert!(!verify_package(Cursor::new(&bytes[..n]), key, &Limits::default()).unwrap().ok());
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert!(!verify_package(Cursor::new(&longer), key, &Limits::default()).unwrap().ok());
        let mut prefixed = extra.clone();
        prefixed.extend_from_slice(bytes);
        prop_assert!(!verify_package(Cursor::new(&prefixed), key, &Limits::default()).unwrap().ok());
    }
}
