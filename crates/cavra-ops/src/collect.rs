//! Assembling an operations snapshot from the report center's records: the
//! delivery outbox (jobs, approvals, schedule runs, bounces), the record
//! store (reports, store events, evidence rooms) and the signed audit log
//! (verified whole first; send events mark jobs as audited, and the
//! evidence-room access events are carried as they were signed).
//!
//! Only public-safe fields leave the records: a recipient becomes its
//! class and domain, a link its id; subjects, addresses, attachments' paths
//! and error texts stay behind. Job and approval states are those recorded
//! when the snapshot is taken.

use cavra_deliver::access::AccessEvent;
use cavra_deliver::outbox::{Job, Outbox, OutboxError, OutboxStore};
use cavra_deliver::policy::RecipientPolicy;
use cavra_model::Timestamp;
use cavra_render::signed::PublicKey;
use cavra_store::Store;

use crate::snapshot::*;

/// Where the records are.
pub struct Sources<'a> {
    /// Who runs the report center.
    pub organisation: Organisation,
    /// The transport jobs go by (`[delivery] mode`).
    pub transport: &'a str,
    /// The recipient policy, to classify recipients' domains.
    pub policy: &'a RecipientPolicy,
    /// The delivery outbox.
    pub outbox: Option<&'a Outbox>,
    /// The record store (reports, store events, rooms, the response ledger).
    pub store: Option<&'a mut Store>,
    /// The setup file whose principals' keys verify the response ledger
    /// (without it, the ledger is not read).
    pub principals: Option<&'a cavra_deliver::config::Config>,
    /// The audit log and its key (read twice, streamed: verified whole,
    /// then its events taken; memory does not grow with its length).
    pub audit: Option<(&'a std::path::Path, &'a PublicKey)>,
}

