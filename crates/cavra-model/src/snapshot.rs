//! Loading a snapshot: parse, validate, resolve the window and collect
//! data-quality warnings.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;

use crate::decisions::DecisionView;
use crate::error::{from_serde, Located, SnapshotError, SnapshotErrorKind};
use crate::gate::{GateMode, InputGate, RedactionSummary};
use crate::input::{
    DataProvenance, Decision, Incident, PolicyBaseline, PolicyException, RawSnapshot, Session, Tenant, Timestamp,
};
use crate::text::Text;

/// A validated snapshot, restricted to its reporting window.
///
/// Build one with [`Snapshot::from_json_str`], [`Snapshot::load`] or
/// [`Snapshot::from_raw`].
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Tenant identity.
    pub tenant: Tenant,
    /// The instant the reports describe (their `generated_at`).
    pub as_of: Timestamp,
    /// Window start; `None` means "from the beginning".
    pub window_start: Option<Timestamp>,
    /// Window end (the snapshot's window end, or `as_of`).
    pub window_end: Timestamp,
    /// Provenance.
    pub data_provenance: DataProvenance,
    /// Every session.
    pub sessions: Vec<Session>,
    /// Decisions inside the window, in input order (shared: reports index
    /// into them).
    pub decisions: crate::decisions::Decisions,
    /// Decisions ignored because they fall outside the window.
    pub decisions_outside_window: usize,
    /// Exceptions.
    pub exceptions: Vec<PolicyException>,
    /// Incidents.
    pub incidents: Vec<Incident>,
    /// Policy baselines.
    pub policy_baselines: Vec<PolicyBaseline>,
    /// Data-quality warnings (dangling links and similar), sorted.
    pub warnings: Vec<String>,
    /// What the safety gate replaced (empty in fail-closed mode).
    pub redaction: RedactionSummary,
    /// Per agent, what its decisions before the window start reached: the
    /// reference for "first seen in the window" (new repositories, surfaces,
    /// tools). Empty when the snapshot has no window.
    pub prior_activity: BTreeMap<String, PriorActivity>,
}

/// What an agent reached before the reporting window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PriorActivity {
    /// Repositories.
    pub repositories: BTreeSet<Text>,
    /// Control surfaces.
    pub surfaces: BTreeSet<crate::input::ControlSurface>,
    /// Tools.
    pub tools: BTreeSet<Text>,
}

/// How a snapshot is loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Fail closed (default) or redact sensitive input content.
    pub gate: GateMode,
}

impl Snapshot {
    /// Parses and validates a snapshot held in memory.
    ///
    /// # Errors
    /// A [`SnapshotError`] naming the JSON path, line/column and reason for
    /// malformed JSON, a wrong `schema_version`, unknown or forbidden fields,
    /// bad timestamps or enum values, duplicates and missing decisions.
    ///
    /// ```
    /// let text = r#"{"schema_version":"cavra.activity_snapshot.v1",
    ///   "tenant":{"ref":"tenant:demo","display_name":"Demo","timezone":"UTC"},
    ///   "as_of":"2026-11-01T00:00:00Z","sessions":[],"decisions":[]}"#;
    /// let snap = cavra_model::Snapshot::from_json_str(text, &Default::default()).unwrap();
    /// assert_eq!(snap.decisions.len(), 0);
    /// ```
    pub fn from_json_str(text: &str, options: &LoadOptions) -> Result<Snapshot, SnapshotError> {
        crate::text::interning(|| Snapshot::from_raw(parse_raw(text)?, None, options))
    }

    /// Reads a snapshot file and, optionally, a JSON Lines file of decisions.
    ///
    /// # Errors
    /// As [`Snapshot::from_json_str`], plus I/O errors and a conflict when the
    /// snapshot has inline decisions and a decisions file is also given.
    pub fn load(
        snapshot: &Path,
        decisions_jsonl: Option<&Path>,
        options: &LoadOptions,
    ) -> Result<Snapshot, SnapshotError> {
        Snapshot::load_on(snapshot, decisions_jsonl, options, 1)
    }

