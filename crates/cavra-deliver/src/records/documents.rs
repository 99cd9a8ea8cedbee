//! The records' two contract documents, built from the store: the
//! retention lifecycle (`cavra.retention_lifecycle.v1`) and search and
//! retrieval (`cavra.search_retrieval.v1`), each with a JSON Schema under
//! `schemas/`, and written as JSON, CSV (one row per item) or Markdown.
//! Times are RFC 3339 UTC; nothing in them is more than the store holds —
//! ids, digests, classes, states, key ids and the reasons recorded with
//! holds and refusals (gated free text).

use cavra_model::Timestamp;
use serde::Serialize;

use cavra_store::query::Filter;
use cavra_store::{EventAction, Item, ItemState, Outcome, Store, StoreEvent, Tombstone};

use super::RecordsError;
use crate::config::Config;

/// Schema id of the retention-lifecycle document.
pub const RETENTION_SCHEMA: &str = "cavra.retention_lifecycle.v1";
/// Schema id of the search-and-retrieval document.
pub const RETRIEVAL_SCHEMA: &str = "cavra.search_retrieval.v1";

/// The retention-lifecycle document's JSON Schema, generated from its types.
pub fn retention_json_schema() -> String {
    cavra_model::schema::publish::<RetentionLifecycle>("retention_lifecycle.v1.schema.json", RETENTION_SCHEMA)
}

/// The search-and-retrieval document's JSON Schema, generated from its types.
pub fn retrieval_json_schema() -> String {
    cavra_model::schema::publish::<SearchRetrieval>("search_retrieval.v1.schema.json", RETRIEVAL_SCHEMA)
}

/// A stored item as the documents show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ItemView {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_ref: String,
    /// Report kind or package type.
    pub kind: String,
    /// Format.
    pub format: String,
    /// File name.
    pub name: String,
    /// Report id.
    pub report_id: Option<String>,
    /// Package id.
    pub package: Option<String>,
    /// The immutable store reference: `sha256:<hex>` of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Classification.
    pub classification: String,
    /// Retention class.
    pub retention_class: String,
    /// The snapshot's `as_of`.
    pub created_at: String,
    /// When it may be deleted (`null`: never by age).
    pub expires_at: Option<String>,
    /// `retained`, `expired`, `legal_hold`, `pending_approval` or `deleted`.
    pub lifecycle_state: &'static str,
    /// The legal hold's reference, when held.
    pub legal_hold_ref: Option<String>,
}

/// The lifecycle state of `item` at `now` under `config`'s policy.
fn lifecycle(config: &Config, item: &Item, now: i64, approved: bool) -> &'static str {
    let policy = config.retention_policy();
    match item.state {
        ItemState::Deleted => "deleted",
        ItemState::Retained if item.hold.is_some() => "legal_hold",
        ItemState::Retained => match policy.effective_expiry(item) {
            Some(e) if e <= now => {
                let needs = policy.class(&item.retention_class).is_ok_and(|c| c.deletion_approval);
                if needs && !approved {
                    "pending_approval"
                } else {
                    "expired"
                }
            }
            _ => "retained",
        },
    }
}

impl ItemView {
    fn of(config: &Config, item: &Item, now: i64, approved: bool) -> ItemView {
        ItemView {
            id: item.id.clone(),
            tenant_ref: item.tenant_ref.clone(),
            kind: item.kind.clone(),
            format: item.format.clone(),
            name: item.name.clone(),
            report_id: item.report_id.clone(),
            package: item.package.clone(),
            sha256: item.sha256.clone(),
            size: item.size,
            classification: item.classification.clone(),
            retention_class: item.retention_class.clone(),
            created_at: Timestamp::show_unix(item.created_at),
            expires_at: config.retention_policy().effective_expiry(item).map(Timestamp::show_unix),
            lifecycle_state: lifecycle(config, item, now, approved),
            legal_hold_ref: item.hold.as_ref().map(|h| h.reason.clone()),
        }
    }
}

