//! The document layer: what the document formats (Markdown, HTML, PDF,
//! DOCX and the XLSX summary sheet) show and how they word it, decided
//! once for all of them. Backends draw what it decides.
//!
//! Today it owns the wording of callouts and of the note under a table that
//! shows only its first rows, and the house palette. Column views, widths
//! and chart geometry follow.
//!
//! ```
//! use cavra_model::report::Tone;
//! use cavra_render::document::{tone, truncation_note};
//! assert_eq!(tone(Tone::Critical).label, "Action required");
//! assert_eq!(
//!     truncation_note(50, 400, "items"),
//!     "Showing 50 of 400 rows. The CSV, JSON, JSON Lines and XLSX forms of this report hold every row of the “items” dataset."
//! );
//! ```

use cavra_model::report::Tone;

pub mod palette;

/// How a callout of a tone is labelled and coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToneStyle {
    /// The label the callout's text follows (`Note: …`).
    pub label: &'static str,
    /// Its class name in HTML (`callout info`).
    pub class: &'static str,
    /// The bar beside it: `None` for the theme's accent colour.
    pub colour: Option<u32>,
    /// Its background.
    pub background: u32,
}

/// The style of a callout of `tone`.
pub fn tone(tone: Tone) -> ToneStyle {
    match tone {
        Tone::Info => ToneStyle { label: "Note", class: "info", colour: None, background: palette::INFO_BACKGROUND },
        Tone::Warning => ToneStyle {
            label: "Warning",
            class: "warning",
            colour: Some(palette::WARNING),
            background: palette::WARNING_BACKGROUND,
        },
        Tone::Critical => ToneStyle {
            label: "Action required",
            class: "critical",
            colour: Some(palette::CRITICAL),
            background: palette::CRITICAL_BACKGROUND,
        },
    }
}

/// The note under a table that shows `shown` of its dataset's `total`
/// rows, naming the dataset and the forms that hold every row.
pub fn truncation_note(shown: usize, total: usize, dataset: &str) -> String {
    format!(
        "Showing {shown} of {total} rows. The CSV, JSON, JSON Lines and XLSX forms of this report hold every row of the “{dataset}” dataset."
    )
}

/// Rows a PDF table shows at most when its block sets no cap of its own.
pub const PDF_TABLE_ROWS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tone_has_its_own_label_and_class() {
        let styles = [Tone::Info, Tone::Warning, Tone::Critical].map(tone);
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert_ne!(a.label, b.label);
                assert_ne!(a.class, b.class);
            }
        }
    }
}
