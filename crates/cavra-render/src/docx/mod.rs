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

mod pack;

use cavra_model::report::{Block, Kpi, Report, TableView};
use docx_rs::{
    AlignmentType, Docx, Footer, Header, NumPages, PageNum, Paragraph, Pic, Run, Shading, ShdType, Style, StyleType,
    Table, TableCell, TableRow, WidthType,
};

use crate::chart::layout;
use crate::{Format, RenderError, Renderer};

pub(crate) struct DocxRenderer;

/// Usable text width of an A4 page with the default margins, in twips.
const TEXT_WIDTH: usize = 9000;
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
    // docx-rs defines "Normal"; packing marks it as the default paragraph style.
    for (id, name, size, level) in
        [("Heading1", "Heading 1", 36, 0), ("Heading2", "Heading 2", 28, 1), ("Heading3", "Heading 3", 24, 2)]
    {
        d = d.add_style(
            Style::new(id, StyleType::Paragraph)
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
                .outline_lvl(level),
        );
    }
    d.add_style(
        Style::new("Title", StyleType::Paragraph).name("Title").based_on("Normal").size(48).bold().color(accent),
    )
}

fn cell(s: &str, width: usize, header: bool, right: bool, accent: &str) -> TableCell {
    let mut run = text(s).size(18);
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
    }
    c
}

/// Column widths proportional to content, summing to the text width.
fn grid(header: &[String], rows: &[Vec<String>]) -> Vec<usize> {
    let n = header.len().max(1);
    let weights: Vec<usize> = (0..n)
        .map(|i| {
            let longest = rows
                .iter()
                .take(crate::document::WIDTH_SAMPLE_ROWS)
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0);
            longest.max(header.get(i).map_or(0, |h| h.chars().count())).clamp(8, 40)
        })
        .collect();
    let total: usize = weights.iter().sum();
    weights.iter().map(|w| (TEXT_WIDTH * w / total.max(1)).max(500)).collect()
}

fn table(header: Vec<String>, rows: Vec<Vec<String>>, numeric: &[bool], accent: &str) -> Table {
    let widths = grid(&header, &rows);
    // Header rows alone are `cant_split`; packing turns that into a repeating header.
    let mut out =
        vec![TableRow::new(header.iter().zip(&widths).map(|(h, w)| cell(h, *w, true, false, accent)).collect())
            .cant_split()];
    for r in &rows {
        out.push(TableRow::new(
            r.iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| cell(c, *w, false, numeric.get(i).copied().unwrap_or(false), accent))
                .collect(),
        ));
    }
    Table::new(out).set_grid(widths)
}

fn kpis(items: &[Kpi], accent: &str) -> Table {
    let rows = items.iter().map(|k| vec![k.label.clone(), k.value.clone(), k.note.clone()]).collect();
    table(vec!["Metric".into(), "Value".into(), "Note".into()], rows, &[false, true, false], accent)
}

fn data_table(report: &Report, v: &TableView, accent: &str) -> Table {
    let header = v.columns.iter().map(|c| c.label.clone()).collect();
    let rows = v.rows.iter().map(|r| r.iter().map(|c| report.cell_text(c)).collect()).collect();
    let numeric: Vec<bool> = v.columns.iter().map(|c| c.ty.is_numeric()).collect();
    table(header, rows, &numeric, accent)
}

