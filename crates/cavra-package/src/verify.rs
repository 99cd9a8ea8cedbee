//! Verifying a package without trusting it: the archive is read in place
//! (never extracted), every entry name and header is checked before any
//! content is read, sizes and ratios are capped, inner containers are only
//! hashed, then the signature, every digest, completeness and the BagIt
//! manifests are checked.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{Read, Seek};

use sha2::{Digest, Sha256};
use zip::CompressionMethod;

use crate::bagit;
use crate::manifest::{parse_trusted_comment, Manifest, MANIFEST_PATH, SIGNATURE_PATH};

/// Caps on what a package may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Entries in the archive.
    pub max_entries: usize,
    /// Sum of the declared uncompressed sizes.
    pub max_total_bytes: u64,
    /// Largest uncompressed entry.
    pub max_entry_bytes: u64,
    /// Largest uncompressed/compressed ratio of an entry over 1 MiB.
    pub max_ratio: u64,
    /// Largest `manifest.json` or signature read into memory.
    pub max_manifest_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000,
            max_total_bytes: 16 * 1024 * 1024 * 1024,
            max_entry_bytes: 8 * 1024 * 1024 * 1024,
            max_ratio: 200,
            max_manifest_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The outcome for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Path inside the package (`$` for the archive as a whole).
    pub path: String,
    /// `None` when the path checked out; otherwise why not.
    pub problem: Option<String>,
    /// What was checked (`sha256:<hex>`, `signature`, `bagit`…).
    pub detail: String,
}

/// What [`verify_package`] found: one line per artifact and per package-level check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    /// Package id from the manifest, when it could be read.
    pub package_id: Option<String>,
    /// Every check, in path order within each stage.
    pub checks: Vec<Check>,
}

impl Verification {
    /// Whether every check passed (and there was something to check).
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.problem.is_none())
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.problem.is_some())
    }

    fn pass(&mut self, path: &str, detail: impl Into<String>) {
        self.checks.push(Check { path: path.into(), problem: None, detail: detail.into() });
    }

    fn fail(&mut self, path: &str, problem: impl Into<String>) {
        self.checks.push(Check { path: path.into(), problem: Some(problem.into()), detail: String::new() });
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            match &c.problem {
                None => writeln!(f, "ok    {}  {}", c.path, c.detail)?,
                Some(p) => writeln!(f, "FAIL  {}: {p}", c.path)?,
            }
        }
        let failed = self.failures().count();
        match failed {
            0 => write!(f, "verified: {} checks passed", self.checks.len()),
            n => write!(f, "NOT verified: {n} of {} checks failed", self.checks.len()),
        }
    }
}

/// Why a package could not be verified at all (as opposed to failing checks).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The public key file cannot be used.
    #[error("public key: {0}")]
    PublicKey(String),
}

/// Why an entry name is refused, if it is.
pub fn name_problem(name: &[u8]) -> Option<String> {
    let Ok(name) = std::str::from_utf8(name) else { return Some("entry name is not UTF-8".into()) };
    if name.is_empty() {
        return Some("empty entry name".into());
    }
    if name.contains('\0') {
        return Some("entry name contains NUL".into());
    }
    if name.contains('\\') {
        return Some("entry name contains a backslash".into());
    }
    if name.starts_with('/') {
        return Some("absolute entry name".into());
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Some("entry name starts with a drive letter".into());
    }
    if name.ends_with('/') {
        return Some("directory entry (packages hold files only)".into());
    }
    for part in name.split('/') {
        match part {
            "" => return Some("entry name has an empty path component".into()),
            "." | ".." => return Some(format!("entry name has a `{part}` component")),
            _ => {}
        }
        if part.chars().any(char::is_control) {
            return Some("entry name contains a control character".into());
        }
    }
    None
}

/// The archive's entries after the structural checks: name → index.
struct Index {
    entries: BTreeMap<String, usize>,
}

