//! Text hygiene shared by the document backends.

/// Whether a character is a control character that no document should
/// carry: C0 controls other than tab, LF and CR, DEL, and C1 controls. They
/// are invalid in XML 1.0 (or discouraged) and invisible in HTML.
pub fn is_stray_control(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{FFFE}' | '\u{FFFF}')
        || cavra_model::gate::is_bidi_control(c)
}

/// Whether a spreadsheet would evaluate a cell starting like `text`: a
/// formula character (`=`, `+`, `-`, `@`, or their full-width and small
/// forms), possibly after leading spaces, or a tab, CR or LF.
///
/// ```
/// use cavra_render::text::starts_like_formula;
/// for t in ["=1+1", "  =HYPERLINK(\"x\")", "＝1+1", "\u{3000}＋1", "－2", "＠SUM(A1)", "\tx", "@x"] {
///     assert!(starts_like_formula(t), "{t:?}");
/// }
/// assert!(!starts_like_formula("agent-1") && !starts_like_formula("1-2"));
/// ```
pub fn starts_like_formula(text: &str) -> bool {
    if text.starts_with(['\t', '\r', '\n']) {
        return true;
    }
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{200B}' || c == '\u{FEFF}');
    t.starts_with(['=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠', '﹦', '﹢', '﹣', '﹫'])
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