/// One retention class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ClassView {
    /// Name.
    pub name: String,
    /// Days kept (`null`: never expires by age).
    pub days: Option<u32>,
    /// Whether deletion needs a signed approval.
    pub deletion_approval_required: bool,
}

/// A tombstone as the documents show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TombstoneView {
    /// Item id.
    pub item_id: String,
    /// Tenant.
    pub tenant_ref: String,
    /// Digest of the deleted bytes.
    pub sha256: String,
    /// Their size.
    pub size: u64,
    /// Class.
    pub retention_class: String,
    /// When the retention ran out.
    pub expired_at: String,
    /// When the bytes were deleted.
    pub deleted_at: String,
    /// The deletion approval.
    pub deletion_approval_ref: Option<String>,
}

impl From<&Tombstone> for TombstoneView {
    fn from(t: &Tombstone) -> TombstoneView {
        TombstoneView {
            item_id: t.item_id.clone(),
            tenant_ref: t.tenant_ref.clone(),
            sha256: t.sha256.clone(),
            size: t.size,
            retention_class: t.retention_class.clone(),
            expired_at: Timestamp::show_unix(t.expired_at),
            deleted_at: Timestamp::show_unix(t.deleted_at),
            deletion_approval_ref: t.approval.clone(),
        }
    }
}

/// Counts by lifecycle state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LifecycleSummary {
    /// Kept, within retention.
    pub retained: usize,
    /// Past retention, deletable now.
    pub expired: usize,
    /// Under legal hold.
    pub legal_hold: usize,
    /// Past retention, waiting for a deletion approval.
    pub pending_approval: usize,
    /// Deleted (tombstoned).
    pub deleted: usize,
}

/// The retention-lifecycle document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RetentionLifecycle {
    /// [`RETENTION_SCHEMA`].
    pub schema_version: &'static str,
    /// The instant the states are given for.
    pub as_at: String,
    /// The tenant it covers (`null`: every tenant).
    pub tenant_ref: Option<String>,
    /// Retention windows per class.
    pub classes: Vec<ClassView>,
    /// Days the audit log is kept (`[audit] retention_days`).
    pub audit_log_retention_days: u32,
    /// Deletion rules.
    pub deletion_policy: DeletionPolicy,
    /// How bytes are kept.
    pub storage: StorageView,
    /// Counts.
    pub summary: LifecycleSummary,
    /// Every item, by creation then id.
    pub items: Vec<ItemView>,
    /// Every tombstone.
    pub tombstones: Vec<TombstoneView>,
    /// The store events behind the states (`store-event:<seq>`).
    pub evidence_refs: Vec<String>,
}

/// Deletion rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DeletionPolicy {
    /// A tombstone is always written.
    pub tombstone_required: bool,
    /// States deletion is allowed from.
    pub deletion_allowed_from: Vec<&'static str>,
    /// Whether a held item can be deleted (never).
    pub held_items_deletable: bool,
}

/// How the bytes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StorageView {
    /// Blobs are named by their digest.
    pub content_addressed: bool,
    /// The digest.
    pub digest_algorithm: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Whether the blob folder is under an object lock (the store does not
    /// set one; a WORM volume beneath it is the operator's).
    pub object_lock: bool,
    /// Encryption keys (none are managed by the store).
    pub kms_key_refs: Vec<String>,
}

fn tenant_filter(tenant: Option<&str>) -> Filter {
    Filter { tenant_ref: tenant.map(str::to_string), include_deleted: true, ..Filter::default() }
}