    /// As [`Snapshot::load`], with a decisions file parsed on its own
    /// thread while the decisions already parsed are checked and stored
    /// when `jobs` is not 1 (0: the available cores). The snapshot is the
    /// same whatever the number.
    ///
    /// ```
    /// # use cavra_model::{LoadOptions, Snapshot};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let (head, lines) = (dir.path().join("s.json"), dir.path().join("d.jsonl"));
    /// # let mut v: serde_json::Value = serde_json::from_str(include_str!("../../../examples/sample_snapshot.json")).unwrap();
    /// # let decisions = v.as_object_mut().unwrap().remove("decisions").unwrap();
    /// # std::fs::write(&head, v.to_string()).unwrap();
    /// # let text: String = decisions.as_array().unwrap().iter().map(|d| format!("{d}\n")).collect();
    /// # std::fs::write(&lines, text).unwrap();
    /// let options = LoadOptions::default();
    /// let serial = Snapshot::load_on(&head, Some(&lines), &options, 1).unwrap();
    /// let piped = Snapshot::load_on(&head, Some(&lines), &options, 2).unwrap();
    /// assert_eq!(serial, piped);
    /// assert!(serial.decisions.len() > 100);
    /// ```
    ///
    /// # Errors
    /// As [`Snapshot::load`], and the same ones.
    pub fn load_on(
        snapshot: &Path,
        decisions_jsonl: Option<&Path>,
        options: &LoadOptions,
        jobs: usize,
    ) -> Result<Snapshot, SnapshotError> {
        let piped = jobs != 1 && std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) > 1;
        // Equal strings of the head and the decisions file are stored once
        // (a parsing thread keeps its own pool: the decisions' texts are
        // still shared among themselves).
        crate::text::interning(|| Snapshot::load_interned(snapshot, decisions_jsonl, options, piped))
    }

    fn load_interned(
        snapshot: &Path,
        decisions_jsonl: Option<&Path>,
        options: &LoadOptions,
        piped: bool,
    ) -> Result<Snapshot, SnapshotError> {
        let text =
            crate::limits::read_snapshot_text(snapshot).map_err(|e| e.with_file(Some(snapshot.to_path_buf())))?;
        let raw = parse_raw(&text).map_err(|e| e.with_file(Some(snapshot.to_path_buf())))?;
        drop(text);
        let built = match decisions_jsonl {
            None => Snapshot::build(raw, None, options),
            Some(path) => {
                if raw.decisions.is_some() {
                    return Err(SnapshotError::at(
                        SnapshotErrorKind::Conflict,
                        "$.decisions",
                        "decisions are given inline and as a JSON Lines file; give them once",
                    )
                    .with_file(Some(snapshot.to_path_buf())));
                }
                let file = std::fs::File::open(path).map_err(|e| {
                    SnapshotError::at(SnapshotErrorKind::Io, "$", format!("cannot read file: {e}"))
                        .with_file(Some(path.to_path_buf()))
                })?;
                let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
                Snapshot::build(raw, Some(Incoming::Lines { reader: &mut reader, path, piped }), options)
            }
        };
        built.map_err(|e| {
            if e.file.is_some() {
                return e;
            }
            let in_decisions = e.json_path().starts_with("$.decisions[");
            match decisions_jsonl {
                Some(path) if in_decisions => e.with_file(Some(path.to_path_buf())),
                _ => e.with_file(Some(snapshot.to_path_buf())),
            }
        })
    }

    /// Validates a parsed snapshot; `streamed` holds decisions read from
    /// JSON Lines (then the snapshot must not carry inline decisions).
    ///
    /// # Errors
    /// Duplicate ids, a missing or doubled decision list, a reversed window
    /// or a malformed digest.
    pub fn from_raw(
        raw: RawSnapshot,
        streamed: Option<Vec<Decision>>,
        options: &LoadOptions,
    ) -> Result<Snapshot, SnapshotError> {
        Snapshot::build(raw, streamed.map(Incoming::Lined), options)
    }

    /// The checks run in a fixed order, whatever order the input is read
    /// in: a syntax error in the decisions first, then the tenant, window and
    /// sessions, the decisions, exceptions, incidents and baselines, and
    /// last the safety gate. Decisions are checked, gated and stored one at
    /// a time, so a decisions file is never held as parsed records.
    fn build(
        mut raw: RawSnapshot,
        incoming: Option<Incoming<'_>>,
        options: &LoadOptions,
    ) -> Result<Snapshot, SnapshotError> {
        let incoming = match (raw.decisions.take(), incoming) {
            (Some(_), Some(_)) => {
                return Err(SnapshotError::at(
                    SnapshotErrorKind::Conflict,
                    "$.decisions",
                    "decisions are given inline and as a JSON Lines file; give them once",
                ))
            }
            (Some(d), None) => Incoming::Inline(d),
            (None, Some(incoming)) => incoming,
            (None, None) => {
                return Err(SnapshotError::at(
                    SnapshotErrorKind::MissingField,
                    "$.decisions",
                    "missing field `decisions` (give it inline or as a JSON Lines file)",
                ))
            }
        };
        let head_error = check_head(&raw).err();
        let (window_start, window_end) = match &raw.window {
            Some(w) => (Some(w.start), w.end),
            None => (None, raw.as_of),
        };
        let mut gate = InputGate::new(options.gate);
        gate_head(&mut gate, &mut raw);
        let mut intake = Intake::new(&raw.incidents, window_start, window_end);
        match incoming {
            Incoming::Inline(list) => {
                for d in list {
                    intake.take(d, None, &mut gate)?;
                }
            }
            Incoming::Lined(list) => {
                for (i, d) in list.into_iter().enumerate() {
                    intake.take(d, Some(i + 1), &mut gate)?;
                }
            }
            Incoming::Lines { reader, path, piped } => {
                let take = |d, line| intake.take(d, Some(line), &mut gate);
                let read = if piped { for_each_jsonl_piped(reader, take) } else { for_each_jsonl(reader, take) };
                read.map_err(|e| e.with_file(Some(path.to_path_buf())))?;
            }
        }
        if let Some(e) = head_error {
            return Err(e);
        }
        let taken = intake.finish()?;
        check_tail(&raw)?;
        let redaction = gate_tail(gate, &mut raw, &taken.violation_lines)?;

        let mut warnings = taken.links.warnings(&raw.sessions, &raw.exceptions, &raw.incidents, &raw.policy_baselines);
        if taken.outside > 0 {
            warnings.insert(format!("{} decision(s) outside the reporting window were ignored", taken.outside));
        }
        Ok(Snapshot {
            tenant: raw.tenant,
            as_of: raw.as_of,
            window_start,
            window_end,
            data_provenance: raw.data_provenance.unwrap_or(DataProvenance::LocalActivityStore),
            sessions: raw.sessions,
            decisions: taken.decisions,
            decisions_outside_window: taken.outside,
            exceptions: raw.exceptions,
            incidents: raw.incidents,
            policy_baselines: raw.policy_baselines,
            warnings: warnings.into_iter().collect(),
            redaction,
            prior_activity: taken.prior_activity,
        })
    }
}

