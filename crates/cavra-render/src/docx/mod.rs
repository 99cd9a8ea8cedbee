//! DOCX backend (docx-rs): real Heading 1–3 styles with outline levels (so
//! Word's navigation pane works), a cover block, KPI tables, data tables with
//! an explicit grid and a repeating header row, charts as PNG pictures with
//! their data beside them, a header with branding and classification and a
//! footer with the legal line and "page X of Y". Core properties carry the
//! report's own dates.
//!
//! docx-rs stores every part uncompressed and numbers pictures from a
//! process-wide counter; the package is therefore re-packed here with
//! deflate, fixed timestamps and picture ids numbered from 1 in document
//! order, so the same report always gives the same bytes.

mod chart;
mod pack;

use cavra_model::report::{Block, ColumnType, Kpi, Report, TableView};
use docx_rs::{
    AlignmentType, Docx, Footer, Header, NumPages, PageNum, Paragraph, Pic, Run, RunFonts, Shading, ShdType, Style,
    StyleType, Table, TableCell, TableRow, WidthType,
};

use crate::chart::layout;
use crate::document::table::{measure_column, plan_table, ColumnMeasure, TableMetrics, TablePlan};
use crate::options::DocxOptions;
use crate::{Format, RenderError, Renderer};

pub(crate) struct DocxRenderer {
    pub(crate) options: DocxOptions,
}

impl DocxRenderer {
    /// The renderer [`crate::render`] uses: every option at its default.
    pub(crate) const DEFAULT: DocxRenderer = DocxRenderer { options: DocxOptions::DEFAULT };
}

/// Page margins, one inch all round, in twips.
const MARGIN: u32 = 1440;

/// A page's size in twips, upright: A4 or US Letter.
fn paper_twips(paper: cavra_model::theme::Paper) -> (u32, u32) {
    match paper {
        cavra_model::theme::Paper::A4 => (11906, 16838),
        cavra_model::theme::Paper::Letter => (12240, 15840),
    }
}

/// The text column's width in points, on an upright page and a turned one.
fn text_widths(paper: cavra_model::theme::Paper) -> (f64, f64) {
    let (w, h) = paper_twips(paper);
    (f64::from(w - 2 * MARGIN) / 20.0, f64::from(h - 2 * MARGIN) / 20.0)
}

/// The section properties of `paper`, upright or turned, one-inch margins.
fn section(paper: cavra_model::theme::Paper, landscape: bool) -> docx_rs::SectionProperty {
    let (w, h) = paper_twips(paper);
    let (size, orient) = if landscape {
        (docx_rs::PageSize::new().size(h, w), docx_rs::PageOrientationType::Landscape)
    } else {
        (docx_rs::PageSize::new().size(w, h), docx_rs::PageOrientationType::Portrait)
    };
    docx_rs::SectionProperty::new().page_size(size.orient(orient)).page_margin(margins())
}

fn margins() -> docx_rs::PageMargin {
    let m = MARGIN as i32;
    docx_rs::PageMargin::new().top(m).bottom(m).left(m).right(m).header(720).footer(720)
}

/// Column widths and orientation for a table's text, as the document layer
/// plans them with the document face's metrics at Word's table size.
/// `widths` are the text column's upright and turned widths in points.
fn plan(header: &[String], rows: &[Vec<String>], widths: (f64, f64)) -> TablePlan {
    let m = TableMetrics::WORD;
    let regular = |s: &str| crate::document::fonts::text_width(s, m.font_size, false);
    let bold = |s: &str| crate::document::fonts::text_width(s, m.font_size, true);
    let measures: Vec<ColumnMeasure> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let cells =
                rows.iter().take(crate::document::WIDTH_SAMPLE_ROWS).filter_map(|r| r.get(i).map(String::as_str));
            measure_column(&clean(h), cells, &m, &regular, &bold)
        })
        .collect();
    plan_table(&measures, widths.0, widths.1)
}

/// Secondary text (`document::palette::MUTED`).
static MUTED: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::document::palette::ooxml(crate::document::palette::MUTED));

fn clean(s: &str) -> String {
    crate::text::strip_controls(s).into_owned()
}

fn text(s: &str) -> Run {
    Run::new().add_text(clean(s))
}

fn para(s: &str) -> Paragraph {
    Paragraph::new().add_run(text(s))
}

