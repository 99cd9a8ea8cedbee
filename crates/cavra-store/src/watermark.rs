//! Watermarked retrieval copies. A PDF, Word or HTML copy handed out by a
//! retrieval carries a visible line naming the recipient class, the
//! retrieval id and the item; the stored bytes are never changed, so they
//! keep verifying against their digest and their package's manifest.
//! Other formats (CSV, JSON, XLSX, packages) are served as stored: a
//! watermark would break their machine readers or their signatures.
//!
//! ```
//! use cavra_store::watermark::{apply, Watermark};
//! let mark = Watermark { recipient_class: "internal".into(), retrieval_id: "ret-1".into(), item_id: "itm-1".into() };
//! let html = b"<!doctype html><html><body><h1>Board pack</h1></body></html>";
//! let copy = apply("html", html, &mark).unwrap().unwrap();
//! let text = String::from_utf8(copy).unwrap();
//! assert!(text.contains("Retrieved copy for internal recipients"));
//! assert!(apply("csv", b"a,b\n", &mark).unwrap().is_none());
//! ```

use std::io::{Read, Write};

use crate::StoreError;

/// What the watermark says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// The class of recipient the copy was handed to (`internal`…).
    pub recipient_class: String,
    /// The retrieval's id.
    pub retrieval_id: String,
    /// The item's id.
    pub item_id: String,
}

impl Watermark {
    /// The line printed on the copy (ASCII, so every medium can carry it).
    pub fn line(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')).take(80).collect()
        };
        format!(
            "Retrieved copy for {} recipients - retrieval {} - item {} - the stored original is unchanged",
            clean(&self.recipient_class),
            clean(&self.retrieval_id),
            clean(&self.item_id)
        )
    }
}

/// Whether copies of `format` are watermarked.
pub fn watermarks(format: &str) -> bool {
    matches!(format, "pdf" | "docx" | "html")
}

/// The watermarked copy of `bytes`, or `None` for a format served as stored.
///
/// # Errors
/// [`StoreError::Invalid`] when the bytes are not a readable file of their format.
pub fn apply(format: &str, bytes: &[u8], mark: &Watermark) -> Result<Option<Vec<u8>>, StoreError> {
    match format {
        "html" => html(bytes, mark).map(Some),
        "pdf" => pdf(bytes, mark).map(Some),
        "docx" => docx(bytes, mark).map(Some),
        _ => Ok(None),
    }
}

fn html(bytes: &[u8], mark: &Watermark) -> Result<Vec<u8>, StoreError> {
    let text = std::str::from_utf8(bytes).map_err(|_| StoreError::Invalid("the HTML is not UTF-8".into()))?;
    let start = text.find("<body").ok_or_else(|| StoreError::Invalid("the HTML has no <body>".into()))?;
    let end = start
        + text[start..].find('>').ok_or_else(|| StoreError::Invalid("the HTML's <body> is not closed".into()))?
        + 1;
    let banner = format!(
        "<p class=\"cavra-retrieval\" role=\"note\" style=\"margin:0;padding:4px 8px;font:12px/1.4 sans-serif;\
         background:#fff3cd;color:#3d2e00;border-bottom:1px solid #8a6d00\">{}</p>",
        mark.line()
    );
    let mut out = String::with_capacity(text.len() + banner.len());
    out.push_str(&text[..end]);
    out.push_str(&banner);
    out.push_str(&text[end..]);
    Ok(out.into_bytes())
}

fn pdf_bad(e: lopdf::Error) -> StoreError {
    StoreError::Invalid(format!("the PDF cannot be read: {e}"))
}

fn pdf(bytes: &[u8], mark: &Watermark) -> Result<Vec<u8>, StoreError> {
    use lopdf::dictionary;
    let mut doc = lopdf::Document::load_mem(bytes).map_err(pdf_bad)?;
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let line = mark.line().replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
    let pages: Vec<lopdf::ObjectId> = doc.get_pages().into_values().collect();
    for page in pages {
        let height = page_height(&doc, page);
        add_font(&mut doc, page, font)?;
        let content = format!(
            "q /Artifact <</Type /Pagination /Subtype /Watermark>> BDC BT /CavraWm 6.5 Tf 0.45 0.1 0.1 rg 1 0 0 1 36 {:.1} Tm ({line}) Tj ET EMC Q\n",
            height - 10.0
        );
        doc.add_page_contents(page, content.into_bytes()).map_err(pdf_bad)?;
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| StoreError::Invalid(format!("the watermarked PDF cannot be written: {e}")))?;
    Ok(out)
}