/// Where a snapshot's decisions come from.
enum Incoming<'r> {
    /// Inline in the snapshot (no line numbers).
    Inline(Vec<Decision>),
    /// Already parsed from JSON Lines, one per line.
    Lined(Vec<Decision>),
    /// A JSON Lines file, read one line at a time (`piped`: parsed on a
    /// thread of its own).
    Lines { reader: &'r mut (dyn BufRead + Send), path: &'r Path, piped: bool },
}

/// The tenant, the window and the sessions.
fn check_head(raw: &RawSnapshot) -> Result<(), SnapshotError> {
    validate_tenant(&raw.tenant)?;
    if let Some(w) = &raw.window {
        if w.start > w.end {
            return Err(SnapshotError::at(
                SnapshotErrorKind::InvalidValue,
                "$.window",
                "window start is after window end",
            ));
        }
    }
    let mut seen_sessions = BTreeSet::new();
    for (i, s) in raw.sessions.iter().enumerate() {
        require_nonempty(&s.session_id, || format!("$.sessions[{i}].session_id"))?;
        if !seen_sessions.insert(s.session_id.as_str()) {
            return Err(duplicate(format!("$.sessions[{i}].session_id"), "session_id"));
        }
    }
    Ok(())
}

/// Exceptions, incidents and baselines.
fn check_tail(raw: &RawSnapshot) -> Result<(), SnapshotError> {
    let mut seen_exceptions = BTreeSet::new();
    for (i, x) in raw.exceptions.iter().enumerate() {
        require_nonempty(&x.exception_ref, || format!("$.exceptions[{i}].exception_ref"))?;
        if !seen_exceptions.insert(x.exception_ref.as_str()) {
            return Err(duplicate(format!("$.exceptions[{i}].exception_ref"), "exception_ref"));
        }
    }
    let mut seen_incidents = BTreeSet::new();
    for (i, inc) in raw.incidents.iter().enumerate() {
        require_nonempty(&inc.incident_ref, || format!("$.incidents[{i}].incident_ref"))?;
        if !seen_incidents.insert(inc.incident_ref.as_str()) {
            return Err(duplicate(format!("$.incidents[{i}].incident_ref"), "incident_ref"));
        }
    }
    for (i, b) in raw.policy_baselines.iter().enumerate() {
        for (field, value) in [("baseline_digest", &b.baseline_digest), ("observed_digest", &b.observed_digest)] {
            if !is_sha256_digest(value) {
                return Err(SnapshotError::at(
                    SnapshotErrorKind::InvalidValue,
                    format!("$.policy_baselines[{i}].{field}"),
                    "expected a digest of the form `sha256:<64 lowercase hex digits>`",
                ));
            }
        }
    }
    Ok(())
}

