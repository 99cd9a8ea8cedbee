//! Errors raised while reading and checking an activity snapshot.

use std::fmt;
use std::path::PathBuf;

/// What went wrong, so callers can branch without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotErrorKind {
    /// The file could not be read.
    Io,
    /// The text is not well-formed JSON.
    Syntax,
    /// `schema_version` is not `cavra.activity_snapshot.v1`.
    SchemaVersion,
    /// A field the format does not define (a typo must not pass silently).
    UnknownField,
    /// A field that may only carry forbidden content (prompts, reasoning, tool output, credentials).
    ForbiddenField,
    /// A required field is absent.
    MissingField,
    /// A value of the wrong type, enum value, timestamp or shape.
    InvalidValue,
    /// An id that must be unique appears twice.
    Duplicate,
    /// Two inputs contradict each other (e.g. decisions given inline and as JSON Lines).
    Conflict,
    /// The safety gate found content that must never reach a report.
    Unsafe,
}

/// One problem with the input, located as precisely as the parser knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// JSON path such as `$.decisions[3].reason`.
    pub json_path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Why it is rejected (never echoes a detected secret).
    pub reason: String,
}

/// An input error: the file, every offending JSON path and the reason.
///
/// Messages are lowercase and never repeat content the safety gate flagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError {
    /// Classification.
    pub kind: SnapshotErrorKind,
    /// The file that was read, when the input came from a file.
    pub file: Option<PathBuf>,
    /// The offending places; at least one.
    pub problems: Vec<Located>,
}

impl SnapshotError {
    pub(crate) fn at(kind: SnapshotErrorKind, json_path: impl Into<String>, reason: impl Into<String>) -> Self {
        SnapshotError {
            kind,
            file: None,
            problems: vec![Located { json_path: json_path.into(), line: None, column: None, reason: reason.into() }],
        }
    }

    pub(crate) fn with_file(mut self, file: Option<PathBuf>) -> Self {
        if self.file.is_none() {
            self.file = file;
        }
        self
    }

    pub(crate) fn with_line(mut self, line: usize) -> Self {
        for p in &mut self.problems {
            p.line = Some(line);
        }
        self
    }

    /// The first offending JSON path.
    pub fn json_path(&self) -> &str {
        self.problems.first().map_or("$", |p| p.json_path.as_str())
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.as_ref().map_or_else(|| "<input>".to_string(), |p| p.display().to_string());
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{file}")?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
                if let Some(col) = p.column {
                    write!(f, ":{col}")?;
                }
            }
            write!(f, ": {}: {}", p.json_path, p.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for SnapshotError {}

/// Turns a located serde error into a [`SnapshotError`].
pub(crate) fn from_serde(err: serde_path_to_error::Error<serde_json::Error>, base: &str) -> SnapshotError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let (line, column) = (inner.line(), inner.column());
    let full = inner.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    let mut json_path = if path == "." || path.is_empty() { base.to_string() } else { format!("{base}.{path}") };
    let (kind, reason) = match inner.classify() {
        serde_json::error::Category::Io => (SnapshotErrorKind::Io, message),
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            (SnapshotErrorKind::Syntax, format!("malformed JSON: {message}"))
        }
        serde_json::error::Category::Data => classify_data(&message, &mut json_path),
    };
    let mut e = SnapshotError::at(kind, json_path, reason);
    if line > 0 {
        e.problems[0].line = Some(line);
        e.problems[0].column = Some(column);
    }
    e
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn classify_data(message: &str, json_path: &mut String) -> (SnapshotErrorKind, String) {
    if message.starts_with("unknown field") {
        let name = backticked(message).unwrap_or_default().to_string();
        if crate::input::is_forbidden_field(&name) {
            (
                SnapshotErrorKind::ForbiddenField,
                format!("forbidden field `{name}`: raw prompts, model reasoning, tool output and credentials are never accepted"),
            )
        } else {
            (SnapshotErrorKind::UnknownField, message.to_string())
        }
    } else if message.starts_with("forbidden field") {
        if let Some(inner) = backticked(message) {
            json_path.push('.');
            json_path.push_str(inner);
        }
        (
            SnapshotErrorKind::ForbiddenField,
            "forbidden field: raw prompts, model reasoning, tool output and credentials are never accepted, not even under x_extensions".to_string(),
        )
    } else if message.starts_with("missing field") {
        (SnapshotErrorKind::MissingField, message.to_string())
    } else if message.starts_with("unsupported schema_version") {
        (SnapshotErrorKind::SchemaVersion, message.to_string())
    } else {
        (SnapshotErrorKind::InvalidValue, message.to_string())
    }
}
