//! Packages end to end: every type builds from the sample and verifies;
//! tampering of every kind is caught and named; crafted archives are
//! refused before any content is read; builds are deterministic.

use std::io::{Cursor, Read, Write};

use cavra_model::{LoadOptions, Posture, Snapshot};
use cavra_package::archive::{write_zip, Body, Entry};
use cavra_package::manifest::{sha256_tagged, trusted_comment, Manifest, MANIFEST_PATH, SIGNATURE_PATH};
use cavra_package::verify::{verify_package, Limits, Verification};
use cavra_package::{build_package, Package, PackageOptions, PackageType};
use cavra_render::signed::SigningKey;

const SAMPLE: &str = include_str!("../../../examples/sample_snapshot.json");

fn sample() -> (Snapshot, Posture) {
    let s = Snapshot::from_json_str(SAMPLE, &LoadOptions::default()).unwrap();
    let p = Posture::compute(&s);
    (s, p)
}

fn build(ptype: PackageType, key: &SigningKey) -> Package {
    let (s, p) = sample();
    build_package(ptype, &s, &p, &PackageOptions::default(), key).unwrap()
}

fn verify(bytes: &[u8], key: &SigningKey) -> Verification {
    verify_package(Cursor::new(bytes), &key.public_key_file(), &Limits::default()).unwrap()
}

/// The bytes of an entry read back from a zip (always held in memory).
fn held(e: &mut Entry) -> &mut Vec<u8> {
    match &mut e.body {
        Body::Bytes(b) => b,
        Body::Spooled(_) => panic!("entries read back from a zip are held in memory"),
    }
}

fn entries(bytes: &[u8]) -> Vec<Entry> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            Entry::new(f.name().unwrap().to_string(), b)
        })
        .collect()
}

/// Re-zips entries after `edit`, re-signing the manifest `reseal` says how.
fn rezip(bytes: &[u8], edit: impl FnOnce(&mut Vec<Entry>)) -> Vec<u8> {
    let mut e = entries(bytes);
    edit(&mut e);
    write_zip(e).unwrap()
}

/// Replaces manifest.json with `manifest` and signs it with `comment`.
fn reseal(entries: &mut [Entry], manifest: &Manifest, comment: &str, key: &SigningKey) {
    let bytes = manifest.to_bytes();
    let sig = key.sign(Cursor::new(&bytes), comment).unwrap();
    for e in entries.iter_mut() {
        if e.path == MANIFEST_PATH {
            *held(e) = bytes.clone();
        } else if e.path == SIGNATURE_PATH {
            *held(e) = sig.clone().into_bytes();
        }
    }
}

fn failed_paths(v: &Verification) -> Vec<String> {
    v.failures().map(|c| c.path.clone()).collect()
}

#[test]
fn every_package_type_builds_and_verifies() {
    let key = SigningKey::generate().unwrap();
    let expected: [(&PackageType, &[&str]); 5] = [
        (
            &PackageType::BoardAndAuditBundle,
            &[
                "reports/board-kpi-pack.signed.json",
                "reports/board-kpi-pack.signed.json.minisig",
                "reports/board-kpi-pack.xlsx",
                "reports/executive-risk-brief.docx",
                "reports/executive-risk-brief.pdf",
                "reports/soc2-audit-summary.pdf",
            ],
        ),
        (
            &PackageType::GrcUploadPackage,
            &[
                "oscal/assessment-results.json",
                "oscal/poam.json",
                "reports/control-coverage.csv",
                "reports/evidence-freshness.csv",
            ],
        ),
        (&PackageType::SiemExportBundle, &["siem/agent-activity-digest.jsonl", "siem/field-dictionary.json"]),
        (
            &PackageType::IncidentReviewPacket,
            &[
                "incident/chain-of-custody.csv",
                "incident/incident-packet.json",
                "incident/incident-packet.pdf",
                "incident/linked-decisions.jsonl",
            ],
        ),
        (
            &PackageType::EvidenceRoomBundle,
            &[
                "bag-info.txt",
                "bagit.txt",
                "data/reports/agent-risk-register.xlsx",
                "data/reports/control-coverage.csv",
                "data/reports/control-coverage.html",
                "data/reports/evidence-freshness.csv",
                "data/reports/evidence-freshness.pdf",
                "data/reports/soc2-audit-summary.docx",
                "data/reports/soc2-audit-summary.html",
                "data/reports/soc2-audit-summary.json",
                "data/reports/soc2-audit-summary.pdf",
                "manifest-sha256.txt",
            ],
        ),
    ];
    for (ptype, paths) in expected {
        let pkg = build(*ptype, &key);
        let listed: Vec<&str> = pkg.manifest.artifacts.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(listed, paths.to_vec(), "{ptype}");
        assert_eq!(pkg.manifest.package_type, ptype.as_str());
        assert_eq!(pkg.manifest.retention_class, ptype.default_retention());
        for a in &pkg.manifest.artifacts {
            if a.signs.is_none() {
                assert!(a.sha256.as_deref().is_some_and(|d| d.starts_with("sha256:") && d.len() == 71), "{}", a.path);
            }
        }
        let v = verify(&pkg.bytes, &key);
        assert!(v.ok(), "{ptype}:\n{v}");
        // one line per artifact, plus the manifest and its signature (and the bag)
        let extra = if *ptype == PackageType::EvidenceRoomBundle { 3 } else { 2 };
        assert_eq!(v.checks.len(), paths.len() + extra, "{v}");
    }
}