/// Parses snapshot JSON without the semantic checks of [`Snapshot::from_raw`].
///
/// # Errors
/// Syntax, schema-version, unknown/forbidden field and value errors.
pub fn parse_raw(text: &str) -> Result<RawSnapshot, SnapshotError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let raw: RawSnapshot = serde_path_to_error::deserialize(&mut de).map_err(|e| from_serde(e, "$"))?;
    de.end().map_err(|e| {
        SnapshotError::at(SnapshotErrorKind::Syntax, "$", "trailing characters after the JSON document")
            .with_line(e.line())
    })?;
    Ok(raw)
}

/// Reads decisions from JSON Lines: one decision object per line; blank
/// lines are skipped. Errors carry the line number and a path relative to
/// the record.
///
/// # Errors
/// I/O, syntax and value errors, located by line.
pub fn read_decisions_jsonl(reader: impl BufRead) -> Result<Vec<Decision>, SnapshotError> {
    let mut reader = reader;
    let mut out = Vec::new();
    crate::text::interning(|| {
        for_each_jsonl(&mut reader, |d, _| {
            out.push(d);
            Ok(())
        })
    })?;
    Ok(out)
}

/// Hands each decision of a JSON Lines stream to `take` with its 1-based
/// line number, stopping at the first error.
fn for_each_jsonl(
    reader: &mut dyn BufRead,
    mut take: impl FnMut(Decision, usize) -> Result<(), SnapshotError>,
) -> Result<(), SnapshotError> {
    let mut line = String::new();
    let mut index = 0;
    for i in 0.. {
        if crate::limits::read_line_text(&mut &mut *reader, &mut line).map_err(|e| e.with_line(i + 1))? == 0 {
            break;
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        // The plain parser first; only a line it refuses is parsed again
        // with path tracking, to say where and why.
        let d = match serde_json::from_str::<Decision>(text) {
            Ok(d) => d,
            Err(_) => decision_line_error(text, index, i + 1)?,
        };
        take(d, i + 1)?;
        index += 1;
    }
    Ok(())
}

/// Decisions handed from the parsing thread at a time.
const BATCH: usize = 1024;

/// As [`for_each_jsonl`], with the lines parsed on a thread of their own
/// and handed over in batches, in order; `take` runs on this thread. The
/// first error of either side ends both.
fn for_each_jsonl_piped(
    reader: &mut (dyn BufRead + Send),
    mut take: impl FnMut(Decision, usize) -> Result<(), SnapshotError>,
) -> Result<(), SnapshotError> {
    type Batch = Result<Vec<(Decision, usize)>, SnapshotError>;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            crate::text::interning(|| {
                let mut batch = Vec::with_capacity(BATCH);
                let read = for_each_jsonl(reader, |d, line| {
                    batch.push((d, line));
                    if batch.len() == BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        // A closed channel: the taking side stopped on an
                        // error of its own, which it reports.
                        tx.send(Ok(full)).map_err(|_| SnapshotError::at(SnapshotErrorKind::Io, "$", "stopped"))?;
                    }
                    Ok(())
                });
                let _ = tx.send(Ok(batch));
                if let Err(e) = read {
                    let _ = tx.send(Err(e));
                }
            })
        });
        for batch in rx {
            for (d, line) in batch? {
                take(d, line)?;
            }
        }
        Ok(())
    })
}

