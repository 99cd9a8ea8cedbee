//! PDF backend (printpdf 0.12): a cover block, running header and footer
//! ("page X of Y"), headings, wrapped paragraphs, KPI tiles, tables that
//! break across pages with repeated header rows, and charts drawn as vector
//! graphics. Text uses the embedded DejaVu Sans (subset on save), so it is
//! selectable and extractable. Document dates and the trailer `/ID` come
//! from the report, never the clock or a process-wide counter.

mod canvas;
mod structure;

use std::sync::LazyLock;

use crate::document::table::{measure_column, plan_table, ColumnMeasure, TableMetrics, TablePlan};
use cavra_model::report::{Block, Chart, Kpi, Report, TableView, Tone};
use printpdf::{Mm, ParsedFont, PdfDocument, PdfPage, PdfSaveOptions};
use sha2::{Digest, Sha256};

use canvas::{fit, hex_colour, rgb, wrap, Canvas, FontRef, PageSize, A4, LETTER, MARGIN};

use crate::chart::layout;
use crate::options::PdfOptions;
use crate::{Format, RenderError, Renderer};

pub(crate) struct PdfRenderer {
    pub(crate) options: PdfOptions,
}

impl PdfRenderer {
    /// The renderer [`crate::render`] uses: every option at its default.
    pub(crate) const DEFAULT: PdfRenderer = PdfRenderer { options: PdfOptions::DEFAULT };
}

use crate::document::fonts::{ADVANCES, BOLD, REGULAR};

static PARSED: LazyLock<Option<(ParsedFont, ParsedFont)>> = LazyLock::new(|| {
    let mut warnings = Vec::new();
    Some((ParsedFont::from_bytes(REGULAR, 0, &mut warnings)?, ParsedFont::from_bytes(BOLD, 0, &mut warnings)?))
});

/// Parses the embedded fonts and their metrics now (see [`crate::warm_up`]).
pub(crate) fn prepare() {
    let _ = (PARSED.is_some(), ADVANCES.0.len());
}

use crate::document::palette::{on, AXIS, CRITICAL_TEXT, INK, LINE, MUTED, TILE, WATERMARK, ZEBRA};

struct Fonts<'a> {
    regular: FontRef<'a>,
    bold: FontRef<'a>,
}

fn clean(s: &str) -> String {
    crate::text::strip_controls(s).replace(['\r', '\t'], " ")
}

/// A paragraph, tagged `P`.
fn paragraph(c: &mut Canvas, f: &FontRef, text: &str, size: f32, indent: f32, colour: u32) {
    c.open("P");
    lines(c, f, text, size, indent, colour);
    c.close();
}

/// Wrapped lines of text in the current structure element.
fn lines(c: &mut Canvas, f: &FontRef, text: &str, size: f32, indent: f32, colour: u32) {
    let lead = size * B.lead;
    for line in wrap(f, &clean(text), size, c.content_width() - indent) {
        c.ensure(lead);
        c.y += lead;
        c.text_at(f, &line, size, MARGIN + indent, c.y - lead * 0.25, rgb(colour));
    }
    c.y += size * 0.5;
}

fn heading(c: &mut Canvas, f: &Fonts, text: &str, level: u8) {
    let size = if level <= 2 { T.heading } else { T.subheading };
    // Keep a heading with at least a few lines of what follows.
    c.ensure(size * 2.0 + B.heading_keep);
    c.y += size * 0.9;
    c.y += size * 1.2;
    c.open(if level <= 2 { "H2" } else { "H3" });
    c.text_at(
        &f.bold,
        &fit(&f.bold, &clean(text), size, c.content_width()),
        size,
        MARGIN,
        c.y - 3.0,
        rgb(if level <= 2 { c.accent } else { INK }),
    );
    c.close();
    if level <= 2 {
        let y = c.y + 2.0;
        c.line(&[(MARGIN, y), (MARGIN + c.content_width(), y)], 0.6, rgb(LINE));
    }
    c.y += B.heading_after;
}

