//! The agent-activity digest over a decisions file too large to hold in
//! memory: two passes over JSON Lines, memory bounded by agents, days, rules
//! and tools rather than by decisions.
//!
//! The first pass ([`StreamedDigest::open`]) validates and gates every
//! decision, builds the data-quality warnings, the snapshot digest and every
//! summary of the digest report, and keeps none of the decisions. The second
//! ([`StreamedDigest::rows`]) reads the file again and yields one row of the
//! `decisions` dataset per decision, for a writer that streams (JSON Lines,
//! CSV, XLSX in constant-memory mode). The report and the rows are exactly
//! what [`build_report`](crate::build_report) gives for the same snapshot
//! loaded in memory, so the artifacts are byte-identical.
//!
//! Streaming needs the decisions in report order: by timestamp, then
//! decision id (exporters write them that way). A file out of order is
//! refused with the offending line; [`Snapshot::load`] accepts any order.
//! Duplicate ids are caught exactly: adjacent ones by the order check, the
//! rest through an 8-byte fingerprint per decision, sorted after the first
//! pass, with a targeted re-read to name the line when two fingerprints
//! meet. Those fingerprints are the one per-decision cost this mode keeps
//! (8 MB per million decisions).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::builders::{digest_report, DigestAcc};
use crate::decisions::DecisionView;
use crate::error::{from_serde, Located, SnapshotError, SnapshotErrorKind};
use crate::gate::{GateMode, InputGate};
use crate::input::{Decision, Timestamp};
use crate::posture::SnapshotHasher;
use crate::report::{Cell, Report};
use crate::snapshot::{gate_decision, kind_article, note_prior, parse_raw, LinkTally};
use crate::{LoadOptions, Posture, ReportOptions, Snapshot};

/// Problems listed at most in one safety-gate error.
const MAX_PROBLEMS: usize = 1_000;

/// An agent-activity digest whose per-decision rows are read from the
/// decisions file on demand.
///
/// ```no_run
/// use cavra_model::stream::StreamedDigest;
/// use std::path::Path;
/// let digest = StreamedDigest::open(
///     Path::new("snapshot.json"),
///     Path::new("decisions.jsonl"),
///     &Default::default(),
///     &Default::default(),
/// )?;
/// println!("{} decisions", digest.row_count());
/// for row in digest.rows()? {
///     let row = row?; // one `decisions` dataset row
///     # let _ = row;
/// }
/// # Ok::<(), cavra_model::SnapshotError>(())
/// ```
#[derive(Debug)]
pub struct StreamedDigest {
    report: Report,
    decisions: PathBuf,
    mode: GateMode,
    window: (Option<Timestamp>, Timestamp),
    row_count: usize,
    file_digest: [u8; 32],
}

fn fingerprint(id: &str) -> u64 {
    let d = Sha256::digest(id.as_bytes());
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// Reads non-blank lines with their 1-based number, hashing every byte read.
struct Lines {
    reader: BufReader<File>,
    line: String,
    number: usize,
    index: usize,
    hasher: Sha256,
    path: PathBuf,
}

impl Lines {
    fn open(path: &Path) -> Result<Lines, SnapshotError> {
        let file = File::open(path).map_err(|e| {
            SnapshotError::at(SnapshotErrorKind::Io, "$", format!("cannot read file: {e}"))
                .with_file(Some(path.to_path_buf()))
        })?;
        Ok(Lines {
            reader: BufReader::with_capacity(1 << 16, file),
            line: String::new(),
            number: 0,
            index: 0,
            hasher: Sha256::new(),
            path: path.to_path_buf(),
        })
    }

    fn err(&self, e: SnapshotError) -> SnapshotError {
        e.with_line(self.number).with_file(Some(self.path.clone()))
    }

    /// The next decision, its index among the decisions and its line.
    fn next_decision(&mut self) -> Option<Result<(Decision, usize), SnapshotError>> {
        loop {
            self.line.clear();
            self.number += 1;
            match crate::limits::read_line_text(&mut self.reader, &mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(self.err(e))),
            }
            self.hasher.update(self.line.as_bytes());
            if self.line.trim().is_empty() {
                continue;
            }
            let index = self.index;
            self.index += 1;
            let mut de = serde_json::Deserializer::from_str(self.line.trim_end_matches(['\n', '\r']));
            let parsed = serde_path_to_error::deserialize(&mut de)
                .map_err(|e| from_serde(e, &format!("$.decisions[{index}]")))
                .and_then(|d: Decision| {
                    de.end().map(|()| d).map_err(|_| {
                        SnapshotError::at(SnapshotErrorKind::Syntax, "$", "more than one JSON value on a line")
                    })
                });
            return Some(parsed.map(|d| (d, index)).map_err(|e| self.err(e)));
        }
    }
}

