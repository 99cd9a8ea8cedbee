//! Rendering straight into a writer, with the safety gate applied line by
//! line and the digest computed on the way, so large text artifacts never
//! have to sit in memory whole.

use std::io::{Read, Seek, SeekFrom, Write};

use cavra_model::gate::{scan_text, SensitiveKind};
use cavra_model::report::{Cell, Dataset};
use cavra_model::{Report, SnapshotError};
use sha2::{Digest, Sha256};

use crate::{gate_report, Format, Gated, RenderError};

/// What [`render_to_writer`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// File name, `<kind>.<extension>`.
    pub name: String,
    /// Bytes written.
    pub bytes: u64,
    /// Lowercase hex sha256 of the bytes written.
    pub sha256: String,
}

/// Passes bytes through once the block of whole lines holding them has
/// passed the gate.
struct GatedWriter<'a> {
    inner: &'a mut dyn Write,
    line: Vec<u8>,
    /// One past the last newline in `line` (0: none), kept as bytes arrive
    /// so a long line is never searched twice.
    whole: usize,
    hasher: Sha256,
    written: u64,
    hit: Option<(u64, SensitiveKind)>,
}

/// Whole lines are gated in blocks of about this many bytes: one scan per
/// block instead of one per line keeps the gate's fixed cost per call
/// small, and memory stays bounded by the block plus the longest line.
const GATE_BLOCK: usize = 1 << 16;

/// Scans bytes that are UTF-8 as they are (validation is much faster than a
/// lossy copy), anything else as its lossy form.
fn scan_utf8(bytes: &[u8]) -> Vec<cavra_model::gate::Detection> {
    match std::str::from_utf8(bytes) {
        Ok(text) => scan_text(text),
        Err(_) => scan_text(&String::from_utf8_lossy(bytes)),
    }
}

impl<'a> GatedWriter<'a> {
    fn new(inner: &'a mut dyn Write) -> Self {
        GatedWriter { inner, line: Vec::new(), whole: 0, hasher: Sha256::new(), written: 0, hit: None }
    }

    /// Gates the first `end` pending bytes (whole lines) and passes them on.
    fn emit(&mut self, end: usize) -> std::io::Result<()> {
        let block = &self.line[..end];
        if let Some(d) = scan_utf8(block).into_iter().next() {
            self.hit = Some((self.written + d.range.start as u64, d.kind));
            return Err(std::io::Error::other("safety gate rejected the output"));
        }
        self.inner.write_all(block)?;
        self.hasher.update(block);
        self.written += end as u64;
        self.line.drain(..end);
        self.whole = self.whole.saturating_sub(end);
        Ok(())
    }
}