fn kpis(c: &mut Canvas, f: &Fonts, items: &[Kpi]) {
    let (per_row, gap, inset) = (B.tiles_per_row, B.tile_gap, B.tile_inset);
    let (label_y, value_y, note_y) = B.tile_baselines;
    let w = (c.content_width() - gap * (per_row as f32 - 1.0)) / per_row as f32;
    let text_w = w - (2.0 * inset - 4.0);
    // A label takes up to two lines (the last cut if longer still); a row of
    // tiles grows by a line when one of its labels needs two.
    let label_lines = |k: &Kpi| -> Vec<String> {
        let mut lines = wrap(&f.regular, &clean(&k.label).to_uppercase(), T.small, text_w);
        if lines.len() > 2 {
            lines.truncate(2);
            lines[1] = fit(&f.regular, &format!("{}…", lines[1]), T.small, text_w);
        }
        lines
    };
    for chunk in items.chunks(per_row) {
        let labels: Vec<Vec<String>> = chunk.iter().map(label_lines).collect();
        let extra = if labels.iter().any(|l| l.len() > 1) { B.tile_label_line } else { 0.0 };
        let h = B.tile_height + extra;
        c.ensure(h + gap);
        for (i, (k, label)) in chunk.iter().zip(&labels).enumerate() {
            let x = MARGIN + i as f32 * (w + gap);
            c.open("P");
            c.rect(x, c.y, w, h, rgb(TILE));
            c.rect(x, c.y, B.accent_bar, h, rgb(c.accent));
            let step = B.tile_label_line;
            for (j, line) in label.iter().enumerate() {
                c.text_at(&f.regular, line, T.small, x + inset, c.y + label_y + step * j as f32, rgb(MUTED));
            }
            let value = fit(&f.bold, &clean(&k.value), T.figure, text_w);
            c.text_at(&f.bold, &value, T.figure, x + inset, c.y + value_y + extra, rgb(INK));
            for (j, line) in wrap(&f.regular, &clean(&k.note), T.small, text_w).iter().take(2).enumerate() {
                c.text_at(&f.regular, line, T.small, x + inset, c.y + note_y + extra + step * j as f32, rgb(MUTED));
            }
            c.close();
        }
        c.y += h + gap;
    }
    c.y += B.tiles_after;
}

/// A list tagged `L`, each item an `LI` of its marker (`Lbl`) and text
/// (`LBody`).
fn list(c: &mut Canvas, f: &Fonts, ordered: bool, items: &[String]) {
    c.open("L");
    for (i, item) in items.iter().enumerate() {
        let marker = if ordered { format!("{}.", i + 1) } else { "•".into() };
        c.ensure(13.0);
        c.open("LI");
        c.open("Lbl");
        c.text_at(&f.regular, &marker, T.body, MARGIN + B.list_indent.0, c.y + 13.0 - 3.25, rgb(c.accent));
        c.close();
        c.open("LBody");
        lines(c, &f.regular, item, T.body, B.list_indent.1, INK);
        c.close();
        c.close();
        c.y -= 3.0;
    }
    c.close();
    c.y += 6.0;
}

fn callout(c: &mut Canvas, f: &Fonts, tone: Tone, text: &str) {
    let style = crate::document::tone(tone);
    let colour = style.colour.unwrap_or(c.accent);
    let (inset, lead, pad, first) = B.callout;
    let text = format!("{}: {}", style.label, clean(text));
    let lines = wrap(&f.regular, &text, T.callout, c.content_width() - (2.0 * inset - 4.0));
    let h = lines.len() as f32 * lead + pad;
    c.ensure(h + 8.0);
    c.open("P");
    c.rect(MARGIN, c.y, c.content_width(), h, rgb(style.background));
    c.rect(MARGIN, c.y, B.accent_bar, h, rgb(colour));
    for (i, l) in lines.iter().enumerate() {
        c.text_at(&f.regular, l, T.callout, MARGIN + inset, c.y + first + lead * i as f32, rgb(INK));
    }
    c.close();
    c.y += h + B.callout_after;
}

