//! How a table is laid out in a paged document: which words may break and
//! where, how wide each column is, and whether the table needs a landscape
//! page. Decided here once; the PDF backend draws it, and the HTML and DOCX
//! backends take the same break points.
//!
//! Widths follow CSS's automatic table layout: a column's *minimum* is its
//! longest word (so an agent id, a rule id or a timestamp never breaks
//! inside when it can fit), its *preferred* width is its longest text on
//! one line, and the room left over goes to the columns that want more.
//!
//! ```
//! use cavra_render::document::table::{measure_column, plan_table, Orientation, TableMetrics};
//! let m = TableMetrics::PAGE;
//! let width = |s: &str| s.chars().count() as f64 * 4.0; // 4 pt a character
//! let id = measure_column("Agent", ["codex-payments", "ml-trainer"].into_iter(), &m, &width, &width);
//! assert_eq!(id.min, 14.0 * 4.0 + 2.0 * m.pad);
//! let plan = plan_table(&[id], 400.0, 700.0);
//! assert_eq!(plan.orientation, Orientation::Portrait);
//! assert_eq!(plan.widths, vec![400.0]);
//! ```

/// Sizes of a table on one medium, in its unit (points on a PDF page).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableMetrics {
    /// Body and header text size.
    pub font_size: f64,
    /// Line advance of a cell's text.
    pub lead: f64,
    /// Space between a cell's text and its edges.
    pub pad: f64,
    /// The narrowest a column is drawn.
    pub min_column: f64,
    /// The widest a column's minimum grows for one unbreakable word: a
    /// longer word breaks at its natural points (see [`break_points`]).
    pub max_word: f64,
    /// The widest a column's preferred width grows.
    pub max_natural: f64,
    /// Lines a cell shows at most; the last of them ends in `…` when cut
    /// (the data forms hold the whole text).
    pub max_lines: usize,
}

impl TableMetrics {
    /// A Word document's tables: 8 pt text, Word's default cell margins
    /// (0.08 in); Word wraps the lines itself.
    pub const WORD: TableMetrics = TableMetrics {
        font_size: 8.0,
        lead: 10.0,
        pad: 5.75,
        min_column: 28.0,
        max_word: 150.0,
        max_natural: 320.0,
        max_lines: usize::MAX,
    };

    /// A PDF page's tables: 7 pt text.
    pub const PAGE: TableMetrics = TableMetrics {
        font_size: 7.0,
        lead: 9.0,
        pad: 3.0,
        min_column: 24.0,
        max_word: 120.0,
        max_natural: 260.0,
        max_lines: 4,
    };
}

/// A column's measured widths, padding included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnMeasure {
    /// Its longest word (within [`TableMetrics::max_word`]).
    pub min: f64,
    /// Its longest text on one line (within [`TableMetrics::max_natural`]).
    pub natural: f64,
}

/// Which way up a table's pages are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    /// The document's own page.
    Portrait,
    /// The page turned: the table's minimum widths do not fit upright.
    Landscape,
}

/// A table's column widths and page orientation.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    /// One width per column, padding included; they sum to the content
    /// width of the chosen orientation.
    pub widths: Vec<f64>,
    /// The pages the table goes on.
    pub orientation: Orientation,
}

/// Measures one column from its header and cells, with `regular` and
/// `bold` (the header's face) giving a text's width.
pub fn measure_column<'a>(
    header: &str,
    cells: impl Iterator<Item = &'a str>,
    m: &TableMetrics,
    regular: &dyn Fn(&str) -> f64,
    bold: &dyn Fn(&str) -> f64,
) -> ColumnMeasure {
    let mut word = header.split_whitespace().map(bold).fold(0.0, f64::max);
    let mut line = bold(header);
    for cell in cells {
        for w in cell.split_whitespace() {
            word = word.max(regular(w));
        }
        line = line.max(cell.split('\n').map(regular).fold(0.0, f64::max));
    }
    let min = (word + 2.0 * m.pad).clamp(m.min_column, m.max_word + 2.0 * m.pad);
    let natural = (line + 2.0 * m.pad).clamp(min, m.max_natural.max(min));
    ColumnMeasure { min, natural }
}

