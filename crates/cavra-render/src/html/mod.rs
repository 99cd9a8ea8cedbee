//! HTML backend: one self-contained page rendered with tera from
//! `templates/report.html.tera`. Autoescaping is on and no data passes
//! through `| safe`: charts are drawn by the template from geometry computed
//! in [`crate::chart`], so every label is escaped like any other text. No
//! scripts, no remote resources; a print stylesheet is included.

use std::sync::LazyLock;

use cavra_model::report::Block;
use cavra_model::Report;
use serde::Serialize;

use crate::chart::{layout, Layout};
use crate::{Format, RenderError, Renderer};

pub(crate) struct HtmlRenderer {
    pub(crate) options: crate::options::HtmlOptions,
}

impl HtmlRenderer {
    /// The renderer with every option at its default.
    pub(crate) const DEFAULT: HtmlRenderer = HtmlRenderer { options: crate::options::HtmlOptions::DEFAULT };
}

const TEMPLATE: &str = include_str!("../../../../templates/report.html.tera");

static TERA: LazyLock<Result<tera::Tera, String>> = LazyLock::new(|| {
    let mut t = tera::Tera::default();
    t.add_raw_template("report.html", TEMPLATE).map_err(|e| format!("{e:?}"))?;
    t.autoescape_on(vec![".html"]);
    Ok(t)
});

#[derive(Serialize)]
struct Page<'a> {
    meta: &'a cavra_model::report::ReportMeta,
    window: String,
    generated: String,
    /// `#RRGGBB`, formatted here from a number (never text from input).
    accent: String,
    /// The document's language.
    lang: &'static str,
    /// The house palette as CSS custom properties.
    palette: String,
    /// The logo's largest box, in pixels.
    logo_box: (f64, f64),
    /// The logo as a `data:image/png;base64,…` URI (no remote resource).
    logo: Option<String>,
    watermark: Option<String>,
    /// The print style sheet's `@page` size (`A4` or `letter`).
    paper: &'static str,
    blocks: Vec<View>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum View {
    Heading {
        level: u8,
        text: String,
        anchor: String,
    },
    Paragraph {
        text: String,
    },
    Kpis {
        items: Vec<cavra_model::report::Kpi>,
    },
    Callout {
        tone: &'static str,
        label: &'static str,
        text: String,
    },
    List {
        ordered: bool,
        items: Vec<String>,
    },
    Chart {
        chart: Layout,
        kind: &'static str,
    },
    Table {
        title: String,
        columns: Vec<ColumnView>,
        rows: Vec<Vec<CellView>>,
        /// The truncation note, when not every row is shown.
        note: Option<String>,
    },
}

#[derive(Serialize)]
struct CellView {
    text: String,
    /// The class of its severity mark, if it has one.
    mark: Option<&'static str>,
}

#[derive(Serialize)]
struct ColumnView {
    label: String,
    numeric: bool,
    /// Its cells are single words kept on one line (ids, timestamps).
    whole: bool,
}

fn anchor(text: &str) -> String {
    let s: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-")
}