fn chart(c: &mut Canvas, f: &Fonts, ch: &Chart) {
    let width = c.content_width();
    let l = layout(ch, crate::document::Medium::Page { width: f64::from(width) });
    let (columns, row, swatch, gap) = B.legend;
    let legend_h = if l.legend.is_empty() { 0.0 } else { row * l.legend.len().div_ceil(columns) as f32 };
    c.ensure(l.height as f32 + 28.0 + legend_h);
    c.open_with("Figure", Some(clean(&l.description)));
    c.y += 14.0;
    c.text_at(
        &f.bold,
        &fit(&f.bold, &clean(&l.title), T.chart_title, width),
        T.chart_title,
        MARGIN,
        c.y - 2.0,
        rgb(INK),
    );
    c.y += 6.0;
    let (x0, y0) = (MARGIN, c.y);
    let p = |x: f64, y: f64| (x0 + x as f32, y0 + y as f32);
    for a in &l.axes {
        c.line(&[p(a.0, a.1), p(a.2, a.3)], 0.6, rgb(AXIS));
    }
    for r in &l.rects {
        let (x, y) = p(r.x, r.y);
        c.rect(x, y, r.w as f32, r.h as f32, hex_colour(&r.fill));
    }
    for line in &l.lines {
        let pts: Vec<(f32, f32)> = line.points.iter().map(|(x, y)| p(*x, *y)).collect();
        c.line(&pts, 1.6, hex_colour(&line.stroke));
    }
    donut(c, &l, x0, y0);
    for t in &l.labels {
        let size = l.label_size as f32;
        let (x, y) = p(t.x, t.y);
        if t.vertical {
            c.text_rotated(&f.regular, &clean(&t.text), size, x, y, 90.0, rgb(INK));
            continue;
        }
        let w = f.regular.width(&clean(&t.text), size);
        let x = match t.anchor {
            "end" => x - w,
            "middle" => x - w / 2.0,
            _ => x,
        };
        c.text_at(&f.regular, &clean(&t.text), size, x, y, rgb(INK));
    }
    c.y += l.height as f32 + 6.0;
    let column = width / columns as f32;
    for (i, g) in l.legend.iter().enumerate() {
        if i % columns == 0 && i > 0 {
            c.y += row;
        }
        let x = MARGIN + (i % columns) as f32 * column;
        c.rect(x, c.y, swatch, swatch, hex_colour(&g.fill));
        c.text_at(
            &f.regular,
            &fit(&f.regular, &clean(&g.text), T.running, column - (gap + 2.0)),
            T.running,
            x + gap,
            c.y + swatch - 1.0,
            rgb(MUTED),
        );
    }
    if !l.legend.is_empty() {
        c.y += 16.0;
    }
    c.close();
    c.y += 8.0;
}

/// Donut slices as polygons approximating the arcs.
fn donut(c: &mut Canvas, l: &crate::chart::Layout, x0: f32, y0: f32) {
    let page_h = c.size.height;
    for s in &l.slices {
        let steps = ((s.sweep / std::f64::consts::TAU) * 96.0).ceil().max(2.0) as usize;
        let pt = |r: f64, k: usize| {
            let (x, y) = s.point(r, k as f64 / steps as f64);
            (x0 + x as f32, page_h - (y0 + y as f32))
        };
        let mut pts: Vec<(f32, f32)> = (0..=steps).map(|k| pt(s.outer, k)).collect();
        pts.extend((0..=steps).rev().map(|k| pt(s.inner, k)));
        c.polygon(&pts, hex_colour(&s.fill));
    }
}

/// A table's text and plan, made before anything is drawn: whether it
/// needs landscape pages decides where its section starts.
struct TableText<'v> {
    view: TableView<'v>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    plan: TablePlan,
}

const TABLE: TableMetrics = TableMetrics::PAGE;

/// The page's type sizes.
const T: crate::document::TypeScale = crate::document::PAGE_TYPE;
/// The building blocks' geometry (the document layer's).
const B: crate::document::PageBoxes = crate::document::PAGE_BOXES;

/// The width a severity mark and its gap take before the word.
const MARK_ROOM: f32 = 7.0;

