//! Deterministic zip output: entries sorted by path, a fixed timestamp
//! (1980-01-01 00:00, the earliest a zip can hold), mode 0644, no extra
//! fields; text is deflated, already-compressed files (PDF, whose streams
//! are deflated, and the zip-based formats and pictures) are stored.

use std::io::{Read, Seek, SeekFrom, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::PackageError;

/// One file of a package.
#[derive(Debug)]
pub struct Entry {
    /// Path inside the package.
    pub path: String,
    /// Content.
    pub body: Body,
}

/// Where an entry's content is: in memory, or spooled to an unnamed
/// temporary file (large members such as OSCAL documents, CSV and JSON Lines
/// files, so a package holds its members on disk rather than in memory).
#[derive(Debug)]
pub enum Body {
    /// Bytes held in memory.
    Bytes(Vec<u8>),
    /// Bytes in a temporary file, deleted when the entry is dropped.
    Spooled(Spool),
}

/// Content written to an unnamed temporary file.
#[derive(Debug)]
pub struct Spool {
    file: std::fs::File,
    len: u64,
}

impl Spool {
    /// Spools what `write` writes; `write` returns a value passed back.
    ///
    /// # Errors
    /// [`PackageError::Archive`] when the temporary file cannot be made, or
    /// `write`'s own error.
    pub fn write<T>(
        write: impl FnOnce(&mut std::fs::File) -> Result<T, PackageError>,
    ) -> Result<(Spool, T), PackageError> {
        let io = |e: std::io::Error| PackageError::Archive(format!("cannot spool a package member: {e}"));
        let mut file = tempfile::tempfile().map_err(io)?;
        let value = write(&mut file)?;
        let len = file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok((Spool { file, len }, value))
    }

    /// The content of an open file, read when the package is written (a
    /// member is then never held in memory, nor copied first). The file
    /// must not change until the package is sealed: the manifest's digest
    /// is taken from it before the zip is written, and a member that
    /// changed in between fails `verify`.
    ///
    /// # Errors
    /// The file's metadata cannot be read.
    pub fn from_file(file: std::fs::File) -> std::io::Result<Spool> {
        let len = file.metadata()?.len();
        Ok(Spool { file, len })
    }
}

impl Entry {
    /// An entry held in memory.
    pub fn new(path: impl Into<String>, bytes: Vec<u8>) -> Entry {
        Entry { path: path.into(), body: Body::Bytes(bytes) }
    }

    /// Content length in bytes.
    pub fn len(&self) -> u64 {
        match &self.body {
            Body::Bytes(b) => b.len() as u64,
            Body::Spooled(s) => s.len,
        }
    }

    /// Whether the content is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the content into `out`.
    ///
    /// # Errors
    /// The reader's or writer's I/O error.
    pub fn copy_to(&self, out: &mut impl Write) -> std::io::Result<u64> {
        match &self.body {
            Body::Bytes(b) => out.write_all(b).map(|()| b.len() as u64),
            Body::Spooled(s) => {
                let mut f = &s.file;
                f.seek(SeekFrom::Start(0))?;
                std::io::copy(&mut f.take(s.len), out)
            }
        }
    }

    /// The content in memory (a copy for a spooled entry).
    ///
    /// # Errors
    /// The spool's I/O error.
    pub fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        let mut v = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        self.copy_to(&mut v)?;
        Ok(v)
    }

    /// Lowercase hex sha256 of the content.
    ///
    /// # Errors
    /// The spool's I/O error.
    pub fn sha256_hex(&self) -> std::io::Result<String> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        self.copy_to(&mut hasher)?;
        Ok(format!("{:x}", hasher.finalize()))
    }
}

/// Whether a file is itself compressed (deflating it again gains nothing).
fn already_compressed(path: &str) -> bool {
    [".pdf", ".xlsx", ".docx", ".zip", ".png", ".jpg", ".jpeg"].iter().any(|ext| path.ends_with(ext))
}

/// Deflate level of text members: the fast end (level 2 deflates JSON Lines
/// at about three times the default level's speed, about 20 % larger).
pub const DEFLATE_LEVEL: i64 = 2;

fn options(e: &Entry, method: CompressionMethod) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(method)
        .compression_level((method == CompressionMethod::Deflated).then_some(DEFLATE_LEVEL))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
        .large_file(e.len() >= u64::from(u32::MAX))
}

/// A member larger than this is deflated into a temporary file rather than
/// memory before it is copied into the package.
pub const SPOOL_DEFLATED_OVER: u64 = 8 << 20;