#[test]
fn packaging_twice_gives_identical_entries_but_the_signatures() {
    let key = SigningKey::generate().unwrap();
    for ptype in PackageType::ALL {
        let (a, b) = (build(*ptype, &key), build(*ptype, &key));
        let mut za = zip::ZipArchive::new(Cursor::new(&a.bytes)).unwrap();
        let mut zb = zip::ZipArchive::new(Cursor::new(&b.bytes)).unwrap();
        assert_eq!(za.len(), zb.len());
        for i in 0..za.len() {
            let (mut x, mut y) = (za.by_index(i).unwrap(), zb.by_index(i).unwrap());
            assert_eq!(x.name().unwrap(), y.name().unwrap());
            let name = x.name().unwrap().to_string();
            assert_eq!(x.last_modified(), y.last_modified(), "{name}");
            assert_eq!(x.unix_mode(), y.unix_mode(), "{name}");
            assert_eq!(x.compression(), y.compression(), "{name}");
            let (mut bx, mut by) = (Vec::new(), Vec::new());
            x.read_to_end(&mut bx).unwrap();
            y.read_to_end(&mut by).unwrap();
            if name.ends_with(".minisig") {
                continue; // fresh randomness: verified, never compared
            }
            assert!(bx == by, "{ptype}: {name} differs between runs");
            assert_eq!(x.crc32(), y.crc32(), "{name}");
        }
    }
}

#[test]
fn flipping_removing_or_adding_a_file_is_caught_and_named() {
    let key = SigningKey::generate().unwrap();
    for ptype in PackageType::ALL {
        let pkg = build(*ptype, &key);
        for a in pkg.manifest.artifacts.iter().filter(|a| a.signs.is_none()) {
            let flipped = rezip(&pkg.bytes, |e| {
                let entry = e.iter_mut().find(|x| x.path == a.path).unwrap();
                let mid = held(entry).len() / 2;
                held(entry)[mid] ^= 0x01;
            });
            let v = verify(&flipped, &key);
            assert!(!v.ok() && failed_paths(&v).contains(&a.path), "{ptype} flip {}:\n{v}", a.path);
        }
        let first = &pkg.manifest.artifacts[0].path;
        let removed = rezip(&pkg.bytes, |e| e.retain(|x| &x.path != first));
        let v = verify(&removed, &key);
        assert!(failed_paths(&v).contains(first), "{ptype} remove:\n{v}");
        let added = rezip(&pkg.bytes, |e| e.push(Entry::new("reports/extra.txt", b"x".to_vec())));
        let v = verify(&added, &key);
        assert_eq!(failed_paths(&v), vec!["reports/extra.txt".to_string()], "{ptype} add:\n{v}");
    }
}