/// Parses a line the plain parser refused, tracking the JSON path, and
/// returns the error that names it (`index`: the decision's position,
/// `number`: the 1-based line).
fn decision_line_error(line: &str, index: usize, number: usize) -> Result<Decision, SnapshotError> {
    let mut de = serde_json::Deserializer::from_str(line);
    let d: Decision = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| from_serde(e, &format!("$.decisions[{index}]")))
        .map_err(|e| e.with_line(number))?;
    de.end().map_err(|_| {
        SnapshotError::at(SnapshotErrorKind::Syntax, "$", "more than one JSON value on a line").with_line(number)
    })?;
    Ok(d)
}

/// Runs the safety gate over the tenant and the sessions: the first of the
/// free-text fields that can reach a report. The decisions follow (see
/// [`Intake`]), then the rest ([`gate_tail`]). `actor` and
/// `requested_operation` never reach a report and are not scanned; a target
/// that the target-redaction rule hides is not scanned either.
fn gate_head(gate: &mut InputGate, raw: &mut RawSnapshot) {
    gate.check(&mut raw.tenant.tenant_ref, || "$.tenant.ref".into());
    gate.check(&mut raw.tenant.display_name, || "$.tenant.display_name".into());
    for (i, s) in raw.sessions.iter_mut().enumerate() {
        let p = |f: &str| format!("$.sessions[{i}].{f}");
        gate.check_text(&mut s.session_id, || p("session_id"));
        gate.check_text(&mut s.agent_id, || p("agent_id"));
        gate.check_text(&mut s.repository, || p("repository"));
        gate.check_text(&mut s.policy_pack, || p("policy_pack"));
        for (j, r) in s.evidence_refs.iter_mut().enumerate() {
            gate.check_text(r, || p(&format!("evidence_refs[{j}]")));
        }
    }
}