/// Measures a table view and plans its columns for `size` paper.
fn table_text<'v>(f: &Fonts, report: &Report, view: TableView<'v>, size: PageSize, o: &PdfOptions) -> TableText<'v> {
    let header: Vec<String> = view.columns.iter().map(|col| clean(&col.label)).collect();
    let shown = view.rows.len().min(o.table_rows);
    let rows: Vec<Vec<String>> =
        view.rows.iter().take(shown).map(|r| r.iter().map(|cell| clean(&report.cell_text(cell))).collect()).collect();
    let pt = TABLE.font_size as f32;
    let regular = |s: &str| f64::from(f.regular.width(s, pt));
    let bold = |s: &str| f64::from(f.bold.width(s, pt));
    let measures: Vec<ColumnMeasure> = (0..header.len())
        .map(|i| {
            let sample = rows.iter().take(crate::document::WIDTH_SAMPLE_ROWS).map(|r| r[i].as_str());
            let mut m = measure_column(&header[i], sample, &TABLE, &regular, &bold);
            if view.columns[i].ty == cavra_model::report::ColumnType::Severity {
                // Room for the mark before the word.
                m.min += f64::from(MARK_ROOM);
                m.natural += f64::from(MARK_ROOM);
            }
            m
        })
        .collect();
    let content = |s: PageSize| f64::from(s.width - 2.0 * MARGIN);
    let plan = plan_table(&measures, content(size), o.wide_tables.turned_width(content(size), content(size.turned())));
    TableText { view, header, rows, plan }
}

/// The lines of each cell of a row, as wide as the plan's columns.
fn cell_lines(font: &FontRef, texts: &[String], widths: &[f32]) -> Vec<Vec<String>> {
    let (size, pad) = (TABLE.font_size as f32, TABLE.pad as f32);
    texts
        .iter()
        .zip(widths)
        .map(|(t, w)| {
            let lines = wrap(font, t, size, w - 2.0 * pad);
            crate::document::table::limit_lines(lines, &TABLE, &|s: &str| fit(font, s, size, w - 2.0 * pad))
        })
        .collect()
}

/// A table tagged `Table` (its title the `Caption`, a `TR` of `TH` and a
/// `TR` of `TD` per row), then the note on what it leaves out.
fn table(c: &mut Canvas, f: &Fonts, t: &TableText) {
    let (size, lead, pad) = (TABLE.font_size as f32, TABLE.lead as f32, TABLE.pad as f32);
    let width = c.content_width();
    c.ensure(40.0);
    c.y += 12.0;
    c.open("Table");
    c.open("Caption");
    let title = fit(&f.bold, &clean(&t.view.dataset.title), T.table_title, width);
    c.text_at(&f.bold, &title, T.table_title, MARGIN, c.y - 2.0, rgb(INK));
    c.close();
    c.y += 4.0;
    let widths: Vec<f32> = t.plan.widths.iter().map(|w| *w as f32).collect();
    let head = cell_lines(&f.bold, &t.header, &widths);
    let height = |cells: &[Vec<String>]| cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * lead + 2.0 * pad;
    let head_h = height(&head);
    // The first header row is the table's; a repeated one is an artifact.
    let draw_header = |c: &mut Canvas, tagged: bool| {
        c.rect(MARGIN, c.y, width, head_h, rgb(c.accent));
        if tagged {
            c.open("TR");
        }
        let mut x = MARGIN;
        for ((lines, w), col) in head.iter().zip(&widths).zip(&t.view.columns) {
            if tagged {
                c.open("TH");
            }
            for (j, l) in lines.iter().enumerate() {
                // A number's header sits over its right-aligned values.
                let tx = if col.ty.is_numeric() { x + w - pad - f.bold.width(l, size) } else { x + pad };
                c.text_at(&f.bold, l, size, tx, c.y + pad + lead * (j as f32 + 1.0) - 2.0, rgb(on(c.accent)));
            }
            if tagged {
                c.close();
            }
            x += w;
        }
        if tagged {
            c.close();
        }
        c.y += head_h;
    };
    // A severity cell's words wrap beside its mark.
    let text_widths: Vec<f32> = widths
        .iter()
        .zip(&t.view.columns)
        .map(|(w, c)| if c.ty == cavra_model::report::ColumnType::Severity { w - MARK_ROOM } else { *w })
        .collect();
    let bodies: Vec<Vec<Vec<String>>> = t.rows.iter().map(|row| cell_lines(&f.regular, row, &text_widths)).collect();
    // The header never stands alone at the foot of a page.
    c.ensure(head_h + bodies.first().map_or(lead, |b| height(b)));
    draw_header(c, true);
    for (i, body) in bodies.iter().enumerate() {
        let h = height(body);
        if c.ensure(h) {
            c.artifact(|c| draw_header(c, false));
        }
        if i % 2 == 1 {
            c.rect(MARGIN, c.y, width, h, rgb(ZEBRA));
        }
        let mut x = MARGIN;
        c.open("TR");
        for (((lines, w), col), text) in body.iter().zip(&widths).zip(&t.view.columns).zip(&t.rows[i]) {
            c.open("TD");
            let mark = crate::document::severity_mark(col.ty, text);
            if let Some(m) = mark {
                c.rect(x + pad, c.y + pad + lead - 7.5, 5.0, 5.0, rgb(m.colour));
            }
            let indent = if mark.is_some() { MARK_ROOM } else { 0.0 };
            for (j, l) in lines.iter().enumerate() {
                let tx = if col.ty.is_numeric() { x + w - pad - f.regular.width(l, size) } else { x + pad + indent };
                c.text_at(&f.regular, l, size, tx, c.y + pad + lead * (j as f32 + 1.0) - 2.0, rgb(INK));
            }
            c.close();
            x += w;
        }
        c.close();
        c.y += h;
        c.line(&[(MARGIN, c.y), (MARGIN + width, c.y)], 0.3, rgb(LINE));
    }
    c.close();
    c.y += 4.0;
    if let Some(note) = crate::document::view_note(&t.view, t.rows.len()) {
        paragraph(c, &f.regular, &note, T.note, 0.0, MUTED);
    }
    c.y += 6.0;
}