#[test]
fn signature_problems_are_caught() {
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    let pkg = build(PackageType::GrcUploadPackage, &key);
    // another key
    let v = verify(&pkg.bytes, &other);
    assert_eq!(failed_paths(&v), vec![SIGNATURE_PATH.to_string()], "{v}");
    // an edited trusted comment: the signature no longer verifies
    let edited = rezip(&pkg.bytes, |e| {
        let sig = e.iter_mut().find(|x| x.path == SIGNATURE_PATH).unwrap();
        let text = String::from_utf8(held(sig).clone()).unwrap().replace("package_id:pkg-", "package_id:pkX-");
        *held(sig) = text.into_bytes();
    });
    assert_eq!(failed_paths(&verify(&edited, &key)), vec![SIGNATURE_PATH.to_string()]);
    // a valid signature whose trusted comment names another package or digest
    for comment in [
        trusted_comment("pkg-other", &pkg.manifest.integrity.manifest_digest),
        trusted_comment(&pkg.manifest.package_id, &sha256_tagged(b"something else")),
        "no fields here".to_string(),
    ] {
        let resigned = rezip(&pkg.bytes, |e| reseal(e, &pkg.manifest, &comment, &key));
        let v = verify(&resigned, &key);
        assert_eq!(failed_paths(&v), vec![SIGNATURE_PATH.to_string()], "{comment}:\n{v}");
    }
    // a manifest edited and re-signed with a matching comment, but whose digests lie
    let mut forged = pkg.manifest.clone();
    forged.artifacts[0].sha256 = Some(sha256_tagged(b"forged"));
    forged.integrity.manifest_digest = forged.compute_digest();
    let comment = trusted_comment(&forged.package_id, &forged.integrity.manifest_digest);
    let resigned = rezip(&pkg.bytes, |e| reseal(e, &forged, &comment, &key));
    let v = verify(&resigned, &key);
    assert_eq!(failed_paths(&v), vec![forged.artifacts[0].path.clone()], "{v}");
    // the signature over the signed JSON inside a board pack is checked too
    let board = build(PackageType::BoardAndAuditBundle, &key);
    let swapped = rezip(&board.bytes, |e| {
        let fake = other.sign(Cursor::new(b"x"), "report_id:x kind:x sha256:x").unwrap();
        *held(e.iter_mut().find(|x| x.path.ends_with(".signed.json.minisig")).unwrap()) = fake.into_bytes();
    });
    let v = verify(&swapped, &key);
    assert_eq!(failed_paths(&v), vec!["reports/board-kpi-pack.signed.json.minisig".to_string()], "{v}");
}