/// Gates exceptions, incidents and baselines, and turns what the gate found
/// anywhere into the error (`lines`: the line of each decision field it
/// refused).
fn gate_tail(
    mut gate: InputGate,
    raw: &mut RawSnapshot,
    lines: &BTreeMap<String, usize>,
) -> Result<RedactionSummary, SnapshotError> {
    for (i, x) in raw.exceptions.iter_mut().enumerate() {
        let p = |f: &str| format!("$.exceptions[{i}].{f}");
        gate.check(&mut x.exception_ref, || p("exception_ref"));
        for (name, v) in [
            ("agent_id", x.scope.agent_id.as_mut()),
            ("rule_id", x.scope.rule_id.as_mut()),
            ("repository", x.scope.repository.as_mut()),
        ] {
            if let Some(v) = v {
                gate.check(v, || p(&format!("scope.{name}")));
            }
        }
        gate.check(&mut x.approver_role, || p("approver_role"));
        gate.check(&mut x.justification_ref, || p("justification_ref"));
    }
    for (i, inc) in raw.incidents.iter_mut().enumerate() {
        let p = |f: &str| format!("$.incidents[{i}].{f}");
        gate.check(&mut inc.incident_ref, || p("incident_ref"));
        gate.check(&mut inc.title, || p("title"));
        gate.check(&mut inc.owner_role, || p("owner_role"));
        for (j, id) in inc.decision_ids.iter_mut().enumerate() {
            gate.check(id, || p(&format!("decision_ids[{j}]")));
        }
        for (j, r) in inc.exception_refs.iter_mut().enumerate() {
            gate.check(r, || p(&format!("exception_refs[{j}]")));
        }
    }
    for (i, b) in raw.policy_baselines.iter_mut().enumerate() {
        let p = |f: &str| format!("$.policy_baselines[{i}].{f}");
        gate.check(&mut b.agent_id, || p("agent_id"));
        gate.check(&mut b.policy_pack, || p("policy_pack"));
    }
    if let Some(e) = overlong(&gate.too_long, &|path| lines.get(path).copied()) {
        return Err(e);
    }
    if gate.violations.is_empty() {
        return Ok(gate.summary);
    }
    let problems = gate
        .violations
        .into_iter()
        .map(|(json_path, kind)| Located {
            line: lines.get(&json_path).copied(),
            column: None,
            json_path,
            reason: format!(
                "contains {} content ({kind}); reports must be public-safe (fix the source, or render with redaction)",
                kind_article(kind)
            ),
        })
        .collect();
    Err(SnapshotError { kind: SnapshotErrorKind::Unsafe, file: None, problems })
}

/// Takes the decisions one at a time: the id checks, the gate, the link
/// tally and the window, then the compact store.
struct Intake {
    store: crate::decisions::DecisionsBuilder,
    links: LinkTally,
    prior_activity: BTreeMap<String, PriorActivity>,
    window: (Option<Timestamp>, Timestamp),
    index: usize,
    outside: usize,
    /// The first duplicate or empty id (reported after the head's checks).
    problem: Option<SnapshotError>,
    violation_lines: BTreeMap<String, usize>,
}

/// What the decisions gave, once all were taken.
struct Taken {
    decisions: crate::decisions::Decisions,
    links: LinkTally,
    prior_activity: BTreeMap<String, PriorActivity>,
    outside: usize,
    violation_lines: BTreeMap<String, usize>,
}

impl Intake {
    fn new(incidents: &[Incident], start: Option<Timestamp>, end: Timestamp) -> Intake {
        Intake {
            store: Default::default(),
            links: LinkTally::new(incidents),
            prior_activity: BTreeMap::new(),
            window: (start, end),
            index: 0,
            outside: 0,
            problem: None,
            violation_lines: BTreeMap::new(),
        }
    }

    /// One decision (`line`: its line in a JSON Lines file). Only a full
    /// store is an error here; a bad id is kept for [`Intake::finish`], and
    /// after one the remaining decisions are only parsed.
    fn take(&mut self, mut d: Decision, line: Option<usize>, gate: &mut InputGate) -> Result<(), SnapshotError> {
        let i = self.index;
        self.index += 1;
        if self.problem.is_some() {
            return Ok(());
        }
        let located = |e: SnapshotError| match line {
            Some(line) => e.with_line(line),
            None => e,
        };
        let id_path = || format!("$.decisions[{i}].decision_id");
        if let Err(e) = require_nonempty(d.decision_id(), id_path) {
            self.problem = Some(located(e));
            return Ok(());
        }
        if !self.store.note_id(d.decision_id()).map_err(|e| full(e, i))? {
            self.problem = Some(located(duplicate(id_path(), "decision_id")));
            return Ok(());
        }
        let before = gate.violations.len();
        gate_decision(gate, &mut d, i);
        if let Some(line) = line {
            for (path, _) in &gate.violations[before..] {
                self.violation_lines.insert(path.clone(), line);
            }
        }
        self.links.add(&d);
        let (start, end) = self.window;
        if start.is_some_and(|s| d.timestamp() < s) {
            note_prior(&mut self.prior_activity, &d);
        }
        if start.is_none_or(|s| d.timestamp() >= s) && d.timestamp() <= end {
            self.store.push(&d).map_err(|e| full(e, i))?;
        } else {
            self.outside += 1;
        }
        Ok(())
    }

