//! The operations snapshot parser never panics, whatever the bytes; what it
//! accepts writes back to the same snapshot, and every operations kind
//! builds from it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(snapshot) = cavra_ops::OpsSnapshot::from_json_str(text) else { return };
    let again = cavra_ops::OpsSnapshot::from_json_str(&snapshot.to_json()).expect("its own form parses");
    assert_eq!(again, snapshot);
    let kinds = cavra_model::report::OpsKind::ALL;
    for report in cavra_ops::build_ops_reports(kinds, &snapshot, &Default::default(), &Default::default()) {
        assert!(report.check_tables().is_ok());
    }
});
