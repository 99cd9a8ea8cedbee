//! Seals files into a signed package written straight to disk: members are
//! read from their files when the zip is written, large ones deflated into
//! temporary files, so a package larger than memory needs little of it.
//!
//! ```text
//! cargo run --release --example seal_files -- OUT.zip FILE...
//! cavra-reports verify --pubkey OUT.zip.pub OUT.zip
//! ```
//!
//! The signing key is generated for the run; its public key is written
//! beside the package (`OUT.zip.pub`).

use std::path::{Path, PathBuf};

use cavra_reports::package::archive::{Body, Entry, Spool};
use cavra_reports::package::{seal_to, Header, ManifestArtifact, PackageType, RetentionClass};
use cavra_reports::render::signed::SigningKey;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let out = args.next().ok_or("usage: seal_files OUT.zip FILE...")?;
    let files: Vec<PathBuf> = args.collect();
    if files.is_empty() {
        return Err("usage: seal_files OUT.zip FILE...".into());
    }
    let mut entries = Vec::new();
    let mut artifacts = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).ok_or("file names must be UTF-8")?;
        let entry =
            Entry { path: format!("data/{name}"), body: Body::Spooled(Spool::from_file(std::fs::File::open(path)?)?) };
        artifacts.push(ManifestArtifact::for_entry(&entry, extension(path), "application/octet-stream")?);
        entries.push(entry);
    }
    let key = SigningKey::generate()?;
    let header = Header {
        package_id: "pkg-sealed-files".into(),
        package_type: PackageType::SiemExportBundle,
        retention_class: RetentionClass::OperationalRecord,
        tenant_ref: "tenant:files".into(),
        tenant_display_name: "Sealed files".into(),
        generated_at: "2026-11-01T00:00:00Z".into(),
        snapshot_digest: "sha256:0".into(),
        delivery_targets: Vec::new(),
    };
    let (manifest, _) = seal_to(header, entries, artifacts, &key, std::fs::File::create(&out)?)?;
    let mut pub_path = out.clone().into_os_string();
    pub_path.push(".pub");
    std::fs::write(&pub_path, key.public_key_file())?;
    println!(
        "{}: {} members, manifest {}",
        out.display(),
        manifest.artifacts.len(),
        manifest.integrity.manifest_digest
    );
    Ok(())
}

fn extension(path: &Path) -> &str {
    path.extension().and_then(|e| e.to_str()).unwrap_or("bin")
}