/// The retention-lifecycle document at `now`, of one tenant or all.
///
/// # Errors
/// Storage.
pub fn retention_lifecycle(
    store: &mut Store,
    config: &Config,
    tenant: Option<&str>,
    now: i64,
    backend: &'static str,
) -> Result<RetentionLifecycle, RecordsError> {
    let items = store.all(&tenant_filter(tenant))?;
    let mut views = Vec::with_capacity(items.len());
    let mut summary = LifecycleSummary::default();
    let mut refs = Vec::new();
    for item in &items {
        let approved =
            super::verified_approval(store, config, item, cavra_store::ApprovalAction::Delete, None)?.is_some();
        let v = ItemView::of(config, item, now, approved);
        match v.lifecycle_state {
            "retained" => summary.retained += 1,
            "expired" => summary.expired += 1,
            "legal_hold" => summary.legal_hold += 1,
            "pending_approval" => summary.pending_approval += 1,
            _ => summary.deleted += 1,
        }
        views.push(v);
        for e in store.events(Some(&item.id))? {
            if e.action != EventAction::Retrieve {
                refs.push(format!("store-event:{}", e.seq));
            }
        }
    }
    let policy = config.retention_policy();
    Ok(RetentionLifecycle {
        schema_version: RETENTION_SCHEMA,
        as_at: Timestamp::show_unix(now),
        tenant_ref: tenant.map(str::to_string),
        classes: policy
            .classes
            .iter()
            .map(|(n, c)| ClassView { name: n.clone(), days: c.days, deletion_approval_required: c.deletion_approval })
            .collect(),
        audit_log_retention_days: config.audit.retention_days,
        deletion_policy: DeletionPolicy {
            tombstone_required: true,
            deletion_allowed_from: vec!["expired"],
            held_items_deletable: false,
        },
        storage: StorageView {
            content_addressed: true,
            digest_algorithm: "sha256",
            backend,
            object_lock: false,
            kms_key_refs: Vec::new(),
        },
        summary,
        items: views,
        tombstones: store.tombstones(tenant)?.iter().map(TombstoneView::from).collect(),
        evidence_refs: refs,
    })
}

/// One access decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AccessDecision {
    /// `ret-<seq>`.
    pub retrieval_id: String,
    /// The item asked for (`null`: no such item).
    pub item_id: Option<String>,
    /// The principal's key id.
    pub actor_key_id: Option<String>,
    /// `served` or `refused`.
    pub outcome: &'static str,
    /// Why it was refused, or what was served.
    pub detail: Option<String>,
    /// Whether the copy served was watermarked (`null` for refusals).
    pub watermarked: Option<bool>,
    /// When.
    pub at: String,
    /// The store event (`store-event:<seq>`).
    pub audit_ref: String,
}

impl AccessDecision {
    fn of(e: &StoreEvent) -> AccessDecision {
        let served = e.outcome == Outcome::Done;
        AccessDecision {
            retrieval_id: format!("ret-{:010}", e.seq),
            item_id: e.item_id.clone(),
            actor_key_id: e.actor_key_id.clone(),
            outcome: if served { "served" } else { "refused" },
            detail: e.detail.clone(),
            watermarked: served.then(|| e.detail.as_deref().is_some_and(|d| d.starts_with("watermarked"))),
            at: Timestamp::show_unix(e.at),
            audit_ref: format!("store-event:{}", e.seq),
        }
    }
}

/// The filters of a search, as the document shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FilterView {
    /// Tenant.
    pub tenant_ref: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Format.
    pub format: Option<String>,
    /// Classification.
    pub classification: Option<String>,
    /// Created at or after.
    pub from: Option<String>,
    /// Created before.
    pub until: Option<String>,
    /// Digest.
    pub sha256: Option<String>,
    /// Package id.
    pub package: Option<String>,
    /// Held (`true`), unheld (`false`) or either.
    pub held: Option<bool>,
    /// Whether deleted items are included.
    pub include_deleted: bool,
}

impl From<&Filter> for FilterView {
    fn from(f: &Filter) -> FilterView {
        FilterView {
            tenant_ref: f.tenant_ref.clone(),
            kind: f.kind.clone(),
            format: f.format.clone(),
            classification: f.classification.clone(),
            from: f.from.map(Timestamp::show_unix),
            until: f.until.map(Timestamp::show_unix),
            sha256: f.sha256.clone(),
            package: f.package.clone(),
            held: f.held,
            include_deleted: f.include_deleted,
        }
    }
}

