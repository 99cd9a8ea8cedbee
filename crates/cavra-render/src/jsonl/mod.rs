//! JSON Lines backend: a header line describing the report, then one line
//! per row of every dataset, in dataset order.
//!
//! ```text
//! {"_record":"header","schema_version":"cavra.report_jsonl.v1","report":{…},"datasets":[{"name":…,"title":…,"row_count":…,"columns":[…]}]}
//! {"_record":"row","_dataset":"agents","agent_id":"codex-payments",…}
//! ```
//!
//! Rows are flat objects (column keys as in the CSV form) so log pipelines
//! and SIEMs can ingest them without reshaping; the reserved keys start with
//! an underscore. Each line is serialised straight into the writer.

use std::io::Write;

use cavra_model::report::{Cell, Column};
use cavra_model::Report;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::json;

use crate::stream::{for_each_row, row_count, StreamedRows};
use crate::{Format, RenderError, Renderer};

/// Schema id of the header line.
pub const JSONL_SCHEMA_VERSION: &str = "cavra.report_jsonl.v1";

pub(crate) struct JsonlRenderer;

struct FlatRow<'a> {
    dataset: &'a str,
    columns: &'a [Column],
    cells: &'a [Cell],
}

impl Serialize for FlatRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.columns.len() + 2))?;
        m.serialize_entry("_record", "row")?;
        m.serialize_entry("_dataset", self.dataset)?;
        for (c, v) in self.columns.iter().zip(self.cells) {
            m.serialize_entry(&c.key, v)?;
        }
        m.end()
    }
}

impl Renderer for JsonlRenderer {
    fn render_to(&self, report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
        write(report, None, out)
    }
}

/// Writes the header line, then every dataset's rows (`stream` supplies one
/// dataset's rows).
pub(crate) fn write(
    report: &Report,
    mut stream: Option<&mut StreamedRows<'_>>,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    let backend = |e: serde_json::Error| RenderError::Backend { format: Format::Jsonl, message: e.to_string() };
    let io = |e: std::io::Error| RenderError::write(Format::Jsonl, e);
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    let datasets: Vec<serde_json::Value> = report
        .datasets
        .iter()
        .map(|d| {
            let rows = row_count(d, stream.as_deref());
            json!({"name": d.name, "title": d.title, "row_count": rows, "columns": d.columns})
        })
        .collect();
    let header = json!({
        "_record": "header",
        "schema_version": JSONL_SCHEMA_VERSION,
        "report": report.meta,
        "datasets": datasets,
    });
    serde_json::to_writer(&mut w, &header).map_err(backend)?;
    w.write_all(b"\n").map_err(io)?;
    for d in &report.datasets {
        for_each_row(Format::Jsonl, d, stream.as_deref_mut(), |row| {
            serde_json::to_writer(&mut w, &FlatRow { dataset: &d.name, columns: &d.columns, cells: row })
                .map_err(backend)?;
            w.write_all(b"\n").map_err(io)
        })?;
    }
    w.flush().map_err(io)
}
