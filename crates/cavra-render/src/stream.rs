//! Rendering straight into a writer, with the safety gate applied line by
//! line and the digest computed on the way, so large text artifacts never
//! have to sit in memory whole.

use std::io::Write;

use cavra_model::gate::{scan_text, SensitiveKind};
use cavra_model::Report;
use sha2::{Digest, Sha256};

use crate::{gate_report, Format, RenderError};

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

/// Passes bytes through once each complete line has passed the gate.
struct GatedWriter<'a> {
    inner: &'a mut dyn Write,
    line: Vec<u8>,
    hasher: Sha256,
    written: u64,
    hit: Option<(u64, SensitiveKind)>,
}

impl GatedWriter<'_> {
    fn emit_line(&mut self) -> std::io::Result<()> {
        if let Some(d) = scan_text(&String::from_utf8_lossy(&self.line)).into_iter().next() {
            self.hit = Some((self.written + d.range.start as u64, d.kind));
            return Err(std::io::Error::other("safety gate rejected the output"));
        }
        self.inner.write_all(&self.line)?;
        self.hasher.update(&self.line);
        self.written += self.line.len() as u64;
        self.line.clear();
        Ok(())
    }
}

impl Write for GatedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            self.line.extend_from_slice(&rest[..=i]);
            self.emit_line()?;
            rest = &rest[i + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Renders into `out`: gates the model, then for text formats passes each
/// output line through the safety gate before writing it, hashing as it
/// goes, so memory stays bounded by the longest line, not the artifact.
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
    gate_report(report)?;
    if !format.is_text() {
        // Containers are built whole, then every part is gated before a byte is written.
        let a = crate::render_gated(report, format)?;
        out.write_all(&a.bytes).map_err(|e| RenderError::write(format, e))?;
        return Ok(Written { name: a.name, bytes: a.bytes.len() as u64, sha256: a.sha256 });
    }
    let name = format!("{}.{}", report.meta.kind.as_str(), format.extension());
    let mut w = GatedWriter { inner: out, line: Vec::new(), hasher: Sha256::new(), written: 0, hit: None };
    let result = format.backend().render_to(report, &mut w);
    let result = result.and_then(|()| {
        if w.line.is_empty() {
            Ok(())
        } else {
            w.emit_line().map_err(|e| RenderError::write(format, e))
        }
    });
    if let Some((offset, kind)) = w.hit {
        return Err(RenderError::UnsafeOutput { artifact: name, offset: offset as usize, kind });
    }
    result?;
    w.flush().map_err(|e| RenderError::write(format, e))?;
    Ok(Written { name, bytes: w.written, sha256: format!("{:x}", w.hasher.finalize()) })
}