/// The logo's place in the document's resources, and its pixel size.
struct LogoRef {
    id: printpdf::XObjectId,
    px: (usize, usize),
}

/// A pixel size as the document layer takes it (a logo is far smaller than
/// 2^32 pixels a side: the theme bounds it).
fn px32(px: (usize, usize)) -> (u32, u32) {
    (u32::try_from(px.0).unwrap_or(u32::MAX), u32::try_from(px.1).unwrap_or(u32::MAX))
}

fn cover(c: &mut Canvas, f: &Fonts, report: &Report, logo: Option<&LogoRef>) {
    let m = &report.meta;
    let width = c.content_width();
    c.y += 10.0;
    if let Some(l) = logo {
        let (w, h) = crate::document::logo_fit(px32(l.px), crate::document::Medium::Page { width: f64::from(width) });
        let (w, h) = (w as f32, h as f32);
        c.open_with("Figure", Some(crate::document::logo_alt_text(&clean(&m.branding))));
        c.image(&l.id, l.px, MARGIN, c.y - 6.0, w, h);
        c.close();
        c.y += h + 8.0;
    }
    c.open("P");
    let branding = fit(&f.bold, &clean(&m.branding).to_uppercase(), T.branding, width);
    c.text_at(&f.bold, &branding, T.branding, MARGIN, c.y, rgb(c.accent));
    c.close();
    c.y += 30.0;
    c.open("H1");
    for line in wrap(&f.bold, &clean(&m.title), T.title, width) {
        c.text_at(&f.bold, &line, T.title, MARGIN, c.y, rgb(INK));
        c.y += 28.0;
    }
    c.close();
    c.open("P");
    let tenant = fit(&f.regular, &clean(&m.tenant_display_name), T.subtitle, width);
    c.text_at(&f.regular, &tenant, T.subtitle, MARGIN, c.y, rgb(INK));
    c.close();
    c.y += 18.0;
    let window = format!("Reporting window {}", report.window_label());
    for line in [
        window,
        format!(
            "Generated {} · classification {} · audience {}",
            report.theme.show_time(m.generated_at),
            m.classification.as_str(),
            m.audience
        ),
        format!("Report {}", m.report_id),
    ] {
        c.open("P");
        c.text_at(&f.regular, &fit(&f.regular, &clean(&line), T.meta, width), T.meta, MARGIN, c.y, rgb(MUTED));
        c.close();
        c.y += 12.0;
    }
    c.y += 4.0;
    c.rect(MARGIN, c.y, width, 2.5, rgb(c.accent));
    c.y += 10.0;
}

