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
use crate::intake::{for_each_jsonl, for_each_jsonl_piped, gate_head, gate_tail, Intake};
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

pub(crate) fn require_nonempty(value: &str, path: impl FnOnce() -> String) -> Result<(), SnapshotError> {
    if value.trim().is_empty() {
        Err(SnapshotError::at(SnapshotErrorKind::InvalidValue, path(), "must not be empty"))
    } else {
        Ok(())
    }
}

pub(crate) fn duplicate(path: String, what: &str) -> SnapshotError {
    SnapshotError::at(SnapshotErrorKind::Duplicate, path, format!("duplicate {what}; each must be unique"))
}

fn is_sha256_digest(value: &str) -> bool {
    value
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}
