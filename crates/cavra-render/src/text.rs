//! Text hygiene shared by the document backends.

/// Whether a character is a control character that no document should
/// carry: C0 controls other than tab, LF and CR, DEL, and C1 controls. They
/// are invalid in XML 1.0 (or discouraged) and invisible in HTML.
pub fn is_stray_control(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Removes stray control characters (see [`is_stray_control`]).
///
/// ```
/// assert_eq!(cavra_render::text::strip_controls("a\u{7}b\u{1b}[31mc\td"), "ab[31mc\td");
/// ```
pub fn strip_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(is_stray_control) {
        std::borrow::Cow::Owned(s.chars().filter(|c| !is_stray_control(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}