    fn finish(self) -> Result<Taken, SnapshotError> {
        if let Some(e) = self.problem {
            return Err(e);
        }
        Ok(Taken {
            decisions: self.store.finish(),
            links: self.links,
            prior_activity: self.prior_activity,
            outside: self.outside,
            violation_lines: self.violation_lines,
        })
    }
}

fn full(e: crate::decisions::StoreFull, i: usize) -> SnapshotError {
    SnapshotError::at(SnapshotErrorKind::InvalidValue, format!("$.decisions[{i}]"), e.to_string())
}

/// The error for free-text fields over the length limit, if any.
pub(crate) fn overlong(paths: &[String], line: &dyn Fn(&str) -> Option<usize>) -> Option<SnapshotError> {
    if paths.is_empty() {
        return None;
    }
    let problems = paths
        .iter()
        .map(|p| Located {
            line: line(p),
            column: None,
            json_path: p.clone(),
            reason: format!(
                "longer than {} characters, the limit for one free-text field",
                crate::limits::FREE_TEXT_CHARS
            ),
        })
        .collect();
    Some(SnapshotError { kind: SnapshotErrorKind::InvalidValue, file: None, problems })
}

/// Runs the gate over one decision's free-text fields (`i` is its index).
pub(crate) fn gate_decision(gate: &mut InputGate, d: &mut Decision, i: usize) {
    let p = |f: &str| format!("$.decisions[{i}].{f}");
    gate.check(&mut d.decision_id, || p("decision_id"));
    gate.check_text(&mut d.session_id, || p("session_id"));
    gate.check_text(&mut d.agent_id, || p("agent_id"));
    gate.check_text(&mut d.repository, || p("repository"));
    gate.check_text(&mut d.action_type, || p("action_type"));
    if !crate::posture::target_is_sensitive(d) {
        gate.check_text(&mut d.target, || p("target"));
    }
    gate.check_text(&mut d.policy_pack, || p("policy_pack"));
    gate.check_text(&mut d.rule_id, || p("rule_id"));
    gate.check_text(&mut d.reason, || p("reason"));
    for (j, r) in d.evidence_refs.iter_mut().enumerate() {
        gate.check(r, || p(&format!("evidence_refs[{j}]")));
    }
    if let Some(t) = d.tool.as_mut() {
        gate.check_text(t, || p("tool"));
    }
    if let Some(r) = d.approval_route.as_mut() {
        gate.check_text(r, || p("approval_route"));
    }
}

/// What the data-quality warnings need to know about the decisions: which
/// sessions, decision ids and agents they name. Its size grows with the
/// distinct sessions and agents, not with the decisions.
pub(crate) struct LinkTally {
    sessions: BTreeMap<Text, usize>,
    agents: BTreeSet<Text>,
    /// Decision ids that incidents name, and whether each was seen.
    wanted: BTreeMap<String, bool>,
}

impl LinkTally {
    pub fn new(incidents: &[Incident]) -> Self {
        let wanted = incidents.iter().flat_map(|i| i.decision_ids.iter().map(|id| (id.clone(), false))).collect();
        LinkTally { sessions: BTreeMap::new(), agents: BTreeSet::new(), wanted }
    }

    pub fn add(&mut self, d: &Decision) {
        match self.sessions.get_mut(d.session_id().as_str()) {
            Some(n) => *n += 1,
            None => {
                self.sessions.insert(d.session_id().clone(), 1);
            }
        }
        if !self.agents.contains(d.agent_id().as_str()) {
            self.agents.insert(d.agent_id().clone());
        }
        if let Some(seen) = self.wanted.get_mut(d.decision_id()) {
            *seen = true;
        }
    }

