//! Deterministic zip output: entries sorted by path, a fixed timestamp
//! (1980-01-01 00:00, the earliest a zip can hold), mode 0644, no extra
//! fields; text is deflated, already-compressed containers are stored.

use std::io::Write;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::PackageError;

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the package.
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// Whether a file is itself compressed (deflating it again gains nothing).
fn already_compressed(path: &str) -> bool {
    [".xlsx", ".docx", ".zip", ".png", ".jpg", ".jpeg"].iter().any(|ext| path.ends_with(ext))
}

/// Writes `entries` (sorted by path here) as a zip.
///
/// # Errors
/// [`PackageError::Archive`] for a duplicate path or a zip failure.
pub fn write_zip(mut entries: Vec<Entry>) -> Result<Vec<u8>, PackageError> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = entries.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(PackageError::Archive(format!("duplicate entry `{}`", w[0].path)));
    }
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for e in &entries {
        let method = if already_compressed(&e.path) { CompressionMethod::Stored } else { CompressionMethod::Deflated };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(DateTime::default())
            .unix_permissions(0o644)
            .large_file(e.bytes.len() as u64 >= u64::from(u32::MAX));
        zip.start_file(e.path.as_str(), options).map_err(|err| PackageError::Archive(err.to_string()))?;
        zip.write_all(&e.bytes).map_err(|err| PackageError::Archive(err.to_string()))?;
    }
    let cursor = zip.finish().map_err(|err| PackageError::Archive(err.to_string()))?;
    Ok(cursor.into_inner())
}