/// Checks every entry's header before any content is read.
fn check_structure<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    limits: &Limits,
    out: &mut Verification,
) -> Option<Index> {
    if zip.len() > limits.max_entries {
        out.fail("$", format!("{} entries; at most {} are accepted", zip.len(), limits.max_entries));
        return None;
    }
    let mut entries = BTreeMap::new();
    let mut folded: BTreeMap<String, String> = BTreeMap::new();
    let mut total: u64 = 0;
    let mut ok = true;
    for i in 0..zip.len() {
        let entry = match zip.by_index_raw(i) {
            Ok(e) => e,
            Err(e) => {
                out.fail(&format!("$[{i}]"), format!("unreadable entry header: {e}"));
                ok = false;
                continue;
            }
        };
        let raw = entry.name_raw().to_vec();
        let shown = String::from_utf8_lossy(&raw).replace('\0', "\\0");
        if let Some(p) = name_problem(&raw) {
            out.fail(&shown, p);
            ok = false;
            continue;
        }
        let name = shown;
        let mut problems = Vec::new();
        if entry.encrypted() {
            problems.push("encrypted entry".to_string());
        }
        match entry.compression() {
            CompressionMethod::Stored | CompressionMethod::Deflated => {}
            other => problems.push(format!("compression method {other:?} is not accepted (stored or deflate only)")),
        }
        if let Some(mode) = entry.unix_mode() {
            let kind = mode & 0o170000;
            if kind == 0o120000 {
                problems.push("symbolic link".into());
            } else if kind != 0 && kind != 0o100000 {
                problems.push(format!("not a regular file (mode {mode:o})"));
            }
        }
        if entry.is_dir() {
            problems.push("directory entry".into());
        }
        let size = entry.size();
        if size > limits.max_entry_bytes {
            problems.push(format!("{size} bytes uncompressed; at most {} per entry", limits.max_entry_bytes));
        }
        let packed = entry.compressed_size().max(1);
        if size > 1024 * 1024 && size / packed > limits.max_ratio {
            problems.push(format!("compression ratio {}:1 exceeds {}:1", size / packed, limits.max_ratio));
        }
        total = total.saturating_add(size);
        if entries.contains_key(&name) {
            problems.push("duplicate entry name".into());
        } else if let Some(first) = folded.get(&name.to_lowercase()) {
            problems.push(format!("differs only in case from `{first}`"));
        }
        folded.entry(name.to_lowercase()).or_insert_with(|| name.clone());
        if problems.is_empty() {
            entries.insert(name, i);
        } else {
            out.fail(&name, problems.join("; "));
            ok = false;
        }
    }
    if total > limits.max_total_bytes {
        out.fail("$", format!("{total} bytes uncompressed in all; at most {}", limits.max_total_bytes));
        ok = false;
    }
    ok.then_some(Index { entries })
}

fn u16_at(b: &[u8], i: usize) -> Option<usize> {
    Some(u16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?]) as usize)
}

fn u32_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes([*b.get(i)?, *b.get(i + 1)?, *b.get(i + 2)?, *b.get(i + 3)?])))
}

/// Every entry name of the central directory, in order, read from the raw
/// bytes (the zip reader keeps one entry per name, so repeated names are
/// only visible here). Archives with a zip64 directory are not scanned.
fn central_names<R: Read + Seek>(mut r: R, limits: &Limits) -> Option<Vec<Vec<u8>>> {
    use std::io::SeekFrom;
    let len = r.seek(SeekFrom::End(0)).ok()?;
    let tail_len = len.min(65_557);
    r.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = vec![0u8; tail_len as usize];
    r.read_exact(&mut tail).ok()?;
    let eocd = (0..tail.len().saturating_sub(21)).rev().find(|i| tail[*i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))?;
    let size = u32_at(&tail, eocd + 12)?;
    let offset = u32_at(&tail, eocd + 16)?;
    if size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF || size > limits.max_manifest_bytes {
        return None;
    }
    r.seek(SeekFrom::Start(offset)).ok()?;
    let mut cd = vec![0u8; size as usize];
    r.read_exact(&mut cd).ok()?;
    let mut names = Vec::new();
    let mut i = 0;
    while cd.get(i..i + 4) == Some(&[0x50, 0x4b, 0x01, 0x02]) {
        let (n, e, c) = (u16_at(&cd, i + 28)?, u16_at(&cd, i + 30)?, u16_at(&cd, i + 32)?);
        names.push(cd.get(i + 46..i + 46 + n)?.to_vec());
        i += 46 + n + e + c;
    }
    Some(names)
}

