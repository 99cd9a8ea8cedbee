//! Where tenants come from: every `*.json` snapshot in a folder (with its
//! `<id>.decisions.jsonl` beside it, if any), or a list file with one
//! `SNAPSHOT[,DECISIONS]` per line.

use std::path::{Path, PathBuf};

use crate::{BatchError, Shard, Tenant};

/// A folder of snapshots, or a list file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Every `*.json` in the folder; the id is the file stem.
    Folder(PathBuf),
    /// One `SNAPSHOT[,DECISIONS]` per line (blank lines and `#` comments
    /// skipped; relative paths from the list's folder).
    List(PathBuf),
}

/// The largest list file read.
pub const MAX_LIST_BYTES: u64 = 16 << 20;

fn tenant_id(path: &Path) -> Result<String, String> {
    let stem = path.file_stem().and_then(|s| s.to_str()).ok_or("a file name that is not UTF-8")?;
    if stem.is_empty() || !stem.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) || stem.starts_with('.')
    {
        return Err(format!("tenant id `{stem}`: use letters, digits, `-`, `_` and `.` (not first)"));
    }
    Ok(stem.to_string())
}

fn from_folder(dir: &Path) -> Result<Vec<Tenant>, BatchError> {
    let fail = |reason: String| BatchError::Source { path: dir.display().to_string(), reason };
    let entries = std::fs::read_dir(dir).map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::new();
    for e in entries {
        let path = e.map_err(|e| fail(e.to_string()))?.path();
        if !path.is_file() || path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let id = tenant_id(&path).map_err(fail)?;
        let decisions = dir.join(format!("{id}.decisions.jsonl"));
        out.push(Tenant { id, snapshot: path, decisions: decisions.is_file().then_some(decisions) });
    }
    Ok(out)
}

fn from_list(list: &Path) -> Result<Vec<Tenant>, BatchError> {
    let fail = |reason: String| BatchError::Source { path: list.display().to_string(), reason };
    let text = cavra_model::limits::read_text_bounded(list, MAX_LIST_BYTES).map_err(|e| fail(e.to_string()))?;
    let base = list.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (snapshot, decisions) = match line.split_once(',') {
            Some((s, d)) => (s.trim(), Some(d.trim())),
            None => (line, None),
        };
        let snapshot = base.join(snapshot);
        let id = tenant_id(&snapshot).map_err(|e| fail(format!("line {}: {e}", n + 1)))?;
        out.push(Tenant { id, snapshot, decisions: decisions.map(|d| base.join(d)) });
    }
    Ok(out)
}

/// The tenants of `source` that belong to `shard`, sorted by id.
///
/// # Errors
/// An unreadable folder or list, a file name that is not a tenant id, or
/// two tenants with the same id.
pub fn discover(source: &Source, shard: Shard) -> Result<Vec<Tenant>, BatchError> {
    let (path, mut all) = match source {
        Source::Folder(dir) => (dir, from_folder(dir)?),
        Source::List(list) => (list, from_list(list)?),
    };
    all.sort();
    if let Some(w) = all.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(BatchError::Source {
            path: path.display().to_string(),
            reason: format!("tenant `{}` twice", w[0].id),
        });
    }
    all.retain(|t| shard.contains(&t.id));
    Ok(all)
}
