//! # cavra-render
//!
//! One backend per output format over the format-neutral
//! [`Report`](cavra_model::Report), behind a single [`Format`] registry.
//!
//! [`render`] runs the safety gate on the report model before the backend
//! and on the artifact's final bytes after it; both fail closed.
//!
//! ```
//! use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
//! use cavra_render::{render, Format};
//! let text = r#"{"schema_version":"cavra.activity_snapshot.v1",
//!   "tenant":{"ref":"tenant:demo","display_name":"Demo Co","timezone":"UTC"},
//!   "as_of":"2026-11-01T00:00:00Z","sessions":[],"decisions":[]}"#;
//! let snapshot = Snapshot::from_json_str(text, &LoadOptions::default()).unwrap();
//! let posture = Posture::compute(&snapshot);
//! let report = build_report(ReportKind::ControlCoverage, &snapshot, &posture, &ReportOptions::default());
//! let artifact = render(&report, Format::Csv).unwrap();
//! assert_eq!(artifact.name, "control-coverage.csv");
//! assert!(artifact.text().unwrap().starts_with("surface,coverage_status,"));
//! ```

pub mod chart;
mod csv;
pub mod document;
mod docx;
mod html;
mod json;
mod jsonl;
mod markdown;
pub mod options;
pub mod parallel;
mod pdf;
pub mod setup;
pub mod signed;
mod stream;
pub mod text;
mod xlsx;

pub use csv::neutralise as neutralise_formula;
pub use jsonl::JSONL_SCHEMA_VERSION;
pub use markdown::escape as escape_markdown;
pub use xlsx::CONSTANT_MEMORY_ROWS as XLSX_CONSTANT_MEMORY_ROWS;

use std::fmt;
use std::io::Write;

pub use stream::{
    render_streamed, render_to_writer, write_gated, write_gated_seekable, write_gated_seekable_with, write_gated_with,
    write_json_gated, StreamedRows, Written,
};

use cavra_model::gate::{scan_bytes, scan_json, scan_text, SensitiveKind};
use cavra_model::Report;
use sha2::{Digest, Sha256};

/// The output formats this crate renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// CommonMark with pipe tables.
    Markdown,
    /// RFC 4180 CSV of the report's primary dataset.
    Csv,
    /// Pretty, stable-ordered JSON of the report's structured content and datasets.
    Json,
    /// JSON Lines: a header line describing the report, then one line per dataset row.
    Jsonl,
    /// The JSON form in RFC 8785 canonical bytes, to be signed with a detached `.minisig`.
    SignedJson,
    /// One self-contained HTML page (inline CSS and SVG charts, no scripts).
    Html,
    /// An Excel workbook: summary, charts and one typed sheet per dataset.
    Xlsx,
    /// A Word document with heading styles, tables and chart pictures.
    Docx,
    /// A paginated PDF with an embedded, subset font and vector charts.
    Pdf,
}