/// A zip written entry by entry with the zip crate, for crafted archives.
fn craft(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// Patches every central and local header: `f` gets the header bytes and the offset of its fields.
fn patch_headers(bytes: &mut [u8], f: impl Fn(&mut [u8], usize, bool)) {
    let mut i = 0;
    while i + 4 <= bytes.len() {
        match &bytes[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => f(bytes, i, false),
            [0x50, 0x4b, 0x01, 0x02] => f(bytes, i, true),
            _ => {}
        }
        i += 1;
    }
}

fn refused(bytes: &[u8], limits: &Limits) -> Vec<(String, String)> {
    let key = SigningKey::generate().unwrap();
    let v = verify_package(Cursor::new(bytes), &key.public_key_file(), limits).unwrap();
    assert!(!v.ok());
    v.failures().map(|c| (c.path.clone(), c.problem.clone().unwrap_or_default())).collect()
}

#[test]
fn crafted_entry_names_are_refused() {
    for (name, why) in [
        ("../evil.txt", "`..` component"),
        ("reports/../../evil.txt", "`..` component"),
        ("/etc/passwd", "absolute"),
        ("C:/windows/evil.txt", "drive letter"),
        ("reports\\evil.txt", "backslash"),
        ("reports/./x.txt", "`.` component"),
        ("reports//x.txt", "empty path component"),
        ("reports/", "directory"),
    ] {
        let bytes = craft(&[(MANIFEST_PATH, b"{}"), (name, b"x")]);
        let f = refused(&bytes, &Limits::default());
        assert!(f.iter().any(|(p, r)| p == name && r.contains(why)), "{name}: {f:?}");
    }
    // NUL: written as `aXb`, then patched in both headers
    let mut bytes = craft(&[("aXb.txt", b"x")]);
    let at: Vec<usize> = bytes.windows(7).enumerate().filter(|(_, w)| *w == b"aXb.txt").map(|(i, _)| i).collect();
    for i in at {
        bytes[i + 1] = 0;
    }
    let f = refused(&bytes, &Limits::default());
    assert!(f.iter().any(|(_, r)| r.contains("NUL")), "{f:?}");
}

#[test]
fn links_encryption_methods_and_duplicates_are_refused() {
    // symbolic link
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    z.add_symlink("reports/link", "/etc/passwd", zip::write::SimpleFileOptions::default()).unwrap();
    let bytes = z.finish().unwrap().into_inner();
    let f = refused(&bytes, &Limits::default());
    assert!(f.iter().any(|(p, r)| p == "reports/link" && r.contains("symbolic link")), "{f:?}");

    // encrypted flag set in the headers
    let mut bytes = craft(&[("reports/a.txt", b"secret")]);
    patch_headers(&mut bytes, |b, i, central| b[i + if central { 8 } else { 6 }] |= 1);
    let f = refused(&bytes, &Limits::default());
    assert!(f.iter().any(|(p, r)| p == "reports/a.txt" && r.contains("encrypted")), "{f:?}");

    // a compression method other than stored/deflate (bzip2 = 12)
    let mut bytes = craft(&[("reports/a.txt", b"data")]);
    patch_headers(&mut bytes, |b, i, central| {
        let at = i + if central { 10 } else { 8 };
        b[at] = 12;
        b[at + 1] = 0;
    });
    let f = refused(&bytes, &Limits::default());
    assert!(f.iter().any(|(p, r)| p == "reports/a.txt" && r.contains("compression method")), "{f:?}");

    // exact duplicates (written under two names, then renamed)
    let mut bytes = craft(&[("reports/a.txt", b"1"), ("reports/b.txt", b"2")]);
    let at: Vec<usize> =
        bytes.windows(13).enumerate().filter(|(_, w)| *w == b"reports/b.txt").map(|(i, _)| i).collect();
    for i in at {
        bytes[i + 8] = b'a';
    }
    let f = refused(&bytes, &Limits::default());
    assert!(f.iter().any(|(p, r)| p == "reports/a.txt" && r.contains("duplicate")), "{f:?}");

    // names that differ only in case
    let bytes = craft(&[("reports/A.txt", b"1"), ("reports/a.txt", b"2")]);
    let f = refused(&bytes, &Limits::default());
    assert!(f.iter().any(|(p, r)| p == "reports/a.txt" && r.contains("only in case")), "{f:?}");
}

/// A genuine, signed package, changed at the byte level.
fn hostile(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<(String, String)> {
    let key = SigningKey::generate().unwrap();
    let mut bytes = build(PackageType::SiemExportBundle, &key).bytes;
    assert!(verify(&bytes, &key).ok());
    edit(&mut bytes);
    let v = verify(&bytes, &key);
    assert!(!v.ok(), "{v}");
    v.failures().map(|c| (c.path.clone(), c.problem.clone().unwrap_or_default())).collect()
}

#[test]
fn hostile_zip_layouts_are_refused_naming_the_entry() {
    // local header names another file than the central directory
    let f = hostile(|b| {
        let first = String::from_utf8_lossy(&b[30..30 + usize::from(u16::from_le_bytes([b[26], b[27]]))]).into_owned();
        let i = 30 + first.len() - 1;
        b[i] = if b[i] == b'x' { b'y' } else { b'x' };
    });
    assert!(f.iter().any(|(p, r)| p != "$" && r.contains("local header names")), "{f:?}");

    // a stub prepended (offsets adjusted as self-extractors do, so readers still find the entries)
    let f = hostile(|b| {
        let stub = b"#!/bin/sh\necho hi\nexit 0\n".to_vec();
        let n = stub.len() as u32;
        patch_offsets(b, n);
        b.splice(0..0, stub);
    });
    assert!(f.iter().any(|(_, r)| r.contains("prepended stub")), "{f:?}");

    // trailing data after the end record
    let f = hostile(|b| b.extend_from_slice(b"hidden payload"));
    assert!(f.iter().any(|(p, r)| p == "$" && r.contains("trailing data")), "{f:?}");

    // an archive comment
    let f = hostile(|b| {
        let n = b.len();
        b[n - 2..].copy_from_slice(&7u16.to_le_bytes());
        b.extend_from_slice(b"comment");
    });
    assert!(f.iter().any(|(p, r)| p == "$" && r.contains("comment")), "{f:?}");

    // a local CRC-32 that disagrees with the central directory
    let f = hostile(|b| b[14] ^= 0xff);
    assert!(f.iter().any(|(p, r)| p != "$" && r.contains("CRC-32 or sizes")), "{f:?}");

    // setuid and executable bits in the central directory
    for (bits, why) in [(0o4000u32, "setuid"), (0o755, "executable")] {
        let f = hostile(|b| {
            patch_headers(b, |b, i, central| {
                if central {
                    let mode = (0o100644u32 | bits) << 16;
                    b[i + 38..i + 42].copy_from_slice(&mode.to_le_bytes());
                }
            })
        });
        assert!(f.iter().any(|(p, r)| p != "$" && r.contains(why)), "{why}: {f:?}");
    }
}

/// Moves every central-directory offset (and the directory's own) by `n` bytes.
fn patch_offsets(b: &mut [u8], n: u32) {
    let add = |b: &mut [u8], at: usize| {
        let v = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) + n;
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    };
    let eocd = b.len() - 22;
    add(b, eocd + 16);
    let mut i = 0;
    while i + 4 <= eocd {
        if b[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] {
            add(b, i + 42);
        }
        i += 1;
    }
}

#[test]
fn sizes_counts_and_ratios_are_capped() {
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = craft(&[("reports/zeros.bin", &zeros)]);
    let f = refused(&bomb, &Limits::default());
    assert!(f.iter().any(|(p, r)| p == "reports/zeros.bin" && r.contains("compression ratio")), "{f:?}");

    let many: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("reports/{i}.txt"), vec![b'x'])).collect();
    let refs: Vec<(&str, &[u8])> = many.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let bytes = craft(&refs);
    let f = refused(&bytes, &Limits { max_entries: 10, ..Limits::default() });
    assert!(f.iter().any(|(p, r)| p == "$" && r.contains("20 entries")), "{f:?}");
    let f = refused(&bytes, &Limits { max_total_bytes: 5, ..Limits::default() });
    assert!(f.iter().any(|(p, r)| p == "$" && r.contains("uncompressed in all")), "{f:?}");
    let f = refused(&bytes, &Limits { max_entry_bytes: 0, ..Limits::default() });
    assert!(f.iter().any(|(_, r)| r.contains("per entry")), "{f:?}");
}