fn header_footer(c: &mut Canvas, f: &Fonts, report: &Report) {
    let m = &report.meta;
    let n = c.pages.len();
    let last_size = c.size;
    for i in 0..n {
        c.size = c.sizes[i];
        let width = c.content_width();
        let h = c.size.height;
        let current = std::mem::take(&mut c.pages[i]);
        c.pages[i] = Vec::new();
        // Draw header/footer onto the page being decorated.
        let saved = std::mem::replace(&mut c.pages, vec![Vec::new()]);
        let left = fit(&f.regular, &clean(&format!("{} · {}", m.branding, m.title)), T.running, width * 0.7);
        c.text_at(&f.regular, &left, T.running, MARGIN, 34.0, rgb(MUTED));
        let class = clean(&m.classification.as_str().to_uppercase());
        c.text_at(
            &f.bold,
            &class,
            T.running,
            MARGIN + width - f.bold.width(&class, T.running),
            34.0,
            rgb(CRITICAL_TEXT),
        );
        c.line(&[(MARGIN, 40.0), (MARGIN + width, 40.0)], 0.4, rgb(LINE));
        let page = format!("page {} of {}", i + 1, n);
        let pw = f.regular.width(&page, T.running);
        let legal = fit(&f.regular, &clean(&m.legal_footer), T.small, width - pw - 16.0);
        c.line(&[(MARGIN, h - 44.0), (MARGIN + width, h - 44.0)], 0.4, rgb(LINE));
        c.text_at(&f.regular, &legal, T.small, MARGIN, h - 32.0, rgb(MUTED));
        c.text_at(&f.regular, &page, T.running, MARGIN + width - pw, h - 32.0, rgb(MUTED));
        let decorations = std::mem::replace(&mut c.pages, vec![Vec::new()]);
        // The watermark goes under the page content, diagonally across it.
        if let Some(mark) = &report.theme.watermark {
            // As large as fits along the page's diagonal (at most 30 pt).
            let mark = clean(mark);
            let diagonal = (c.size.width.powi(2) + h.powi(2)).sqrt();
            let size = (0.75 * diagonal / f.bold.width(&mark, 1.0).max(1.0)).clamp(8.0, 30.0);
            let mark = fit(&f.bold, &mark, size, 0.75 * diagonal);
            let len = f.bold.width(&mark, size);
            let (cx, cy) = (c.size.width / 2.0, h / 2.0);
            let angle = (h / c.size.width).atan().to_degrees();
            let (dx, dy) = (len / 2.0 * angle.to_radians().cos(), len / 2.0 * angle.to_radians().sin());
            c.text_rotated(&f.bold, &mark, size, cx - dx, cy + dy, angle, rgb(WATERMARK));
        }
        let under = std::mem::replace(&mut c.pages, saved);
        let mut ops: Vec<printpdf::Op> = under.into_iter().flatten().collect();
        ops.extend(current);
        ops.extend(decorations.into_iter().flatten());
        c.pages[i] = ops;
    }
    c.size = last_size;
}

fn layout_pages(
    report: &Report,
    fonts: &Fonts,
    size: PageSize,
    logo: Option<&LogoRef>,
    options: &PdfOptions,
) -> Result<Canvas, RenderError> {
    let (tables, turned) = crate::document::table::plan_tables(
        report,
        Format::Pdf,
        |v| table_text(fonts, report, v, size, options),
        |t| &t.plan,
    )?;
    let mut c = Canvas::new(size);
    c.accent = report.theme.accent;
    cover(&mut c, fonts, report, logo);
    for ((b, t), turn) in report.blocks.iter().zip(&tables).zip(turned) {
        c.turn_to(if turn { size.turned() } else { size });
        match b {
            Block::Heading { level: 1, .. } => {}
            Block::Heading { level, text } => heading(&mut c, fonts, text, *level),
            Block::Paragraph { text } => paragraph(&mut c, &fonts.regular, text, T.body, 0.0, INK),
            Block::Kpis { items } => kpis(&mut c, fonts, items),
            Block::Callout { tone, text } => callout(&mut c, fonts, *tone, text),
            Block::List { ordered, items } => list(&mut c, fonts, *ordered, items),
            Block::Chart(ch) => chart(&mut c, fonts, ch),
            Block::Table(_) => {
                let Some(t) = t else { continue };
                table(&mut c, fonts, t);
            }
        }
    }
    header_footer(&mut c, fonts, report);
    Ok(c)
}