impl Format {
    /// Every format, in catalog order.
    pub const ALL: &'static [Format] = &[
        Format::Markdown,
        Format::Csv,
        Format::Json,
        Format::Jsonl,
        Format::SignedJson,
        Format::Html,
        Format::Xlsx,
        Format::Docx,
        Format::Pdf,
    ];

    /// Short name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::SignedJson => "signed-json",
            Format::Html => "html",
            Format::Xlsx => "xlsx",
            Format::Docx => "docx",
            Format::Pdf => "pdf",
        }
    }

    /// File extension (after `<kind>.`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown
            | Format::Csv
            | Format::Json
            | Format::Jsonl
            | Format::Html
            | Format::Xlsx
            | Format::Docx
            | Format::Pdf => self.name(),
            Format::SignedJson => "signed.json",
        }
    }

    /// Whether the artifact must be signed (it is written with a detached
    /// `.minisig` beside it).
    pub fn is_signed(self) -> bool {
        match self {
            Format::Markdown
            | Format::Csv
            | Format::Json
            | Format::Jsonl
            | Format::Html
            | Format::Xlsx
            | Format::Docx
            | Format::Pdf => false,
            Format::SignedJson => true,
        }
    }

    /// IANA media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Json => "application/json",
            Format::Jsonl => "application/jsonl",
            Format::SignedJson => "application/json",
            Format::Html => "text/html; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Format::Pdf => "application/pdf",
        }
    }

    /// Whether the artifact is UTF-8 text.
    pub fn is_text(self) -> bool {
        self.container() == Container::Text
    }

    /// What the format's bytes are, as the output gate reads them back.
    ///
    /// ```
    /// use cavra_render::{Container, Format, Streaming};
    /// assert_eq!(Format::Docx.container(), Container::Zip);
    /// assert_eq!(Format::Pdf.container(), Container::Pdf);
    /// assert_eq!(Format::Csv.streaming(), Streaming::Lines);
    /// assert_eq!(Format::Html.streaming(), Streaming::No);
    /// ```
    pub fn container(self) -> Container {
        match self {
            Format::Markdown | Format::Csv | Format::Json | Format::Jsonl | Format::SignedJson | Format::Html => {
                Container::Text
            }
            Format::Xlsx | Format::Docx => Container::Zip,
            Format::Pdf => Container::Pdf,
        }
    }

    /// How the format takes a dataset's rows read while it is written
    /// ([`render_streamed`]).
    pub fn streaming(self) -> Streaming {
        match self {
            Format::Jsonl | Format::Csv => Streaming::Lines,
            Format::Xlsx => Streaming::Workbook,
            Format::Markdown | Format::Json | Format::SignedJson | Format::Html | Format::Docx | Format::Pdf => {
                Streaming::No
            }
        }
    }

    /// The writer of a [`Streaming::Lines`] format: the report with one
    /// dataset's rows taken from the stream when one is given.
    pub(crate) fn line_writer(self) -> Option<LineWriter> {
        match self {
            Format::Jsonl => Some(jsonl::write),
            Format::Csv => Some(csv::write_primary),
            Format::Markdown
            | Format::Json
            | Format::SignedJson
            | Format::Html
            | Format::Xlsx
            | Format::Docx
            | Format::Pdf => None,
        }
    }

    /// The writer of a [`Streaming::Workbook`] format: straight into a
    /// seekable file, one dataset's rows taken from the stream when given.
    pub(crate) fn workbook_writer(self) -> Option<WorkbookWriter> {
        match self {
            Format::Xlsx => Some(xlsx::write_to),
            Format::Markdown
            | Format::Csv
            | Format::Json
            | Format::Jsonl
            | Format::SignedJson
            | Format::Html
            | Format::Docx
            | Format::Pdf => None,
        }
    }

    fn backend(self) -> &'static dyn Renderer {
        match self {
            Format::Markdown => &markdown::MarkdownRenderer,
            Format::Csv => &csv::CsvRenderer,
            Format::Json => &json::JsonRenderer,
            Format::Jsonl => &jsonl::JsonlRenderer,
            Format::SignedJson => &signed::SignedJsonRenderer,
            Format::Html => &html::HtmlRenderer::DEFAULT,
            Format::Xlsx => &xlsx::XlsxRenderer::DEFAULT,
            Format::Docx => &docx::DocxRenderer::DEFAULT,
            Format::Pdf => &pdf::PdfRenderer::DEFAULT,
        }
    }
}