/// Column widths and orientation for `columns`: upright when their
/// minimums fit `portrait` (the upright content width) with room to give
/// the columns at least half of what they want beyond their minimums (so
/// a prose column is not squeezed to its longest word), else on landscape
/// pages `landscape` wide (where minimums that still do not fit shrink in
/// proportion, and their words break at natural points).
///
/// ```
/// use cavra_render::document::table::{plan_table, ColumnMeasure, Orientation};
/// let wide = vec![ColumnMeasure { min: 60.0, natural: 90.0 }; 10];
/// let plan = plan_table(&wide, 500.0, 740.0);
/// assert_eq!(plan.orientation, Orientation::Landscape);
/// assert!((plan.widths.iter().sum::<f64>() - 740.0).abs() < 1e-6);
/// ```
pub fn plan_table(columns: &[ColumnMeasure], portrait: f64, landscape: f64) -> TablePlan {
    let min: Vec<f64> = columns.iter().map(|c| c.min).collect();
    let natural: Vec<f64> = columns.iter().map(|c| c.natural).collect();
    let (need, want) = (min.iter().sum::<f64>(), natural.iter().sum::<f64>());
    let roomy = |width: f64| width - need >= 0.5 * (want - need);
    let orientation = if landscape <= portrait || (need <= portrait && roomy(portrait)) {
        Orientation::Portrait
    } else {
        Orientation::Landscape
    };
    let available = match orientation {
        Orientation::Portrait => portrait,
        Orientation::Landscape => landscape,
    };
    TablePlan { widths: super::column_widths(&min, &natural, available), orientation }
}

/// Which of `blocks` go on landscape pages, given which of them are
/// tables too wide for portrait (`wide`, one flag per block): those
/// tables, the headings just before each and at most one paragraph
/// between them and the table, so a section does not start on one page
/// and its table on the next.
///
/// ```
/// use cavra_model::report::{Block, TableRef};
/// use cavra_render::document::table::landscape_blocks;
/// let t = Block::Table(TableRef { dataset: "d".into(), max_rows: None, columns: vec![], filter: None });
/// let h = Block::Heading { level: 2, text: "Register".into() };
/// let p = Block::Paragraph { text: "About it.".into() };
/// let blocks = [p.clone(), h, p, t];
/// assert_eq!(landscape_blocks(&blocks, &[false, false, false, true]), vec![false, true, true, true]);
/// ```
pub fn landscape_blocks(blocks: &[cavra_model::report::Block], wide: &[bool]) -> Vec<bool> {
    use cavra_model::report::Block;
    let mut turned = vec![false; blocks.len()];
    for (i, _) in wide.iter().enumerate().filter(|(i, w)| **w && *i < blocks.len()) {
        turned[i] = true;
        let mut j = i;
        let mut paragraphs = 0;
        while j > 0 {
            match &blocks[j - 1] {
                Block::Heading { level, .. } if *level > 1 => {}
                Block::Paragraph { .. } if paragraphs == 0 && !matches!(blocks[j], Block::Heading { .. }) => {
                    paragraphs += 1;
                }
                _ => break,
            }
            j -= 1;
            turned[j] = true;
        }
    }
    turned
}