fn build(report: &Report) -> Result<Docx, RenderError> {
    let m = &report.meta;
    let accent_hex = report.theme.accent_hex();
    let accent = accent_hex.trim_start_matches('#');
    let mut d = styles(Docx::new(), accent);
    // docx-rs defaults to A4 (11906 × 16838 twips).
    if report.theme.paper == cavra_model::theme::Paper::Letter {
        d = d.page_size(12240, 15840);
    }
    let window = report.window_label();
    if let Some(logo) = &report.theme.logo {
        // In the document layer's Word box, aspect kept (1 mm = 36,000 EMU).
        let (w, h) = crate::document::logo_fit((logo.width, logo.height), crate::document::Medium::Word);
        let (w, h) = (w * 36_000.0, h * 36_000.0);
        let pic = Pic::new_with_dimensions(logo.png.clone(), logo.width, logo.height).size(w as u32, h as u32);
        d = d.add_paragraph(Paragraph::new().add_run(Run::new().add_image(pic)));
    }
    // Cover block.
    d = d
        .add_paragraph(Paragraph::new().add_run(text(&m.branding).size(20).bold().color(accent)))
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
        );
    for b in &report.blocks {
        match b {
            Block::Heading { level: 1, .. } => {} // the cover carries the title
            Block::Heading { level, text: t } => {
                let style = match level {
                    2 => "Heading1",
                    3 => "Heading2",
                    _ => "Heading3",
                };
                d = d.add_paragraph(Paragraph::new().style(style).add_run(text(t)));
            }
            Block::Paragraph { text: t } => d = d.add_paragraph(para(t)),
            Block::Kpis { items } => d = d.add_table(kpis(items, accent)).add_paragraph(Paragraph::new()),
            Block::Callout { tone, text: t } => {
                let label = crate::document::tone(*tone).label;
                d = d.add_paragraph(
                    Paragraph::new().add_run(text(&format!("{label}: ")).bold().color(accent)).add_run(text(t)),
                );
            }
            Block::List { ordered, items } => {
                for (i, item) in items.iter().enumerate() {
                    let bullet = if *ordered { format!("{}. ", i + 1) } else { "• ".into() };
                    d = d.add_paragraph(
                        Paragraph::new().indent(Some(360), None, None, None).add_run(text(&bullet)).add_run(text(item)),
                    );
                }
            }
            Block::Chart(c) => {
                let l = layout(c, crate::document::Medium::Word);
                let png = crate::raster::png(&l);
                // 1 layout unit = 1/96 inch = 9525 EMU.
                let pic = Pic::new_with_dimensions(png, (l.width * 2.0) as u32, (l.height * 2.0) as u32)
                    .size((l.width * 9525.0) as u32, (l.height * 9525.0) as u32);
                d = d
                    .add_paragraph(Paragraph::new().add_run(text(&format!("Figure: {}", c.title)).bold()))
                    .add_paragraph(Paragraph::new().add_run(Run::new().add_image(pic)));
                let (header, rows) = chart_rows(c);
                let numeric: Vec<bool> = (0..header.len()).map(|i| i > 0).collect();
                d = d.add_table(table(header, rows, &numeric, accent)).add_paragraph(Paragraph::new());
            }
            Block::Table(t) => {
                let v = report.table_view(t).ok_or_else(|| RenderError::Backend {
                    format: Format::Docx,
                    message: format!("block refers to missing dataset `{}`", t.dataset),
                })?;
                d = d.add_paragraph(Paragraph::new().add_run(text(&v.dataset.title).bold()));
                d = d.add_table(data_table(report, &v, accent));
                if let Some(note) = crate::document::view_note(&v, v.rows.len()) {
                    d = d.add_paragraph(Paragraph::new().add_run(text(&note).italic().color(MUTED.as_str()).size(18)));
                }
                d = d.add_paragraph(Paragraph::new());
            }
        }
    }
    let mut header = Header::new().add_paragraph(
        Paragraph::new().add_run(
            text(&format!("{} · {} · {}", m.branding, m.title, m.classification.as_str().to_uppercase()))
                .size(16)
                .color(MUTED.as_str()),
        ),
    );
    if let Some(mark) = &report.theme.watermark {
        header = header.add_paragraph(Paragraph::new().align(AlignmentType::Center).add_run(
            text(mark).size(22).bold().color(crate::document::palette::ooxml(crate::document::palette::CRITICAL)),
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
    let when = m.generated_at.to_string();
    Ok(d.header(header).footer(footer).created_at(&when).updated_at(&when))
}

/// A chart's data as a table: categories down, series across (heat maps:
/// rows down, surfaces across).
fn chart_rows(c: &cavra_model::report::Chart) -> (Vec<String>, Vec<Vec<String>>) {
    let num = |v: f64| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") };
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

/// The text alternatives of the document's pictures, in the order they are
/// drawn: the logo (when there is one), then each chart.
fn picture_alt_texts(report: &Report) -> Vec<String> {
    let logo = report.theme.logo.as_ref().map(|_| crate::document::logo_alt_text(&report.meta.branding));
    let charts = report.blocks.iter().filter_map(|b| match b {
        Block::Chart(c) => Some(crate::document::chart_alt_text(c)),
        _ => None,
    });
    logo.into_iter().chain(charts).collect()
}

impl Renderer for DocxRenderer {
    fn render_to(&self, report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
        let backend = |message: String| RenderError::Backend { format: Format::Docx, message };
        let docx = build(report)?;
        let mut raw = std::io::Cursor::new(Vec::new());
        docx.build().pack(&mut raw).map_err(|e| backend(e.to_string()))?;
        let packed = pack::repack(raw.get_ref(), &picture_alt_texts(report)).map_err(backend)?;
        out.write_all(&packed).map_err(|e| RenderError::write(Format::Docx, e))
    }
}