impl Write for GatedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(i) = buf.iter().rposition(|b| *b == b'\n') {
            self.whole = self.line.len() + i + 1;
        }
        self.line.extend_from_slice(buf);
        if self.line.len() >= GATE_BLOCK && self.whole > 0 {
            self.emit(self.whole)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Renders into `out`: gates the model, then for text formats passes the
/// output through the safety gate in blocks of whole lines before writing
/// it, hashing as it goes, so memory stays bounded by a block and the
/// longest line, not the artifact.
/// Container formats (XLSX) are built in memory and every part is gated
/// before anything is written.
///
/// On error, `out` may hold a prefix of the artifact: write into a staging
/// file and discard it on failure (the CLI does).
///
/// # Errors
/// As [`crate::render`]; [`RenderError::UnsafeOutput`] carries the byte offset.
///
/// ```
/// # use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
/// # let text = r#"{"schema_version":"cavra.activity_snapshot.v1",
/// #   "tenant":{"ref":"tenant:demo","display_name":"Demo Co","timezone":"UTC"},
/// #   "as_of":"2026-11-01T00:00:00Z","sessions":[],"decisions":[]}"#;
/// # let snapshot = Snapshot::from_json_str(text, &LoadOptions::default()).unwrap();
/// # let posture = Posture::compute(&snapshot);
/// let report = build_report(ReportKind::ControlCoverage, &snapshot, &posture, &ReportOptions::default());
/// let mut file = Vec::new(); // any `std::io::Write`, e.g. a `File`
/// let written = cavra_render::render_to_writer(&report, cavra_render::Format::Jsonl, &mut file).unwrap();
/// assert_eq!(written.bytes as usize, file.len());
/// ```
pub fn render_to_writer(report: &Report, format: Format, out: &mut dyn Write) -> Result<Written, RenderError> {
    write_gated(Gated::check(report)?, format, out)
}

/// As [`render_to_writer`] for a model the gate has already passed (see
/// [`Gated`]): only the final bytes are gated.
///
/// # Errors
/// As [`render_to_writer`], but for the model gate.
pub fn write_gated(gated: Gated<'_>, format: Format, out: &mut dyn Write) -> Result<Written, RenderError> {
    write_gated_with(gated, format, &crate::options::RenderOptions::default(), out)
}

/// As [`write_gated`], with the paged backends' options.
///
/// # Errors
/// As [`write_gated`].
pub fn write_gated_with(
    gated: Gated<'_>,
    format: Format,
    options: &crate::options::RenderOptions,
    out: &mut dyn Write,
) -> Result<Written, RenderError> {
    let report = gated.report();
    if !format.is_text() {
        // Containers are built whole, then every part is gated before a byte is written.
        let a = crate::render_gated_with(gated, format, options)?;
        out.write_all(&a.bytes).map_err(|e| RenderError::write(format, e))?;
        return Ok(Written { name: a.name, bytes: a.bytes.len() as u64, sha256: a.sha256 });
    }
    let mut w = GatedWriter::new(out);
    let html = crate::html::HtmlRenderer { options: options.html };
    let backend: &dyn crate::Renderer = if format == Format::Html { &html } else { format.backend() };
    let result = backend.render_to(report, &mut w);
    finish_gated(w, result, crate::artifact_name(report, format), format)
}

/// As [`write_gated`] into a file or any other readable, seekable writer:
/// an XLSX workbook is written straight into `out` and gated as it is read
/// back, so a workbook of 200,000 rows is never held in memory; every other
/// format goes through [`write_gated`]. On error `out` may hold a prefix:
/// write into a staging file and discard it on failure.
///
/// # Errors
/// As [`write_gated`].
///
/// ```
/// # use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
/// # let snap = Snapshot::from_json_str(include_str!("../../../examples/sample_snapshot.json"), &LoadOptions::default()).unwrap();
/// # let report = build_report(ReportKind::ControlCoverage, &snap, &Posture::compute(&snap), &ReportOptions::default());
/// use cavra_render::{write_gated_seekable, Format, Gated};
/// let mut file = std::io::Cursor::new(Vec::new());
/// let written = write_gated_seekable(Gated::check(&report)?, Format::Xlsx, &mut file)?;
/// assert_eq!(written.bytes as usize, file.get_ref().len());
/// assert_eq!(written, cavra_render::render_to_writer(&report, Format::Xlsx, &mut Vec::new())?);
/// # Ok::<(), cavra_render::RenderError>(())
/// ```
pub fn write_gated_seekable<W: Read + Write + Seek + Send>(
    gated: Gated<'_>,
    format: Format,
    out: &mut W,
) -> Result<Written, RenderError> {
    write_gated_seekable_with(gated, format, &crate::options::RenderOptions::default(), out)
}

/// As [`write_gated_seekable`], with the paged backends' options.
///
/// # Errors
/// As [`write_gated`].
pub fn write_gated_seekable_with<W: Read + Write + Seek + Send>(
    gated: Gated<'_>,
    format: Format,
    options: &crate::options::RenderOptions,
    out: &mut W,
) -> Result<Written, RenderError> {
    let Some(write) = format.workbook_writer() else { return write_gated_with(gated, format, options, out) };
    let report = gated.report();
    let start = out.stream_position().map_err(|e| RenderError::write(format, e))?;
    write(report, None, &options.xlsx, &mut *out)?;
    gate_written_zip(&crate::artifact_name(report, format), format, out, start)
}

/// Writes `value` as pretty JSON with a final newline (as the JSON form is
/// written) through the output gate into `out`, for documents of your own
/// that travel beside the reports (an OSCAL document, a field dictionary).
/// `name` names the artifact in a gate error.
///
/// # Errors
/// [`RenderError::UnsafeOutput`] when the gate refuses the text (`out` may
/// then hold a prefix), [`RenderError::Backend`] when `value` cannot be
/// serialised, or the writer's error.
///
/// ```
/// let mut out = Vec::new();
/// let w = cavra_render::write_json_gated("doc.json", &serde_json::json!({"a": 1}), &mut out)?;
/// assert_eq!(out, b"{\n  \"a\": 1\n}\n");
/// assert_eq!(w.bytes, 13);
/// assert!(cavra_render::write_json_gated("x.json", &"ops@example.test", &mut Vec::new()).is_err());
/// # Ok::<(), cavra_render::RenderError>(())
/// ```
pub fn write_json_gated(
    name: &str,
    value: &impl serde::Serialize,
    out: &mut dyn Write,
) -> Result<Written, RenderError> {
    let mut w = GatedWriter::new(out);
    let result = crate::json::write_pretty(value, &mut w);
    finish_gated(w, result, name.to_string(), Format::Json)
}

/// The rows of one dataset, supplied while rendering instead of held in the
/// report (whose dataset of that name has its columns but no rows).
pub struct StreamedRows<'a> {
    /// Name of the dataset the rows belong to.
    pub dataset: &'a str,
    /// How many rows the iterator yields (written in headers before the rows).
    pub row_count: usize,
    /// The rows, each with one cell per column.
    pub rows: &'a mut dyn Iterator<Item = Result<Vec<Cell>, SnapshotError>>,
}