fn styles(mut d: Docx, accent: &str) -> Docx {
    // The PDFs' face: documents look the same in both, and readers without
    // it substitute a sans-serif rather than their serif default.
    let face = crate::document::DOCUMENT_FONT;
    d = d.default_fonts(RunFonts::new().ascii(face).hi_ansi(face).east_asia(face).cs(face));
    // docx-rs defines "Normal"; packing marks it as the default paragraph style.
    for (id, name, size, level) in
        [("Heading1", "Heading 1", 36, 0), ("Heading2", "Heading 2", 28, 1), ("Heading3", "Heading 3", 24, 2)]
    {
        let mut style = Style::new(id, StyleType::Paragraph)
            .name(name)
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .size(size)
            .bold()
            .color(if level == 0 {
                accent.to_string()
            } else {
                crate::document::palette::ooxml(crate::document::palette::INK)
            })
            .outline_lvl(level)
            // Room above a heading, and kept with what follows.
            .line_spacing(docx_rs::LineSpacing::new().before(if level == 0 { 360 } else { 240 }).after(80));
        // A heading stays on the page of what follows it.
        style.paragraph_property = style.paragraph_property.keep_next(true);
        d = d.add_style(style);
    }
    d.add_style(
        Style::new("Title", StyleType::Paragraph).name("Title").based_on("Normal").size(48).bold().color(accent),
    )
}

fn cell(s: &str, width: usize, header: bool, ty: ColumnType, accent: &str) -> TableCell {
    let right = ty.is_numeric();
    // Half-points, at the size the widths were planned for.
    let mut run = text(s).size((TableMetrics::WORD.font_size * 2.0).round() as usize);
    if header {
        let fill = u32::from_str_radix(accent, 16).unwrap_or(crate::document::palette::DEFAULT_ACCENT);
        run = run.bold().color(crate::document::palette::ooxml(crate::document::palette::on(fill)));
    }
    let mut p = Paragraph::new().add_run(run);
    if right {
        p = p.align(AlignmentType::Right);
    }
    let mut c = TableCell::new().add_paragraph(p).width(width, WidthType::Dxa);
    if header {
        c = c.shading(Shading::new().shd_type(ShdType::Clear).color("auto").fill(accent));
    } else if let Some(m) = crate::document::severity_mark(ty, s) {
        let tint = crate::document::palette::ooxml(m.tint);
        c = c.shading(Shading::new().shd_type(ShdType::Clear).color("auto").fill(&tint));
    }
    c
}

/// Column widths proportional to content, summing to the text width.
/// A table laid out by `plan` (widths in points).
/// `types` gives each column's type: numbers are right-aligned, severities
/// tinted.
fn table(header: Vec<String>, rows: Vec<Vec<String>>, types: &[ColumnType], accent: &str, plan: &TablePlan) -> Table {
    let ty = |i: usize| types.get(i).copied().unwrap_or(ColumnType::Text);
    let widths: Vec<usize> = plan.widths.iter().map(|w| (w * 20.0).round() as usize).collect();
    // Header rows alone are `cant_split`; packing turns that into a repeating header.
    let mut out = vec![TableRow::new(
        header.iter().zip(&widths).enumerate().map(|(i, (h, w))| cell(h, *w, true, ty(i), accent)).collect(),
    )
    .cant_split()];
    for r in &rows {
        out.push(TableRow::new(
            r.iter().zip(&widths).enumerate().map(|(i, (c, w))| cell(c, *w, false, ty(i), accent)).collect(),
        ));
    }
    Table::new(out).set_grid(widths).layout(docx_rs::TableLayoutType::Fixed)
}

/// A table that always stays upright (KPIs, a chart's values): its columns
/// share the upright width.
fn upright_table(header: Vec<String>, rows: Vec<Vec<String>>, types: &[ColumnType], accent: &str, width: f64) -> Table {
    let p = plan(&header, &rows, (width, width));
    table(header, rows, types, accent, &p)
}

fn kpis(items: &[Kpi], accent: &str, width: f64) -> Table {
    let rows = items.iter().map(|k| vec![k.label.clone(), k.value.clone(), k.note.clone()]).collect();
    upright_table(
        vec!["Metric".into(), "Value".into(), "Note".into()],
        rows,
        &[ColumnType::Text, ColumnType::Integer, ColumnType::Text],
        accent,
        width,
    )
}