/// Reads at most `limit` bytes of an entry; more is an error.
fn read_small<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, index: usize, limit: u64) -> Result<Vec<u8>, String> {
    let entry = zip.by_index(index).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    entry.take(limit + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    Ok(bytes)
}

/// Streams an entry through sha256, reading at most `limit + 1` bytes.
fn hash_entry<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, index: usize, limit: u64) -> Result<(u64, String), String> {
    let entry = zip.by_index(index).map_err(|e| e.to_string())?;
    let mut reader = entry.take(limit + 1);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n: u64 = 0;
    loop {
        let got = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if got == 0 {
            break;
        }
        hasher.update(&buf[..got]);
        n += got as u64;
    }
    if n > limit {
        return Err(format!("holds more than the {limit} bytes its header declares"));
    }
    Ok((n, format!("{:x}", hasher.finalize())))
}

/// Verifies a package read from `archive` against a minisign public key
/// file's text.
///
/// # Errors
/// [`VerifyError::PublicKey`] when the key itself is unusable; everything
/// wrong with the package is a failed [`Check`] in the result instead.
pub fn verify_package<R: Read + Seek>(
    mut archive: R,
    public_key_file: &str,
    limits: &Limits,
) -> Result<Verification, VerifyError> {
    minisign::PublicKeyBox::from_string(public_key_file)
        .and_then(|b| b.into_public_key())
        .map_err(|e| VerifyError::PublicKey(e.to_string()))?;
    let mut out = Verification::default();
    if let Err(problems) = crate::layout::check_layout(&mut archive, limits.max_manifest_bytes) {
        for p in problems {
            out.fail(&p.path, p.problem);
        }
        return Ok(out);
    }
    let mut zip = match zip::ZipArchive::new(archive) {
        Ok(z) => z,
        Err(e) => {
            out.fail("$", format!("not a readable zip archive: {e}"));
            return Ok(out);
        }
    };
    if zip.has_duplicate_names() {
        // The reader keeps one entry per name; find the repeated ones in the raw directory.
        let mut seen = BTreeSet::new();
        let mut reported = false;
        for name in central_names(zip.into_inner(), limits).unwrap_or_default() {
            let shown = String::from_utf8_lossy(&name).into_owned();
            if !seen.insert(name) {
                out.fail(&shown, "duplicate entry name");
                reported = true;
            }
        }
        if !reported {
            out.fail("$", "duplicate entry names in the central directory");
        }
        return Ok(out);
    }
    let Some(index) = check_structure(&mut zip, limits, &mut out) else { return Ok(out) };

    // The manifest and its signature.
    let (Some(&mi), Some(&si)) = (index.entries.get(MANIFEST_PATH), index.entries.get(SIGNATURE_PATH)) else {
        for p in [MANIFEST_PATH, SIGNATURE_PATH] {
            if !index.entries.contains_key(p) {
                out.fail(p, "missing");
            }
        }
        return Ok(out);
    };
    let manifest_bytes = match read_small(&mut zip, mi, limits.max_manifest_bytes) {
        Ok(b) => b,
        Err(e) => {
            out.fail(MANIFEST_PATH, e);
            return Ok(out);
        }
    };
    let signature = match read_small(&mut zip, si, 64 * 1024).map(|b| String::from_utf8_lossy(&b).into_owned()) {
        Ok(s) => s,
        Err(e) => {
            out.fail(SIGNATURE_PATH, e);
            return Ok(out);
        }
    };
    let comment = match cavra_render::signed::verify(public_key_file, &manifest_bytes, &signature) {
        Ok(c) => c,
        Err(e) => {
            out.fail(SIGNATURE_PATH, format!("signature does not verify over manifest.json: {e}"));
            return Ok(out);
        }
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            out.fail(MANIFEST_PATH, format!("not a valid manifest: {e}"));
            return Ok(out);
        }
    };
    out.package_id = Some(manifest.package_id.clone());
    let digest = manifest.compute_digest();
    match parse_trusted_comment(&comment) {
        Some((id, d)) if id == manifest.package_id && d == digest && d == manifest.integrity.manifest_digest => {
            out.pass(SIGNATURE_PATH, format!("signature verifies; trusted comment: {comment}"));
            out.pass(MANIFEST_PATH, digest.clone());
        }
        Some((id, d)) => {
            let mut why = Vec::new();
            if id != manifest.package_id {
                why.push(format!("names package `{id}`, the manifest `{}`", manifest.package_id));
            }
            if d != digest {
                why.push(format!("carries digest {d}, the manifest's content gives {digest}"));
            }
            if manifest.integrity.manifest_digest != digest {
                why.push("the manifest's integrity digest does not match its content".into());
            }
            out.fail(SIGNATURE_PATH, format!("trusted comment does not match: {}", why.join("; ")));
        }
        None => out.fail(SIGNATURE_PATH, format!("trusted comment `{comment}` has no package id and manifest digest")),
    }

    // Every listed artifact: present, right size, right digest.
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    let mut listed: BTreeSet<&str> = BTreeSet::new();
    for a in &manifest.artifacts {
        listed.insert(a.path.as_str());
        let Some(&i) = index.entries.get(&a.path) else {
            out.fail(&a.path, "listed in the manifest but missing from the package");
            continue;
        };
        if let Some(target) = &a.signs {
            let Some(&ti) = index.entries.get(target) else {
                out.fail(&a.path, format!("signs `{target}`, which is missing"));
                continue;
            };
            let checked = read_small(&mut zip, i, 64 * 1024).and_then(|sig| {
                let limit = manifest.artifacts.iter().find(|x| &x.path == target).and_then(|x| x.size).unwrap_or(0);
                let data = read_small(&mut zip, ti, limit.min(limits.max_manifest_bytes))?;
                cavra_render::signed::verify(public_key_file, &data, &String::from_utf8_lossy(&sig))
                    .map_err(|e| e.to_string())
            });
            match checked {
                Ok(_) => out.pass(&a.path, format!("signature over {target} verifies")),
                Err(e) => out.fail(&a.path, format!("signature over {target} does not verify: {e}")),
            }
            continue;
        }
        let (Some(size), Some(want)) = (a.size, a.sha256.as_deref()) else {
            out.fail(&a.path, "the manifest gives no size and digest");
            continue;
        };
        match hash_entry(&mut zip, i, size) {
            Ok((n, hex)) => {
                hashes.insert(a.path.clone(), hex.clone());
                let got = format!("sha256:{hex}");
                if n != size {
                    out.fail(&a.path, format!("{n} bytes, the manifest says {size}"));
                } else if got != want {
                    out.fail(&a.path, format!("digest {got} does not match the manifest's {want}"));
                } else {
                    out.pass(&a.path, got);
                }
            }
            Err(e) => out.fail(&a.path, e),
        }
    }

    // Nothing extra.
    let bag = index.entries.contains_key("bagit.txt");
    for name in index.entries.keys() {
        let known = listed.contains(name.as_str())
            || name == MANIFEST_PATH
            || name == SIGNATURE_PATH
            || (bag && name == "tagmanifest-sha256.txt");
        if !known {
            out.fail(name, "present in the package but not listed in the manifest");
        }
    }

    if bag {
        check_bag(&mut zip, &index, &manifest_bytes, &hashes, limits, &mut out);
    }
    Ok(out)
}

