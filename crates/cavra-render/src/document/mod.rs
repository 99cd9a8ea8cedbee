//! The document layer: what the document formats (Markdown, HTML, PDF,
//! DOCX and the XLSX summary sheet) show and how they word it, decided
//! once for all of them. Backends draw what it decides.
//!
//! It owns the wording of callouts and of the note under a table that
//! shows only part of its dataset, the house palette, the size of a chart's
//! box on each medium, and (in [`table`]) where words break, how wide a
//! table's columns are and whether it needs landscape pages.
//!
//! ```
//! use cavra_model::report::Tone;
//! use cavra_render::document::{table_note, tone};
//! assert_eq!(tone(Tone::Critical).label, "Action required");
//! assert_eq!(
//!     table_note(50, 400, 3, 3, "items").unwrap(),
//!     "Showing 50 of 400 rows. The CSV, JSON, JSON Lines and XLSX forms of this report hold every row of the “items” dataset."
//! );
//! ```

use cavra_model::report::{Chart, ChartKind, Tone};

pub mod fonts;
pub mod palette;
pub mod table;

/// What a document is drawn on: each medium sizes charts its own way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Medium {
    /// An HTML page on a screen.
    Screen,
    /// A PDF page whose content area is `width` points wide.
    Page {
        /// Content width in points.
        width: f64,
    },
    /// A Word document (pictures in layout units of 1/96 inch).
    Word,
    /// A spreadsheet's sheet (native charts and pictures in pixels).
    Sheet,
}

/// Chart metrics of one medium.
struct ChartMetrics {
    width: f64,
    /// Per bar, plus 30 for the axis.
    bar: f64,
    line: f64,
    donut: f64,
    /// Per heat-map row, plus 80 for the labels.
    heat_row: f64,
}

/// A spreadsheet chart's box: one size whatever it shows (Excel's default).
const SHEET_CHART: (f64, f64) = (480.0, 288.0);

impl Medium {
    /// `None` where a chart's box does not depend on what it shows.
    fn chart_metrics(self) -> Option<ChartMetrics> {
        match self {
            Medium::Screen => Some(ChartMetrics { width: 760.0, bar: 28.0, line: 260.0, donut: 220.0, heat_row: 24.0 }),
            Medium::Page { width } => {
                Some(ChartMetrics { width, bar: 24.0, line: 220.0, donut: 190.0, heat_row: 16.0 })
            }
            // An A4 page's text column with docx-rs's 1-inch margins is 6.27 in.
            Medium::Word => Some(ChartMetrics { width: 600.0, bar: 28.0, line: 240.0, donut: 200.0, heat_row: 20.0 }),
            Medium::Sheet => None,
        }
    }
}

/// The box (`width`, `height`) `chart` is laid out in on `medium`.
///
/// ```
/// use cavra_model::report::{Chart, ChartKind, Series};
/// use cavra_render::document::{chart_box, Medium};
/// let chart = Chart {
///     kind: ChartKind::Bar,
///     title: "Decisions".into(),
///     categories: vec!["a".into(), "b".into()],
///     series: vec![Series { name: "n".into(), values: vec![1.0, 2.0] }],
/// };
/// assert_eq!(chart_box(&chart, Medium::Screen), (760.0, 86.0));
/// assert_eq!(chart_box(&chart, Medium::Page { width: 500.0 }).0, 500.0);
/// ```
pub fn chart_box(chart: &Chart, medium: Medium) -> (f64, f64) {
    let Some(m) = medium.chart_metrics() else { return SHEET_CHART };
    let height = match chart.kind {
        ChartKind::Bar => 30.0 + m.bar * chart.categories.len().max(1) as f64,
        ChartKind::Line => m.line,
        ChartKind::Donut => m.donut,
        ChartKind::HeatMap => 80.0 + m.heat_row * chart.series.len().max(1) as f64,
    };
    (m.width, height)
}

