//! The byte layout of a package archive, checked before the zip reader
//! interprets it: a zip can be read differently by different tools when
//! its local headers and central directory disagree, when bytes hide
//! outside the entries, or when the directory points somewhere odd. A
//! package `verify` accepts has
//! - its first local header at offset 0 (no prepended stub) and every
//!   entry's local header, data and data descriptor followed directly by
//!   the next entry, the last one by the central directory (no gaps);
//! - the central directory followed directly by the end records, and the
//!   end record ending the file with no archive comment (no trailing data);
//! - for every entry, a local header whose name, method, flags, CRC-32 and
//!   sizes agree with the central directory (or, with a data descriptor,
//!   a descriptor that does);
//! - a regular-file mode without setuid, setgid, sticky or execute bits.
//!
//! Zip64 end records and extra fields are read where the 32-bit fields are
//! saturated.

use std::io::{Read, Seek, SeekFrom};

const LOCAL: u64 = 0x0403_4b50;
const CENTRAL: u64 = 0x0201_4b50;
const EOCD: u64 = 0x0605_4b50;
const EOCD64: u64 = 0x0606_4b50;
const LOCATOR64: u64 = 0x0706_4b50;
const DESCRIPTOR: u64 = 0x0807_4b50;

/// One problem, with the entry it concerns (`$` for the archive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutProblem {
    /// Entry name, or `$`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

fn at(path: &str, problem: impl Into<String>) -> LayoutProblem {
    LayoutProblem { path: path.to_string(), problem: problem.into() }
}

fn le16(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 2).map_or(0, |s| u64::from(u16::from_le_bytes([s[0], s[1]])))
}

fn le32(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 4).map_or(0, |s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

fn le64(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 8).map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
}

fn read_at<R: Read + Seek>(r: &mut R, offset: u64, len: usize) -> Result<Vec<u8>, String> {
    r.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).map_err(|_| format!("the archive ends before offset {}", offset + len as u64))?;
    Ok(buf)
}

/// Where the central directory is, from the end records.
struct Directory {
    offset: u64,
    size: u64,
    entries: u64,
}

fn directory<R: Read + Seek>(r: &mut R, len: u64, max_directory: u64) -> Result<Directory, LayoutProblem> {
    let fail = |p: String| at("$", p);
    if len < 22 {
        return Err(fail("too short to be a zip archive".into()));
    }
    let tail_len = len.min(65_557);
    let tail = read_at(r, len - tail_len, tail_len as usize).map_err(fail)?;
    let Some(pos) = (0..=tail.len() - 22).rev().find(|i| le32(&tail, *i) == EOCD) else {
        return Err(fail("no end-of-central-directory record".into()));
    };
    let eocd = len - tail_len + pos as u64;
    let comment = le16(&tail, pos + 20);
    if comment != 0 {
        return Err(fail(format!("the archive carries a {comment}-byte comment (packages carry none)")));
    }
    if eocd + 22 != len {
        return Err(fail(format!("{} byte(s) of trailing data after the end of the archive", len - eocd - 22)));
    }
    let (mut entries, mut size, mut offset) = (le16(&tail, pos + 10), le32(&tail, pos + 12), le32(&tail, pos + 16));
    let mut end_start = eocd;
    if entries == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        let locator = eocd.checked_sub(20).ok_or_else(|| fail("a zip64 archive without its locator".into()))?;
        let loc = read_at(r, locator, 20).map_err(fail)?;
        if le32(&loc, 0) != LOCATOR64 {
            return Err(fail("a zip64 archive without its locator".into()));
        }
        let record = le64(&loc, 8);
        let z = read_at(r, record, 56).map_err(fail)?;
        if le32(&z, 0) != EOCD64 || record + 12 + le64(&z, 4) != locator {
            return Err(fail(
                "the zip64 end record is not where its locator says, or is followed by other bytes".into(),
            ));
        }
        (entries, size, offset) = (le64(&z, 32), le64(&z, 40), le64(&z, 48));
        end_start = record;
    }
    if offset.checked_add(size) != Some(end_start) {
        return Err(fail("bytes between the central directory and the end records".into()));
    }
    if size > max_directory {
        return Err(fail(format!("a {size}-byte central directory; at most {max_directory}")));
    }
    Ok(Directory { offset, size, entries })
}

/// One central-directory entry's fields.
struct Central {
    name: Vec<u8>,
    flags: u64,
    method: u64,
    crc: u64,
    compressed: u64,
    uncompressed: u64,
    local: u64,
    made_by_unix: bool,
    mode: u64,
}

fn zip64_extra(extra: &[u8], c: &mut Central) {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let (id, n) = (le16(extra, i), le16(extra, i + 2) as usize);
        if id == 1 {
            let mut j = i + 4;
            for field in [&mut c.uncompressed, &mut c.compressed, &mut c.local] {
                if *field == 0xFFFF_FFFF && j + 8 <= i + 4 + n {
                    *field = le64(extra, j);
                    j += 8;
                }
            }
        }
        i += 4 + n;
    }
}