/// Why a snapshot could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The outbox failed.
    #[error("the outbox: {0}")]
    Outbox(#[from] OutboxError),
    /// The store failed.
    #[error("the store: {0}")]
    Store(#[from] cavra_store::StoreError),
    /// The rooms could not be read.
    #[error("the rooms: {0}")]
    Room(#[from] cavra_room::RoomError),
    /// The response ledger could not be read or does not verify.
    #[error("the response ledger: {0}")]
    Response(#[from] crate::response::ResponseError),
    /// A record holds a time out of range or a record is malformed.
    #[error("{0}")]
    Record(String),
    /// The result is not a valid, public-safe snapshot.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

fn at(secs: i64) -> Result<Timestamp, CollectError> {
    Timestamp::from_unix_seconds(secs).map_err(CollectError::Record)
}

/// The window's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// From (inclusive); none: from the first record.
    pub start: Option<Timestamp>,
    /// To (inclusive).
    pub end: Timestamp,
}

impl Window {
    /// Whether `t` falls in the window.
    pub fn holds(&self, t: Timestamp) -> bool {
        self.start.is_none_or(|s| t >= s) && t <= self.end
    }
}

/// Assembles, validates and gates the snapshot of `window`.
///
/// # Errors
/// [`CollectError`].
pub fn assemble(src: Sources<'_>, window: Window) -> Result<OpsSnapshot, CollectError> {
    let audit = read_audit(src.audit, window)?;
    let provenance = cavra_model::input::DataProvenance::ReportCenterRecords;
    let mut s = OpsSnapshot::empty(src.organisation, window.start, window.end, provenance, audit.summary);
    s.access_events = audit.access;
    s.verifications = audit.verifications;
    if let Some(outbox) = src.outbox {
        outbox_records(&mut s, outbox, src.transport, src.policy, &audit.sent_jobs, window)?;
    }
    if let Some(store) = src.store {
        store_records(&mut s, store, window)?;
        if let Some(config) = src.principals {
            s.response = response_records(store, config, window, &audit.response_digests)?;
        }
    }
    let text = s.to_json();
    Ok(OpsSnapshot::from_json_str(&text)?)
}

struct AuditRead {
    summary: AuditSummary,
    access: Vec<AccessRecord>,
    sent_jobs: std::collections::BTreeSet<String>,
    /// The audit record of each response event's digest.
    response_digests: std::collections::BTreeMap<String, u64>,
    verifications: Vec<VerificationRecord>,
}

fn read_audit(audit: Option<(&std::path::Path, &PublicKey)>, window: Window) -> Result<AuditRead, CollectError> {
    let mut out = AuditRead {
        summary: AuditSummary { verified: false, records: 0, records_in_window: 0, head: None },
        access: Vec::new(),
        sent_jobs: Default::default(),
        response_digests: Default::default(),
        verifications: Vec::new(),
    };
    let Some((path, key)) = audit else { return Ok(out) };
    let open = || {
        std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .map_err(|e| CollectError::Record(format!("{}: {e}", path.display())))
    };
    out.summary = audit_summary(open()?, key);
    if !out.summary.verified {
        // Nothing from a log that does not verify is taken as evidence.
        return Ok(out);
    }
    let mut reader = open()?;
    let mut line = Vec::new();
    let mut n = 0;
    let limit = cavra_model::limits::AUDIT_RECORD_BYTES;
    while cavra_model::limits::read_line_bounded(&mut reader, &mut line, limit)
        .map_err(|e| CollectError::Record(format!("{}: record {}: {e}", path.display(), n + 1)))?
    {
        n += 1;
        let bad = |e: &dyn std::fmt::Display| CollectError::Record(format!("{}: record {n}: {e}", path.display()));
        let r: serde_json::Value = serde_json::from_slice(&line).map_err(|e| bad(&e))?;
        take_record(&mut out, &r, window).map_err(|e| bad(&e))?;
    }
    Ok(out)
}

/// One audit record's part in the snapshot: a send that marks a job as
/// audited, an access event.
fn take_record(out: &mut AuditRead, r: &serde_json::Value, window: Window) -> Result<(), String> {
    let event = &r["event"];
    if event.is_null() {
        return Ok(()); // the genesis and closing records carry no event
    }
    let when = Timestamp::parse(event["at"].as_str().unwrap_or_default())?;
    if event["action"] == "response" {
        if let Some(d) = event["evidence"]["report_digest_ref"].as_str() {
            out.response_digests.entry(d.to_string()).or_insert(r["seq"].as_u64().unwrap_or_default());
        }
    }
    if !window.holds(when) {
        return Ok(());
    }
    out.summary.records_in_window += 1;
    if event["action"] == "send" && event["status"] != "accepted" {
        for e in event["evidence"]["evidence_refs"].as_array().into_iter().flatten() {
            if let Some(job) = e.as_str().filter(|j| j.starts_with("job-")) {
                out.sent_jobs.insert(job.to_string());
            }
        }
    }
    if event["action"] == "verify" {
        out.verifications.push(VerificationRecord {
            seq: r["seq"].as_u64().unwrap_or_default(),
            at: when,
            package_digest: event["evidence"]["report_digest_ref"].as_str().unwrap_or_default().to_string(),
            verified: event["status"] == "accepted",
        });
    }
    if !event["room_access"].is_null() {
        let access: AccessEvent = serde_json::from_value(event["room_access"].clone()).map_err(|e| e.to_string())?;
        out.access.push(AccessRecord {
            seq: r["seq"].as_u64().unwrap_or_default(),
            at: when,
            record_hash_prev: r["prev"].as_str().unwrap_or_default().to_string(),
            access,
        });
    }
    Ok(())
}

/// What a verification of the whole log shows (`records_in_window` is left 0).
pub fn audit_summary(log: impl std::io::BufRead, key: &PublicKey) -> AuditSummary {
    let v = cavra_deliver::audit::verify_log(log, key, None);
    AuditSummary {
        verified: v.ok(),
        records: v.records,
        records_in_window: 0,
        head: v.head.as_ref().map(|h| h.hash.clone()),
    }
}

/// The verified response ledger up to the window's end, each event linked
/// to the audit record that carries its digest.
fn response_records(
    store: &mut Store,
    config: &cavra_deliver::config::Config,
    window: Window,
    in_log: &std::collections::BTreeMap<String, u64>,
) -> Result<Vec<ResponseRecord>, CollectError> {
    let (records, _) = crate::response::workflows::load(store, config)?;
    // The ledger up to its first event after the window: a prefix, so it
    // folds as the ledger did (an evaluation `--at` a later instant may have
    // stamped an event before later-numbered ones).
    Ok(records
        .into_iter()
        .take_while(|r| r.at <= window.end)
        .map(|r| ResponseRecord { audit_seq: in_log.get(&r.digest).copied(), ..r })
        .collect())
}

fn job_record(
    job: &Job,
    requested: i64,
    transport: &str,
    policy: &RecipientPolicy,
    audited: bool,
) -> Result<JobRecord, CollectError> {
    let domain = cavra_deliver::policy::parse_address(&job.recipient).map(|a| a.domain).unwrap_or_default();
    let class = policy.classify_domain(&domain).map_or("unclassified", |c| c.as_str());
    Ok(JobRecord {
        job_id: job.id.clone(),
        transport: transport.to_string(),
        recipient_class: class.to_string(),
        recipient_domain: domain,
        state: job.state.as_str().to_string(),
        attempts: job.attempts,
        requested_at: at(requested)?,
        first_attempt_at: job.first_attempt.map(at).transpose()?,
        next_attempt_at: at(job.next_attempt)?,
        possible_duplicate: job.possible_duplicate,
        approval_id: job.approval.clone(),
        content: match job.notice.as_deref() {
            Some(n) if n.starts_with(crate::response::workflows::NOTICE_PREFIX) => "alert_notice".into(),
            Some(_) => "room_invitation".into(),
            None => "package".into(),
        },
        audited,
    })
}

fn outbox_records(
    s: &mut OpsSnapshot,
    outbox: &Outbox,
    transport: &str,
    policy: &RecipientPolicy,
    sent: &std::collections::BTreeSet<String>,
    window: Window,
) -> Result<(), CollectError> {
    let requested_at = outbox.request_times()?;
    for job in outbox.jobs()? {
        let requested = requested_at.get(&job.id).copied().unwrap_or(job.next_attempt);
        if window.holds(at(requested)?) {
            s.jobs.push(job_record(&job, requested, transport, policy, sent.contains(&job.id))?);
        }
    }
    for a in outbox.approval_requests()? {
        if at(a.requested_at)? > window.end {
            continue;
        }
        s.approvals.push(ApprovalRecord {
            approval_id: a.approval_id,
            decision: a.decision.as_str().to_string(),
            requested_at: at(a.requested_at)?,
            decided_at: a.decided_at.map(at).transpose()?,
            expires_at: at(a.expires_at)?,
            recipient_count: u32::try_from(a.recipient_count).unwrap_or(u32::MAX),
        });
    }
    for (run_key, state, claimed) in outbox.schedule_runs()? {
        if window.holds(at(claimed)?) {
            s.schedule_runs.push(ScheduleRunRecord { run_key, state, claimed_at: at(claimed)? });
        }
    }
    for (recipient_domain, kind, status, recorded) in outbox.bounces()? {
        if window.holds(at(recorded)?) {
            s.bounces.push(BounceRecord { recipient_domain, kind, status, recorded_at: at(recorded)? });
        }
    }
    Ok(())
}

fn store_records(s: &mut OpsSnapshot, store: &mut Store, window: Window) -> Result<(), CollectError> {
    let filter = cavra_store::query::Filter {
        from: window.start.map(Timestamp::unix_seconds),
        until: Some(window.end.unix_seconds().saturating_add(1)),
        include_deleted: true,
        ..Default::default()
    };
    for item in store.all(&filter)? {
        s.reports.push(ReportRecord {
            created_at: at(item.created_at)?,
            legal_hold: item.hold.is_some(),
            item_id: item.id,
            tenant_ref: item.tenant_ref,
            kind: item.kind,
            format: item.format,
            classification: item.classification,
        });
    }
    for e in store.events(None)? {
        if window.holds(at(e.at)?) {
            s.store_events.push(StoreEventRecord {
                seq: e.seq,
                at: at(e.at)?,
                action: e.action.as_str().to_string(),
                outcome: e.outcome.as_str().to_string(),
                item_id: e.item_id.unwrap_or_default(),
            });
        }
    }
    let has_rooms = store.require(cavra_room::ROOM_MIGRATIONS).is_ok();
    if has_rooms {
        for room in cavra_room::rooms::rooms(store)? {
            if at(room.created_at)? <= window.end {
                s.rooms.push(room_record(store, &room)?);
            }
        }
    }
    Ok(())
}

/// A room as the snapshot carries it, with its links counted.
///
/// # Errors
/// The store failed, or a time is out of range.
pub fn room_record(store: &mut Store, room: &cavra_room::Room) -> Result<RoomRecord, CollectError> {
    let links = cavra_room::rooms::links(store, &room.id)?;
    Ok(RoomRecord {
        room_id: room.id.clone(),
        audience: room.audience.clone(),
        package_id: room.package_id.clone(),
        created_at: at(room.created_at)?,
        expires_at: at(room.expires_at)?,
        closed_at: room.closed_at.map(at).transpose()?,
        links_issued: u32::try_from(links.len()).unwrap_or(u32::MAX),
        links_revoked: u32::try_from(links.iter().filter(|l| l.revoked_at.is_some()).count()).unwrap_or(u32::MAX),
        mfa: room.mfa,
        terms: room.terms_digest.is_some(),
    })
}

/// The snapshot of one room's access events (read from the verified log by
/// [`cavra_room::events::read`]), for its `evidence-room-access` report:
/// the window runs from its first event to its last.
///
/// # Errors
/// No events; an event time that is not RFC 3339; an invalid result.
pub fn room_snapshot(
    organisation: Organisation,
    room: Option<RoomRecord>,
    events: &cavra_room::events::RoomEvents,
    audit: AuditSummary,
) -> Result<OpsSnapshot, CollectError> {
    let access = events
        .events
        .iter()
        .map(|e| {
            Ok(AccessRecord {
                seq: e.seq,
                at: Timestamp::parse(&e.at).map_err(CollectError::Record)?,
                record_hash_prev: e.record_hash_prev.clone(),
                access: e.access.clone(),
            })
        })
        .collect::<Result<Vec<_>, CollectError>>()?;
    let (Some(first), Some(last)) = (access.first(), access.last()) else {
        return Err(CollectError::Record(format!("{} has no access events in the log", events.room_ref)));
    };
    let provenance = cavra_model::input::DataProvenance::ReportCenterRecords;
    let mut s = OpsSnapshot::empty(organisation, Some(first.at), last.at, provenance, audit);
    s.rooms = room.into_iter().collect();
    s.access_events = access;
    Ok(OpsSnapshot::from_json_str(&s.to_json())?)
}