/// A dataset table's text and plan, made before the document is built:
/// whether it needs landscape pages decides where its section starts.
struct DataTable<'v> {
    view: TableView<'v>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    plan: TablePlan,
}

fn data_table<'v>(report: &Report, view: TableView<'v>, o: &DocxOptions) -> DataTable<'v> {
    let header: Vec<String> = view.columns.iter().map(|c| c.label.clone()).collect();
    let rows: Vec<Vec<String>> = view.rows.iter().map(|r| r.iter().map(|c| report.cell_text(c)).collect()).collect();
    let (upright, turned) = text_widths(o.paper.unwrap_or(report.theme.paper));
    let plan = plan(&header, &rows, (upright, o.wide_tables.turned_width(upright, turned)));
    DataTable { view, header, rows, plan }
}

fn build(report: &Report, o: &DocxOptions) -> Result<Docx, RenderError> {
    let m = &report.meta;
    let accent_hex = report.theme.accent_hex();
    let accent = accent_hex.trim_start_matches('#');
    let paper = o.paper.unwrap_or(report.theme.paper);
    let (w, h) = paper_twips(paper);
    let mut d = styles(Docx::new(), accent).page_size(w, h).page_margin(margins());
    d = cover(d, report, accent);
    let (tables, turned) =
        crate::document::table::plan_tables(report, Format::Docx, |v| data_table(report, v, o), |t| &t.plan)?;
    let upright = text_widths(paper).0;
    let mut native = 0;
    let mut landscape = false;
    for ((b, t), turn) in report.blocks.iter().zip(&tables).zip(turned) {
        if turn != landscape {
            // This paragraph ends the section before it, on that section's pages.
            d = d.add_paragraph(Paragraph::new().section_property(section(paper, landscape)));
            landscape = turn;
        }
        d = match (b, t) {
            (Block::Table(_), Some(t)) => {
                let types: Vec<ColumnType> = t.view.columns.iter().map(|c| c.ty).collect();
                let mut d = d
                    .add_paragraph(Paragraph::new().add_run(text(&t.view.dataset.title).bold()))
                    .add_table(table(t.header.clone(), t.rows.clone(), &types, accent, &t.plan));
                if let Some(note) = crate::document::view_note(&t.view, t.view.rows.len()) {
                    d = d.add_paragraph(Paragraph::new().add_run(text(&note).italic().color(MUTED.as_str()).size(18)));
                }
                d.add_paragraph(Paragraph::new())
            }
            (Block::Chart(c), _) if chart::is_native(c) => {
                native += 1;
                let d = d
                    .add_paragraph(caption(&c.title))
                    .add_paragraph(Paragraph::new().add_run(Run::new().add_text(chart::marker(native))));
                chart_values(d, c, accent, upright)
            }
            _ => block(d, b, accent, upright),
        };
    }
    if landscape {
        // The document's own section properties are its last section's.
        d = d.page_size(h, w).page_orient(docx_rs::PageOrientationType::Landscape);
    }
    let when = m.generated_at.to_string();
    Ok(header_footer(d, report).created_at(&when).updated_at(&when))
}

/// The cover: the logo, organisation, title, tenant and the report's facts.
fn cover(mut d: Docx, report: &Report, accent: &str) -> Docx {
    let m = &report.meta;
    let window = report.window_label();
    if let Some(logo) = &report.theme.logo {
        // In the document layer's Word box, aspect kept (1 mm = 36,000 EMU).
        let (w, h) = crate::document::logo_fit((logo.width, logo.height), crate::document::Medium::Word);
        let (w, h) = (w * 36_000.0, h * 36_000.0);
        let pic = Pic::new_with_dimensions(logo.png.clone(), logo.width, logo.height).size(w as u32, h as u32);
        d = d.add_paragraph(Paragraph::new().add_run(Run::new().add_image(pic)));
    }
    d.add_paragraph(Paragraph::new().add_run(text(&m.branding).size(20).bold().color(accent)))
        .add_paragraph(Paragraph::new().style("Title").add_run(text(&m.title)))
        .add_paragraph(Paragraph::new().add_run(text(&m.tenant_display_name).size(28)))
        .add_paragraph(Paragraph::new().add_run(text(&format!("Reporting window {window}")).color(MUTED.as_str())))
        .add_paragraph(
            Paragraph::new().add_run(
                text(&format!(
                    "Classification: {} · Audience: {} · Report {}",
                    m.classification.as_str(),
                    m.audience,
                    m.report_id
                ))
                .color(MUTED.as_str())
                .size(18),
            ),
        )
}

