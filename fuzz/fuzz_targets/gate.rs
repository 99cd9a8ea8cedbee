//! The safety gate never panics, its spans are valid, and redacted text
//! holds nothing the gate would still find.
#![no_main]

use cavra_model::gate::{redact_text, scan_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for d in scan_text(text) {
            assert!(text.is_char_boundary(d.range.start) && text.is_char_boundary(d.range.end));
        }
        let (clean, _) = redact_text(text);
        assert!(scan_text(&clean).is_empty(), "redaction left a match in {clean:?}");
    }
});