/// Re-reads the file for the decisions whose fingerprints collided and
/// reports the first id that really repeats (a collision of different ids,
/// vanishingly rare, is not an error).
fn find_duplicate(path: &Path, collisions: &[u64]) -> Result<(), SnapshotError> {
    let mut lines = Lines::open(path)?;
    let mut ids: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    while let Some(next) = lines.next_decision() {
        let (d, index) = next?;
        if collisions.binary_search(&fingerprint(d.decision_id())).is_ok() && !ids.insert(d.decision_id().to_string()) {
            return Err(lines.err(SnapshotError::at(
                SnapshotErrorKind::Duplicate,
                format!("$.decisions[{index}].decision_id"),
                "duplicate decision_id; each must be unique",
            )));
        }
    }
    Ok(())
}

impl StreamedDigest {
    /// First pass: validates the snapshot head and every decision in
    /// `decisions` (JSON Lines, in report order), runs the input safety gate
    /// and builds the digest report without its per-decision rows.
    ///
    /// # Errors
    /// Every error [`Snapshot::load`] reports, located by file, line and
    /// JSON path, plus decisions out of report order.
    pub fn open(
        snapshot: &Path,
        decisions: &Path,
        load: &LoadOptions,
        options: &ReportOptions,
    ) -> Result<StreamedDigest, SnapshotError> {
        let in_head = |e: SnapshotError| e.with_file(Some(snapshot.to_path_buf()));
        let text = crate::limits::read_snapshot_text(snapshot).map_err(in_head)?;
        let raw = parse_raw(&text).map_err(in_head)?;
        drop(text);
        if raw.decisions.is_some() {
            return Err(in_head(SnapshotError::at(
                SnapshotErrorKind::Conflict,
                "$.decisions",
                "decisions are given inline and as a JSON Lines file; give them once",
            )));
        }
        let mut head = Snapshot::from_raw(raw, Some(Vec::new()), load).map_err(in_head)?;
        let (start, end) = (head.window_start, head.window_end);

        let mut lines = Lines::open(decisions)?;
        let mut gate = InputGate::new(load.gate);
        let mut problems: Vec<Located> = Vec::new();
        let mut links = LinkTally::new(&head.incidents);
        let mut prior = BTreeMap::new();
        let mut hasher = SnapshotHasher::new(&head);
        let mut acc = DigestAcc::new();
        // About one fingerprint per 256 bytes of file, so the list rarely regrows.
        let size_hint = std::fs::metadata(decisions).map_or(0, |m| m.len() / 256);
        let mut seen: Vec<u64> = Vec::with_capacity(usize::try_from(size_hint).unwrap_or(0).min(1 << 28));
        let mut previous: Option<(Timestamp, String)> = None;
        let (mut total, mut inside) = (0usize, 0usize);
        while let Some(next) = lines.next_decision() {
            let (mut d, index) = next?;
            let path = format!("$.decisions[{index}].decision_id");
            if d.decision_id().trim().is_empty() {
                return Err(lines.err(SnapshotError::at(SnapshotErrorKind::InvalidValue, path, "must not be empty")));
            }
            let before = gate.violations.len();
            gate_decision(&mut gate, &mut d, index);
            if let Some(e) = crate::snapshot::overlong(&gate.too_long, &|_| Some(lines.number)) {
                return Err(e.with_file(Some(lines.path.clone())));
            }
            for (json_path, kind) in gate.violations.drain(before..) {
                if problems.len() < MAX_PROBLEMS {
                    problems.push(Located {
                        json_path,
                        line: Some(lines.number),
                        column: None,
                        reason: format!(
                            "contains {} content ({kind}); reports must be public-safe (fix the source, or render with redaction)",
                            kind_article(kind)
                        ),
                    });
                }
            }
            if let Some((t, id)) = &previous {
                match (d.timestamp(), d.decision_id()).cmp(&(*t, id.as_str())) {
                    std::cmp::Ordering::Greater => {}
                    std::cmp::Ordering::Equal => {
                        return Err(lines.err(SnapshotError::at(
                            SnapshotErrorKind::Duplicate,
                            path,
                            "duplicate decision_id; each must be unique",
                        )))
                    }
                    std::cmp::Ordering::Less => {
                        return Err(lines.err(SnapshotError::at(
                            SnapshotErrorKind::InvalidValue,
                            format!("$.decisions[{index}]"),
                            format!(
                                "decisions must be in report order (timestamp, then decision_id) to be streamed; this one comes before line {}'s. Sort the file, or render the digest in memory",
                                lines.number - 1
                            ),
                        )))
                    }
                }
            }
            seen.push(fingerprint(d.decision_id()));
            total += 1;
            links.add(&d);
            if start.is_some_and(|s| d.timestamp() < s) {
                note_prior(&mut prior, &d);
            }
            if start.is_none_or(|s| d.timestamp() >= s) && d.timestamp() <= end {
                inside += 1;
                hasher.add(&d);
                acc.add(&d);
            }
            previous = Some((d.timestamp(), std::mem::take(&mut d.decision_id)));
        }
        if !problems.is_empty() {
            return Err(SnapshotError {
                kind: SnapshotErrorKind::Unsafe,
                file: Some(decisions.to_path_buf()),
                problems,
            });
        }
        seen.sort_unstable();
        let collisions: Vec<u64> = seen.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
        drop(seen);
        if !collisions.is_empty() {
            find_duplicate(decisions, &collisions)?;
        }

        let mut warnings = links.warnings(&head.sessions, &head.exceptions, &head.incidents, &head.policy_baselines);
        let outside = total - inside;
        if outside > 0 {
            warnings.insert(format!("{outside} decision(s) outside the reporting window were ignored"));
        }
        head.warnings = warnings.into_iter().collect();
        head.decisions_outside_window = outside;
        head.prior_activity = prior;
        head.redaction.total += gate.summary.total;
        for (k, n) in gate.summary.by_kind {
            *head.redaction.by_kind.entry(k).or_default() += n;
        }
        let mut posture = Posture::compute(&head);
        posture.snapshot_digest = hasher.finish(&head);
        let report = digest_report(&head, &posture, options, acc);
        Ok(StreamedDigest {
            report,
            decisions: decisions.to_path_buf(),
            mode: load.gate,
            window: (start, end),
            row_count: inside,
            file_digest: lines.hasher.finalize().into(),
        })
    }