/// Each table block of `report` made ready to lay out with `make` (`None`
/// for every other block), and which blocks go on landscape pages
/// ([`landscape_blocks`] over the tables whose `plan` turns).
///
/// # Errors
/// [`crate::RenderError::Backend`] for a table naming a dataset the report
/// does not have.
pub(crate) fn plan_tables<'r, T>(
    report: &'r cavra_model::report::Report,
    format: crate::Format,
    mut make: impl FnMut(cavra_model::report::TableView<'r>) -> T,
    plan: impl Fn(&T) -> &TablePlan,
) -> Result<(Vec<Option<T>>, Vec<bool>), crate::RenderError> {
    use cavra_model::report::Block;
    let mut tables = Vec::with_capacity(report.blocks.len());
    for b in &report.blocks {
        tables.push(match b {
            Block::Table(t) => Some(make(report.table_view(t).ok_or_else(|| crate::RenderError::Backend {
                format,
                message: format!("block refers to missing dataset `{}`", t.dataset),
            })?)),
            _ => None,
        });
    }
    let wide: Vec<bool> =
        tables.iter().map(|t| t.as_ref().is_some_and(|t| plan(t).orientation == Orientation::Landscape)).collect();
    let turned = landscape_blocks(&report.blocks, &wide);
    Ok((tables, turned))
}

/// Whether a line may end after `c` inside a word: after a hyphen,
/// underscore, slash, full stop, colon, semicolon or comma.
fn breaks_after(c: char) -> bool {
    matches!(c, '-' | '_' | '/' | '.' | ':' | ';' | ',' | '\\' | '|')
}

/// The byte offsets inside `word` where a line may end: after the
/// characters of [`breaks_after`], and before the `T` of a timestamp (a
/// `T` between two digits).
///
/// ```
/// use cavra_render::document::table::break_points;
/// assert_eq!(break_points("codex-payments"), vec![6]);
/// assert_eq!(break_points("2026-11-01T07:31Z"), vec![5, 8, 10, 14]);
/// assert!(break_points("plain").is_empty());
/// ```
pub fn break_points(word: &str) -> Vec<usize> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut points = Vec::new();
    for (k, &(_, c)) in chars.iter().enumerate() {
        let Some(&(next, after)) = chars.get(k + 1) else { break };
        let timestamp_t =
            after == 'T' && c.is_ascii_digit() && chars.get(k + 2).is_some_and(|(_, d)| d.is_ascii_digit());
        if (breaks_after(c) && !breaks_after(after)) || timestamp_t {
            points.push(next);
        }
    }
    points
}

/// Splits `text` into lines no wider than `max` (as `measure` gives
/// widths): words stay whole when they fit a line; a longer word breaks at
/// its [`break_points`], and only a piece still too long between two of
/// them breaks between characters. Newlines in `text` start new lines.
///
/// ```
/// use cavra_render::document::table::wrap;
/// let width = |s: &str| s.chars().count() as f64;
/// assert_eq!(wrap("codex-payments ok", 14.0, &width), vec!["codex-payments", "ok"]);
/// assert_eq!(wrap("codex-payments", 10.0, &width), vec!["codex-", "payments"]);
/// assert_eq!(wrap("abcdefghij", 4.0, &width), vec!["abcd", "efgh", "ij"]);
/// ```
pub fn wrap(text: &str, max: f64, measure: &dyn Fn(&str) -> f64) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if measure(&candidate) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if measure(word) <= max {
                line = word.to_string();
                continue;
            }
            let mut pieces = split_word(word, max, measure);
            line = pieces.pop().unwrap_or_default();
            lines.extend(pieces);
        }
        lines.push(line);
    }
    lines
}

/// `word` (too wide for `max`) in pieces that fit, each ending at the last
/// break point that fits, or between characters where none does.
fn split_word(word: &str, max: f64, measure: &dyn Fn(&str) -> f64) -> Vec<String> {
    let points = break_points(word);
    let mut pieces = Vec::new();
    let mut start = 0;
    while measure(&word[start..]) > max {
        let at_point = points.iter().rev().find(|&&p| p > start && measure(&word[start..p]) <= max).copied();
        let end = at_point.unwrap_or_else(|| {
            // No break point fits: as many characters as fit, at least one.
            let mut end = start;
            for (i, c) in word[start..].char_indices() {
                let next = start + i + c.len_utf8();
                if end > start && measure(&word[start..next]) > max {
                    break;
                }
                end = next;
            }
            end
        });
        pieces.push(word[start..end].to_string());
        start = end;
    }
    pieces.push(word[start..].to_string());
    pieces
}