/// The search-and-retrieval document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SearchRetrieval {
    /// [`RETRIEVAL_SCHEMA`].
    pub schema_version: &'static str,
    /// The instant it was made for.
    pub as_at: String,
    /// The filters applied.
    pub filters: FilterView,
    /// How many items match.
    pub total: usize,
    /// The items that match.
    pub items: Vec<ItemView>,
    /// Every retrieval of those items (and of unknown ids), served or refused.
    pub access_decisions: Vec<AccessDecision>,
}

/// The search-and-retrieval document for `filter` at `now`.
///
/// # Errors
/// Storage.
pub fn search_retrieval(
    store: &mut Store,
    config: &Config,
    filter: &Filter,
    now: i64,
) -> Result<SearchRetrieval, RecordsError> {
    let items = store.all(filter)?;
    let ids: std::collections::BTreeSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let decisions = store
        .events(None)?
        .iter()
        .filter(|e| e.action == EventAction::Retrieve)
        .filter(|e| e.item_id.as_deref().is_none_or(|id| ids.contains(id)))
        .map(AccessDecision::of)
        .collect();
    let mut views = Vec::with_capacity(items.len());
    for item in &items {
        let approved =
            super::verified_approval(store, config, item, cavra_store::ApprovalAction::Delete, None)?.is_some();
        views.push(ItemView::of(config, item, now, approved));
    }
    Ok(SearchRetrieval {
        schema_version: RETRIEVAL_SCHEMA,
        as_at: Timestamp::show_unix(now),
        filters: FilterView::from(filter),
        total: views.len(),
        items: views,
        access_decisions: decisions,
    })
}

/// How a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    /// Pretty JSON (the contract form).
    Json,
    /// CSV, one row per item.
    Csv,
    /// Markdown, for people.
    Markdown,
}

impl std::str::FromStr for DocFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<DocFormat, String> {
        match s {
            "json" => Ok(DocFormat::Json),
            "csv" => Ok(DocFormat::Csv),
            "md" => Ok(DocFormat::Markdown),
            other => Err(format!("unknown document format `{other}` (known: json, csv, md)")),
        }
    }
}

const ITEM_COLUMNS: [&str; 12] = [
    "id",
    "tenant_ref",
    "kind",
    "format",
    "sha256",
    "size",
    "classification",
    "retention_class",
    "created_at",
    "expires_at",
    "lifecycle_state",
    "legal_hold_ref",
];

fn item_cells(v: &ItemView) -> [String; 12] {
    [
        v.id.clone(),
        v.tenant_ref.clone(),
        v.kind.clone(),
        v.format.clone(),
        v.sha256.clone(),
        v.size.to_string(),
        v.classification.clone(),
        v.retention_class.clone(),
        v.created_at.clone(),
        v.expires_at.clone().unwrap_or_default(),
        v.lifecycle_state.to_string(),
        v.legal_hold_ref.clone().unwrap_or_default(),
    ]
}

fn csv_of(items: &[ItemView]) -> Result<Vec<u8>, RecordsError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| RecordsError::Refused(format!("writing CSV: {e}"));
    w.write_record(ITEM_COLUMNS).map_err(bad)?;
    for v in items {
        w.write_record(item_cells(v).iter().map(|c| cavra_render::neutralise_formula(c).into_owned())).map_err(bad)?;
    }
    w.into_inner().map_err(|e| RecordsError::Refused(format!("writing CSV: {e}")))
}