fn page_height(doc: &lopdf::Document, page: lopdf::ObjectId) -> f32 {
    let number = |o: &lopdf::Object| o.as_float().ok().or_else(|| o.as_i64().ok().map(|i| i as f32));
    doc.get_dictionary(page)
        .ok()
        .and_then(|d| d.get(b"MediaBox").ok())
        .and_then(|b| doc.dereference(b).ok())
        .and_then(|(_, b)| b.as_array().ok())
        .and_then(|a| Some(number(a.get(3)?)? - number(a.get(1)?)?))
        .unwrap_or(842.0)
}

/// Adds `/CavraWm` to the page's font resources, wherever they are kept.
fn add_font(doc: &mut lopdf::Document, page: lopdf::ObjectId, font: lopdf::ObjectId) -> Result<(), StoreError> {
    use lopdf::{Dictionary, Object};
    let resources = doc.get_dictionary(page).map_err(pdf_bad)?.get(b"Resources").ok().cloned();
    let res_id = match resources {
        Some(Object::Reference(id)) => id,
        Some(Object::Dictionary(d)) => {
            let id = doc.add_object(Object::Dictionary(d));
            doc.get_dictionary_mut(page).map_err(pdf_bad)?.set("Resources", Object::Reference(id));
            id
        }
        _ => {
            let id = doc.add_object(Object::Dictionary(Dictionary::new()));
            doc.get_dictionary_mut(page).map_err(pdf_bad)?.set("Resources", Object::Reference(id));
            id
        }
    };
    let fonts = doc.get_dictionary(res_id).map_err(pdf_bad)?.get(b"Font").ok().cloned();
    match fonts {
        Some(Object::Reference(fid)) => {
            doc.get_dictionary_mut(fid).map_err(pdf_bad)?.set("CavraWm", Object::Reference(font));
        }
        Some(Object::Dictionary(mut d)) => {
            d.set("CavraWm", Object::Reference(font));
            doc.get_dictionary_mut(res_id).map_err(pdf_bad)?.set("Font", Object::Dictionary(d));
        }
        _ => {
            let mut d = Dictionary::new();
            d.set("CavraWm", Object::Reference(font));
            doc.get_dictionary_mut(res_id).map_err(pdf_bad)?.set("Font", Object::Dictionary(d));
        }
    }
    Ok(())
}

fn docx_bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("the Word document cannot be read: {e}"))
}

/// Largest `word/document.xml` the watermark reads.
const DOCUMENT_XML_LIMIT: u64 = 256 << 20;

fn docx(bytes: &[u8], mark: &Watermark) -> Result<Vec<u8>, StoreError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(docx_bad)?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut found = false;
    for i in 0..zip.len() {
        let name = zip.by_index_raw(i).map_err(docx_bad)?.name().map_err(docx_bad)?.to_string();
        if name != "word/document.xml" {
            out.raw_copy_file(zip.by_index_raw(i).map_err(docx_bad)?).map_err(docx_bad)?;
            continue;
        }
        found = true;
        let mut entry = zip.by_index(i).map_err(docx_bad)?;
        let modified = entry.last_modified();
        let mut xml = String::new();
        (&mut entry).take(DOCUMENT_XML_LIMIT).read_to_string(&mut xml).map_err(docx_bad)?;
        drop(entry);
        let at = xml.find("<w:body>").ok_or_else(|| docx_bad("word/document.xml has no <w:body>"))? + "<w:body>".len();
        let para = format!(
            "<w:p><w:pPr><w:shd w:val=\"clear\" w:color=\"auto\" w:fill=\"FFF3CD\"/><w:spacing w:after=\"120\"/></w:pPr>\
             <w:r><w:rPr><w:color w:val=\"3D2E00\"/><w:sz w:val=\"16\"/></w:rPr><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
            mark.line()
        );
        xml.insert_str(at, &para);
        let mut options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        if let Some(m) = modified {
            options = options.last_modified_time(m);
        }
        out.start_file(name, options).map_err(docx_bad)?;
        out.write_all(xml.as_bytes()).map_err(docx_bad)?;
    }
    if !found {
        return Err(docx_bad("no word/document.xml"));
    }
    Ok(out.finish().map_err(docx_bad)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_keeps_only_plain_characters() {
        let mark = Watermark {
            recipient_class: "internal<script>".into(),
            retrieval_id: "ret-1) Tj (x".into(),
            item_id: "itm-1".into(),
        };
        let line = mark.line();
        assert!(!line.contains('<') && !line.contains('(') && !line.contains(')'), "{line}");
        assert!(line.contains("internalscript"));
    }

    #[test]
    fn html_without_a_body_is_refused() {
        let mark = Watermark { recipient_class: "internal".into(), retrieval_id: "r".into(), item_id: "i".into() };
        assert!(apply("html", b"<p>no body</p>", &mark).is_err());
        assert!(apply("pdf", b"not a pdf", &mark).is_err());
        assert!(apply("docx", b"not a zip", &mark).is_err());
    }
}
