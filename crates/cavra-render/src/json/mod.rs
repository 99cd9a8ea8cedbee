//! JSON backend: the report's typed sections (its contract keys, in
//! contract order) followed by every dataset as an array of row objects.
//! Pretty-printed with two-space indents and a final newline; key order is
//! fixed by the builders, never by hashing. Rows are serialised straight
//! from the model into the output buffer, without an intermediate tree.

use cavra_model::report::{Cell, Column, Dataset};
use cavra_model::Report;
use std::io::Write;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::{Format, RenderError, Renderer};

pub(crate) struct JsonRenderer;

pub(crate) struct Document<'a>(pub &'a Report);
struct Datasets<'a>(&'a [Dataset]);
struct DatasetBody<'a>(&'a Dataset);
struct Rows<'a>(&'a Dataset);
pub(crate) struct Row<'a>(pub &'a [Column], pub &'a [Cell]);

/// The JSON form: the common head, the kind's typed sections, the
/// metadata, then the datasets.
#[derive(serde::Serialize)]
struct Form<'a> {
    schema_version: &'a str,
    generated_at: cavra_model::Timestamp,
    data_provenance: cavra_model::input::DataProvenance,
    #[serde(flatten)]
    sections: &'a cavra_model::sections::Sections,
    report: &'a cavra_model::report::ReportMeta,
    datasets: Datasets<'a>,
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        Form {
            schema_version: &r.meta.schema_version,
            generated_at: r.meta.generated_at,
            data_provenance: r.meta.data_provenance,
            sections: &r.sections,
            report: &r.meta,
            datasets: Datasets(&r.datasets),
        }
        .serialize(s)
    }
}

impl Serialize for Datasets<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for d in self.0 {
            m.serialize_entry(&d.name, &DatasetBody(d))?;
        }
        m.end()
    }
}

impl Serialize for DatasetBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("title", &self.0.title)?;
        m.serialize_entry("columns", &self.0.columns)?;
        m.serialize_entry("row_count", &self.0.rows.len())?;
        // A dataset a section already holds points there: each fact once.
        match self.0.rows_in {
            Some(section) => m.serialize_entry("rows_in", section)?,
            None => m.serialize_entry("rows", &Rows(self.0))?,
        }
        m.end()
    }
}

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.rows.len()))?;
        for row in &self.0.rows {
            seq.serialize_element(&Row(&self.0.columns, &row))?;
        }
        seq.end()
    }
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (col, cell) in self.0.iter().zip(self.1) {
            m.serialize_entry(&col.key, cell)?;
        }
        m.end()
    }
}

/// Writes `value` as the JSON form is written: pretty, with a final newline.
pub(crate) fn write_pretty(value: &impl Serialize, out: &mut dyn Write) -> Result<(), RenderError> {
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buffered, value)
        .map_err(|e| RenderError::Backend { format: Format::Json, message: e.to_string() })?;
    buffered.write_all(b"\n").and_then(|()| buffered.flush()).map_err(|e| RenderError::write(Format::Json, e))
}

impl Renderer for JsonRenderer {
    fn render_to(&self, report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
        write_pretty(&Document(report), out)
    }
}