#[test]
fn inner_containers_are_hashed_not_opened() {
    let key = SigningKey::generate().unwrap();
    let pkg = build(PackageType::SiemExportBundle, &key);
    // An inner zip whose own entry would be refused at the top level.
    let inner = craft(&[("../evil.txt", b"x")]);
    let mut manifest = pkg.manifest.clone();
    manifest.artifacts.push(cavra_package::ManifestArtifact {
        path: "siem/inner.zip".into(),
        report_id: None,
        format: "zip".into(),
        media_type: "application/zip".into(),
        size: Some(inner.len() as u64),
        sha256: Some(sha256_tagged(&inner)),
        signs: None,
    });
    manifest.integrity.manifest_digest = manifest.compute_digest();
    let comment = trusted_comment(&manifest.package_id, &manifest.integrity.manifest_digest);
    let bytes = rezip(&pkg.bytes, |e| {
        e.push(Entry::new("siem/inner.zip", inner.clone()));
        reseal(e, &manifest, &comment, &key);
    });
    let v = verify(&bytes, &key);
    assert!(v.ok(), "{v}");
}

#[test]
fn evidence_room_bag_manifests_are_checked() {
    let key = SigningKey::generate().unwrap();
    let pkg = build(PackageType::EvidenceRoomBundle, &key);
    let info = entries(&pkg.bytes).into_iter().find(|e| e.path == "bag-info.txt").unwrap();
    let info = String::from_utf8(info.to_bytes().unwrap()).unwrap();
    for field in ["Payload-Oxum: ", "Source-Organization: Northwind Robotics", "Watermark-Reference: EVIDENCE ROOM"] {
        assert!(info.contains(field), "{field} not in\n{info}");
    }
    // copies carry the watermark
    let html = entries(&pkg.bytes).into_iter().find(|e| e.path == "data/reports/soc2-audit-summary.html").unwrap();
    assert!(String::from_utf8(html.to_bytes().unwrap()).unwrap().contains("EVIDENCE ROOM · external auditor · ER-"));
    // a tag manifest that lies is caught
    let bad = rezip(&pkg.bytes, |e| {
        let t = e.iter_mut().find(|x| x.path == "tagmanifest-sha256.txt").unwrap();
        *held(t) = String::from_utf8(held(t).clone()).unwrap().replacen('0', "1", 1).into_bytes();
    });
    let v = verify(&bad, &key);
    assert!(failed_paths(&v).contains(&"tagmanifest-sha256.txt".to_string()), "{v}");
}

