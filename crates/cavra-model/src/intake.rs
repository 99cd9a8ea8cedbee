//! Reading a snapshot's decisions: JSON Lines one line at a time (on a
//! thread of its own when asked), and each decision checked, gated,
//! tallied and stored before the next is read ([`Intake`]). The head's
//! gate runs first ([`gate_head`]) and the rest after ([`gate_tail`]), so
//! the problems are listed in the snapshot's order.

use std::collections::BTreeMap;
use std::io::BufRead;

use crate::error::{from_serde, Located, SnapshotError, SnapshotErrorKind};
use crate::gate::{InputGate, RedactionSummary};
use crate::input::{Decision, Incident, RawSnapshot, Timestamp};
use crate::snapshot::{
    duplicate, gate_decision, kind_article, note_prior, overlong, require_nonempty, LinkTally, PriorActivity,
};

/// Hands each decision of a JSON Lines stream to `take` with its 1-based
/// line number, stopping at the first error.
pub(crate) fn for_each_jsonl(
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
pub(crate) fn for_each_jsonl_piped(
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
pub(crate) fn gate_head(gate: &mut InputGate, raw: &mut RawSnapshot) {
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
pub(crate) fn gate_tail(
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
pub(crate) struct Intake {
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
pub(crate) struct Taken {
    pub decisions: crate::decisions::Decisions,
    pub links: LinkTally,
    pub prior_activity: BTreeMap<String, PriorActivity>,
    pub outside: usize,
    pub violation_lines: BTreeMap<String, usize>,
}

impl Intake {
    pub fn new(incidents: &[Incident], start: Option<Timestamp>, end: Timestamp) -> Intake {
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
    pub fn take(&mut self, mut d: Decision, line: Option<usize>, gate: &mut InputGate) -> Result<(), SnapshotError> {
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
        if let Err(e) = require_nonempty(&d.decision_id, id_path) {
            self.problem = Some(located(e));
            return Ok(());
        }
        if !self.store.note_id(&d.decision_id).map_err(|e| full(e, i))? {
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
        if start.is_some_and(|s| d.timestamp < s) {
            note_prior(&mut self.prior_activity, &d);
        }
        if start.is_none_or(|s| d.timestamp >= s) && d.timestamp <= end {
            self.store.push(&d).map_err(|e| full(e, i))?;
        } else {
            self.outside += 1;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Taken, SnapshotError> {
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