/// A line-by-line writer (see [`Format::line_writer`]).
pub(crate) type LineWriter = fn(&Report, Option<&mut StreamedRows<'_>>, &mut dyn Write) -> Result<(), RenderError>;

/// A seekable-file writer (see [`Format::workbook_writer`]).
pub(crate) type WorkbookWriter =
    fn(&Report, Option<&mut StreamedRows<'_>>, &options::XlsxOptions, &mut dyn SeekWrite) -> Result<(), RenderError>;

/// A writer that can also seek (a file, a cursor): what a workbook is
/// written into.
pub(crate) trait SeekWrite: Write + std::io::Seek + Send {}

impl<T: Write + std::io::Seek + Send> SeekWrite for T {}

/// What a format's bytes are, as the output gate reads them back: each
/// kind has its own reader, so a new format names one of these (or adds a
/// kind with its reader) and the gate follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// UTF-8 text, scanned line by line.
    Text,
    /// A PDF, parsed back and scanned object by object, decoded streams
    /// included.
    Pdf,
    /// A zip of parts (XLSX, DOCX), each part scanned but pictures.
    Zip,
}

/// How a format takes rows read while it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streaming {
    /// It needs every row at once.
    No,
    /// One line per row, through the line-by-line gate (CSV, JSON Lines).
    Lines,
    /// A workbook written into a seekable file and gated as it is read
    /// back (XLSX).
    Workbook,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl RenderError {
    pub(crate) fn write(format: Format, e: impl fmt::Display) -> Self {
        RenderError::Write { format, message: e.to_string() }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "markdown" => Ok(Format::Markdown),
            _ => Format::ALL.iter().copied().find(|f| f.name() == s).ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("unknown format `{s}` (known: {})", names.join(", "))
            }),
        }
    }
}

/// A backend: writes a report's bytes to `out`.
pub trait Renderer: Sync {
    /// Renders the report into `out`.
    ///
    /// # Errors
    /// [`RenderError::Backend`] when the backend fails, or the writer's error.
    fn render_to(&self, report: &Report, out: &mut dyn Write) -> Result<(), RenderError>;

    /// Renders the report into a new buffer. Backends that build their
    /// file in memory anyway return that buffer instead of copying it.
    ///
    /// # Errors
    /// As [`Renderer::render_to`].
    fn render_bytes(&self, report: &Report) -> Result<Vec<u8>, RenderError> {
        let mut bytes = Vec::new();
        self.render_to(report, &mut bytes)?;
        Ok(bytes)
    }
}

/// The file name of `report` in `format`: `<kind>.<extension>`.
///
/// ```
/// # use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
/// # let snap = Snapshot::from_json_str(include_str!("../../../examples/sample_snapshot.json"), &LoadOptions::default()).unwrap();
/// # let report = build_report(ReportKind::ControlCoverage, &snap, &Posture::compute(&snap), &ReportOptions::default());
/// assert_eq!(cavra_render::artifact_name(&report, cavra_render::Format::Csv), "control-coverage.csv");
/// ```
pub fn artifact_name(report: &Report, format: Format) -> String {
    format!("{}.{}", report.meta.kind.as_str(), format.extension())
}

/// A rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// File name, `<kind>.<extension>`.
    pub name: String,
    /// Format.
    pub format: Format,
    /// Media type.
    pub media_type: &'static str,
    /// Content.
    pub bytes: Vec<u8>,
    /// Lowercase hex sha256 of `bytes`.
    pub sha256: String,
}

impl Artifact {
    /// The content as text, for text formats.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }
}

/// Why rendering failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The report model carries content the safety gate rejects.
    #[error("safety gate: report `{report}` carries {kind} content at {path}")]
    UnsafeModel {
        /// Report id.
        report: String,
        /// JSON path inside the report model.
        path: String,
        /// What was found.
        kind: SensitiveKind,
    },
    /// The rendered bytes carry content the safety gate rejects.
    #[error("safety gate: artifact `{artifact}` carries {kind} content at byte {offset}")]
    UnsafeOutput {
        /// Artifact name.
        artifact: String,
        /// Byte offset of the match.
        offset: usize,
        /// What was found.
        kind: SensitiveKind,
    },
    /// Writing the output failed.
    #[error("cannot write {format} output: {message}")]
    Write {
        /// Format.
        format: Format,
        /// The I/O error.
        message: String,
    },
    /// A streamed dataset's rows could not be read (see [`StreamedRows`]).
    #[error("cannot read the rows of dataset `{dataset}`: {source}")]
    Rows {
        /// Dataset name.
        dataset: String,
        /// The reader's error.
        source: cavra_model::SnapshotError,
    },
    /// The format holds every row in one structure and cannot stream them.
    #[error("the {format} format cannot stream dataset rows (streaming formats: jsonl, csv, xlsx)")]
    NotStreamable {
        /// Format.
        format: Format,
    },
    /// The report model is inconsistent: a table names a dataset or column
    /// the report lacks, or a row has the wrong number of cells
    /// ([`cavra_model::Report::check_tables`]). Only a hand-made model can
    /// be; the builders' never are.
    #[error("report `{report}` cannot be rendered: {reason}")]
    InvalidModel {
        /// Report id.
        report: String,
        /// What does not resolve.
        reason: String,
    },
    /// The backend failed.
    #[error("{format} backend failed: {message}")]
    Backend {
        /// Format.
        format: Format,
        /// What went wrong.
        message: String,
    },
}

