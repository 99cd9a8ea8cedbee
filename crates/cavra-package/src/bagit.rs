//! BagIt (RFC 8493) tag files for the evidence room: `bagit.txt`,
//! `bag-info.txt`, `manifest-sha256.txt` and `tagmanifest-sha256.txt`.

use crate::archive::Entry;

/// `bagit.txt`, as RFC 8493 §2.1.1 fixes it.
pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

/// Who the evidence room is for, and its reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRoom {
    /// Audience shown in the watermark and `bag-info.txt` (e.g. `external auditor`).
    pub audience: String,
    /// The room's reference (e.g. `ER-2026-014`); derived from the package id when empty.
    pub reference: String,
    /// Days the room is kept after the snapshot's `as_of` (its expiry).
    pub retention_days: u32,
}

impl Default for EvidenceRoom {
    fn default() -> Self {
        EvidenceRoom { audience: "external auditor".into(), reference: String::new(), retention_days: 365 }
    }
}

/// The watermark evidence-room copies carry.
pub fn watermark(room: &EvidenceRoom) -> String {
    format!("EVIDENCE ROOM · {} · {}", room.audience, room.reference)
}

/// A manifest line per file: `<sha256>  <path>`, sorted by path.
fn manifest_lines(files: &[&Entry]) -> String {
    // A spooled member that cannot be read back has no digest to list; the
    // line then holds an empty one, which `verify` refuses.
    let mut lines: Vec<(String, String)> =
        files.iter().map(|e| (e.path.clone(), e.sha256_hex().unwrap_or_default())).collect();
    lines.sort();
    lines.iter().map(|(p, h)| format!("{h}  {p}\n")).collect()
}

/// Fields of `bag-info.txt`, in order.
pub struct BagInfo<'a> {
    /// Tenant display name.
    pub organisation: &'a str,
    /// Reporting window label.
    pub window: &'a str,
    /// Bagging date (`YYYY-MM-DD`, from the snapshot's `as_of`).
    pub bagging_date: &'a str,
    /// Retention class name.
    pub retention_class: &'a str,
    /// Expiry date (`YYYY-MM-DD`).
    pub expires: &'a str,
    /// The room.
    pub room: &'a EvidenceRoom,
    /// Package id.
    pub package_id: &'a str,
}

/// The bag's tag files (except the tag manifest) for a payload under `data/`.
pub fn tag_files(payload: &[Entry], info: &BagInfo<'_>) -> Vec<Entry> {
    let octets: u64 = payload.iter().map(Entry::len).sum();
    let bag_info = [
        ("Source-Organization", info.organisation.to_string()),
        ("External-Identifier", info.room.reference.clone()),
        ("External-Description", format!("CAVRA evidence room for {}", info.room.audience)),
        ("Bagging-Date", info.bagging_date.to_string()),
        ("Payload-Oxum", format!("{octets}.{}", payload.len())),
        ("Bag-Group-Identifier", info.package_id.to_string()),
        ("Reporting-Window", info.window.to_string()),
        ("Retention-Class", info.retention_class.to_string()),
        ("Expiry-Date", info.expires.to_string()),
        ("Audience", info.room.audience.clone()),
        ("Watermark-Reference", watermark(info.room)),
    ];
    let bag_info: String = bag_info.iter().map(|(k, v)| format!("{k}: {}\n", v.replace(['\r', '\n'], " "))).collect();
    let refs: Vec<&Entry> = payload.iter().collect();
    vec![
        Entry::new("bagit.txt", BAGIT_TXT.as_bytes().to_vec()),
        Entry::new("bag-info.txt", bag_info.into_bytes()),
        Entry::new("manifest-sha256.txt", manifest_lines(&refs).into_bytes()),
    ]
}

/// `tagmanifest-sha256.txt` over the given tag files.
pub fn tag_manifest(tags: &[&Entry]) -> Entry {
    Entry::new("tagmanifest-sha256.txt", manifest_lines(tags).into_bytes())
}

/// Parses a BagIt manifest: `(path, lowercase hex)` per line.
///
/// # Errors
/// The line number and what is wrong with it.
pub fn parse_manifest(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (digest, path) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("line {}: expected `<sha256> <path>`", i + 1))?;
        let path = path.trim_start();
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) || path.is_empty() {
            return Err(format!("line {}: expected `<sha256> <path>`", i + 1));
        }
        out.push((path.to_string(), digest.to_ascii_lowercase()));
    }
    Ok(out)
}
