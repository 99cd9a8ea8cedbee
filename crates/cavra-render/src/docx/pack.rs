//! Deterministic re-packing of a docx-rs package: deflate every part but the
//! pictures (stored, as they are compressed already), fixed
//! timestamps and permissions, original part order, picture relationship ids
//! renumbered from 1 in order of first use, and header rows marked to repeat.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime};

const IMAGE_PREFIX: &str = "rIdImage";

/// Picture ids (`rIdImage<N>`) in order of first appearance in `text`.
fn image_ids(text: &str, into: &mut Vec<u64>) {
    let mut rest = text;
    while let Some(i) = rest.find(IMAGE_PREFIX) {
        rest = &rest[i + IMAGE_PREFIX.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse() {
            if !into.contains(&n) {
                into.push(n);
            }
        }
    }
}

fn renumber(text: &str, map: &BTreeMap<u64, u64>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(IMAGE_PREFIX) {
        out.push_str(&rest[..i + IMAGE_PREFIX.len()]);
        rest = &rest[i + IMAGE_PREFIX.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse::<u64>().ok().and_then(|n| map.get(&n)) {
            Some(new) => out.push_str(&new.to_string()),
            None => out.push_str(&digits),
        }
        rest = &rest[digits.len()..];
    }
    out.push_str(rest);
    out
}

/// Gives the pictures of `document` their text alternatives (`descr`), the
/// `k`-th picture the `k`-th of `alts`, and ids 1, 2, 3… in order.
fn describe_pictures(document: &str, alts: &[String]) -> String {
    const DOC_PR: &str = "<wp:docPr ";
    let mut out = String::with_capacity(document.len() + alts.iter().map(String::len).sum::<usize>() * 2);
    let mut rest = document;
    let mut k = 0;
    while let Some(i) = rest.find(DOC_PR) {
        out.push_str(&rest[..i + DOC_PR.len()]);
        rest = &rest[i + DOC_PR.len()..];
        if let Some(alt) = alts.get(k) {
            out.push_str("descr=\"");
            out.push_str(&xml_attribute(alt));
            out.push_str("\" ");
        }
        k += 1;
        // docx-rs numbers every picture 1; each gets its own id.
        if let Some(after) = rest.strip_prefix("id=\"") {
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            if after[digits..].starts_with('"') {
                out.push_str(&format!("id=\"{k}\""));
                rest = &after[digits + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `s` as an XML attribute value: markup characters as entities, control
/// characters dropped.
pub(super) fn xml_attribute(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::text::strip_controls(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A native chart to add to the package: its part, the part's
/// relationships, its embedded workbook, and its drawing's size in EMU.
pub(super) struct ChartPart {
    pub xml: String,
    pub rels: String,
    pub workbook: Vec<u8>,
    pub size: (u64, u64),
    pub name: String,
}

/// Puts chart `n`'s drawing where its marker run is.
fn place_chart(document: &str, n: usize, chart: &ChartPart) -> Result<String, String> {
    let marker = super::chart::marker(n);
    let at = document.find(&marker).ok_or_else(|| format!("chart {n} has no place in the document"))?;
    let start = [document[..at].rfind("<w:r>"), document[..at].rfind("<w:r ")]
        .into_iter()
        .flatten()
        .max()
        .ok_or_else(|| format!("chart {n}: no run around its marker"))?;
    let end = document[at..].find("</w:r>").map(|i| at + i + "</w:r>".len()).ok_or("unclosed run")?;
    let run = super::chart::drawing_run(n, chart.size.0, chart.size.1, &chart.name);
    Ok(format!("{}{run}{}", &document[..start], &document[end..]))
}

/// Gives every section the document's running header and footer: docx-rs
/// puts their references only in the last section's properties, and a
/// section without them (a landscape table's, the ones before it) would
/// print none. They go first in each `w:sectPr`, where the schema has them.
fn share_headers(document: &str) -> String {
    const OPEN: &str = "<w:sectPr>";
    let Some(last) = document.rfind(OPEN) else { return document.to_string() };
    let body = &document[last..];
    let refs: String = ["<w:headerReference ", "<w:footerReference "]
        .iter()
        .filter_map(|tag| {
            let at = body.find(tag)?;
            let end = body[at..].find("/>")? + at + 2;
            Some(&body[at..end])
        })
        .collect();
    if refs.is_empty() {
        return document.to_string();
    }
    let mut out = String::with_capacity(document.len() + refs.len() * 4);
    let mut rest = &document[..last];
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i + OPEN.len()]);
        out.push_str(&refs);
        rest = &rest[i + OPEN.len()..];
    }
    out.push_str(rest);
    out.push_str(body);
    out
}

/// The relationships and content types the charts add.
fn register_charts(name: &str, text: String, count: usize) -> String {
    if count == 0 {
        return text;
    }
    match name {
        "word/_rels/document.xml.rels" => {
            let rels: String = (1..=count)
                .map(|n| format!(r#"<Relationship Id="rIdChart{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart" Target="charts/chart{n}.xml" />"#))
                .collect();
            text.replacen("</Relationships>", &format!("{rels}</Relationships>"), 1)
        }
        "[Content_Types].xml" => {
            let mut types = String::from(
                r#"<Default ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" Extension="xlsx" />"#,
            );
            for n in 1..=count {
                types.push_str(&format!(r#"<Override PartName="/word/charts/chart{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.drawingml.chart+xml" />"#));
            }
            text.replacen("</Types>", &format!("{types}</Types>"), 1)
        }
        _ => text,
    }
}

/// Repacks the docx-rs package `raw` deterministically, with `alts` as the
/// pictures' and charts' text alternatives (see [`describe_pictures`]) and
/// `charts` put in place of their marker runs.
pub(super) fn repack(raw: &[u8], alts: &[String], charts: &[ChartPart]) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(raw)).map_err(|e| e.to_string())?;
    let mut parts: Vec<(String, Vec<u8>)> = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| e.to_string())?;
        if f.is_dir() {
            continue;
        }
        let name = f.name().map_err(|e| e.to_string())?.to_string();
        let mut content = Vec::new();
        f.read_to_end(&mut content).map_err(|e| e.to_string())?;
        parts.push((name, content));
    }
    let mut ids = Vec::new();
    for (name, content) in &parts {
        if name == "word/document.xml" {
            image_ids(&String::from_utf8_lossy(content), &mut ids);
        }
    }
    let map: BTreeMap<u64, u64> = ids.iter().enumerate().map(|(i, n)| (*n, i as u64 + 1)).collect();

    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in parts {
        let is_xml = name.ends_with(".xml") || name.ends_with(".rels");
        let name = renumber(&name, &map);
        let content = if is_xml {
            let mut text = renumber(&String::from_utf8_lossy(&content), &map);
            if name == "word/document.xml" {
                text =
                    text.replace("<w:trPr><w:cantSplit /></w:trPr>", "<w:trPr><w:cantSplit /><w:tblHeader /></w:trPr>");
                for (i, chart) in charts.iter().enumerate() {
                    text = place_chart(&text, i + 1, chart)?;
                }
                text = describe_pictures(&text, alts);
                text = share_headers(&text);
            }
            text = register_charts(&name, text, charts.len());
            if name == "word/styles.xml" {
                // Word and other readers find the base style by this flag.
                text = text.replacen(
                    r#"<w:style w:type="paragraph" w:styleId="Normal">"#,
                    r#"<w:style w:type="paragraph" w:styleId="Normal" w:default="1">"#,
                    1,
                );
            }
            text.into_bytes()
        } else {
            content
        };
        // Pictures are compressed already: deflating them again costs time and saves nothing.
        let options = if name.ends_with(".png") {
            options.compression_method(CompressionMethod::Stored).compression_level(None)
        } else {
            options
        };
        out.start_file(name, options).map_err(|e| e.to_string())?;
        out.write_all(&content).map_err(|e| e.to_string())?;
    }
    let stored = options.compression_method(CompressionMethod::Stored).compression_level(None);
    for (i, chart) in charts.iter().enumerate() {
        let n = i + 1;
        for (name, bytes, opts) in [
            (format!("word/charts/chart{n}.xml"), chart.xml.as_bytes(), options),
            (format!("word/charts/_rels/chart{n}.xml.rels"), chart.rels.as_bytes(), options),
            (format!("word/embeddings/chart{n}.xlsx"), chart.workbook.as_slice(), stored),
        ] {
            out.start_file(name, opts).map_err(|e| e.to_string())?;
            out.write_all(bytes).map_err(|e| e.to_string())?;
        }
    }
    Ok(out.finish().map_err(|e| e.to_string())?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_gets_the_running_header_and_footer() {
        let doc = r#"<w:p><w:sectPr><w:pgSz w:w="1" /></w:sectPr></w:p><w:sectPr><w:pgSz w:w="2" /><w:headerReference w:type="default" r:id="h" /><w:footerReference w:type="default" r:id="f" /></w:sectPr>"#;
        assert_eq!(
            share_headers(doc),
            r#"<w:p><w:sectPr><w:headerReference w:type="default" r:id="h" /><w:footerReference w:type="default" r:id="f" /><w:pgSz w:w="1" /></w:sectPr></w:p><w:sectPr><w:pgSz w:w="2" /><w:headerReference w:type="default" r:id="h" /><w:footerReference w:type="default" r:id="f" /></w:sectPr>"#
        );
    }

    #[test]
    fn pictures_get_their_text_alternatives_in_order() {
        let doc = r#"<w:p><wp:docPr id="1" name="Figure" /></w:p><wp:docPr id="2" name="Figure" />"#;
        let alts = ["Logo".to_string(), "Decisions. a 1 & b <2>".to_string()];
        assert_eq!(
            describe_pictures(doc, &alts),
            r#"<w:p><wp:docPr descr="Logo" id="1" name="Figure" /></w:p><wp:docPr descr="Decisions. a 1 &amp; b &lt;2&gt;" id="2" name="Figure" />"#
        );
        let same_ids = r#"<wp:docPr id="1" name="Figure" /><wp:docPr id="1" name="Figure" />"#;
        assert_eq!(
            describe_pictures(same_ids, &[]),
            r#"<wp:docPr id="1" name="Figure" /><wp:docPr id="2" name="Figure" />"#,
            "ids are renumbered even without alternatives"
        );
    }
}