/// Checks a report model with the safety gate: metadata, sections, blocks and
/// every dataset cell.
///
/// # Errors
/// [`RenderError::UnsafeModel`] naming the first offending JSON path.
pub fn gate_report(report: &Report) -> Result<(), RenderError> {
    let unsafe_at = |path: String, kind: SensitiveKind| RenderError::UnsafeModel {
        report: report.meta.report_id.clone(),
        path,
        kind,
    };
    let head = serde_json::json!({"meta": report.meta, "sections": report.sections, "blocks": report.blocks});
    if let Some((path, kind)) = scan_json(&head).into_iter().next() {
        return Err(unsafe_at(path, kind));
    }
    for (i, d) in report.datasets.iter().enumerate() {
        for (j, c) in d.columns.iter().enumerate() {
            for text in [&c.key, &c.label] {
                if let Some(hit) = scan_text(text).first() {
                    return Err(unsafe_at(format!("$.datasets[{i}].columns[{j}]"), hit.kind));
                }
            }
        }
        let mut scan = cavra_model::gate::SharedScan::default();
        for (r, row) in d.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if let cavra_model::report::Cell::Text(text) = cell {
                    if let Some(kind) = scan.first(text) {
                        return Err(unsafe_at(format!("$.datasets[{i}].rows[{r}][{c}]"), kind));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Starts, on a background thread, the one-time work the given formats
/// need (compiling the safety gate's patterns, parsing the PDF fonts), so
/// that it overlaps whatever the caller does next, such as parsing a
/// snapshot, instead of delaying the first render. Purely a speed-up: the
/// output is the same whether or not it was called.
///
/// ```
/// cavra_render::warm_up(&[cavra_render::Format::Pdf]);
/// ```
pub fn warm_up(formats: &[Format]) {
    let pdf = formats.contains(&Format::Pdf);
    std::thread::spawn(move || {
        cavra_model::gate::prepare();
        if pdf {
            pdf::prepare();
        }
    });
}

/// A report the safety gate has passed: proof, checked once, that the
/// model may be rendered in any number of formats without gating it again.
///
/// ```
/// # let snapshot = cavra_model::Snapshot::from_json_str(
/// #     include_str!("../../../examples/sample_snapshot.json"), &Default::default()).unwrap();
/// # let posture = cavra_model::Posture::compute(&snapshot);
/// let report = cavra_model::build_report(
///     cavra_model::ReportKind::ControlCoverage, &snapshot, &posture, &Default::default());
/// let gated = cavra_render::Gated::check(&report).unwrap();
/// for format in [cavra_render::Format::Markdown, cavra_render::Format::Csv] {
///     let mut out = Vec::new();
///     cavra_render::write_gated(gated, format, &mut out).unwrap();
///     assert!(!out.is_empty());
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Gated<'a>(&'a Report);

impl<'a> Gated<'a> {
    /// Checks that `report`'s tables resolve and runs [`gate_report`] over it.
    ///
    /// ```
    /// # let snapshot = cavra_model::Snapshot::from_json_str(
    /// #     include_str!("../../../examples/sample_snapshot.json"), &Default::default()).unwrap();
    /// # let posture = cavra_model::Posture::compute(&snapshot);
    /// let mut report = cavra_model::build_report(
    ///     cavra_model::ReportKind::BoardKpiPack, &snapshot, &posture, &Default::default());
    /// report.datasets.clear(); // hand-made: its tables now name nothing
    /// let e = cavra_render::Gated::check(&report).unwrap_err();
    /// assert!(matches!(e, cavra_render::RenderError::InvalidModel { .. }), "{e}");
    /// ```
    ///
    /// # Errors
    /// [`RenderError::InvalidModel`] for a table or row that does not
    /// resolve, [`RenderError::UnsafeModel`] naming the first offending JSON
    /// path.
    pub fn check(report: &'a Report) -> Result<Self, RenderError> {
        report
            .check_tables()
            .map_err(|reason| RenderError::InvalidModel { report: report.meta.report_id.clone(), reason })?;
        gate_report(report)?;
        Ok(Gated(report))
    }

    /// The report.
    pub fn report(self) -> &'a Report {
        self.0
    }
}

/// Renders one report in one format: gate the model, run the backend, gate
/// the final bytes, hash.
///
/// # Errors
/// [`RenderError::UnsafeModel`], [`RenderError::UnsafeOutput`] or
/// [`RenderError::Backend`]. Nothing is returned on failure.
pub fn render(report: &Report, format: Format) -> Result<Artifact, RenderError> {
    render_gated(Gated::check(report)?, format)
}

/// As [`render`], with the paged backends' [`options::RenderOptions`].
///
/// # Errors
/// As [`render`].
pub fn render_with(report: &Report, format: Format, options: &options::RenderOptions) -> Result<Artifact, RenderError> {
    render_gated_with(Gated::check(report)?, format, options)
}

/// As [`render_gated`], with the paged backends' [`options::RenderOptions`].
///
/// # Errors
/// As [`render_gated`].
pub fn render_gated_with(
    report: Gated<'_>,
    format: Format,
    options: &options::RenderOptions,
) -> Result<Artifact, RenderError> {
    let report = report.report();
    let bytes = match format {
        Format::Pdf => pdf::PdfRenderer { options: options.pdf }.render_bytes(report)?,
        Format::Docx => docx::DocxRenderer { options: options.docx }.render_bytes(report)?,
        Format::Html => html::HtmlRenderer { options: options.html }.render_bytes(report)?,
        Format::Xlsx => xlsx::XlsxRenderer { options: options.xlsx }.render_bytes(report)?,
        Format::Markdown | Format::Csv | Format::Json | Format::Jsonl | Format::SignedJson => {
            format.backend().render_bytes(report)?
        }
    };
    let name = artifact_name(report, format);
    gate_bytes(&name, format, &bytes)?;
    let sha256 = format!("{:x}", Sha256::digest(&bytes));
    Ok(Artifact { name, format, media_type: format.media_type(), bytes, sha256 })
}

/// As [`render`] for a model already checked with [`gate_report`]: renders
/// and gates the final bytes.
///
/// # Errors
/// [`RenderError::UnsafeOutput`] or [`RenderError::Backend`].
pub fn render_gated(report: Gated<'_>, format: Format) -> Result<Artifact, RenderError> {
    render_gated_with(report, format, &options::RenderOptions::default())
}

/// The largest decoded stream [`gate_pdf`] reads: far above any page this
/// project writes, so a larger one is refused rather than scanned.
pub const PDF_STREAM_LIMIT: usize = 64 << 20;

/// Gates a PDF as a reader sees it: the file is parsed, every string and
/// name in every object is scanned, and every stream is decoded and
/// scanned, except font programs and pictures (binary data drawn from the
/// bundled fonts and the theme's logo, which no report value reaches; their
/// compressed bytes would only match shapes by chance). Page text is glyph
/// ids; the model gate has checked every string that became one. A hit
/// reports the object number as its offset.
fn gate_pdf(name: &str, bytes: &[u8]) -> Result<(), RenderError> {
    let backend = |message: String| RenderError::Backend { format: Format::Pdf, message };
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| backend(format!("cannot read the PDF back: {e}")))?;
    let unsafe_in = |id: lopdf::ObjectId, kind: SensitiveKind| RenderError::UnsafeOutput {
        artifact: format!("{name}!object {}", id.0),
        offset: id.0 as usize,
        kind,
    };
    for (id, object) in &doc.objects {
        if let Some(kind) = scan_pdf_object(object) {
            return Err(unsafe_in(*id, kind));
        }
        let lopdf::Object::Stream(stream) = object else { continue };
        let is_font = stream.dict.has(b"Length1") || stream.dict.has(b"Length2") || stream.dict.has(b"Length3");
        let is_image = stream.dict.get(b"Subtype").and_then(lopdf::Object::as_name).is_ok_and(|n| n == b"Image");
        if is_font || is_image {
            continue;
        }
        let content = if stream.dict.has(b"Filter") {
            std::borrow::Cow::Owned(
                stream
                    .decompressed_content_with_limit(PDF_STREAM_LIMIT)
                    .map_err(|e| backend(format!("object {}: cannot decode a stream: {e}", id.0)))?,
            )
        } else {
            std::borrow::Cow::Borrowed(stream.content.as_slice())
        };
        if let Some(d) = scan_bytes(&content).into_iter().next() {
            return Err(unsafe_in(*id, d.kind));
        }
    }
    for value in doc.trailer.iter().map(|(_, v)| v) {
        if let Some(kind) = scan_pdf_object(value) {
            return Err(RenderError::UnsafeOutput { artifact: format!("{name}!trailer"), offset: 0, kind });
        }
    }
    Ok(())
}

/// The first detection in the strings and names of a PDF object (a
/// stream's dictionary included, its content not).
fn scan_pdf_object(object: &lopdf::Object) -> Option<SensitiveKind> {
    use lopdf::Object;
    match object {
        Object::String(b, _) | Object::Name(b) => pdf_text_hit(b),
        Object::Array(items) => items.iter().find_map(scan_pdf_object),
        Object::Dictionary(d) => d.iter().find_map(|(k, v)| pdf_text_hit(k).or_else(|| scan_pdf_object(v))),
        Object::Stream(s) => s.dict.iter().find_map(|(k, v)| pdf_text_hit(k).or_else(|| scan_pdf_object(v))),
        Object::Null | Object::Boolean(_) | Object::Integer(_) | Object::Real(_) | Object::Reference(_) => None,
    }
}

/// A PDF string as text: UTF-16BE with its byte-order mark, or bytes.
fn pdf_text_hit(bytes: &[u8]) -> Option<SensitiveKind> {
    let found = match bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some(utf16) => {
            let units: Vec<u16> = utf16.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            scan_text(&String::from_utf16_lossy(&units))
        }
        None => scan_bytes(bytes),
    };
    found.first().map(|d| d.kind)
}

