//! XLSX backend (rust_xlsxwriter): a Summary sheet with the report's
//! metadata and key figures, a Charts sheet with each chart's data and a
//! native Excel chart, then one sheet per dataset with typed cells (numbers
//! as numbers, instants as dates, percentages formatted), a formatted header
//! row, an autofilter, frozen panes and fitted column widths.
//!
//! Text is never a formula: cells are written as strings, and those that
//! start with a formula character also get Excel's quote prefix so an edit
//! cannot turn them into one. Datasets over [`CONSTANT_MEMORY_ROWS`] rows are
//! written in rust_xlsxwriter's constant-memory mode, strictly in row order.
//! Document properties, including the creation date, come from the report.

use std::collections::BTreeSet;

use cavra_model::report::{Block, Cell, Chart, ChartKind, ColumnType, Dataset, Report};
use rust_xlsxwriter::{
    Chart as XChart, ChartType, Color, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet, XlsxError,
};

use crate::stream::{for_each_row, row_count, StreamedRows};
use crate::{RenderError, Renderer};

pub(crate) struct XlsxRenderer {
    pub(crate) options: crate::options::XlsxOptions,
}

impl XlsxRenderer {
    /// The renderer with every option at its default.
    pub(crate) const DEFAULT: XlsxRenderer = XlsxRenderer { options: crate::options::XlsxOptions::DEFAULT };
}

/// Datasets with more rows than this are written in constant-memory mode.
pub const CONSTANT_MEMORY_ROWS: usize = 10_000;

/// Excel's limit on characters in one cell.
const MAX_CELL_CHARS: usize = 32_767;

/// Excel's limit on rows in one sheet (including the header).
const MAX_ROWS: usize = 1_048_576;

struct Formats {
    title: Format,
    label: Format,
    header: Format,
    quoted: Format,
    date: Format,
    percent: Format,
    integer: Format,
    decimal: Format,
    wrap: Format,
}

impl Formats {
    fn new(accent: u32) -> Formats {
        let accent = Color::RGB(accent & 0xFF_FFFF);
        Formats {
            title: Format::new().set_bold().set_font_size(18).set_font_color(accent),
            label: Format::new().set_bold().set_font_color(Color::RGB(crate::document::palette::MUTED)),
            header: Format::new()
                .set_bold()
                .set_font_color(Color::White)
                .set_background_color(accent)
                .set_border_bottom(FormatBorder::Thin)
                .set_text_wrap()
                .set_align(FormatAlign::Top),
            quoted: Format::new().set_quote_prefix(),
            date: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss").set_align(FormatAlign::Left),
            percent: Format::new().set_num_format("0%"),
            integer: Format::new().set_num_format("#,##0"),
            decimal: Format::new().set_num_format("#,##0.00"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        }
    }
}

fn clean(text: &str) -> String {
    let t = crate::text::strip_controls(text);
    if t.chars().count() > MAX_CELL_CHARS {
        t.chars().take(MAX_CELL_CHARS - 1).chain(['…']).collect()
    } else {
        t.into_owned()
    }
}

use crate::text::starts_like_formula;

/// Text for a cell whose format cannot carry the quote prefix (titles,
/// labels, headers): a formula-like start gets a visible `'`.
fn safe(text: &str) -> String {
    let t = clean(text);
    if starts_like_formula(&t) {
        format!("'{t}")
    } else {
        t
    }
}

fn write_text(ws: &mut Worksheet, row: u32, col: u16, text: &str, f: &Formats) -> Result<(), XlsxError> {
    let text = clean(text);
    if starts_like_formula(&text) {
        ws.write_string_with_format(row, col, &text, &f.quoted)?;
    } else {
        // The default cell format: no format to look up for each cell.
        ws.write_string(row, col, &text)?;
    }
    Ok(())
}

pub(crate) fn excel_time(t: cavra_model::Timestamp) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_timestamp(t.unix_seconds())
}

fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    ty: ColumnType,
    f: &Formats,
) -> Result<(), XlsxError> {
    match (cell, ty) {
        (Cell::Null, _) => {}
        (Cell::Integer(i), ColumnType::Percent) => {
            ws.write_number_with_format(row, col, *i as f64 / 100.0, &f.percent)?;
        }
        (Cell::Decimal(d), ColumnType::Percent) => {
            ws.write_number_with_format(row, col, *d / 100.0, &f.percent)?;
        }
        (Cell::Integer(i), _) => {
            ws.write_number_with_format(row, col, *i as f64, &f.integer)?;
        }
        (Cell::Decimal(d), _) => {
            ws.write_number_with_format(row, col, *d, &f.decimal)?;
        }
        (Cell::DateTime(t), _) => {
            ws.write_datetime_with_format(row, col, excel_time(*t)?, &f.date)?;
        }
        (Cell::Text(s), _) => write_text(ws, row, col, s, f)?,
    }
    Ok(())
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`,
/// unique in the workbook.
fn sheet_name(wanted: &str, used: &mut BTreeSet<String>) -> String {
    let base: String =
        wanted.chars().map(|c| if "[]:*?/\\'".contains(c) || c.is_control() { '_' } else { c }).take(31).collect();
    let base = if base.trim().is_empty() { "Data".to_string() } else { base };
    let mut name = base.clone();
    let mut n = 2;
    while used.contains(&name.to_lowercase()) {
        let suffix = format!(" ({n})");
        name = format!("{}{suffix}", base.chars().take(31 - suffix.len()).collect::<String>());
        n += 1;
    }
    used.insert(name.to_lowercase());
    name
}

fn summary(wb: &mut Workbook, report: &Report, f: &Formats, used: &mut BTreeSet<String>) -> Result<(), XlsxError> {
    let m = &report.meta;
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name("Summary", used))?;
    ws.set_column_width(0, 30)?;
    ws.set_column_width(1, 60)?;
    ws.set_column_width(2, 50)?;
    ws.write_string_with_format(0, 0, safe(&m.title), &f.title)?;
    ws.write_string(1, 0, safe(&m.tenant_display_name))?;
    if let Some(logo) = &report.theme.logo {
        let (w, h) = crate::document::logo_box(crate::document::Medium::Sheet);
        let image = rust_xlsxwriter::Image::new_from_buffer(&logo.png)?
            .set_scale_to_size(w as u32, h as u32, true)
            .set_alt_text(crate::document::cut_to_units(
                &crate::document::logo_alt_text(&clean(&m.branding)),
                crate::document::SHEET_ALT_TEXT_UNITS,
            ));
        ws.insert_image(0, 2, &image)?;
    }
    let window = report.window_label();
    let rows = [
        ("Report id", m.report_id.clone()),
        ("Reporting window", window),
        ("Generated", report.theme.show_time(m.generated_at)),
        ("Classification", m.classification.as_str().to_string()),
        ("Audience", m.audience.clone()),
        ("Data provenance", m.data_provenance.as_str().to_string()),
        ("Snapshot digest", m.snapshot_digest.clone()),
        ("Redacted input values", m.redaction.total.to_string()),
    ];
    let mut row = 3;
    for (label, value) in rows {
        ws.write_string_with_format(row, 0, label, &f.label)?;
        write_text(ws, row, 1, &value, f)?;
        row += 1;
    }
    row += 1;
    ws.write_string_with_format(row, 0, "Metric", &f.header)?;
    ws.write_string_with_format(row, 1, "Value", &f.header)?;
    ws.write_string_with_format(row, 2, "Note", &f.header)?;
    row += 1;
    for b in &report.blocks {
        if let Block::Kpis { items } = b {
            for k in items {
                write_text(ws, row, 0, &k.label, f)?;
                write_text(ws, row, 1, &k.value, f)?;
                write_text(ws, row, 2, &k.note, f)?;
                row += 1;
            }
        }
    }
    row += 1;
    ws.write_string_with_format(row, 0, "Data quality", &f.label)?;
    if m.data_quality.is_empty() {
        ws.write_string(row, 1, "no problems found")?;
        row += 1;
    }
    for w in &m.data_quality {
        ws.write_string_with_format(row, 1, safe(w), &f.wrap)?;
        row += 1;
    }
    row += 1;
    write_text(ws, row, 0, &format!("{} · {}", m.branding, m.legal_footer), f)?;
    Ok(())
}

/// Header/footer text: `&` starts a control code there, so it is doubled.
fn header_text(s: &str) -> String {
    clean(s).replace('&', "&&").chars().take(80).collect()
}

fn chart_type(kind: ChartKind) -> ChartType {
    match kind {
        ChartKind::Bar => ChartType::Bar,
        ChartKind::Line => ChartType::Line,
        ChartKind::Donut => ChartType::Doughnut,
        ChartKind::HeatMap => ChartType::ColumnStacked,
    }
}

fn charts(wb: &mut Workbook, charts: &[&Chart], f: &Formats, used: &mut BTreeSet<String>) -> Result<(), XlsxError> {
    let name = sheet_name("Charts", used);
    let ws = wb.add_worksheet();
    ws.set_name(&name)?;
    ws.set_column_width(0, 34)?;
    let mut row: u32 = 0;
    for c in charts {
        ws.write_string_with_format(row, 0, safe(&c.title), &f.label)?;
        let head = row + 1;
        ws.write_string_with_format(head, 0, "Category", &f.header)?;
        for (j, s) in c.series.iter().enumerate() {
            ws.write_string_with_format(head, 1 + j as u16, safe(&s.name), &f.header)?;
        }
        // Heat maps have one series per row; as a table they read best transposed.
        let (cats, series): (Vec<String>, Vec<(String, Vec<f64>)>) = match c.kind {
            ChartKind::HeatMap => (
                c.series.iter().map(|s| s.name.clone()).collect(),
                c.categories
                    .iter()
                    .enumerate()
                    .map(|(j, cat)| {
                        (cat.clone(), c.series.iter().map(|s| s.values.get(j).copied().unwrap_or(0.0)).collect())
                    })
                    .collect(),
            ),
            ChartKind::Bar | ChartKind::Line | ChartKind::Donut => {
                (c.categories.clone(), c.series.iter().map(|s| (s.name.clone(), s.values.clone())).collect())
            }
        };
        if c.kind == ChartKind::HeatMap {
            for (j, (n, _)) in series.iter().enumerate() {
                ws.write_string_with_format(head, 1 + j as u16, safe(n), &f.header)?;
            }
        }
        for (i, cat) in cats.iter().enumerate() {
            write_text(ws, head + 1 + i as u32, 0, cat, f)?;
            for (j, (_, values)) in series.iter().enumerate() {
                ws.write_number(head + 1 + i as u32, 1 + j as u16, values.get(i).copied().unwrap_or(0.0))?;
            }
        }
        let last = head + cats.len().max(1) as u32;
        let mut chart = XChart::new(chart_type(c.kind));
        let (w, h) = crate::document::chart_box(c, crate::document::Medium::Sheet);
        chart
            .set_width(w as u32)
            .set_height(h as u32)
            .set_alt_text(clean(&crate::document::chart_alt_text_within(c, crate::document::SHEET_ALT_TEXT_UNITS)));
        chart.title().set_name((name.as_str(), row, 0));
        for j in 0..series.len() {
            let col = 1 + j as u16;
            // The series name refers to its header cell, so data never becomes a range or formula.
            let s = chart
                .add_series()
                .set_name((name.as_str(), head, col))
                .set_categories((name.as_str(), head + 1, 0, last, 0))
                .set_values((name.as_str(), head + 1, col, last, col));
            // Bars carry their values; a line's points and a donut's slices
            // are too close together for labels (their values are the
            // cells beside the chart).
            if c.kind == ChartKind::Bar {
                s.set_data_label(rust_xlsxwriter::ChartDataLabel::new().show_value());
            }
        }
        if c.kind != ChartKind::Donut && series.len() <= 1 {
            chart.legend().set_hidden();
        }
        ws.insert_chart(row, (series.len() + 2) as u16, &chart)?;
        row = last.max(row + 16) + 3;
    }
    Ok(())
}

fn width_of(cell: &Cell) -> usize {
    match cell {
        Cell::DateTime(_) => 19,
        other => other.to_text().chars().count(),
    }
}

fn xlsx_error(e: XlsxError) -> RenderError {
    RenderError::Backend { format: crate::Format::Xlsx, message: e.to_string() }
}

/// Rows sampled for column widths.
const WIDTH_SAMPLE: usize = 200;

fn dataset(
    wb: &mut Workbook,
    d: &Dataset,
    stream: Option<&mut StreamedRows<'_>>,
    f: &Formats,
    used: &mut BTreeSet<String>,
) -> Result<(), RenderError> {
    let name = sheet_name(&d.title, used);
    let total = row_count(d, stream.as_deref());
    let ws = if total > CONSTANT_MEMORY_ROWS {
        wb.add_worksheet_with_constant_memory().map_err(xlsx_error)?
    } else {
        wb.add_worksheet()
    };
    ws.set_name(&name).map_err(xlsx_error)?;
    let rows = total.min(MAX_ROWS - 1);
    // Column widths come from the first rows, so those are held until they
    // are measured; constant-memory sheets drop writes to earlier rows, so
    // the header goes first, then every row in order, each left to right.
    let mut first: Vec<Vec<Cell>> = Vec::new();
    let mut measured = false;
    let mut written = 0usize;
    let measure = |ws: &mut Worksheet, first: &[Vec<Cell>]| -> Result<(), XlsxError> {
        for (c, col) in d.columns.iter().enumerate() {
            let sample = first.iter().map(|r| width_of(&r[c])).max().unwrap_or(0);
            let width = sample.max(col.label.chars().count()).clamp(8, 60) + 2;
            ws.set_column_width(c as u16, width as f64)?;
        }
        for (c, col) in d.columns.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, safe(&col.label), &f.header)?;
        }
        Ok(())
    };
    let put = |ws: &mut Worksheet, row: &[Cell], written: &mut usize| -> Result<(), XlsxError> {
        if *written < rows {
            for (c, (cell, col)) in row.iter().zip(&d.columns).enumerate() {
                write_cell(ws, *written as u32 + 1, c as u16, cell, col.ty, f)?;
            }
            *written += 1;
        }
        Ok(())
    };
    for_each_row(crate::Format::Xlsx, d, stream, |row| {
        if measured {
            return put(ws, row, &mut written).map_err(xlsx_error);
        }
        first.push(row.to_vec());
        if first.len() == WIDTH_SAMPLE {
            measure(ws, &first).map_err(xlsx_error)?;
            measured = true;
            for r in std::mem::take(&mut first) {
                put(ws, &r, &mut written).map_err(xlsx_error)?;
            }
        }
        Ok(())
    })?;
    if !measured {
        measure(ws, &first).map_err(xlsx_error)?;
        for r in &first {
            put(ws, r, &mut written).map_err(xlsx_error)?;
        }
    }
    if !d.columns.is_empty() {
        ws.autofilter(0, 0, rows as u32, (d.columns.len() - 1) as u16).map_err(xlsx_error)?;
    }
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    Ok(())
}

/// Deflate level of the workbook's parts (1 = fastest, 9 = smallest).
const ZIP_LEVEL: u8 = 2;

fn workbook(
    report: &Report,
    mut stream: Option<&mut StreamedRows<'_>>,
    options: &crate::options::XlsxOptions,
) -> Result<Workbook, RenderError> {
    let f = Formats::new(report.theme.accent);
    let mut wb = Workbook::new();
    // A fast deflate level: a workbook of 200,000 rows is built in about
    // 60 % of the default level's time and comes out about 20 % larger
    // (level 1 is no faster: its larger output costs as much to write and
    // gate as it saves).
    wb.set_zip_compression_level(ZIP_LEVEL);
    let m = &report.meta;
    let props = DocProperties::new()
        .set_title(clean(&format!("{} — {}", m.title, m.tenant_display_name)))
        .set_subject(clean(&m.title))
        .set_author(clean(&m.branding))
        .set_company(safe(&m.tenant_display_name))
        .set_comment(format!("report {} · snapshot {} · {}", m.report_id, m.snapshot_digest, m.classification.as_str()))
        .set_creation_datetime(&excel_time(m.generated_at).map_err(xlsx_error)?);
    wb.set_properties(&props);
    let mut used = BTreeSet::new();
    summary(&mut wb, report, &f, &mut used).map_err(xlsx_error)?;
    let chart_blocks: Vec<&Chart> =
        report.blocks.iter().filter_map(|b| if let Block::Chart(c) = b { Some(c) } else { None }).collect();
    if !chart_blocks.is_empty() {
        charts(&mut wb, &chart_blocks, &f, &mut used).map_err(xlsx_error)?;
    }
    let first_data = wb.worksheets_mut().len();
    for d in &report.datasets {
        dataset(&mut wb, d, stream.as_deref_mut(), &f, &mut used)?;
    }
    for (i, ws) in wb.worksheets_mut().iter_mut().enumerate() {
        let columns = i.checked_sub(first_data).and_then(|d| report.datasets.get(d)).map(|d| d.columns.len());
        print_setup(ws, report, options.paper.unwrap_or(report.theme.paper), columns);
    }
    Ok(wb)
}

/// How a sheet prints: the report's paper, as wide as one page (a sheet
/// never splits its labels from their values across pages), the running
/// header and footer; a dataset's sheet (of `columns` columns) repeats its
/// header row on every page and turns landscape when it is wider than
/// [`crate::document::SHEET_UPRIGHT_COLUMNS`].
fn print_setup(ws: &mut Worksheet, report: &Report, paper: cavra_model::theme::Paper, columns: Option<usize>) {
    let m = &report.meta;
    // Excel's paper codes: 9 is A4, 1 is US Letter.
    ws.set_paper_size(match paper {
        cavra_model::theme::Paper::A4 => 9,
        cavra_model::theme::Paper::Letter => 1,
    });
    ws.set_print_fit_to_pages(1, 0);
    ws.set_header(format!("&L{}&R{}", header_text(&m.branding), header_text(m.classification.as_str())));
    ws.set_footer(format!("&L{}&RPage &P of &N", header_text(&m.title)));
    if let Some(n) = columns {
        // A header row that cannot be repeated (a sheet of no rows) only
        // prints once; the sheet is still whole.
        let _ = ws.set_repeat_rows(0, 0);
        if n > crate::document::SHEET_UPRIGHT_COLUMNS {
            ws.set_landscape();
        }
    }
}

/// Writes the workbook with one dataset's rows streamed into a
/// constant-memory sheet.
/// Writes the workbook straight into `out` (buffered) instead of building
/// it in memory, with one dataset's rows from `stream` when given (into a
/// constant-memory sheet).
pub(crate) fn write_to(
    report: &Report,
    stream: Option<&mut StreamedRows<'_>>,
    options: &crate::options::XlsxOptions,
    out: &mut dyn crate::SeekWrite,
) -> Result<(), RenderError> {
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    workbook(report, stream, options)?.save_to_writer(&mut buffered).map_err(xlsx_error)?;
    std::io::Write::flush(&mut buffered).map_err(|e| RenderError::write(crate::Format::Xlsx, e))
}

impl Renderer for XlsxRenderer {
    fn render_to(&self, report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
        let bytes = self.render_bytes(report)?;
        out.write_all(&bytes).map_err(|e| RenderError::write(crate::Format::Xlsx, e))
    }

    fn render_bytes(&self, report: &Report) -> Result<Vec<u8>, RenderError> {
        workbook(report, None, &self.options)?.save_to_buffer().map_err(xlsx_error)
    }
}