fn views(report: &Report) -> Result<Vec<View>, RenderError> {
    let mut out = Vec::with_capacity(report.blocks.len());
    for b in &report.blocks {
        out.push(match b {
            Block::Heading { level, text } => {
                View::Heading { level: (*level).clamp(1, 3), text: text.clone(), anchor: anchor(text) }
            }
            Block::Paragraph { text } => View::Paragraph { text: text.clone() },
            Block::Kpis { items } => View::Kpis { items: items.clone() },
            Block::Callout { tone, text } => {
                let style = crate::document::tone(*tone);
                View::Callout { tone: style.class, label: style.label, text: text.clone() }
            }
            Block::List { ordered, items } => View::List { ordered: *ordered, items: items.clone() },
            Block::Chart(c) => {
                let kind = match c.kind {
                    cavra_model::report::ChartKind::Bar => "bar",
                    cavra_model::report::ChartKind::Line => "line",
                    cavra_model::report::ChartKind::Donut => "donut",
                    cavra_model::report::ChartKind::HeatMap => "heat_map",
                };
                View::Chart { chart: layout(c, crate::document::Medium::Screen), kind }
            }
            Block::Table(t) => {
                let view = report.table_view(t).ok_or_else(|| RenderError::Backend {
                    format: Format::Html,
                    message: format!("block refers to missing dataset `{}`", t.dataset),
                })?;
                let rows: Vec<Vec<String>> =
                    view.rows.iter().map(|r| r.iter().map(|c| report.cell_text(c)).collect()).collect();
                View::Table {
                    title: view.dataset.title.clone(),
                    columns: view
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| ColumnView {
                            label: c.label.clone(),
                            numeric: c.ty.is_numeric(),
                            whole: crate::document::table::keeps_whole(
                                rows.iter().take(crate::document::WIDTH_SAMPLE_ROWS).map(|r| r[i].as_str()),
                            ),
                        })
                        .collect(),
                    rows: rows
                        .into_iter()
                        .map(|r| {
                            r.into_iter()
                                .zip(&view.columns)
                                .map(|(text, c)| {
                                    let mark = crate::document::severity_mark(c.ty, &text).map(|m| m.class);
                                    CellView { text, mark }
                                })
                                .collect()
                        })
                        .collect(),
                    note: crate::document::view_note(&view, view.rows.len()),
                }
            }
        });
    }
    Ok(out)
}

/// The palette as CSS custom properties (the stylesheet names only these).
fn palette_css() -> String {
    use crate::document::palette::*;
    let c = CRITICAL;
    [
        ("ink", css(INK)),
        ("bg", css(PAGE)),
        ("muted", css(MUTED)),
        ("line", css(LINE)),
        ("tile", css(TILE)),
        ("zebra", css(ZEBRA)),
        ("axis", css(AXIS)),
        ("on-accent", css(ON_ACCENT)),
        ("info-bg", css(INFO_BACKGROUND)),
        ("warning", css(WARNING)),
        ("warning-bg", css(WARNING_BACKGROUND)),
        ("critical", css(CRITICAL)),
        ("critical-bg", css(CRITICAL_BACKGROUND)),
        ("critical-text", css(CRITICAL_TEXT)),
        ("watermark", format!("rgba({}, {}, {}, .14)", c >> 16, (c >> 8) & 0xFF, c & 0xFF)),
        ("mark-critical", css(CRITICAL)),
        ("mark-high", css(WARNING)),
        ("mark-medium", css(MEDIUM)),
        ("mark-low", css(LOW)),
    ]
    .iter()
    .map(|(name, value)| format!("--{name}:{value};"))
    .collect::<Vec<_>>()
    .join(" ")
}

impl Renderer for HtmlRenderer {
    fn render_to(&self, report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
        let backend = |message: String| RenderError::Backend { format: Format::Html, message };
        let tera = TERA.as_ref().map_err(|e| backend(e.clone()))?;
        let logo = report.theme.logo.as_ref().map(|l| {
            use base64::Engine;
            format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&l.png))
        });
        let page = Page {
            meta: &report.meta,
            window: report.window_label(),
            generated: report.theme.show_time(report.meta.generated_at),
            accent: report.theme.accent_hex(),
            lang: crate::document::LANGUAGE,
            palette: palette_css(),
            logo_box: crate::document::logo_box(crate::document::Medium::Screen),
            logo,
            watermark: report.theme.watermark.clone(),
            paper: match self.options.paper.unwrap_or(report.theme.paper) {
                cavra_model::theme::Paper::A4 => "A4",
                cavra_model::theme::Paper::Letter => "letter",
            },
            blocks: views(report)?,
        };
        let ctx = tera::Context::from_serialize(&page).map_err(|e| backend(e.to_string()))?;
        let html = tera.render("report.html", &ctx).map_err(|e| backend(format!("{e:?}")))?;
        out.write_all(crate::text::strip_controls(&html).as_bytes()).map_err(|e| RenderError::write(Format::Html, e))
    }
}