fn md_table(out: &mut String, header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    use std::fmt::Write;
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| cavra_render::escape_markdown(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

impl RetentionLifecycle {
    /// The document in `format`, through the safety gate.
    ///
    /// # Errors
    /// Serialisation; content the gate refuses.
    pub fn write(&self, format: DocFormat) -> Result<Vec<u8>, RecordsError> {
        gated(self.write_raw(format)?)
    }

    fn write_raw(&self, format: DocFormat) -> Result<Vec<u8>, RecordsError> {
        match format {
            DocFormat::Json => json(self),
            DocFormat::Csv => csv_of(&self.items),
            DocFormat::Markdown => {
                use std::fmt::Write;
                let mut out = String::from("# Retention lifecycle\n\n");
                let s = &self.summary;
                let _ = writeln!(
                    out,
                    "As at {}. Retained {}, expired {}, under legal hold {}, awaiting deletion approval {}, deleted {}.\n",
                    self.as_at, s.retained, s.expired, s.legal_hold, s.pending_approval, s.deleted
                );
                out.push_str("## Retention classes\n\n");
                md_table(
                    &mut out,
                    &["class", "days", "deletion approval"],
                    self.classes.iter().map(|c| {
                        vec![
                            c.name.clone(),
                            c.days.map_or("never expires".into(), |d| d.to_string()),
                            if c.deletion_approval_required { "required" } else { "not required" }.into(),
                        ]
                    }),
                );
                out.push_str("## Items\n\n");
                md_table(&mut out, &ITEM_COLUMNS, self.items.iter().map(|v| item_cells(v).to_vec()));
                out.push_str("## Tombstones\n\n");
                md_table(
                    &mut out,
                    &["item", "sha256", "class", "expired", "deleted", "approval"],
                    self.tombstones.iter().map(|t| {
                        vec![
                            t.item_id.clone(),
                            t.sha256.clone(),
                            t.retention_class.clone(),
                            t.expired_at.clone(),
                            t.deleted_at.clone(),
                            t.deletion_approval_ref.clone().unwrap_or_default(),
                        ]
                    }),
                );
                Ok(out.into_bytes())
            }
        }
    }
}

impl SearchRetrieval {
    /// The document in `format`, through the safety gate.
    ///
    /// # Errors
    /// Serialisation; content the gate refuses.
    pub fn write(&self, format: DocFormat) -> Result<Vec<u8>, RecordsError> {
        gated(self.write_raw(format)?)
    }

    fn write_raw(&self, format: DocFormat) -> Result<Vec<u8>, RecordsError> {
        match format {
            DocFormat::Json => json(self),
            DocFormat::Csv => csv_of(&self.items),
            DocFormat::Markdown => {
                use std::fmt::Write;
                let mut out = String::from("# Search and retrieval\n\n");
                let _ = writeln!(out, "As at {}. {} item(s) match.\n", self.as_at, self.total);
                out.push_str("## Items\n\n");
                md_table(&mut out, &ITEM_COLUMNS, self.items.iter().map(|v| item_cells(v).to_vec()));
                out.push_str("## Access decisions\n\n");
                md_table(
                    &mut out,
                    &["retrieval", "item", "principal key", "outcome", "watermarked", "at", "detail"],
                    self.access_decisions.iter().map(|d| {
                        vec![
                            d.retrieval_id.clone(),
                            d.item_id.clone().unwrap_or_default(),
                            d.actor_key_id.clone().unwrap_or_default(),
                            d.outcome.to_string(),
                            d.watermarked.map_or(String::new(), |w| if w { "yes" } else { "no" }.into()),
                            d.at.clone(),
                            d.detail.clone().unwrap_or_default(),
                        ]
                    }),
                );
                Ok(out.into_bytes())
            }
        }
    }
}

/// The gate over final bytes: a document carrying what the gate refuses
/// is never written.
fn gated(bytes: Vec<u8>) -> Result<Vec<u8>, RecordsError> {
    match cavra_model::gate::scan_bytes(&bytes).first() {
        None => Ok(bytes),
        Some(d) => {
            Err(RecordsError::Refused(format!("the document carries {} content; nothing is written", d.kind.as_str())))
        }
    }
}

fn json(value: &impl Serialize) -> Result<Vec<u8>, RecordsError> {
    let mut out = serde_json::to_vec_pretty(value).map_err(|e| RecordsError::Refused(format!("writing JSON: {e}")))?;
    out.push(b'\n');
    Ok(out)
}