/// Runs the safety gate over an artifact's final bytes: the text itself, or
/// for zip-based formats (XLSX, DOCX) the text of every part inside.
///
/// # Errors
/// [`RenderError::UnsafeOutput`] naming the artifact (and part) and offset.
pub fn gate_bytes(name: &str, format: Format, bytes: &[u8]) -> Result<(), RenderError> {
    match format.container() {
        Container::Text => match scan_bytes(bytes).into_iter().next() {
            Some(d) => {
                Err(RenderError::UnsafeOutput { artifact: name.to_string(), offset: d.range.start, kind: d.kind })
            }
            None => Ok(()),
        },
        Container::Pdf => gate_pdf(name, bytes),
        Container::Zip => {
            let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
                .map_err(|e| RenderError::Backend { format, message: e.to_string() })?;
            stream::gate_zip_parts(name, format, zip)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format streams exactly as its registry entry says: lines through
    /// a line writer, workbooks through a workbook writer.
    #[test]
    fn streaming_matches_the_registered_writers() {
        for f in Format::ALL {
            let (lines, workbook) = (f.line_writer().is_some(), f.workbook_writer().is_some());
            let want = match f.streaming() {
                Streaming::No => (false, false),
                Streaming::Lines => (true, false),
                Streaming::Workbook => (false, true),
            };
            assert_eq!((lines, workbook), want, "{f}");
        }
    }
}