/// Writes `entries` (sorted by path here) as a zip, deflating members on
/// every core (see [`write_zip_on`]).
///
/// # Errors
/// [`PackageError::Archive`] for a duplicate path or a zip failure.
pub fn write_zip(entries: Vec<Entry>) -> Result<Vec<u8>, PackageError> {
    write_zip_on(entries, 0)
}

/// As [`write_zip`], deflating members on up to `jobs` threads (0: one per
/// core). Each member is deflated on its own, then copied into the package
/// as it is, so the bytes are the same whatever the number of threads.
///
/// ```
/// use cavra_package::archive::{write_zip_on, Entry};
/// let entries = || vec![Entry::new("b.jsonl", b"{}\n".repeat(1000)), Entry::new("a.pdf", b"%PDF".to_vec())];
/// assert_eq!(write_zip_on(entries(), 1)?, write_zip_on(entries(), 2)?);
/// # Ok::<(), cavra_package::PackageError>(())
/// ```
///
/// # Errors
/// As [`write_zip`].
pub fn write_zip_on(entries: Vec<Entry>, jobs: usize) -> Result<Vec<u8>, PackageError> {
    Ok(write_zip_to(entries, jobs, std::io::Cursor::new(Vec::new()))?.into_inner())
}

/// As [`write_zip_on`], into `out` (a file, for a package larger than
/// memory): members over [`SPOOL_DEFLATED_OVER`] are deflated into
/// temporary files, so memory does not grow with the package. The bytes are
/// those [`write_zip_on`] returns.
///
/// ```
/// use cavra_package::archive::{write_zip_on, write_zip_to, Entry};
/// let entries = || vec![Entry::new("b.jsonl", b"{}\n".repeat(1000)), Entry::new("a.pdf", b"%PDF".to_vec())];
/// let file = write_zip_to(entries(), 2, tempfile::tempfile()?)?;
/// let mut written = Vec::new();
/// std::io::Read::read_to_end(&mut std::io::Seek::rewind(&mut &file).map(|()| &file)?, &mut written)?;
/// assert_eq!(written, write_zip_on(entries(), 1)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`write_zip`], and the writer's I/O errors.
pub fn write_zip_to<W: Write + Seek>(mut entries: Vec<Entry>, jobs: usize, out: W) -> Result<W, PackageError> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = entries.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(PackageError::Archive(format!("duplicate entry `{}`", w[0].path)));
    }
    let packed = cavra_render::parallel::map_ordered(&entries, jobs, |e| -> Result<Option<Packed>, PackageError> {
        if already_compressed(&e.path) {
            return Ok(None);
        }
        Ok(Some(if e.len() > SPOOL_DEFLATED_OVER {
            Packed::Spooled(deflate(e, tempfile::tempfile().map_err(archive_error)?)?)
        } else {
            Packed::Bytes(deflate(e, std::io::Cursor::new(Vec::new()))?)
        }))
    });
    let mut zip = ZipWriter::new(out);
    for (e, packed) in entries.iter().zip(packed) {
        match packed? {
            Some(Packed::Bytes(one)) => copy_raw(&mut zip, one)?,
            Some(Packed::Spooled(one)) => copy_raw(&mut zip, one)?,
            None => {
                zip.start_file(e.path.as_str(), options(e, CompressionMethod::Stored)).map_err(archive_error)?;
                e.copy_to(&mut zip).map_err(archive_error)?;
            }
        }
    }
    zip.finish().map_err(archive_error)
}

/// A zip or I/O failure while writing a package.
fn archive_error(err: impl std::fmt::Display) -> PackageError {
    PackageError::Archive(err.to_string())
}

/// `e` deflated on its own into a one-file zip written to `sink`.
fn deflate<W: Write + Seek>(e: &Entry, sink: W) -> Result<W, PackageError> {
    let mut one = ZipWriter::new(sink);
    one.start_file(e.path.as_str(), options(e, CompressionMethod::Deflated)).map_err(archive_error)?;
    e.copy_to(&mut one).map_err(archive_error)?;
    one.finish().map_err(archive_error)
}

/// A member deflated on its own: a one-file zip in memory or on disk.
enum Packed {
    Bytes(std::io::Cursor<Vec<u8>>),
    Spooled(std::fs::File),
}

/// Copies the only member of the one-file zip `one` into `zip` as it is.
fn copy_raw<W: Write + Seek>(zip: &mut ZipWriter<W>, mut one: impl Read + Seek) -> Result<(), PackageError> {
    one.rewind().map_err(archive_error)?;
    let mut single = zip::ZipArchive::new(one).map_err(archive_error)?;
    let member = single.by_index_raw(0).map_err(archive_error)?;
    zip.raw_copy_file(member).map_err(archive_error)?;
    Ok(())
}
