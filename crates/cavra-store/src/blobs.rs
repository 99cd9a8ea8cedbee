//! The blob folder: bytes kept by their sha256, as
//! `sha256/<first two hex digits>/<all 64 hex digits>`. A blob is written to
//! a temporary file in its folder, synced and renamed into place, so a
//! reader never sees half a blob; reading checks the digest again.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::StoreError;

/// Largest blob the store accepts (the largest package the packagers write
/// is far smaller).
pub const MAX_BLOB_BYTES: u64 = 4 << 30;

/// A content-addressed folder.
#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
}

fn hex_of(sha256: &str) -> Result<&str, StoreError> {
    let hex = sha256.strip_prefix("sha256:").unwrap_or(sha256);
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(hex)
    } else {
        Err(StoreError::Invalid(format!("`{sha256}` is not a sha256 digest (sha256:<64 lower-case hex digits>)")))
    }
}

impl Blobs {
    /// The folder at `root` (created when the first blob is written).
    pub fn at(root: impl Into<PathBuf>) -> Blobs {
        Blobs { root: root.into() }
    }

    /// Its root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this digest lives.
    ///
    /// # Errors
    /// When `sha256` is not a digest.
    pub fn path(&self, sha256: &str) -> Result<PathBuf, StoreError> {
        let hex = hex_of(sha256)?;
        Ok(self.root.join("sha256").join(&hex[..2]).join(hex))
    }

    /// Copies `reader` into the folder; returns its `sha256:` digest and
    /// size. Writing bytes that are already there changes nothing.
    ///
    /// # Errors
    /// I/O errors, or more than [`MAX_BLOB_BYTES`].
    pub fn put(&self, mut reader: impl Read) -> Result<(String, u64), StoreError> {
        let incoming = self.root.join("incoming");
        std::fs::create_dir_all(&incoming).map_err(|e| StoreError::io(&incoming, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&incoming).map_err(|e| StoreError::io(&incoming, e))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|e| StoreError::io(tmp.path(), e))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > MAX_BLOB_BYTES {
                return Err(StoreError::Invalid(format!("larger than the store's limit of {MAX_BLOB_BYTES} bytes")));
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n]).map_err(|e| StoreError::io(tmp.path(), e))?;
        }
        let digest = format!("sha256:{:x}", hasher.finalize());
        let path = self.path(&digest)?;
        if path.exists() {
            return Ok((digest, size));
        }
        tmp.as_file().sync_all().map_err(|e| StoreError::io(tmp.path(), e))?;
        let parent = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
        tmp.persist(&path).map_err(|e| StoreError::io(&path, e.error))?;
        Ok((digest, size))
    }

    /// Copies the blob into `out`, checking its digest as it goes; a blob
    /// whose bytes no longer match their name is reported, not served.
    ///
    /// # Errors
    /// A missing or altered blob; I/O errors.
    pub fn copy_to(&self, sha256: &str, mut out: impl Write) -> Result<u64, StoreError> {
        let path = self.path(sha256)?;
        let mut file = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(|e| StoreError::io(&path, e))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| StoreError::io(&path, e))?;
        }
        let found = format!("sha256:{:x}", hasher.finalize());
        if found != sha256 {
            return Err(StoreError::Altered { sha256: sha256.to_string(), found });
        }
        Ok(size)
    }

    /// The blob's bytes, checked.
    ///
    /// # Errors
    /// As [`Blobs::copy_to`].
    pub fn read(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        self.copy_to(sha256, &mut out)?;
        Ok(out)
    }

    /// Deletes the blob; deleting one that is gone is not an error.
    ///
    /// # Errors
    /// I/O errors.
    pub fn remove(&self, sha256: &str) -> Result<(), StoreError> {
        let path = self.path(sha256)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    /// Whether the blob is there.
    pub fn has(&self, sha256: &str) -> bool {
        self.path(sha256).is_ok_and(|p| p.is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_reads_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::at(dir.path());
        let (d, n) = blobs.put(&b"board pack"[..]).unwrap();
        assert_eq!(n, 10);
        assert_eq!(blobs.put(&b"board pack"[..]).unwrap(), (d.clone(), 10));
        assert_eq!(blobs.read(&d).unwrap(), b"board pack");
        std::fs::write(blobs.path(&d).unwrap(), b"altered").unwrap();
        assert!(matches!(blobs.read(&d), Err(StoreError::Altered { .. })));
        blobs.remove(&d).unwrap();
        blobs.remove(&d).unwrap();
        assert!(!blobs.has(&d));
        assert!(blobs.path("sha256:../../etc/passwd").is_err());
        assert!(blobs.path(&"A".repeat(64)).is_err());
    }
}