/// RFC 8493 checks: `bagit.txt`, every payload file in `manifest-sha256.txt`
/// with its digest, the tag manifest, and the Payload-Oxum.
fn check_bag<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: &Index,
    manifest_json: &[u8],
    hashes: &BTreeMap<String, String>,
    limits: &Limits,
    out: &mut Verification,
) {
    let max = limits.max_manifest_bytes;
    let read = |zip: &mut zip::ZipArchive<R>, path: &str| -> Result<String, String> {
        let i = *index.entries.get(path).ok_or("missing")?;
        read_small(zip, i, max).map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let mut problems = Vec::new();
    match read(zip, "bagit.txt") {
        Ok(t) if t == bagit::BAGIT_TXT => {}
        Ok(_) => problems.push("bagit.txt: not `BagIt-Version: 1.0` with UTF-8 tag files".to_string()),
        Err(e) => problems.push(format!("bagit.txt: {e}")),
    }
    let payload: BTreeSet<&str> = index.entries.keys().filter(|k| k.starts_with("data/")).map(String::as_str).collect();
    match read(zip, "manifest-sha256.txt").and_then(|t| bagit::parse_manifest(&t)) {
        Ok(lines) => {
            let named: BTreeSet<&str> = lines.iter().map(|(p, _)| p.as_str()).collect();
            for p in payload.difference(&named) {
                problems.push(format!("manifest-sha256.txt: payload file {p} is not listed"));
            }
            for (p, h) in &lines {
                match hashes.get(p) {
                    Some(got) if got == h => {}
                    Some(_) => problems.push(format!("manifest-sha256.txt: digest of {p} does not match")),
                    None => {
                        problems.push(format!("manifest-sha256.txt: lists {p}, which is not a verified payload file"))
                    }
                }
            }
        }
        Err(e) => problems.push(format!("manifest-sha256.txt: {e}")),
    }
    match read(zip, "tagmanifest-sha256.txt").and_then(|t| bagit::parse_manifest(&t)) {
        Ok(lines) => {
            for (p, h) in &lines {
                let got = if p == MANIFEST_PATH {
                    Some(format!("{:x}", Sha256::digest(manifest_json)))
                } else {
                    hashes.get(p).cloned()
                };
                if got.as_deref() != Some(h.as_str()) {
                    problems.push(format!("tagmanifest-sha256.txt: digest of {p} does not match"));
                }
            }
            for required in ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"] {
                if !lines.iter().any(|(p, _)| p == required) {
                    problems.push(format!("tagmanifest-sha256.txt: {required} is not listed"));
                }
            }
        }
        Err(e) => problems.push(format!("tagmanifest-sha256.txt: {e}")),
    }
    match read(zip, "bag-info.txt") {
        Ok(info) => {
            let oxum = info.lines().find_map(|l| l.strip_prefix("Payload-Oxum: "));
            let octets: u64 = payload
                .iter()
                .filter_map(|p| index.entries.get(*p))
                .filter_map(|i| zip.by_index_raw(*i).ok().map(|e| e.size()))
                .sum();
            let want = format!("{octets}.{}", payload.len());
            if oxum != Some(want.as_str()) {
                problems.push(format!("bag-info.txt: Payload-Oxum {oxum:?} does not match the payload ({want})"));
            }
        }
        Err(e) => problems.push(format!("bag-info.txt: {e}")),
    }
    if problems.is_empty() {
        out.pass("bagit", format!("valid bag: {} payload files, manifests match", payload.len()));
    } else {
        for p in problems {
            let path = p.split(':').next().unwrap_or("bagit").to_string();
            out.fail(&path, p);
        }
    }
}