fn pdf_date(t: cavra_model::Timestamp) -> printpdf::date::DateTime {
    let utc = time::OffsetDateTime::from_unix_timestamp(t.unix_seconds()).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    printpdf::date::DateTime::new_in_offset(
        printpdf::date::Date { year: utc.year(), month: u8::from(utc.month()), day: utc.day() },
        printpdf::date::Time { hour: utc.hour(), minute: utc.minute(), second: utc.second(), millisecond: 0 },
        printpdf::date::Offset { hours: 0, minutes: 0, seconds: 0, milliseconds: 0 },
    )
}

fn build(report: &Report, options: &PdfOptions, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    let backend = |message: String| RenderError::Backend { format: Format::Pdf, message };
    let (regular, bold) = PARSED.as_ref().ok_or_else(|| backend("the embedded fonts cannot be parsed".into()))?;
    let m = &report.meta;
    let mut doc = PdfDocument::new(&clean(&format!("{} — {}", m.title, m.tenant_display_name)));
    // printpdf names fonts with random ids; rename them so the file is a pure function of the report.
    let mut fixed = |font: &ParsedFont, name: &str| {
        let random = doc.add_font(font);
        let id = printpdf::FontId(name.into());
        if let Some(f) = doc.resources.fonts.map.remove(&random) {
            doc.resources.fonts.map.insert(id.clone(), f);
        }
        id
    };
    let regular_id = fixed(regular, "DejaVuSans");
    let bold_id = fixed(bold, "DejaVuSansBold");
    let fonts = Fonts {
        regular: FontRef {
            id: regular_id,
            face: ttf_parser::Face::parse(REGULAR, 0).map_err(|e| backend(e.to_string()))?,
            advances: &ADVANCES.0,
        },
        bold: FontRef {
            id: bold_id,
            face: ttf_parser::Face::parse(BOLD, 0).map_err(|e| backend(e.to_string()))?,
            advances: &ADVANCES.1,
        },
    };
    let paper = options.paper.unwrap_or(report.theme.paper);
    let size = match paper {
        cavra_model::theme::Paper::A4 => A4,
        cavra_model::theme::Paper::Letter => LETTER,
    };
    let logo = match &report.theme.logo {
        Some(l) => {
            let image = logo_image(l).map_err(|e| backend(format!("logo: {e}")))?;
            let px = (image.width, image.height);
            // A fixed name, like the fonts, so the file is a pure function of the report.
            let id = printpdf::XObjectId("Logo".into());
            doc.resources.xobjects.map.insert(id.clone(), printpdf::XObject::Image(image));
            Some(LogoRef { id, px })
        }
        None => None,
    };
    let canvas = layout_pages(report, &fonts, size, logo.as_ref(), options)?;
    let (w_mm, h_mm) = paper.size_mm();
    let tags = canvas.tags;
    let pages: Vec<PdfPage> = canvas
        .pages
        .into_iter()
        .zip(canvas.sizes)
        .map(
            |(ops, s)| {
                if s == size {
                    PdfPage::new(Mm(w_mm), Mm(h_mm), ops)
                } else {
                    PdfPage::new(Mm(h_mm), Mm(w_mm), ops)
                }
            },
        )
        .collect();
    let when = pdf_date(m.generated_at);
    let info = &mut doc.metadata.info;
    info.creation_date = when;
    info.modification_date = when;
    info.metadata_date = when;
    info.author = clean(&m.branding);
    info.creator = "cavra-reports".into();
    info.producer = "cavra-reports (printpdf)".into();
    info.subject = clean(&m.title);
    info.identifier = m.report_id.clone();
    info.keywords = vec![m.kind.as_str().to_string(), m.classification.as_str().to_string()];
    doc.with_pages(pages);
    let opts = PdfSaveOptions { subset_fonts: true, ..Default::default() };
    let mut warnings = Vec::new();
    let mut lo = doc.to_lopdf_document(&opts, &mut warnings);
    structure::write(&mut lo, &tags);
    compress_streams(&mut lo);
    fix_up(&mut lo, report);
    // Written straight into the caller's writer: no second copy of the file.
    let mut out = out;
    // Object streams pack the many small structure-tree objects; the
    // cross-reference table becomes a stream too (PDF 1.5).
    lo.version = "1.7".into();
    let options =
        lopdf::SaveOptions::builder().use_object_streams(true).use_xref_streams(true).compression_level(6).build();
    lo.save_with_options(&mut out, options).map_err(|e| RenderError::write(Format::Pdf, e))?;
    Ok(())
}

