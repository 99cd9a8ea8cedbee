//! Native Word charts: a DrawingML chart part (`word/charts/chartN.xml`)
//! per bar, line and donut chart, holding its title, category labels and
//! values in the part's caches, with value labels on the bars and slices,
//! and a small embedded workbook of the same data so Word's "Edit data"
//! opens it. Word and LibreOffice draw them from the caches and let them be
//! edited. A donut's shares are drawn as bars (Word's doughnut charts put
//! each value inside its slice, where small slices' labels collide). Heat
//! maps have no native Word chart type: they stay a picture beside the
//! table of their values.

use std::fmt::Write as _;

use cavra_model::report::{Chart, ChartKind};

use crate::document::palette::{ooxml, SERIES};

/// Whether `chart` becomes a native Word chart.
pub(super) fn is_native(chart: &Chart) -> bool {
    match chart.kind {
        ChartKind::Bar | ChartKind::Line | ChartKind::Donut => true,
        ChartKind::HeatMap => false,
    }
}

/// The text of the run a native chart's drawing replaces, for the `n`-th
/// native chart (from 1). The control characters around it cannot occur
/// in report text (every text run is stripped of them), so the marker
/// cannot be forged.
pub(super) fn marker(n: usize) -> String {
    format!("\u{1}chart-{n}\u{1}")
}

/// Element text: markup characters as entities, control characters
/// dropped.
fn esc(s: &str) -> String {
    super::pack::xml_attribute(s)
}

/// A value as the chart caches write it.
fn num(v: f64) -> String {
    if v.is_finite() {
        crate::document::chart_value(v)
    } else {
        "0".into()
    }
}

/// The spreadsheet column letter of the `i`-th column (0 = A).
fn column(i: usize) -> String {
    let mut n = i + 1;
    let mut s = String::new();
    while n > 0 {
        let r = (n - 1) % 26;
        s.insert(0, char::from(b'A' + r as u8));
        n = (n - 1) / 26;
    }
    s
}

