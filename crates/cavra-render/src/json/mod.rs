//! JSON backend: the report's structured summary (its contract keys, in
//! contract order) followed by every dataset as an array of row objects.
//! Pretty-printed with two-space indents and a final newline; key order is
//! fixed by the builders, never by hashing.

use cavra_model::report::Cell;
use cavra_model::Report;
use serde_json::{json, Map, Value};

use crate::{Format, RenderError, Renderer};

pub(crate) struct JsonRenderer;

fn cell_value(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Text(s) => Value::String(s.clone()),
        Cell::Integer(i) => json!(i),
        Cell::Decimal(d) => json!(d),
        Cell::DateTime(t) => Value::String(t.to_string()),
    }
}

/// The JSON value of a report.
pub(crate) fn report_value(report: &Report) -> Value {
    let mut top = report.summary.clone();
    let mut datasets = Map::new();
    for d in &report.datasets {
        let rows: Vec<Value> = d
            .rows
            .iter()
            .map(|row| Value::Object(d.columns.iter().zip(row).map(|(c, v)| (c.key.clone(), cell_value(v))).collect()))
            .collect();
        datasets.insert(
            d.name.clone(),
            json!({
                "title": d.title,
                "columns": d.columns,
                "row_count": d.rows.len(),
                "rows": rows,
            }),
        );
    }
    top.insert("datasets".into(), Value::Object(datasets));
    Value::Object(top)
}

impl Renderer for JsonRenderer {
    fn render(&self, report: &Report) -> Result<Vec<u8>, RenderError> {
        let mut out = serde_json::to_vec_pretty(&report_value(report))
            .map_err(|e| RenderError::Backend { format: Format::Json, message: e.to_string() })?;
        out.push(b'\n');
        Ok(out)
    }
}