/// A package sealed into a file, from members read from files (one larger
/// than the in-memory deflate limit), has the bytes of the same package
/// sealed in memory, and verifies.
#[test]
fn a_package_sealed_into_a_file_is_the_package_sealed_in_memory() {
    use cavra_package::archive::{Spool, SPOOL_DEFLATED_OVER};
    use cavra_package::{seal, seal_to, ManifestArtifact};
    let key = SigningKey::generate().unwrap();
    let big: Vec<u8> = (0..SPOOL_DEFLATED_OVER as usize + 4096).map(|i| b"0123456789abcdef\n"[i % 17]).collect();
    let small = b"{\"x\":1}\n".to_vec();
    let header = siem_header("pkg-files");
    let dir = tempfile::tempdir().unwrap();
    let from_files = || -> (Vec<Entry>, Vec<ManifestArtifact>) {
        let mut entries = Vec::new();
        let mut artifacts = Vec::new();
        for (name, bytes) in [("big.jsonl", &big), ("small.jsonl", &small)] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            let e = Entry { path: format!("siem/{name}"), body: Body::Spooled(Spool::from_file(file).unwrap()) };
            artifacts.push(ManifestArtifact::for_entry(&e, "jsonl", "application/jsonl").unwrap());
            entries.push(e);
        }
        (entries, artifacts)
    };
    let (members, artifacts) = from_files();
    let (_, mut file) = seal_to(header.clone(), members, artifacts, &key, tempfile::tempfile().unwrap()).unwrap();
    let mut on_disk = Vec::new();
    std::io::Seek::rewind(&mut file).unwrap();
    file.read_to_end(&mut on_disk).unwrap();
    let in_memory: Vec<Entry> = [("big.jsonl", &big), ("small.jsonl", &small)]
        .into_iter()
        .map(|(n, b)| Entry::new(format!("siem/{n}"), b.clone()))
        .collect();
    let artifacts = in_memory
        .iter()
        .map(|e| ManifestArtifact::for_bytes(&e.path, "jsonl", "application/jsonl", &e.to_bytes().unwrap()))
        .collect();
    let held = seal(header, in_memory, artifacts, &key).unwrap();
    // The signatures differ (fresh randomness); everything else is the same.
    let strip = |bytes: &[u8]| -> Vec<(String, Vec<u8>)> {
        entries(bytes)
            .into_iter()
            .filter(|e| e.path != SIGNATURE_PATH)
            .map(|e| (e.path.clone(), e.to_bytes().unwrap()))
            .collect()
    };
    assert_eq!(strip(&on_disk), strip(&held.bytes));
    assert!(verify(&on_disk, &key).ok(), "{:?}", verify(&on_disk, &key));
    let big_back = entries(&on_disk).into_iter().find(|e| e.path == "siem/big.jsonl").unwrap();
    assert_eq!(big_back.to_bytes().unwrap(), big);
}

/// A file-backed member that changes after its digest was taken is sealed
/// with the changed bytes and the old digest: the package does not verify.
#[test]
fn a_file_member_swapped_before_sealing_fails_verification() {
    use cavra_package::archive::Spool;
    use cavra_package::{seal_to, ManifestArtifact};
    let key = SigningKey::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.jsonl");
    std::fs::write(&path, b"{\"x\":1}\n").unwrap();
    let entry = Entry {
        path: "siem/rows.jsonl".into(),
        body: Body::Spooled(Spool::from_file(std::fs::File::open(&path).unwrap()).unwrap()),
    };
    let artifact = ManifestArtifact::for_entry(&entry, "jsonl", "application/jsonl").unwrap();
    std::fs::write(&path, b"{\"x\":2}\n").unwrap(); // same length, other bytes
    let header = siem_header("pkg-swap");
    let (_, out) = seal_to(header, vec![entry], vec![artifact], &key, Cursor::new(Vec::new())).unwrap();
    let v = verify(out.get_ref(), &key);
    assert!(!v.ok(), "a swapped member must not verify: {v:?}");
}

/// The header of a SIEM export bundle for the file-sealing tests.
fn siem_header(package_id: &str) -> cavra_package::Header {
    cavra_package::Header {
        package_id: package_id.into(),
        package_type: PackageType::SiemExportBundle,
        retention_class: cavra_package::RetentionClass::OperationalRecord,
        tenant_ref: "tenant:t".into(),
        tenant_display_name: "T".into(),
        generated_at: "2026-11-01T00:00:00Z".into(),
        snapshot_digest: "sha256:0".into(),
        delivery_targets: Vec::new(),
    }
}