/// A heat map as a table: a row per series, a column per category, each
/// value's cell tinted with its heat colour (the value is always written).
fn heat_table(c: &cavra_model::report::Chart, accent: &str, width: f64) -> Table {
    let (header, rows) = chart_rows(c);
    let p = plan(&header, &rows, (width, width));
    let widths: Vec<usize> = p.widths.iter().map(|w| (w * 20.0).round() as usize).collect();
    let mut out = vec![TableRow::new(
        header.iter().zip(&widths).map(|(h, w)| cell(h, *w, true, ColumnType::Text, accent)).collect(),
    )
    .cant_split()];
    for (s, r) in c.series.iter().zip(&rows) {
        let cells = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (t, w))| match i.checked_sub(1).and_then(|j| s.values.get(j)) {
                Some(v) => {
                    let fill = crate::chart::heat_colour(*v).trim_start_matches('#').to_uppercase();
                    cell(t, *w, false, ColumnType::Decimal, accent)
                        .shading(Shading::new().shd_type(ShdType::Clear).color("auto").fill(&fill))
                }
                None => cell(t, *w, false, ColumnType::Text, accent),
            })
            .collect();
        out.push(TableRow::new(cells));
    }
    Table::new(out).set_grid(widths).layout(docx_rs::TableLayoutType::Fixed)
}

/// A chart's values as a table under it.
fn chart_values(d: Docx, c: &cavra_model::report::Chart, accent: &str, width: f64) -> Docx {
    let (header, rows) = chart_rows(c);
    let types: Vec<ColumnType> =
        (0..header.len()).map(|i| if i == 0 { ColumnType::Text } else { ColumnType::Decimal }).collect();
    d.add_table(upright_table(header, rows, &types, accent, width)).add_paragraph(Paragraph::new())
}

/// Every block but a table and a native chart.
/// A figure's caption, kept on the page of the figure it names.
fn caption(title: &str) -> Paragraph {
    Paragraph::new().keep_next(true).add_run(text(&format!("Figure: {title}")).bold())
}

fn block(mut d: Docx, b: &Block, accent: &str, width: f64) -> Docx {
    match b {
        Block::Heading { level: 1, .. } => d, // the cover carries the title
        Block::Heading { level, text: t } => {
            let style = match level {
                2 => "Heading1",
                3 => "Heading2",
                _ => "Heading3",
            };
            d.add_paragraph(Paragraph::new().style(style).add_run(text(t)))
        }
        Block::Paragraph { text: t } => d.add_paragraph(para(t)),
        Block::Kpis { items } => d.add_table(kpis(items, accent, width)).add_paragraph(Paragraph::new()),
        Block::Callout { tone, text: t } => {
            let label = crate::document::tone(*tone).label;
            d.add_paragraph(Paragraph::new().add_run(text(&format!("{label}: ")).bold().color(accent)).add_run(text(t)))
        }
        Block::List { ordered, items } => {
            for (i, item) in items.iter().enumerate() {
                let bullet = if *ordered { format!("{}. ", i + 1) } else { "• ".into() };
                d = d.add_paragraph(
                    Paragraph::new().indent(Some(360), None, None, None).add_run(text(&bullet)).add_run(text(item)),
                );
            }
            d
        }
        // Word has no heat-map chart: the map is a table of its values,
        // each cell tinted with its heat colour, and its legend.
        Block::Chart(c) => {
            let legend: Vec<String> =
                layout(c, crate::document::Medium::Word).legend.into_iter().map(|g| g.text).collect();
            d.add_paragraph(caption(&c.title))
                .add_table(heat_table(c, accent, width))
                .add_paragraph(
                    Paragraph::new()
                        .add_run(text(&format!("Heat score: {}", legend.join("; "))).color(MUTED.as_str()).size(16)),
                )
                .add_paragraph(Paragraph::new())
        }
        // Tables are laid out by the caller, which planned their pages.
        Block::Table(_) => d,
    }
}