/// Series `j` in the order CT_BarSer and CT_LineSer want: its index and
/// order, its name (`c:tx`), then `look` (fill, labels, data points), then
/// its categories (`c:cat`) and values (`c:val`), then `tail`. Names,
/// categories and values refer to the embedded sheet and carry their cached
/// values.
fn series(out: &mut String, chart: &Chart, j: usize, look: &str, tail: &str) {
    let name = chart.series.get(j).map_or("", |s| s.name.as_str());
    let col = column(j + 1);
    let n = chart.categories.len();
    let _ = write!(
        out,
        r#"<c:ser><c:idx val="{j}"/><c:order val="{j}"/><c:tx><c:strRef><c:f>Sheet1!${col}$1</c:f><c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>{}</c:v></c:pt></c:strCache></c:strRef></c:tx>"#,
        esc(name)
    );
    out.push_str(look);
    let _ = write!(out, r#"<c:cat><c:strRef><c:f>Sheet1!$A$2:$A${}</c:f><c:strCache><c:ptCount val="{n}"/>"#, n + 1);
    for (i, cat) in chart.categories.iter().enumerate() {
        let _ = write!(out, r#"<c:pt idx="{i}"><c:v>{}</c:v></c:pt>"#, esc(cat));
    }
    out.push_str("</c:strCache></c:strRef></c:cat>");
    let _ = write!(
        out,
        r#"<c:val><c:numRef><c:f>Sheet1!${col}$2:${col}${}</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{n}"/>"#,
        n + 1
    );
    if let Some(s) = chart.series.get(j) {
        for (i, v) in s.values.iter().take(n).enumerate() {
            let _ = write!(out, r#"<c:pt idx="{i}"><c:v>{}</c:v></c:pt>"#, num(*v));
        }
    }
    out.push_str("</c:numCache></c:numRef></c:val>");
    out.push_str(tail);
    out.push_str("</c:ser>");
}

fn fill(colour: u32) -> String {
    format!(r#"<c:spPr><a:solidFill><a:srgbClr val="{}"/></a:solidFill></c:spPr>"#, ooxml(colour))
}

fn line_fill(colour: u32) -> String {
    format!(
        r#"<c:spPr><a:ln w="28575" cap="rnd"><a:solidFill><a:srgbClr val="{}"/></a:solidFill><a:round/></a:ln></c:spPr><c:marker><c:symbol val="none"/></c:marker>"#,
        ooxml(colour)
    )
}

/// Data labels showing each value beside the end of its bar.
const VALUE_LABELS: &str = r#"<c:dLbls><c:dLblPos val="outEnd"/><c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/><c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>"#;

const AXES: &str = r#"<c:axId val="111"/><c:axId val="222"/>"#;

fn axes(categories_down: bool) -> String {
    let (cat_pos, val_pos, orientation) = if categories_down { ("l", "b", "maxMin") } else { ("b", "l", "minMax") };
    // Categories along the bottom (dates) are turned 45° so they never break.
    let turned = if categories_down {
        ""
    } else {
        r#"<c:txPr><a:bodyPr rot="-2700000" vert="horz"/><a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr><a:endParaRPr lang="en-US"/></a:p></c:txPr>"#
    };
    format!(
        r#"<c:catAx><c:axId val="111"/><c:scaling><c:orientation val="{orientation}"/></c:scaling><c:delete val="0"/><c:axPos val="{cat_pos}"/><c:numFmt formatCode="General" sourceLinked="0"/><c:majorTickMark val="none"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>{turned}<c:crossAx val="222"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx><c:valAx><c:axId val="222"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="{val_pos}"/><c:majorGridlines><c:spPr><a:ln w="6350"><a:solidFill><a:srgbClr val="D9DEE7"/></a:solidFill></a:ln></c:spPr></c:majorGridlines><c:numFmt formatCode="General" sourceLinked="0"/><c:majorTickMark val="none"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/><c:crossAx val="111"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx>"#
    )
}

/// Ends a bar chart element and adds its axes, categories down the left.
fn close_bars(out: &mut String) {
    out.push_str(r#"<c:gapWidth val="60"/>"#);
    out.push_str(AXES);
    out.push_str("</c:barChart>");
    out.push_str(&axes(true));
}

/// The plot area's chart element for `chart`.
fn plot(chart: &Chart) -> String {
    let mut out = String::new();
    let colour = |j: usize| SERIES[j % SERIES.len()];
    let bar_look = |fill_colour: u32, points: &str| {
        format!(r#"{}<c:invertIfNegative val="0"/>{points}{VALUE_LABELS}"#, fill(fill_colour))
    };
    match chart.kind {
        ChartKind::Bar => {
            out.push_str(r#"<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/><c:varyColors val="0"/>"#);
            for j in 0..chart.series.len() {
                series(&mut out, chart, j, &bar_look(colour(j), ""), "");
            }
            close_bars(&mut out);
        }
        ChartKind::Line => {
            out.push_str(r#"<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>"#);
            for j in 0..chart.series.len() {
                series(&mut out, chart, j, &line_fill(colour(j)), r#"<c:smooth val="0"/>"#);
            }
            out.push_str(r#"<c:marker val="1"/>"#);
            out.push_str(AXES);
            out.push_str("</c:lineChart>");
            out.push_str(&axes(false));
        }
        // Word's doughnut charts put every value inside its slice, where
        // small neighbours' labels collide: the shares are drawn as bars,
        // each in its slice's colour, each with its value beside it.
        ChartKind::Donut => {
            out.push_str(r#"<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/><c:varyColors val="1"/>"#);
            if !chart.series.is_empty() {
                let points: String = (0..chart.categories.len())
                    .map(|i| {
                        format!(
                            r#"<c:dPt><c:idx val="{i}"/><c:invertIfNegative val="0"/><c:bubble3D val="0"/>{}</c:dPt>"#,
                            fill(colour(i))
                        )
                    })
                    .collect();
                series(&mut out, chart, 0, &bar_look(colour(0), &points), "");
            }
            close_bars(&mut out);
        }
        ChartKind::HeatMap => {}
    }
    out
}

/// The chart part for `chart` (its embedded data is relationship `rId1`).
pub(super) fn chart_part(chart: &Chart) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><c:date1904 val="0"/><c:lang val="en-US"/><c:roundedCorners val="0"/><c:chart>"#,
    );
    let _ = write!(
        out,
        r#"<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="1200" b="1"/></a:pPr><a:r><a:rPr lang="en-US" sz="1200" b="1"/><a:t>{}</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>"#,
        esc(&chart.title)
    );
    out.push_str("<c:plotArea><c:layout/>");
    out.push_str(&plot(chart));
    out.push_str("</c:plotArea>");
    let legend = chart.series.len() > 1;
    if legend {
        out.push_str(r#"<c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>"#);
    }
    out.push_str(r#"<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>"#);
    out.push_str(r#"<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="900"/></a:pPr><a:endParaRPr lang="en-US"/></a:p></c:txPr>"#);
    out.push_str(r#"<c:externalData r:id="rId1"><c:autoUpdate val="0"/></c:externalData></c:chartSpace>"#);
    out
}

/// The chart part's relationships: its embedded workbook.
pub(super) fn chart_rels(n: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/package" Target="../embeddings/chart{n}.xlsx"/></Relationships>"#
    )
}

/// The embedded workbook: categories in column A, one column per series,
/// names in row 1 (what the chart part's references point at).
pub(super) fn workbook(chart: &Chart, created: &rust_xlsxwriter::ExcelDateTime) -> Result<Vec<u8>, String> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(created));
    let sheet = wb.add_worksheet();
    sheet.set_name("Sheet1").map_err(|e| e.to_string())?;
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    sheet.write_string(0, 0, "Category").map_err(e)?;
    for (j, s) in chart.series.iter().enumerate() {
        let col = u16::try_from(j + 1).map_err(|_| "too many series".to_string())?;
        sheet.write_string(0, col, crate::text::strip_controls(&s.name).as_ref()).map_err(e)?;
        for (i, v) in s.values.iter().take(chart.categories.len()).enumerate() {
            let row = u32::try_from(i + 1).map_err(|_| "too many categories".to_string())?;
            sheet.write_number(row, col, if v.is_finite() { *v } else { 0.0 }).map_err(e)?;
        }
    }
    for (i, cat) in chart.categories.iter().enumerate() {
        let row = u32::try_from(i + 1).map_err(|_| "too many categories".to_string())?;
        sheet.write_string(row, 0, crate::text::strip_controls(cat).as_ref()).map_err(e)?;
    }
    wb.save_to_buffer().map_err(e)
}

/// The inline drawing run that shows chart part `n` at `cx` × `cy` EMU.
pub(super) fn drawing_run(n: usize, cx: u64, cy: u64, name: &str) -> String {
    format!(
        r#"<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:docPr id="1" name="{}"/><wp:cNvGraphicFramePr/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" r:id="rIdChart{n}"/></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"#,
        esc(name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cavra_model::report::Series;

    fn bar() -> Chart {
        Chart {
            kind: ChartKind::Bar,
            title: "Decisions & <outcomes>".into(),
            categories: vec!["block".into(), "allow".into()],
            series: vec![Series { name: "decisions".into(), values: vec![3.0, 1.5] }],
        }
    }

    #[test]
    fn a_bar_chart_caches_its_title_categories_and_values_in_schema_order() {
        let xml = chart_part(&bar());
        assert!(xml.contains("<a:t>Decisions &amp; &lt;outcomes&gt;</a:t>"));
        assert!(xml.contains(r#"<c:pt idx="0"><c:v>block</c:v></c:pt>"#));
        assert!(xml.contains(r#"<c:pt idx="1"><c:v>1.5</c:v></c:pt>"#));
        let order = ["<c:idx ", "<c:tx>", "<c:spPr>", "<c:invertIfNegative", "<c:dLbls>", "<c:cat>", "<c:val>"];
        let series = &xml[xml.find("<c:ser>").unwrap()..];
        let at: Vec<usize> = order.iter().map(|t| series.find(t).unwrap_or_else(|| panic!("{t} missing"))).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    }

    #[test]
    fn columns_are_spreadsheet_letters() {
        assert_eq!([0, 1, 25, 26, 27].map(column), ["A", "B", "Z", "AA", "AB"]);
    }

    #[test]
    fn the_marker_cannot_come_from_report_text() {
        assert!(crate::text::strip_controls(&marker(1)) != marker(1));
    }
}