/// Rows a dataset has, held or streamed.
pub(crate) fn row_count(d: &Dataset, stream: Option<&StreamedRows<'_>>) -> usize {
    match stream {
        Some(s) if s.dataset == d.name => s.row_count,
        _ => d.rows.len(),
    }
}

/// Calls `f` with each row of `d` in order: its held rows, or the streamed
/// ones when `stream` is for `d` (then their number must match the promise).
pub(crate) fn for_each_row(
    format: Format,
    d: &Dataset,
    stream: Option<&mut StreamedRows<'_>>,
    mut f: impl FnMut(&[Cell]) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    match stream {
        Some(s) if s.dataset == d.name => {
            let mut n = 0usize;
            for row in &mut *s.rows {
                let row = row.map_err(|source| RenderError::Rows { dataset: d.name.clone(), source })?;
                if row.len() != d.columns.len() {
                    return Err(RenderError::Backend {
                        format,
                        message: format!(
                            "a streamed row of `{}` has {} cells for {} columns",
                            d.name,
                            row.len(),
                            d.columns.len()
                        ),
                    });
                }
                f(&row)?;
                n += 1;
            }
            if n != s.row_count {
                return Err(RenderError::Backend {
                    format,
                    message: format!("dataset `{}` streamed {n} rows where {} were announced", d.name, s.row_count),
                });
            }
            Ok(())
        }
        _ => d.rows.iter().try_for_each(|r| f(&r)),
    }
}

/// Renders a report one of whose datasets is streamed: JSON Lines and CSV
/// through the line-by-line gate, XLSX in constant-memory mode with every
/// part gated as it is read back. Memory stays bounded by the longest line
/// (text) or by the workbook's buffers (XLSX), not by the row count.
///
/// `out` receives the artifact; for XLSX it is read back to gate it, hence
/// `Read + Seek` (a `File` or a `Cursor<Vec<u8>>`). On error it may hold a
/// prefix: write into a staging file and discard it on failure.
///
/// # Errors
/// [`RenderError::NotStreamable`] for formats that hold every row in one
/// structure (JSON, signed JSON) or print tables from held rows only
/// (Markdown, HTML, PDF, DOCX: render those with [`render_to_writer`]);
/// [`RenderError::Rows`] when a row cannot be read; otherwise as
/// [`render_to_writer`].
///
/// ```
/// # use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
/// # let text = r#"{"schema_version":"cavra.activity_snapshot.v1",
/// #   "tenant":{"ref":"tenant:demo","display_name":"Demo Co","timezone":"UTC"},
/// #   "as_of":"2026-11-01T00:00:00Z","sessions":[],"decisions":[]}"#;
/// # let snapshot = Snapshot::from_json_str(text, &LoadOptions::default()).unwrap();
/// # let posture = Posture::compute(&snapshot);
/// use cavra_render::{render_streamed, Format, StreamedRows};
/// let report = build_report(ReportKind::AgentActivityDigest, &snapshot, &posture, &ReportOptions::default());
/// let mut rows = std::iter::empty(); // e.g. `cavra_model::stream::StreamedDigest::rows()`
/// let stream = StreamedRows { dataset: "decisions", row_count: 0, rows: &mut rows };
/// let mut out = std::io::Cursor::new(Vec::new());
/// let written = render_streamed(&report, Format::Csv, stream, &mut out).unwrap();
/// assert_eq!(written.name, "agent-activity-digest.csv");
/// ```
pub fn render_streamed<W: Read + Write + Seek + Send>(
    report: &Report,
    format: Format,
    mut rows: StreamedRows<'_>,
    out: &mut W,
) -> Result<Written, RenderError> {
    gate_report(report)?;
    if !report.datasets.iter().any(|d| d.name == rows.dataset) {
        return Err(RenderError::Backend {
            format,
            message: format!("the report has no dataset `{}` to stream", rows.dataset),
        });
    }
    let name = crate::artifact_name(report, format);
    if let Some(write) = format.workbook_writer() {
        let start = out.stream_position().map_err(|e| RenderError::write(format, e))?;
        write(report, Some(&mut rows), &crate::options::XlsxOptions::DEFAULT, &mut *out)?;
        return gate_written_zip(&name, format, out, start);
    }
    let Some(write) = format.line_writer() else { return Err(RenderError::NotStreamable { format }) };
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut w = GatedWriter::new(&mut buffered);
    let result = write(report, Some(&mut rows), &mut w);
    let written = finish_gated(w, result, name, format)?;
    buffered.flush().map_err(|e| RenderError::write(format, e))?;
    Ok(written)
}

