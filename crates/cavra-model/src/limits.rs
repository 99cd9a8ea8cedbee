//! Size limits for everything read from a file or a stream, and readers
//! that enforce them before memory is spent.
//!
//! Every input the tools read by path or reference has a documented upper
//! bound (see the README's limits table). A file is refused as soon as it
//! is known to be larger — from its metadata where it has one, and while
//! reading for devices and pipes such as `/dev/zero` — so an oversized or
//! endless input ends with a clear error, never by exhausting memory.
//!
//! ```
//! use std::io::Write;
//! let mut f = tempfile::NamedTempFile::new().unwrap();
//! f.write_all(b"0123456789").unwrap();
//! assert_eq!(cavra_model::limits::read_bounded(f.path(), 10).unwrap().len(), 10);
//! let err = cavra_model::limits::read_bounded(f.path(), 9).unwrap_err();
//! assert!(err.to_string().contains("larger than the limit of 9 bytes"));
//! ```

use std::io::{BufRead, Read};
use std::path::Path;

/// A snapshot file (JSON, with or without inline decisions).
pub const SNAPSHOT_BYTES: u64 = 1 << 30;
/// One JSON Lines line (a decision, an audit record).
pub const LINE_BYTES: usize = 1 << 20;
/// One audit log record.
pub const AUDIT_RECORD_BYTES: usize = 64 << 10;
/// A secret or public key file, a password or token reference.
pub const KEY_BYTES: u64 = 64 << 10;
/// A logo picture.
pub const LOGO_BYTES: u64 = 8 << 20;
/// A setup file (`cavra.toml`, a theme file).
pub const SETUP_BYTES: u64 = 1 << 20;
/// A CA certificate bundle.
pub const CA_BYTES: u64 = 1 << 20;
/// One bounce report or provider event file.
pub const BOUNCE_BYTES: u64 = 16 << 20;
/// A package (zip) read by `verify` or attached to a send.
pub const PACKAGE_BYTES: u64 = 4 << 30;
/// One free-text field of the input (a reason, a title, a summary).
pub const FREE_TEXT_CHARS: usize = 64 << 10;

/// An input larger than its limit.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// Reading failed (shown as the I/O error itself, once).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The input is larger than allowed.
    #[error("larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
}

impl From<LimitError> for std::io::Error {
    fn from(e: LimitError) -> std::io::Error {
        match e {
            LimitError::Io(e) => e,
            LimitError::TooLarge { .. } => std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
        }
    }
}

/// Reads a whole file of at most `limit` bytes.
///
/// # Errors
/// I/O, or [`LimitError::TooLarge`] — from the file's size where it has
/// one, otherwise as soon as more than `limit` bytes were read.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, LimitError> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(LimitError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "is a folder, not a file")));
    }
    if meta.is_file() && meta.len() > limit {
        return Err(LimitError::TooLarge { limit });
    }
    let mut out = Vec::with_capacity(usize::try_from(meta.len().min(limit)).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(LimitError::TooLarge { limit });
    }
    Ok(out)
}

/// Reads a whole UTF-8 text file of at most `limit` bytes.
///
/// # Errors
/// As [`read_bounded`], or invalid UTF-8 (as [`std::io::ErrorKind::InvalidData`]).
pub fn read_text_bounded(path: &Path, limit: u64) -> Result<String, LimitError> {
    String::from_utf8(read_bounded(path, limit)?).map_err(|e| {
        LimitError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (first bad byte at offset {})", e.utf8_error().valid_up_to()),
        ))
    })
}

/// Reads one line (up to and without its `\n`) of at most `limit` bytes
/// into `buf`; `Ok(false)` at the end of input. A line longer than the
/// limit is an error as soon as the limit is passed, so an unterminated
/// line never fills memory.
///
/// # Errors
/// I/O, or [`LimitError::TooLarge`].
pub fn read_line_bounded(reader: &mut impl BufRead, buf: &mut Vec<u8>, limit: usize) -> Result<bool, LimitError> {
    buf.clear();
    let mut any = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(any);
        }
        any = true;
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if buf.len() + chunk.len() > limit {
            return Err(LimitError::TooLarge { limit: limit as u64 });
        }
        buf.extend_from_slice(chunk);
        let used = done.unwrap_or(available.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(true);
        }
    }
}

/// Reads a snapshot file (at most [`SNAPSHOT_BYTES`]) as text: over the
/// limit is an invalid value, not UTF-8 a syntax error, anything else I/O.
///
/// # Errors
/// A snapshot error at `$` (the caller names the file).
pub(crate) fn read_snapshot_text(path: &Path) -> Result<String, crate::SnapshotError> {
    use crate::SnapshotErrorKind as K;
    read_text_bounded(path, SNAPSHOT_BYTES).map_err(|e| {
        let kind = match &e {
            LimitError::TooLarge { .. } => K::InvalidValue,
            LimitError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => K::Syntax,
            LimitError::Io(_) => K::Io,
        };
        crate::SnapshotError::at(kind, "$", format!("cannot read file: {e}"))
    })
}

/// Reads one JSON Lines line (with its `\n`, if any) into `line`, at most
/// [`LINE_BYTES`] long; returns the bytes read (0 at the end).
///
/// # Errors
/// A snapshot error: a line over the limit or not UTF-8 is invalid input,
/// other read failures are I/O.
pub(crate) fn read_line_text(reader: &mut impl BufRead, line: &mut String) -> Result<usize, crate::SnapshotError> {
    use crate::SnapshotErrorKind as K;
    line.clear();
    let n = reader.take(LINE_BYTES as u64 + 1).read_line(line).map_err(|e| {
        let (kind, why) = if e.kind() == std::io::ErrorKind::InvalidData {
            (K::Syntax, "the line is not UTF-8 text".to_string())
        } else {
            (K::Io, format!("cannot read line: {e}"))
        };
        crate::SnapshotError::at(kind, "$", why)
    })?;
    if n > LINE_BYTES && !line.ends_with('\n') {
        return Err(crate::SnapshotError::at(
            K::InvalidValue,
            "$",
            format!("a line longer than the limit of {LINE_BYTES} bytes (unterminated, or not JSON Lines)"),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_device_is_refused_at_the_limit() {
        let err = read_bounded(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(matches!(err, LimitError::TooLarge { limit: 1024 }));
    }

    #[test]
    fn lines_are_read_up_to_their_limit() {
        let mut r = std::io::Cursor::new(b"abc\ndefgh\nij".to_vec());
        let mut buf = Vec::new();
        assert!(read_line_bounded(&mut r, &mut buf, 4).unwrap());
        assert_eq!(buf, b"abc");
        assert!(matches!(read_line_bounded(&mut r, &mut buf, 4), Err(LimitError::TooLarge { .. })));
        let mut r = std::io::Cursor::new(b"ab\nc".to_vec());
        assert!(read_line_bounded(&mut r, &mut buf, 4).unwrap());
        assert!(read_line_bounded(&mut r, &mut buf, 4).unwrap());
        assert_eq!(buf, b"c");
        assert!(!read_line_bounded(&mut r, &mut buf, 4).unwrap());
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut r = std::io::BufReader::new(std::fs::File::open("/dev/zero").unwrap());
        let mut buf = Vec::new();
        assert!(read_line_bounded(&mut r, &mut buf, 1 << 16).is_err());
    }
}
