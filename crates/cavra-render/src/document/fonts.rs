//! The typeface documents are set in (DejaVu Sans, embedded in the PDFs
//! and named by the Word documents) and its metrics: a text's width at a
//! size, read from the font's own advances, so every backend that lays
//! text out measures it the same way.
//!
//! ```
//! use cavra_render::document::fonts::text_width;
//! let w = text_width("codex-payments", 7.0, false);
//! assert!(w > 40.0 && w < 60.0, "{w}");
//! assert!(text_width("Agent", 7.0, true) > text_width("Agent", 7.0, false));
//! ```

use std::sync::LazyLock;

/// DejaVu Sans.
pub(crate) static REGULAR: &[u8] = include_bytes!("../../../../fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
pub(crate) static BOLD: &[u8] = include_bytes!("../../../../fonts/DejaVuSans-Bold.ttf");

/// Code points below this (Latin, punctuation, dashes, arrows, maths) have
/// their advance in a table; others are looked up in the font.
pub const TABLE_CHARS: usize = 0x2400;

/// Marks a code point the font has no glyph for.
pub const NO_GLYPH: u16 = u16::MAX;

/// The advance of every code point below [`TABLE_CHARS`], in font units.
pub fn advance_table(face: &ttf_parser::Face) -> Vec<u16> {
    (0..TABLE_CHARS as u32)
        .map(|c| {
            char::from_u32(c)
                .and_then(|c| face.glyph_index(c))
                .and_then(|g| face.glyph_hor_advance(g))
                .unwrap_or(NO_GLYPH)
        })
        .collect()
}

/// Advance widths of the first [`TABLE_CHARS`] code points of each face,
/// read once per process (measuring text is the most frequent thing layout
/// does).
pub(crate) static ADVANCES: LazyLock<(Vec<u16>, Vec<u16>)> = LazyLock::new(|| {
    let table = |bytes: &[u8]| ttf_parser::Face::parse(bytes, 0).map(|f| advance_table(&f)).unwrap_or_default();
    (table(REGULAR), table(BOLD))
});

static FACES: LazyLock<Option<(ttf_parser::Face<'static>, ttf_parser::Face<'static>)>> =
    LazyLock::new(|| Some((ttf_parser::Face::parse(REGULAR, 0).ok()?, ttf_parser::Face::parse(BOLD, 0).ok()?)));

/// Width of `text` at `size` points in `face`, with `advances` from
/// [`advance_table`] for the common code points.
pub fn advance_width(face: &ttf_parser::Face, advances: &[u16], text: &str, size: f32) -> f32 {
    let upem = f32::from(face.units_per_em());
    let missing = upem * 0.5;
    let units: f32 = text
        .chars()
        .map(|c| match advances.get(c as usize) {
            Some(&NO_GLYPH) => missing,
            Some(a) => f32::from(*a),
            None => face.glyph_index(c).and_then(|g| face.glyph_hor_advance(g)).map_or(missing, f32::from),
        })
        .sum();
    units * size / upem
}

/// The width of `text` at `size` points in the document face (bold or
/// regular); an estimate of half an em a character if the embedded font
/// could not be read.
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    match FACES.as_ref() {
        Some((regular, heavy)) => {
            let (face, advances) = if bold { (heavy, &ADVANCES.1) } else { (regular, &ADVANCES.0) };
            f64::from(advance_width(face, advances, text, size as f32))
        }
        None => text.chars().count() as f64 * size * 0.5,
    }
}