/// The longest word a screen keeps on one line whatever its column's
/// width, in characters (an agent id, a rule id, a timestamp).
pub const WHOLE_WORD_CHARS: usize = 32;

/// Whether a column of these cells is kept on one line on a screen: every
/// cell is a single word of at most [`WHOLE_WORD_CHARS`] characters. (A
/// browser would otherwise break `codex-payments` after its hyphen.)
///
/// ```
/// use cavra_render::document::table::keeps_whole;
/// assert!(keeps_whole(["codex-payments", "2026-11-01T07:31:26Z"].into_iter()));
/// assert!(!keeps_whole(["Production apply outside change window"].into_iter()));
/// ```
pub fn keeps_whole<'a>(mut cells: impl Iterator<Item = &'a str>) -> bool {
    cells.all(|c| !c.contains(char::is_whitespace) && c.chars().count() <= WHOLE_WORD_CHARS)
}

/// Cuts `lines` to [`TableMetrics::max_lines`], ending the last kept line
/// with `…` (shortened with `fit` until it fits).
pub fn limit_lines(mut lines: Vec<String>, m: &TableMetrics, fit: &dyn Fn(&str) -> String) -> Vec<String> {
    if lines.len() > m.max_lines {
        lines.truncate(m.max_lines);
        if let Some(last) = lines.last_mut() {
            *last = fit(&format!("{last}…"));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width(s: &str) -> f64 {
        s.chars().count() as f64
    }

    #[test]
    fn a_word_that_fits_is_never_broken() {
        for max in 14..30 {
            let lines = wrap("agent codex-payments at 2026-11-01T07:31:26Z", max as f64, &width);
            assert!(lines.iter().any(|l| l.split(' ').any(|w| w == "codex-payments")), "{max}: {lines:?}");
            assert!(lines.iter().all(|l| width(l) <= max as f64), "{max}: {lines:?}");
        }
    }

    #[test]
    fn a_timestamp_breaks_before_its_time_first() {
        assert_eq!(wrap("2026-11-01T07:31:26Z", 11.0, &width), vec!["2026-11-01", "T07:31:26Z"]);
    }

    #[test]
    fn every_line_fits_and_no_character_is_lost() {
        let text = "blocked_action;approval_gate;warned_action verylongtokenwithoutanybreak x";
        for max in 1..40 {
            let lines = wrap(text, max as f64, &width);
            assert!(lines.iter().all(|l| width(l) <= max as f64 || width(l) == 1.0), "{max}: {lines:?}");
            let joined: String = lines.concat().chars().filter(|c| *c != ' ').collect();
            let want: String = text.chars().filter(|c| *c != ' ').collect();
            assert_eq!(joined, want);
        }
    }

    #[test]
    fn wide_tables_turn_and_narrow_ones_do_not() {
        let col = ColumnMeasure { min: 50.0, natural: 54.0 };
        assert_eq!(plan_table(&[col; 9], 495.0, 742.0).orientation, Orientation::Portrait);
        let plan = plan_table(&[col; 11], 495.0, 742.0);
        assert_eq!(plan.orientation, Orientation::Landscape);
        assert!(plan.widths.iter().all(|w| *w >= 50.0));
        // The minimums fit upright, but a prose column would get only a
        // fifth of what it wants: the table turns.
        let prose = [ColumnMeasure { min: 400.0, natural: 400.0 }, ColumnMeasure { min: 50.0, natural: 260.0 }];
        assert_eq!(plan_table(&prose, 495.0, 742.0).orientation, Orientation::Landscape);
        assert_eq!(plan_table(&prose, 495.0, 495.0).orientation, Orientation::Portrait, "no wider page to turn to");
        assert_eq!(plan_table(&[col; 11], 495.0, 495.0).orientation, Orientation::Portrait, "nor when too wide");
    }
}