    /// The digest report; its `decisions` dataset has columns but no rows
    /// (they come from [`StreamedDigest::rows`]).
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Rows the `decisions` dataset has.
    pub fn row_count(&self) -> usize {
        self.row_count
    }

    /// Second pass: the `decisions` rows in report order. The iterator ends
    /// with an error if the file changed since [`StreamedDigest::open`].
    ///
    /// # Errors
    /// The decisions file cannot be opened.
    pub fn rows(&self) -> Result<DecisionRows<'_>, SnapshotError> {
        Ok(DecisionRows { digest: self, lines: Lines::open(&self.decisions)?, done: false })
    }
}

/// The rows of a [`StreamedDigest`]'s `decisions` dataset.
pub struct DecisionRows<'a> {
    digest: &'a StreamedDigest,
    lines: Lines,
    done: bool,
}

impl Iterator for DecisionRows<'_> {
    type Item = Result<Vec<Cell>, SnapshotError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (start, end) = self.digest.window;
        loop {
            match self.lines.next_decision() {
                None => {
                    self.done = true;
                    let digest: [u8; 32] = std::mem::take(&mut self.lines.hasher).finalize().into();
                    if digest == self.digest.file_digest {
                        return None;
                    }
                    return Some(Err(self.lines.err(SnapshotError::at(
                        SnapshotErrorKind::Conflict,
                        "$",
                        "the decisions file changed while the digest was being written",
                    ))));
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok((mut d, index))) => {
                    if self.digest.mode == GateMode::Redact {
                        gate_decision(&mut InputGate::new(GateMode::Redact), &mut d, index);
                    }
                    if start.is_none_or(|s| d.timestamp() >= s) && d.timestamp() <= end {
                        return Some(Ok(crate::builders::decision_row(&d)));
                    }
                }
            }
        }
    }
}
