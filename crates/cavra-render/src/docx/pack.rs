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
fn xml_attribute(s: &str) -> String {
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

/// Repacks the docx-rs package `raw` deterministically, with `alts` as the
/// pictures' text alternatives (see [`describe_pictures`]).
pub(super) fn repack(raw: &[u8], alts: &[String]) -> Result<Vec<u8>, String> {
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
                text = describe_pictures(&text, alts);
            }
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
    Ok(out.finish().map_err(|e| e.to_string())?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

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