/// The theme's logo as raw pixels (RGB, or RGBA when it has transparency).
fn logo_image(l: &cavra_model::theme::Logo) -> Result<printpdf::RawImage, String> {
    let img = image::load_from_memory_with_format(&l.png, image::ImageFormat::Png).map_err(|e| e.to_string())?;
    let (width, height) = (img.width() as usize, img.height() as usize);
    let (pixels, data_format) = if img.color().has_alpha() {
        (img.into_rgba8().into_raw(), printpdf::RawImageFormat::RGBA8)
    } else {
        (img.into_rgb8().into_raw(), printpdf::RawImageFormat::RGB8)
    };
    Ok(printpdf::RawImage { pixels: printpdf::RawImageData::U8(pixels), width, height, data_format, tag: Vec::new() })
}

/// Deflates every stream that has no filter yet (page content, font
/// programs) at a fast level: page text and fonts shrink to about a third,
/// for a fraction of the time the best level takes.
fn compress_streams(lo: &mut lopdf::Document) {
    use std::io::Write as _;
    for object in lo.objects.values_mut() {
        let lopdf::Object::Stream(stream) = object else { continue };
        if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
            continue;
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        // Writing into a Vec cannot fail.
        if z.write_all(&stream.content).is_err() {
            continue;
        }
        let Ok(packed) = z.finish() else { continue };
        if packed.len() < stream.content.len() {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(packed);
        }
    }
}

/// Makes the file a pure function of the report: a content-derived trailer
/// `/ID`, and no empty PDF/X version key (the file is not PDF/X); sets the
/// document's language and asks viewers to show its title.
fn fix_up(lo: &mut lopdf::Document, report: &Report) {
    let digest = Sha256::digest(format!(
        "{}\n{}\n{}",
        report.meta.report_id,
        report.meta.snapshot_digest,
        report.meta.kind.as_str()
    ));
    let id = lopdf::Object::String(digest[..16].to_vec(), lopdf::StringFormat::Hexadecimal);
    lo.trailer.set("ID", lopdf::Object::Array(vec![id.clone(), id]));
    if let Ok(info_ref) = lo.trailer.get(b"Info").and_then(lopdf::Object::as_reference) {
        if let Ok(info) = lo.get_object_mut(info_ref).and_then(lopdf::Object::as_dict_mut) {
            let empty = info.get(b"GTS_PDFXVersion").ok().and_then(|v| v.as_str().ok()).is_some_and(<[u8]>::is_empty);
            if empty {
                info.remove(b"GTS_PDFXVersion");
            }
        }
    }
    // The document's language, and its title (not the file name) in the
    // viewer's title bar: what readers and accessibility checkers look for
    // first.
    if let Ok(root) = lo.trailer.get(b"Root").and_then(lopdf::Object::as_reference) {
        if let Ok(catalog) = lo.get_object_mut(root).and_then(lopdf::Object::as_dict_mut) {
            catalog.set("Lang", lopdf::Object::string_literal(crate::document::LANGUAGE));
            let mut prefs = lopdf::Dictionary::new();
            prefs.set("DisplayDocTitle", true);
            catalog.set("ViewerPreferences", prefs);
        }
    }
}

impl Renderer for PdfRenderer {
    fn render_to(&self, report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
        build(report, &self.options, out)
    }
}
