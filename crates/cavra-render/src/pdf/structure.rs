//! The tagged-PDF structure tree: written into the saved document from the
//! elements the canvas recorded while drawing, so headings, paragraphs,
//! lists, tables and figures reach assistive technology in reading order.

use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};

use super::canvas::{Kid, Tags};

/// A PDF text string: UTF-16BE with its byte-order mark, so any character
/// survives (PDFDocEncoding covers only Latin-1-like text).
pub fn text_string(s: &str) -> Object {
    let mut bytes = vec![0xFE, 0xFF];
    for unit in s.encode_utf16() {
        bytes.extend(unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// Adds the structure tree of `tags` to `lo`: one `StructElem` per element,
/// a parent tree mapping each page's marked content back to its element,
/// `/StructParents` and `/Tabs /S` on every page, and `/MarkInfo` and
/// `/StructTreeRoot` in the catalog.
pub fn write(lo: &mut Document, tags: &Tags) {
    let pages: Vec<ObjectId> = lo.get_pages().into_values().collect();
    let root = lo.new_object_id();
    let ids: Vec<ObjectId> = tags.elems.iter().map(|_| lo.new_object_id()).collect();
    let mut parents: Vec<Vec<Object>> = vec![Vec::new(); pages.len()];
    for (i, elem) in tags.elems.iter().enumerate() {
        let mut kids = Vec::with_capacity(elem.kids.len());
        for kid in &elem.kids {
            match *kid {
                Kid::Elem(k) => kids.push(Object::Reference(ids[k])),
                Kid::Content { page, mcid } => {
                    let Some(&page_id) = pages.get(page) else { continue };
                    let slot = usize::try_from(mcid).unwrap_or(usize::MAX);
                    let owners = &mut parents[page];
                    if owners.len() <= slot {
                        owners.resize(slot + 1, Object::Null);
                    }
                    owners[slot] = Object::Reference(ids[i]);
                    let mut mcr = Dictionary::new();
                    mcr.set("Type", "MCR");
                    mcr.set("Pg", Object::Reference(page_id));
                    mcr.set("MCID", mcid);
                    kids.push(Object::Dictionary(mcr));
                }
            }
        }
        let mut d = Dictionary::new();
        d.set("Type", "StructElem");
        d.set("S", Object::Name(elem.role.as_bytes().to_vec()));
        d.set("P", Object::Reference(if i == 0 { root } else { ids[elem.parent] }));
        d.set("K", Object::Array(kids));
        if let Some(alt) = &elem.alt {
            d.set("Alt", text_string(alt));
        }
        if elem.role == "TH" {
            let mut a = Dictionary::new();
            a.set("O", "Table");
            a.set("Scope", "Column");
            d.set("A", a);
        }
        lo.objects.insert(ids[i], Object::Dictionary(d));
    }
    let mut nums = Vec::with_capacity(pages.len() * 2);
    for (i, owners) in parents.into_iter().enumerate() {
        nums.push(Object::Integer(i as i64));
        nums.push(Object::Array(owners));
    }
    let mut tree = Dictionary::new();
    tree.set("Nums", nums);
    let tree_id = lo.add_object(tree);
    let mut st = Dictionary::new();
    st.set("Type", "StructTreeRoot");
    st.set("K", Object::Reference(ids[0]));
    st.set("ParentTree", Object::Reference(tree_id));
    st.set("ParentTreeNextKey", pages.len() as i64);
    lo.objects.insert(root, Object::Dictionary(st));
    for (i, page) in pages.iter().enumerate() {
        if let Ok(d) = lo.get_object_mut(*page).and_then(Object::as_dict_mut) {
            d.set("StructParents", i as i64);
            d.set("Tabs", "S");
        }
    }
    if let Ok(catalog_id) = lo.trailer.get(b"Root").and_then(Object::as_reference) {
        if let Ok(catalog) = lo.get_object_mut(catalog_id).and_then(Object::as_dict_mut) {
            let mut mark = Dictionary::new();
            mark.set("Marked", true);
            catalog.set("MarkInfo", mark);
            catalog.set("StructTreeRoot", Object::Reference(root));
        }
    }
}