/// Flushes the last line through the gate and reports what was written.
fn finish_gated(
    mut w: GatedWriter<'_>,
    result: Result<(), RenderError>,
    name: String,
    format: Format,
) -> Result<Written, RenderError> {
    let result = result.and_then(|()| {
        if w.line.is_empty() {
            Ok(())
        } else {
            let end = w.line.len();
            w.emit(end).map_err(|e| RenderError::write(format, e))
        }
    });
    if let Some((offset, kind)) = w.hit {
        return Err(RenderError::UnsafeOutput { artifact: name, offset: offset as usize, kind });
    }
    result?;
    w.flush().map_err(|e| RenderError::write(format, e))?;
    Ok(Written { name, bytes: w.written, sha256: format!("{:x}", w.hasher.finalize()) })
}

/// Bytes scanned at once inside a zip part, and the overlap carried to the
/// next chunk so a match across the boundary is still seen whole.
const CHUNK: usize = 1 << 20;
const OVERLAP: usize = 4096;

/// Scans a stream of text in overlapping chunks; returns the first hit's
/// byte offset and kind.
/// `size_hint` (the expected length, for example a zip part's uncompressed
/// size) only sizes the buffers, so a small part does not cost two chunk-sized
/// allocations; a wrong hint changes nothing but speed.
pub(crate) fn scan_reader(mut r: impl Read, size_hint: u64) -> std::io::Result<Option<(u64, SensitiveKind)>> {
    let size = usize::try_from(size_hint).unwrap_or(CHUNK).saturating_add(1).min(CHUNK);
    let mut buf: Vec<u8> = Vec::with_capacity(size + OVERLAP.min(size));
    let mut base: u64 = 0;
    let mut chunk = vec![0u8; size];
    loop {
        let n = r.read(&mut chunk)?;
        if n == 0 && buf.is_empty() {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if n == 0 || buf.len() >= CHUNK {
            if let Some(d) = scan_utf8(&buf).into_iter().next() {
                return Ok(Some((base + d.range.start as u64, d.kind)));
            }
            if n == 0 {
                return Ok(None);
            }
            let keep = buf.len().min(OVERLAP);
            let cut = buf.len() - keep;
            base += cut as u64;
            buf.drain(..cut);
        }
    }
}

/// Gates every part of the zip just written at `start..` in `out`, and
/// hashes the file's bytes.
fn gate_written_zip<W: Read + Seek>(
    name: &str,
    format: Format,
    out: &mut W,
    start: u64,
) -> Result<Written, RenderError> {
    let io = |e: std::io::Error| RenderError::write(format, e);
    let end = out.seek(SeekFrom::End(0)).map_err(io)?;
    out.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut (&mut *out).take(end - start), &mut HashSink(&mut hasher)).map_err(io)?;
    out.seek(SeekFrom::Start(start)).map_err(io)?;
    let backend = |message: String| RenderError::Backend { format, message };
    let zip = zip::ZipArchive::new(SubReader { inner: &mut *out, start, end }).map_err(|e| backend(e.to_string()))?;
    gate_zip_parts(name, format, zip)?;
    out.seek(SeekFrom::Start(end)).map_err(io)?;
    Ok(Written { name: name.to_string(), bytes: end - start, sha256: format!("{:x}", hasher.finalize()) })
}

