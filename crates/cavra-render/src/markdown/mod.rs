//! Markdown backend: CommonMark with pipe tables, reading the blocks in order.
//!
//! All text that comes from data is escaped: markup characters get a
//! backslash, pipes in table cells are escaped and line breaks inside a cell
//! or paragraph are folded to spaces, so data can never open a link, an HTML
//! tag, a heading or a new table row.

use std::fmt::Write as _;

use cavra_model::report::{Block, Chart, ChartKind, Kpi, TableView};
use cavra_model::Report;

use crate::{RenderError, Renderer};

pub(crate) struct MarkdownRenderer;

/// Escapes inline text: markup characters are backslash-escaped, line breaks
/// become spaces, and a leading character that would start a block (list,
/// heading, quote, setext underline, numbered list) is escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' | '!' | '&' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    let starts_block = out.starts_with(['-', '+', '=']) || {
        let digits = out.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && out[digits..].starts_with(['.', ')'])
    };
    if starts_block {
        let digits = out.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.insert(digits, '\\');
        } else {
            out.insert(0, '\\');
        }
    }
    out
}

fn table(out: &mut String, header: &[String], rows: impl Iterator<Item = Vec<String>>) {
    let _ = writeln!(out, "| {} |", header.iter().map(|h| escape(h)).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

fn kpis(out: &mut String, items: &[Kpi]) {
    let header = ["Metric".to_string(), "Value".to_string(), "Note".to_string()];
    table(out, &header, items.iter().map(|k| vec![k.label.clone(), k.value.clone(), k.note.clone()]));
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn chart(out: &mut String, c: &Chart) {
    let kind = match c.kind {
        ChartKind::Bar => "bar chart",
        ChartKind::Line => "line chart",
        ChartKind::Donut => "donut chart",
        ChartKind::HeatMap => "heat map",
    };
    let _ = writeln!(out, "**{}** ({kind}, as data)\n", escape(&c.title));
    match c.kind {
        ChartKind::HeatMap => {
            let mut header = vec![String::new()];
            header.extend(c.categories.iter().cloned());
            table(
                out,
                &header,
                c.series.iter().map(|s| {
                    let mut row = vec![s.name.clone()];
                    row.extend(s.values.iter().map(|v| number(*v)));
                    row
                }),
            );
        }
        ChartKind::Bar | ChartKind::Line | ChartKind::Donut => {
            let mut header = vec!["Category".to_string()];
            header.extend(c.series.iter().map(|s| s.name.clone()));
            table(
                out,
                &header,
                c.categories.iter().enumerate().map(|(i, cat)| {
                    let mut row = vec![cat.clone()];
                    row.extend(c.series.iter().map(|s| s.values.get(i).map_or(String::new(), |v| number(*v))));
                    row
                }),
            );
        }
    }
}

fn dataset_table(out: &mut String, report: &Report, view: &TableView) {
    let header: Vec<String> = view.columns.iter().map(|c| c.label.clone()).collect();
    table(out, &header, view.rows.iter().map(|r| r.iter().map(|c| report.cell_text(c)).collect()));
    if let Some(note) = crate::document::view_note(view, view.rows.len()) {
        let _ = writeln!(out, "*{}*\n", escape(&note));
    }
}

impl Renderer for MarkdownRenderer {
    fn render_to(&self, report: &Report, sink: &mut dyn std::io::Write) -> Result<(), RenderError> {
        let mut out = String::new();
        for block in &report.blocks {
            match block {
                Block::Heading { level, text } => {
                    let _ = writeln!(out, "{} {}\n", "#".repeat(usize::from((*level).clamp(1, 6))), escape(text));
                }
                Block::Paragraph { text } => {
                    let _ = writeln!(out, "{}\n", escape(text));
                }
                Block::Kpis { items } => kpis(&mut out, items),
                Block::Callout { tone, text } => {
                    let label = crate::document::tone(*tone).label;
                    let _ = writeln!(out, "> **{label}:** {}\n", escape(text));
                }
                Block::List { ordered, items } => {
                    for (i, item) in items.iter().enumerate() {
                        if *ordered {
                            let _ = writeln!(out, "{}. {}", i + 1, escape(item));
                        } else {
                            let _ = writeln!(out, "- {}", escape(item));
                        }
                    }
                    out.push('\n');
                }
                Block::Chart(c) => chart(&mut out, c),
                Block::Table(t) => match report.table_view(t) {
                    Some(view) => dataset_table(&mut out, report, &view),
                    None => {
                        return Err(RenderError::Backend {
                            format: crate::Format::Markdown,
                            message: format!("block refers to missing dataset `{}`", t.dataset),
                        })
                    }
                },
            }
        }
        let _ = writeln!(out, "---\n\n{} · {}", escape(&report.meta.branding), escape(&report.meta.legal_footer));
        sink.write_all(out.as_bytes()).map_err(|e| RenderError::write(crate::Format::Markdown, e))
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_breaks() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("<script>"), "\\<script\\>");
        assert_eq!(escape("x\ny"), "x y");
        assert_eq!(escape("- item"), "\\- item");
        assert_eq!(escape("1. item"), "1\\. item");
        assert_eq!(escape("[a](http://x)"), "\\[a\\](http://x)");
    }
}