fn parse_central(cd: &[u8], expected: u64) -> Result<Vec<Central>, LayoutProblem> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cd.len() {
        if le32(cd, i) != CENTRAL || i + 46 > cd.len() {
            return Err(at("$", format!("unexpected bytes inside the central directory at entry {}", out.len() + 1)));
        }
        let (n, e, k) = (le16(cd, i + 28) as usize, le16(cd, i + 30) as usize, le16(cd, i + 32) as usize);
        let Some(name) = cd.get(i + 46..i + 46 + n) else {
            return Err(at("$", "a central directory entry runs past its end"));
        };
        let mut c = Central {
            name: name.to_vec(),
            flags: le16(cd, i + 8),
            method: le16(cd, i + 10),
            crc: le32(cd, i + 16),
            compressed: le32(cd, i + 20),
            uncompressed: le32(cd, i + 24),
            local: le32(cd, i + 42),
            made_by_unix: le16(cd, i + 4) >> 8 == 3,
            mode: le32(cd, i + 38) >> 16,
        };
        zip64_extra(cd.get(i + 46 + n..i + 46 + n + e).unwrap_or_default(), &mut c);
        out.push(c);
        i += 46 + n + e + k;
    }
    if out.len() as u64 != expected {
        return Err(at(
            "$",
            format!("the end record counts {expected} entries, the central directory holds {}", out.len()),
        ));
    }
    Ok(out)
}

fn mode_problem(c: &Central) -> Option<String> {
    if !c.made_by_unix || c.mode == 0 {
        return None;
    }
    let kind = c.mode & 0o170000;
    if kind == 0o120000 {
        return Some("symbolic link".into());
    }
    if kind != 0 && kind != 0o100000 {
        return Some(format!("not a regular file (mode {:o})", c.mode));
    }
    if c.mode & 0o7000 != 0 {
        return Some(format!("setuid, setgid or sticky mode bits ({:o})", c.mode & 0o7777));
    }
    if c.mode & 0o111 != 0 {
        return Some(format!("executable mode bits ({:o}); package members are data", c.mode & 0o7777));
    }
    None
}

/// Checks one entry's local header (and data descriptor) against its
/// central record; returns where the entry's bytes end.
fn check_local<R: Read + Seek>(r: &mut R, c: &Central, shown: &str) -> Result<u64, LayoutProblem> {
    let h = read_at(r, c.local, 30).map_err(|e| at(shown, e))?;
    if le32(&h, 0) != LOCAL {
        return Err(at(shown, "no local file header where the central directory points"));
    }
    let (n, e) = (le16(&h, 26) as usize, le16(&h, 28) as usize);
    let name = read_at(r, c.local + 30, n).map_err(|err| at(shown, err))?;
    if name != c.name {
        return Err(at(
            shown,
            format!("the local header names `{}`, the central directory `{shown}`", String::from_utf8_lossy(&name)),
        ));
    }
    if le16(&h, 6) != c.flags || le16(&h, 8) != c.method {
        return Err(at(shown, "the local header's flags or compression method differ from the central directory's"));
    }
    let data = c.local + 30 + n as u64 + e as u64;
    let end = data.checked_add(c.compressed).ok_or_else(|| at(shown, "entry size overflows"))?;
    if c.flags & 0x8 == 0 {
        let mut local = Central { name: Vec::new(), mode: 0, made_by_unix: false, local: 0, ..*c };
        (local.crc, local.compressed, local.uncompressed) = (le32(&h, 14), le32(&h, 18), le32(&h, 22));
        let extra = read_at(r, c.local + 30 + n as u64, e).map_err(|err| at(shown, err))?;
        zip64_extra(&extra, &mut local);
        if (local.crc, local.compressed, local.uncompressed) != (c.crc, c.compressed, c.uncompressed) {
            return Err(at(shown, "the local header's CRC-32 or sizes differ from the central directory's"));
        }
        return Ok(end);
    }
    // A data descriptor follows the data: optional signature, CRC, sizes (32- or 64-bit).
    let d = read_at(r, end, 24).unwrap_or_default();
    let base = if le32(&d, 0) == DESCRIPTOR { 4 } else { 0 };
    let narrow = (le32(&d, base), le32(&d, base + 4), le32(&d, base + 8));
    let wide = (le32(&d, base), le64(&d, base + 4), le64(&d, base + 12));
    let want = (c.crc, c.compressed, c.uncompressed);
    if narrow == want {
        Ok(end + base as u64 + 12)
    } else if wide == want {
        Ok(end + base as u64 + 20)
    } else {
        Err(at(shown, "the data descriptor's CRC-32 or sizes differ from the central directory's"))
    }
}

/// Checks the archive's byte layout; every problem names its entry.
///
/// # Errors
/// The problems found (the first structural one stops the walk).
pub fn check_layout<R: Read + Seek>(r: &mut R, max_directory: u64) -> Result<(), Vec<LayoutProblem>> {
    let len = r.seek(SeekFrom::End(0)).map_err(|e| vec![at("$", e.to_string())])?;
    let dir = directory(r, len, max_directory).map_err(|p| vec![p])?;
    let cd = read_at(r, dir.offset, dir.size as usize).map_err(|e| vec![at("$", e)])?;
    let mut entries = parse_central(&cd, dir.entries).map_err(|p| vec![p])?;
    entries.sort_by_key(|c| c.local);
    let mut problems = Vec::new();
    let mut next = 0u64;
    for c in &entries {
        let shown = String::from_utf8_lossy(&c.name).replace('\0', "\\0");
        if c.local != next {
            let what = if next == 0 {
                "bytes before the first entry (a prepended stub)"
            } else {
                "bytes hidden between entries"
            };
            problems.push(at(&shown, format!("{what}: {} byte(s) before this entry's header", c.local.abs_diff(next))));
            return Err(problems);
        }
        if let Some(p) = mode_problem(c) {
            problems.push(at(&shown, p));
        }
        match check_local(r, c, &shown) {
            Ok(end) => next = end,
            Err(p) => {
                problems.push(p);
                return Err(problems);
            }
        }
    }
    if next != dir.offset {
        problems.push(at(
            "$",
            format!("{} byte(s) between the last entry and the central directory", dir.offset.abs_diff(next)),
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