/// Gates every part of a zip-based artifact (XLSX, DOCX), reading each in
/// chunks so that a large sheet is never held whole. Pictures are skipped:
/// they are drawn from chart geometry and the theme's logo, which hold no
/// report text, and their compressed bytes would only match a shape by
/// chance.
pub(crate) fn gate_zip_parts<R: Read + Seek>(
    name: &str,
    format: Format,
    zip: zip::ZipArchive<R>,
) -> Result<(), RenderError> {
    gate_zip_nested(name, format, zip, 0)
}

/// The largest package embedded in a package (a Word chart's workbook) the
/// gate opens; a larger one is refused rather than passed unread.
pub(crate) const EMBEDDED_PACKAGE_LIMIT: u64 = 16 << 20;

/// Gates every part of `zip`; a part that is itself a package (`.xlsx`,
/// `.docx`, as Word embeds a chart's workbook) is opened and gated part by
/// part too, one level deep, since its deflated bytes would hide its text.
fn gate_zip_nested<R: Read + Seek>(
    name: &str,
    format: Format,
    mut zip: zip::ZipArchive<R>,
    depth: usize,
) -> Result<(), RenderError> {
    let backend = |message: String| RenderError::Backend { format, message };
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(|e| backend(e.to_string()))?;
        let part_name = part.name().map_err(|e| backend(e.to_string()))?.to_string();
        let lower = part_name.to_ascii_lowercase();
        if [".png", ".jpg", ".jpeg"].iter().any(|ext| lower.ends_with(ext)) {
            continue;
        }
        if [".xlsx", ".docx"].iter().any(|ext| lower.ends_with(ext)) {
            let inner_name = format!("{name}!{part_name}");
            if depth > 0 || part.size() > EMBEDDED_PACKAGE_LIMIT {
                return Err(backend(format!("{inner_name}: an embedded package the gate does not open")));
            }
            let mut bytes = Vec::with_capacity(usize::try_from(part.size()).unwrap_or(0));
            part.read_to_end(&mut bytes).map_err(|e| backend(e.to_string()))?;
            let inner = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| backend(e.to_string()))?;
            gate_zip_nested(&inner_name, format, inner, depth + 1)?;
            continue;
        }
        let size = part.size();
        if let Some((offset, kind)) = scan_reader(part, size).map_err(|e| backend(e.to_string()))? {
            return Err(RenderError::UnsafeOutput {
                artifact: format!("{name}!{part_name}"),
                offset: offset as usize,
                kind,
            });
        }
    }
    Ok(())
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The bytes `start..end` of a seekable stream, as a stream of their own.
struct SubReader<'a, R> {
    inner: &'a mut R,
    start: u64,
    end: u64,
}

impl<R: Read + Seek> Read for SubReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.inner.stream_position()?;
        let left = self.end.saturating_sub(pos) as usize;
        let n = buf.len().min(left);
        self.inner.read(&mut buf[..n])
    }
}

impl<R: Read + Seek> Seek for SubReader<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => self.start.checked_add(n),
            SeekFrom::End(n) => self.end.checked_add_signed(n),
            SeekFrom::Current(n) => self.inner.stream_position()?.checked_add_signed(n),
        }
        .filter(|t| *t >= self.start)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek outside the artifact"))?;
        Ok(self.inner.seek(SeekFrom::Start(target))? - self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in parts {
            out.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    fn gate(bytes: Vec<u8>) -> Result<(), RenderError> {
        gate_zip_parts("r.docx", Format::Docx, zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap())
    }

    #[test]
    fn an_embedded_workbook_is_opened_and_gated_part_by_part() {
        let address = format!("{}@{}.test", "ops", "northwind");
        let dirty = package(&[("xl/sharedStrings.xml", format!("<t>{address}</t>").as_bytes())]);
        let clean = package(&[("xl/sharedStrings.xml", b"<t>block</t>")]);
        assert!(gate(package(&[("word/embeddings/chart1.xlsx", &clean)])).is_ok());
        match gate(package(&[("word/embeddings/chart1.xlsx", &dirty)])) {
            Err(RenderError::UnsafeOutput { artifact, .. }) => {
                assert_eq!(artifact, "r.docx!word/embeddings/chart1.xlsx!xl/sharedStrings.xml");
            }
            other => panic!("{other:?}"),
        }
        // A package inside the embedded one is not opened: refused.
        let nested = package(&[("inner.xlsx", &clean)]);
        assert!(matches!(gate(package(&[("a.xlsx", &nested)])), Err(RenderError::Backend { .. })));
    }
}