/// A chart value as labels, caches and text alternatives write it: whole
/// numbers without decimals, others with one.
///
/// ```
/// use cavra_render::document::chart_value;
/// assert_eq!((chart_value(3.0), chart_value(1.25)), ("3".to_string(), "1.2".to_string()));
/// ```
pub fn chart_value(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The type sizes of a paged medium, in points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypeScale {
    /// The report's title on the cover.
    pub title: f32,
    /// The tenant's name under it.
    pub subtitle: f32,
    /// Section headings (level 2).
    pub heading: f32,
    /// Sub-headings (level 3 and below).
    pub subheading: f32,
    /// Paragraphs and list items.
    pub body: f32,
    /// Callouts.
    pub callout: f32,
    /// A chart's title.
    pub chart_title: f32,
    /// A table's title.
    pub table_title: f32,
    /// The cover's report facts.
    pub meta: f32,
    /// The branding line over the title.
    pub branding: f32,
    /// The note under a table.
    pub note: f32,
    /// Running header, page numbers, chart legends.
    pub running: f32,
    /// KPI labels and notes, the legal footer.
    pub small: f32,
    /// A KPI's value.
    pub figure: f32,
}

/// The type scale of a PDF page.
pub const PAGE_TYPE: TypeScale = TypeScale {
    title: 24.0,
    subtitle: 13.0,
    heading: 15.0,
    subheading: 12.0,
    body: 9.5,
    callout: 9.0,
    chart_title: 10.0,
    table_title: 9.0,
    meta: 8.5,
    branding: 8.0,
    note: 7.5,
    running: 7.0,
    small: 6.5,
    figure: 15.0,
};

/// The geometry of a paged medium's building blocks, in points: KPI tiles,
/// callouts, lists, headings and chart legends. The PDF backend draws with
/// these; nothing of it is decided there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageBoxes {
    /// Line advance as a multiple of the type size.
    pub lead: f32,
    /// KPI tiles in a row.
    pub tiles_per_row: usize,
    /// Space between tiles, across and down.
    pub tile_gap: f32,
    /// A tile's height with one label line.
    pub tile_height: f32,
    /// What a second label line adds to the tile (and moves down below it).
    pub tile_label_line: f32,
    /// Text inset from a tile's left edge (right: `2 × tile_inset - 4`).
    pub tile_inset: f32,
    /// Width of the accent bar at the left of tiles and callouts.
    pub accent_bar: f32,
    /// Baselines inside a tile, from its top: first label line, value, first note line.
    pub tile_baselines: (f32, f32, f32),
    /// Space after a row of tiles' block.
    pub tiles_after: f32,
    /// A callout's text inset, its line advance, its padding (top and bottom together) and its first baseline.
    pub callout: (f32, f32, f32, f32),
    /// Space after a callout.
    pub callout_after: f32,
    /// A list item's marker inset and text indent.
    pub list_indent: (f32, f32),
    /// Room a heading keeps for what follows it, beyond two of its lines.
    pub heading_keep: f32,
    /// Space under a heading's rule.
    pub heading_after: f32,
    /// Columns of a chart's legend, its row advance, its swatch size and the swatch-to-text gap.
    pub legend: (usize, f32, f32, f32),
}

/// The paged media's building blocks.
pub const PAGE_BOXES: PageBoxes = PageBoxes {
    lead: 1.35,
    tiles_per_row: 4,
    tile_gap: 8.0,
    tile_height: 62.0,
    tile_label_line: 8.0,
    tile_inset: 8.0,
    accent_bar: 3.0,
    tile_baselines: (12.0, 32.0, 44.0),
    tiles_after: 4.0,
    callout: (12.0, 12.0, 12.0, 16.0),
    callout_after: 10.0,
    list_indent: (4.0, 20.0),
    heading_keep: 60.0,
    heading_after: 8.0,
    legend: (3, 14.0, 8.0, 12.0),
};

/// The size a chart's labels are drawn at on `medium`, in its unit.
pub fn label_size(medium: Medium) -> f64 {
    match medium {
        Medium::Screen | Medium::Word => 12.0,
        Medium::Page { .. } => 7.0,
        Medium::Sheet => 10.0,
    }
}

/// How a severity or level cell is marked: a coloured square beside its
/// word on screens and pages, a tint behind it in Word. The word is always
/// there; the colour only helps the eye find the worst rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// The square's colour.
    pub colour: u32,
    /// The cell's tint.
    pub tint: u32,
    /// Its class name in HTML (`mark critical`).
    pub class: &'static str,
}

