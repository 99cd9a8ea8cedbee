//! The house palette, as `0xRRGGBB`: the text and rule colours every
//! document uses, the callout colours, and the chart series colours
//! (Okabe–Ito, distinguishable with colour-vision deficiencies). The
//! theme's accent colour is the one colour a tenant's setup chooses.
//!
//! ```
//! use cavra_render::document::palette::{css, INK};
//! assert_eq!(css(INK), "#1d2330");
//! ```

/// Body text.
pub const INK: u32 = 0x1D2330;
/// The page.
pub const PAGE: u32 = 0xFFFFFF;
/// Secondary text: labels, notes, footers.
pub const MUTED: u32 = 0x5B6475;
/// KPI tiles and table headers' light fill.
pub const TILE: u32 = 0xF4F6FA;
/// Rules between rows and around tiles.
pub const LINE: u32 = 0xD9DEE7;
/// Every other table row.
pub const ZEBRA: u32 = 0xFAFBFD;
/// Chart axes.
pub const AXIS: u32 = 0x9AA3B2;
/// Text on the accent colour.
pub const ON_ACCENT: u32 = 0xFFFFFF;
/// A note's background.
pub const INFO_BACKGROUND: u32 = 0xEEF5FB;
/// A warning's bar.
pub const WARNING: u32 = 0xE69F00;
/// A warning's background.
pub const WARNING_BACKGROUND: u32 = 0xFDF5E6;
/// An action-required callout's bar, and the classification badge's border.
pub const CRITICAL: u32 = 0xD55E00;
/// An action-required callout's background, and the draft banner's.
pub const CRITICAL_BACKGROUND: u32 = 0xFBEEE6;
/// Critical text: the draft banner, the classification marking (WCAG AA
/// on the page and on the critical background).
pub const CRITICAL_TEXT: u32 = 0x8A3B00;
/// A medium severity's mark.
pub const MEDIUM: u32 = 0xC9A800;
/// A medium severity's tint in Word tables.
pub const MEDIUM_BACKGROUND: u32 = 0xFBF6DC;
/// A low severity's mark.
pub const LOW: u32 = 0x56B4E9;
/// The draft watermark.
pub const WATERMARK: u32 = 0xE8E1DA;
/// The accent colour when a setup names none, or one that cannot be read.
pub const DEFAULT_ACCENT: u32 = 0x0072B2;

/// Chart series, in order of use.
pub const SERIES: [u32; 8] = [0x0072B2, 0xE69F00, 0x009E73, 0xD55E00, 0xCC79A7, 0x56B4E9, 0xF0E442, 0x000000];

/// A colour as CSS and SVG write it: `#rrggbb`.
pub fn css(colour: u32) -> String {
    format!("#{colour:06x}")
}

/// A colour as Office Open XML writes it: `RRGGBB`.
///
/// ```
/// assert_eq!(cavra_render::document::palette::ooxml(cavra_render::document::palette::MUTED), "5B6475");
/// ```
pub fn ooxml(colour: u32) -> String {
    format!("{colour:06X}")
}

/// The text colour for a `background` (the theme's accent, say): white or
/// ink, whichever contrasts more.
///
/// ```
/// use cavra_render::document::palette::{on, INK, ON_ACCENT};
/// assert_eq!(on(0x0072B2), ON_ACCENT);
/// assert_eq!(on(0xF0E442), INK);
/// ```
pub fn on(background: u32) -> u32 {
    if contrast(ON_ACCENT, background) >= contrast(INK, background) {
        ON_ACCENT
    } else {
        INK
    }
}

/// WCAG 2 relative luminance of a colour.
pub fn luminance(colour: u32) -> f64 {
    let channel = |shift: u32| {
        let c = f64::from((colour >> shift) & 0xFF) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(16) + 0.7152 * channel(8) + 0.0722 * channel(0)
}

/// WCAG 2 contrast ratio of two colours (1 to 21).
///
/// ```
/// use cavra_render::document::palette::{contrast, INK, PAGE};
/// assert!(contrast(INK, PAGE) > 15.0);
/// ```
pub fn contrast(a: u32, b: u32) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair of text and background the documents draw meets WCAG AA
    /// for body text (4.5:1).
    #[test]
    fn text_colours_meet_wcag_aa_on_their_backgrounds() {
        let pairs = [
            (INK, PAGE),
            (INK, TILE),
            (INK, ZEBRA),
            (INK, INFO_BACKGROUND),
            (INK, WARNING_BACKGROUND),
            (INK, CRITICAL_BACKGROUND),
            (MUTED, PAGE),
            (MUTED, TILE),
            (MUTED, ZEBRA),
            (CRITICAL_TEXT, PAGE),
            (CRITICAL_TEXT, CRITICAL_BACKGROUND),
            (ON_ACCENT, DEFAULT_ACCENT),
            (INK, MEDIUM_BACKGROUND),
        ];
        for (text, background) in pairs {
            let ratio = contrast(text, background);
            assert!(ratio >= 4.5, "{} on {}: {ratio:.2}", css(text), css(background));
        }
    }
}
