//! Options of the document backends, each with a `Default` that is what
//! [`crate::render`] uses. The paper defaults to the report's theme (which a
//! setup file's `branding.paper` sets); an option set here overrides it for
//! that backend only.
//!
//! ```
//! # let snapshot = cavra_model::Snapshot::from_json_str(
//! #     include_str!("../../../examples/sample_snapshot.json"), &Default::default()).unwrap();
//! # let posture = cavra_model::Posture::compute(&snapshot);
//! use cavra_model::theme::Paper;
//! use cavra_render::options::{PdfOptions, RenderOptions, WideTables};
//! use cavra_render::{render_with, Format};
//! let report = cavra_model::build_report(
//!     cavra_model::ReportKind::AgentRiskRegister, &snapshot, &posture, &Default::default());
//! let options = RenderOptions {
//!     pdf: PdfOptions { paper: Some(Paper::Letter), wide_tables: WideTables::Upright, ..Default::default() },
//!     ..Default::default()
//! };
//! let pdf = render_with(&report, Format::Pdf, &options).unwrap();
//! assert_ne!(pdf.bytes, cavra_render::render(&report, Format::Pdf).unwrap().bytes);
//! ```

use cavra_model::theme::Paper;

/// What a paged document does with a table too wide for upright pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WideTables {
    /// Put it on landscape pages, with the headings that introduce it.
    #[default]
    Landscape,
    /// Keep every page upright: the columns share the upright width (their
    /// words then break at natural points where they must).
    Upright,
}

/// PDF options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfOptions {
    /// The paper; `None` for the theme's.
    pub paper: Option<Paper>,
    /// Wide tables' pages.
    pub wide_tables: WideTables,
    /// Rows a table shows at most when its block sets no smaller cap (the
    /// data forms hold every row).
    pub table_rows: usize,
}

impl PdfOptions {
    /// Every option at its default (what [`crate::render`] uses).
    pub const DEFAULT: PdfOptions =
        PdfOptions { paper: None, wide_tables: WideTables::Landscape, table_rows: crate::document::PDF_TABLE_ROWS };
}

impl Default for PdfOptions {
    fn default() -> Self {
        PdfOptions::DEFAULT
    }
}

/// DOCX options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DocxOptions {
    /// The paper; `None` for the theme's.
    pub paper: Option<Paper>,
    /// Wide tables' sections.
    pub wide_tables: WideTables,
}

impl DocxOptions {
    /// Every option at its default (what [`crate::render`] uses).
    pub const DEFAULT: DocxOptions = DocxOptions { paper: None, wide_tables: WideTables::Landscape };
}

/// HTML options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HtmlOptions {
    /// The paper the page prints on (its print style sheet's `@page`); `None` for the theme's.
    pub paper: Option<Paper>,
}

impl HtmlOptions {
    /// Every option at its default (what [`crate::render`] uses).
    pub const DEFAULT: HtmlOptions = HtmlOptions { paper: None };
}

/// XLSX options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XlsxOptions {
    /// The paper the sheets print on; `None` for the theme's.
    pub paper: Option<Paper>,
}

impl XlsxOptions {
    /// Every option at its default (what [`crate::render`] uses).
    pub const DEFAULT: XlsxOptions = XlsxOptions { paper: None };
}

/// Every backend's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenderOptions {
    /// PDF.
    pub pdf: PdfOptions,
    /// DOCX.
    pub docx: DocxOptions,
    /// HTML.
    pub html: HtmlOptions,
    /// XLSX.
    pub xlsx: XlsxOptions,
}

impl std::str::FromStr for WideTables {
    type Err = String;

    /// `landscape` or `upright`.
    ///
    /// ```
    /// use cavra_render::options::WideTables;
    /// assert_eq!("upright".parse::<WideTables>(), Ok(WideTables::Upright));
    /// assert!("sideways".parse::<WideTables>().unwrap_err().contains("landscape, upright"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "landscape" => Ok(WideTables::Landscape),
            "upright" => Ok(WideTables::Upright),
            other => Err(format!("unknown wide-table layout `{other}` (known: landscape, upright)")),
        }
    }
}

impl WideTables {
    /// The width a table may turn to: the landscape width, or the upright
    /// one when tables stay upright.
    pub(crate) fn turned_width(self, upright: f64, landscape: f64) -> f64 {
        match self {
            WideTables::Landscape => landscape,
            WideTables::Upright => upright,
        }
    }
}