/// The mark of a cell of a column of type `ty` holding `text`: `None` but
/// for the four severity levels in a severity column.
///
/// ```
/// use cavra_model::report::ColumnType;
/// use cavra_render::document::severity_mark;
/// assert_eq!(severity_mark(ColumnType::Severity, "critical").unwrap().class, "critical");
/// assert!(severity_mark(ColumnType::Text, "critical").is_none());
/// assert!(severity_mark(ColumnType::Severity, "unknown").is_none());
/// ```
pub fn severity_mark(ty: cavra_model::report::ColumnType, text: &str) -> Option<Mark> {
    if ty != cavra_model::report::ColumnType::Severity {
        return None;
    }
    let (colour, tint, class) = match text {
        "critical" => (palette::CRITICAL, palette::CRITICAL_BACKGROUND, "critical"),
        "high" => (palette::WARNING, palette::WARNING_BACKGROUND, "high"),
        "medium" => (palette::MEDIUM, palette::MEDIUM_BACKGROUND, "medium"),
        "low" => (palette::LOW, palette::INFO_BACKGROUND, "low"),
        _ => return None,
    };
    Some(Mark { colour, tint, class })
}

/// The marks [`severity_mark`] gives, for stylesheets that name them.
pub const MARKS: [&str; 4] = ["critical", "high", "medium", "low"];

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

/// The note under a table that does not show all of its dataset: `shown`
/// of `total` rows, and `columns` of the dataset's `all_columns` columns.
/// `None` when it shows everything.
///
/// ```
/// use cavra_render::document::table_note;
/// assert_eq!(table_note(5, 5, 3, 3, "agents"), None);
/// assert_eq!(
///     table_note(5, 5, 11, 18, "agents").unwrap(),
///     "Showing 11 of 18 columns. The CSV, JSON, JSON Lines and XLSX forms of this report hold every column of the “agents” dataset."
/// );
/// assert_eq!(
///     table_note(50, 400, 11, 18, "agents").unwrap(),
///     "Showing 50 of 400 rows and 11 of 18 columns. The CSV, JSON, JSON Lines and XLSX forms of this report hold every row and column of the “agents” dataset."
/// );
/// ```
pub fn table_note(shown: usize, total: usize, columns: usize, all_columns: usize, dataset: &str) -> Option<String> {
    let (rows_cut, columns_cut) = (shown < total, columns < all_columns);
    let (what, every) = match (rows_cut, columns_cut) {
        (false, false) => return None,
        (true, false) => (format!("{shown} of {total} rows"), "row"),
        (false, true) => (format!("{columns} of {all_columns} columns"), "column"),
        (true, true) => (format!("{shown} of {total} rows and {columns} of {all_columns} columns"), "row and column"),
    };
    Some(format!(
        "Showing {what}. The CSV, JSON, JSON Lines and XLSX forms of this report hold every {every} of the “{dataset}” dataset."
    ))
}

/// [`table_note`] for a table view of which a document shows `shown` rows
/// (the column a view is filtered on is not counted as hidden).
pub fn view_note(v: &cavra_model::report::TableView, shown: usize) -> Option<String> {
    let all = v.dataset.columns.len() - usize::from(v.filtered_on.is_some());
    table_note(shown, v.total, v.columns.len(), all, &v.dataset.name)
}

/// The largest box a logo is drawn in on `medium`, in the medium's own
/// unit: points on a PDF page, millimetres in Word, pixels on a screen
/// (the HTML stylesheet's `max-width` and `max-height` are these) and on
/// a sheet.
pub fn logo_box(medium: Medium) -> (f64, f64) {
    match medium {
        Medium::Screen => (240.0, 56.0),
        Medium::Page { .. } => (150.0, 44.0),
        Medium::Word => (48.0, 18.0),
        Medium::Sheet => (200.0, 48.0),
    }
}

/// A logo of `px` pixels scaled to fit [`logo_box`] on `medium`, keeping
/// its proportions: (width, height) in the medium's unit.
///
/// ```
/// use cavra_render::document::{logo_fit, Medium};
/// assert_eq!(logo_fit((600, 100), Medium::Page { width: 500.0 }), (150.0, 25.0));
/// assert_eq!(logo_fit((100, 100), Medium::Word), (18.0, 18.0));
/// ```
pub fn logo_fit(px: (u32, u32), medium: Medium) -> (f64, f64) {
    let (max_w, max_h) = logo_box(medium);
    let (w, h) = (f64::from(px.0.max(1)), f64::from(px.1.max(1)));
    let scale = (max_w / w).min(max_h / h);
    (f64::from(px.0) * scale, f64::from(px.1) * scale)
}