/// The running header (with the watermark, when the theme has one) and the
/// footer with the legal line and page numbers.
fn header_footer(d: Docx, report: &Report) -> Docx {
    let m = &report.meta;
    let mut header = Header::new().add_paragraph(
        Paragraph::new().add_run(
            text(&format!("{} · {} · {}", m.branding, m.title, m.classification.as_str().to_uppercase()))
                .size(16)
                .color(MUTED.as_str()),
        ),
    );
    if let Some(mark) = &report.theme.watermark {
        header = header.add_paragraph(Paragraph::new().align(AlignmentType::Center).add_run(
            text(mark).size(22).bold().color(crate::document::palette::ooxml(crate::document::palette::CRITICAL_TEXT)),
        ));
    }
    let footer = Footer::new().add_paragraph(
        Paragraph::new()
            .add_run(text(&format!("{} · ", m.legal_footer)).size(16).color(MUTED.as_str()))
            .add_run(text("Page ").size(16).color(MUTED.as_str()))
            .add_page_num(PageNum::new())
            .add_run(text(" of ").size(16).color(MUTED.as_str()))
            .add_num_pages(NumPages::new()),
    );
    d.header(header).footer(footer)
}

/// A chart's data as a table: categories down, series across (heat maps:
/// rows down, surfaces across).
fn chart_rows(c: &cavra_model::report::Chart) -> (Vec<String>, Vec<Vec<String>>) {
    let num = crate::document::chart_value;
    match c.kind {
        cavra_model::report::ChartKind::HeatMap => {
            let mut header = vec![String::new()];
            header.extend(c.categories.iter().cloned());
            (
                header,
                c.series
                    .iter()
                    .map(|s| std::iter::once(s.name.clone()).chain(s.values.iter().map(|v| num(*v))).collect())
                    .collect(),
            )
        }
        cavra_model::report::ChartKind::Bar
        | cavra_model::report::ChartKind::Line
        | cavra_model::report::ChartKind::Donut => {
            let mut header = vec!["Category".to_string()];
            header.extend(c.series.iter().map(|s| s.name.clone()));
            let rows = c
                .categories
                .iter()
                .enumerate()
                .map(|(i, cat)| {
                    std::iter::once(cat.clone())
                        .chain(c.series.iter().map(|s| s.values.get(i).map_or(String::new(), |v| num(*v))))
                        .collect()
                })
                .collect();
            (header, rows)
        }
    }
}

/// The text alternatives of the document's drawings, in the order they are
/// drawn: the logo (when there is one), then each native chart.
fn picture_alt_texts(report: &Report) -> Vec<String> {
    let logo = report.theme.logo.as_ref().map(|_| crate::document::logo_alt_text(&report.meta.branding));
    let charts = report.blocks.iter().filter_map(|b| match b {
        Block::Chart(c) if chart::is_native(c) => Some(crate::document::chart_alt_text(c)),
        _ => None,
    });
    logo.into_iter().chain(charts).collect()
}

/// The report's native charts, in order, ready to pack.
fn chart_parts(report: &Report) -> Result<Vec<pack::ChartPart>, RenderError> {
    let backend = |message: String| RenderError::Backend { format: Format::Docx, message };
    let created = crate::xlsx::excel_time(report.meta.generated_at).map_err(|e| backend(e.to_string()))?;
    let mut parts = Vec::new();
    for b in &report.blocks {
        let Block::Chart(c) = b else { continue };
        if !chart::is_native(c) {
            continue;
        }
        let n = parts.len() + 1;
        let (w, h) = crate::document::chart_box(c, crate::document::Medium::Word);
        // 1 layout unit = 1/96 inch = 9525 EMU.
        parts.push(pack::ChartPart {
            xml: chart::chart_part(c),
            rels: chart::chart_rels(n),
            workbook: chart::workbook(c, &created).map_err(backend)?,
            size: ((w * 9525.0) as u64, ((h + 60.0) * 9525.0) as u64),
            name: format!("Chart {n}"),
        });
    }
    Ok(parts)
}

impl Renderer for DocxRenderer {
    fn render_to(&self, report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
        let backend = |message: String| RenderError::Backend { format: Format::Docx, message };
        let docx = build(report, &self.options)?;
        let mut raw = std::io::Cursor::new(Vec::new());
        docx.build().pack(&mut raw).map_err(|e| backend(e.to_string()))?;
        let packed = pack::repack(raw.get_ref(), &picture_alt_texts(report), &chart_parts(report)?).map_err(backend)?;
        out.write_all(&packed).map_err(|e| RenderError::write(Format::Docx, e))
    }
}
