//! CSV backend: the report's primary dataset as RFC 4180 CSV.
//!
//! Quoting policy: UTF-8 without BOM, `,` separator, LF line ends, a header
//! row of column keys; a field is quoted (with `"` doubled inside) only when
//! it contains `,`, `"`, CR or LF. Text cells that start with `=`, `+`, `-`,
//! `@`, tab, CR or LF (after optional spaces) are neutralised with a leading
//! apostrophe so spreadsheets never evaluate them; numeric columns are
//! written as plain numbers and never altered.

use cavra_model::report::{Cell, Dataset};
use cavra_model::Report;

use crate::stream::{for_each_row, StreamedRows};
use crate::{Format, RenderError, Renderer};

pub(crate) struct CsvRenderer;

/// Neutralises a text cell that a spreadsheet would evaluate (see
/// [`crate::text::starts_like_formula`]) with a leading `'`.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if crate::text::starts_like_formula(text) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn backend_error(e: impl std::fmt::Display) -> RenderError {
    RenderError::Backend { format: Format::Csv, message: e.to_string() }
}

/// Writes one dataset as CSV (its rows held, or supplied by `stream`).
pub(crate) fn write_dataset(
    dataset: &Dataset,
    stream: Option<&mut StreamedRows<'_>>,
    out: impl std::io::Write,
) -> Result<(), RenderError> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .quote_style(::csv::QuoteStyle::Necessary)
        .from_writer(out);
    w.write_record(dataset.columns.iter().map(|c| neutralise(&c.key).into_owned())).map_err(backend_error)?;
    let mut record: Vec<String> = Vec::with_capacity(dataset.columns.len());
    for_each_row(Format::Csv, dataset, stream, |row| {
        record.clear();
        for (cell, col) in row.iter().zip(&dataset.columns) {
            record.push(match cell {
                Cell::Integer(_) | Cell::Decimal(_) if col.ty.is_numeric() => cell.to_text(),
                Cell::Null => String::new(),
                Cell::Text(_) | Cell::Integer(_) | Cell::Decimal(_) | Cell::DateTime(_) => {
                    neutralise(&cell.to_text()).into_owned()
                }
            });
        }
        w.write_record(&record).map_err(backend_error)
    })?;
    w.flush().map_err(backend_error)
}

/// Writes the report's primary (first) dataset.
pub(crate) fn write_primary(
    report: &Report,
    stream: Option<&mut StreamedRows<'_>>,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    let dataset = report.datasets.first().ok_or_else(|| backend_error("the report has no dataset"))?;
    write_dataset(dataset, stream, out)
}

impl Renderer for CsvRenderer {
    fn render_to(&self, report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
        write_primary(report, None, out)
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_prefixes_are_neutralised() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "\nx", "  =cmd"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        for good in ["agent-a", "1-2", "a=b", ""] {
            assert_eq!(neutralise(good), good);
        }
    }
}