/// Column widths the way CSS lays out a table automatically: each column
/// gets at least `min[i]` (its longest word, so an id or a status never
/// breaks inside), then what is left of `available` goes to the columns
/// whose natural width (`natural[i]`, their longest text on one line) is
/// more than that, in proportion to the difference. When even the minimums
/// do not fit, they shrink in proportion.
///
/// ```
/// use cavra_render::document::column_widths;
/// // Room for every natural width: the slack is shared in proportion.
/// assert_eq!(column_widths(&[10.0, 10.0], &[20.0, 40.0], 100.0), vec![30.0, 70.0]);
/// // Too narrow for the minimums: they shrink together.
/// assert_eq!(column_widths(&[30.0, 10.0], &[30.0, 10.0], 20.0), vec![15.0, 5.0]);
/// ```
pub fn column_widths(min: &[f64], natural: &[f64], available: f64) -> Vec<f64> {
    let min_total: f64 = min.iter().sum();
    if min_total >= available {
        return min.iter().map(|m| m * available / min_total.max(f64::MIN_POSITIVE)).collect();
    }
    let slack: f64 = natural.iter().zip(min).map(|(n, m)| (n - m).max(0.0)).sum();
    let extra = available - min_total;
    min.iter()
        .zip(natural)
        .map(|(m, n)| if slack > 0.0 { m + extra * (n - m).max(0.0) / slack } else { m + extra / min.len() as f64 })
        .collect()
}

/// Rows sampled to measure a table's columns.
pub const WIDTH_SAMPLE_ROWS: usize = 100;

/// The text alternative of a chart: its title, then each series' values by
/// category (what HTML's `aria-label`, a DOCX picture's description and an
/// XLSX chart's alternative text say).
///
/// ```
/// use cavra_model::report::{Chart, ChartKind, Series};
/// let chart = Chart {
///     kind: ChartKind::Bar,
///     title: "Decisions".into(),
///     categories: vec!["block".into(), "allow".into()],
///     series: vec![Series { name: "decisions".into(), values: vec![3.0, 1.5] }],
/// };
/// assert_eq!(cavra_render::document::chart_alt_text(&chart), "Decisions. decisions: block 3, allow 1.5");
/// ```
pub fn chart_alt_text(chart: &Chart) -> String {
    let mut parts = Vec::new();
    for s in &chart.series {
        let values: Vec<String> =
            chart.categories.iter().zip(&s.values).map(|(cat, v)| format!("{cat} {}", chart_value(*v))).collect();
        parts.push(format!("{}: {}", s.name, values.join(", ")));
    }
    format!("{}. {}", chart.title, parts.join("; "))
}

/// As [`chart_alt_text`], within `max` UTF-16 units (Excel keeps at most
/// 255): when the data does not fit, the title and where the values are.
///
/// ```
/// use cavra_model::report::{Chart, ChartKind, Series};
/// let chart = Chart {
///     kind: ChartKind::HeatMap,
///     title: "Coverage".into(),
///     categories: (0..40).map(|i| format!("surface {i}")).collect(),
///     series: vec![Series { name: "agent".into(), values: vec![1.0; 40] }],
/// };
/// let short = cavra_render::document::chart_alt_text_within(&chart, 255);
/// assert_eq!(short, "Coverage: 1 series over 40 categories; the values are in the cells beside the chart.");
/// ```
pub fn chart_alt_text_within(chart: &Chart, max: usize) -> String {
    let full = chart_alt_text(chart);
    if full.encode_utf16().count() <= max {
        return full;
    }
    let tail = format!(
        ": {} series over {} categories; the values are in the cells beside the chart.",
        chart.series.len(),
        chart.categories.len()
    );
    let room = max.saturating_sub(tail.encode_utf16().count());
    format!("{}{tail}", cut_to_units(&chart.title, room))
}

/// The longest start of `s` within `max` UTF-16 units, cut between
/// characters.
///
/// ```
/// assert_eq!(cavra_render::document::cut_to_units("héllo", 3), "hél");
/// ```
pub fn cut_to_units(s: &str, max: usize) -> String {
    let mut units = 0;
    s.chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= max
        })
        .collect()
}

/// Excel's limit on a chart's alternative text, in UTF-16 units.
pub const SHEET_ALT_TEXT_UNITS: usize = 255;

/// The text alternative of the theme's logo.
pub fn logo_alt_text(branding: &str) -> String {
    format!("{branding} logo")
}

/// The typeface documents are set in: the PDFs embed it, and the Word
/// documents name it.
pub const DOCUMENT_FONT: &str = "DejaVu Sans";

/// The language documents are written in (BCP 47): HTML's `lang` and the
/// PDF catalog's `/Lang`.
pub const LANGUAGE: &str = "en";

/// The most columns a spreadsheet's data sheet prints upright; a wider one
/// prints on landscape pages.
pub const SHEET_UPRIGHT_COLUMNS: usize = 8;

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