    pub fn warnings(
        mut self,
        sessions: &[Session],
        exceptions: &[PolicyException],
        incidents: &[Incident],
        baselines: &[PolicyBaseline],
    ) -> BTreeSet<String> {
        let session_ids: BTreeSet<&str> = sessions.iter().map(|s| s.session_id.as_str()).collect();
        let exception_refs: BTreeSet<&str> = exceptions.iter().map(|x| x.exception_ref.as_str()).collect();
        let mut warnings = BTreeSet::new();
        for (sid, n) in &self.sessions {
            if !session_ids.contains(sid.as_str()) {
                warnings.insert(format!("{n} decision(s) name session `{sid}`, which is not in the snapshot"));
            }
        }
        for inc in incidents {
            for id in &inc.decision_ids {
                if !self.wanted.get(id.as_str()).copied().unwrap_or(false) {
                    warnings.insert(format!("incident `{}` names unknown decision `{id}`", inc.incident_ref));
                }
            }
            for r in &inc.exception_refs {
                if !exception_refs.contains(r.as_str()) {
                    warnings.insert(format!("incident `{}` names unknown exception `{r}`", inc.incident_ref));
                }
            }
        }
        self.agents.extend(sessions.iter().map(|s| s.agent_id.clone()));
        for b in baselines {
            if !self.agents.contains(b.agent_id.as_str()) {
                warnings.insert(format!("policy baseline names agent `{}`, which has no activity", b.agent_id));
            }
        }
        warnings
    }
}

/// Records what a decision before the window reached, for "first seen".
pub(crate) fn note_prior(prior: &mut BTreeMap<String, PriorActivity>, d: &Decision) {
    let p = prior.entry(crate::posture::agent_key(d.agent_id()).to_string()).or_default();
    if !d.repository().trim().is_empty() && !p.repositories.contains(d.repository().as_str()) {
        p.repositories.insert(d.repository().clone());
    }
    p.surfaces.insert(crate::posture::control_surface(d));
    if let Some(t) = d.tool().filter(|t| !t.trim().is_empty() && !p.tools.contains(t.as_str())) {
        p.tools.insert(t.clone());
    }
}

pub(crate) fn kind_article(kind: crate::gate::SensitiveKind) -> &'static str {
    match kind {
        crate::gate::SensitiveKind::Email | crate::gate::SensitiveKind::Ipv4 | crate::gate::SensitiveKind::Ipv6 => {
            "personal or network"
        }
        crate::gate::SensitiveKind::PrivateKey
        | crate::gate::SensitiveKind::Jwt
        | crate::gate::SensitiveKind::AwsAccessKey
        | crate::gate::SensitiveKind::GithubToken
        | crate::gate::SensitiveKind::SlackToken
        | crate::gate::SensitiveKind::SignedUrl
        | crate::gate::SensitiveKind::SecretAssignment
        | crate::gate::SensitiveKind::BearerToken
        | crate::gate::SensitiveKind::StripeKey
        | crate::gate::SensitiveKind::GoogleApiKey
        | crate::gate::SensitiveKind::OpenAiKey => "secret",
    }
}

fn validate_tenant(t: &Tenant) -> Result<(), SnapshotError> {
    require_nonempty(&t.tenant_ref, || "$.tenant.ref".into())?;
    require_nonempty(&t.display_name, || "$.tenant.display_name".into())?;
    let tz_ok = !t.timezone.is_empty()
        && t.timezone
            .split('/')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c)));
    if !tz_ok {
        return Err(SnapshotError::at(
            SnapshotErrorKind::InvalidValue,
            "$.tenant.timezone",
            "expected an IANA time zone name such as `Europe/Berlin` or `UTC`",
        ));
    }
    Ok(())
}

fn require_nonempty(value: &str, path: impl FnOnce() -> String) -> Result<(), SnapshotError> {
    if value.trim().is_empty() {
        Err(SnapshotError::at(SnapshotErrorKind::InvalidValue, path(), "must not be empty"))
    } else {
        Ok(())
    }
}

fn duplicate(path: String, what: &str) -> SnapshotError {
    SnapshotError::at(SnapshotErrorKind::Duplicate, path, format!("duplicate {what}; each must be unique"))
}

fn is_sha256_digest(value: &str) -> bool {
    value
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}
