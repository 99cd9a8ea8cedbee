//! Governed records: who may place and release legal holds, approve and
//! carry out deletions, and retrieve stored items, over the store
//! ([`cavra_store`]). Every decision is made by a principal's key; every
//! approval is a signed statement kept in the store and verified against
//! the principal's public key each time it is used, so an approval row
//! written into the database by hand counts for nothing.
//!
//! - A hold needs `legal_hold`; a release needs `legal_hold` and a release
//!   approval signed by another principal holding `approve_retention`.
//! - An expired item of a class with `deletion_approval` is deleted only
//!   under a verified delete approval; `retention apply` needs
//!   `apply_retention`. A held item is never deleted.
//! - A retrieval needs `retrieve` and a role whose `classifications`
//!   include the item's; an item deleted under retention or past its
//!   expiry is refused; PDF, Word and HTML copies are watermarked. Every
//!   retrieval, served or refused, is a store event.
//!
//! ```
//! use cavra_deliver::config::Config;
//! use cavra_deliver::identity::Signer;
//! use cavra_deliver::records::{retrieve, Retrieved};
//! use cavra_render::signed::SigningKey;
//! use cavra_store::{NewItem, Store};
//! let key = SigningKey::generate().unwrap();
//! let config = Config::from_toml(&format!(
//!     "[roles.auditor]\npermissions = [\"retrieve\"]\nclassifications = [\"internal\"]\n\
//!      [principals.ext-audit]\npublic_key = \"{}\"\nroles = [\"auditor\"]\n",
//!     key.public_key().base64()
//! )).unwrap();
//! let auditor = Signer::authenticate(&config, key).unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let url = format!("sqlite:{}", dir.path().join("store.db").display());
//! Store::migrate(&url, &[]).unwrap();
//! let mut store = Store::open(&url, &dir.path().join("blobs")).unwrap();
//! let mut new = NewItem {
//!     tenant_ref: "tenant:a".into(), kind: "board_pack".into(), format: "csv".into(), name: "board_pack.csv".into(),
//!     report_id: None, package: None, classification: "internal".into(),
//!     retention_class: "governance_record".into(), created_at: 1_800_000_000,
//! };
//! let policy = config.retention_policy();
//! let (internal, _) = store.register(&new, &b"a,b\n"[..], &policy, 1_800_000_000).unwrap();
//! new.classification = "confidential".into();
//! let (secret, _) = store.register(&new, &b"c,d\n"[..], &policy, 1_800_000_000).unwrap();
//! let served = retrieve(&mut store, &config, &auditor, &internal.id, 1_800_000_100).unwrap();
//! assert!(matches!(served, Retrieved::Served { .. }));
//! let refused = retrieve(&mut store, &config, &auditor, &secret.id, 1_800_000_100).unwrap();
//! assert!(matches!(refused, Retrieved::Refused { .. }));
//! assert_eq!(store.events(Some(&secret.id)).unwrap().len(), 2); // registered, refused
//! ```

use serde::{Deserialize, Serialize};

pub mod documents;

use cavra_store::retention::{plan as make_plan, PlanEntry};
use cavra_store::{
    ApprovalAction, EventAction, Hold, HoldTarget, Item, ItemState, Outcome, Store, StoreError, StoreEvent,
    StoredApproval, Tombstone,
};

use crate::config::{Config, Permission};
use crate::identity::{gate_free_text, Signer};
use crate::statement::SignedStatement;

/// Format of a retention approval.
pub const RETENTION_APPROVAL_FORMAT: &str = "cavra.retention_approval.v1";

/// What a retention approval says, signed by the approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionApprovalStatement {
    /// [`RETENTION_APPROVAL_FORMAT`].
    pub format: String,
    /// The item.
    pub item_id: String,
    /// Its digest, so the approval covers these bytes and no others.
    pub item_sha256: String,
    /// `delete` or `release`.
    pub action: String,
    /// The approver's key id.
    pub approver_key_id: String,
    /// Unix seconds.
    pub approved_at: i64,
    /// The matter or ticket reference (gated free text).
    pub reason: String,
}

/// Why a governed records action failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The principal may not do this, or a rule forbids it.
    #[error("refused: {0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(why: impl Into<String>) -> RecordsError {
    RecordsError::Refused(why.into())
}

fn require(config: &Config, signer: &Signer, permission: Permission) -> Result<(), RecordsError> {
    signer.require(config, permission).map_err(|r| refused(r.problems.join("; ")))
}

/// Places a legal hold on an item, or on every retained item of a tenant.
///
/// # Errors
/// A signer without `legal_hold`; a reason the safety gate refuses; storage.
pub fn hold(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    target: &HoldTarget,
    reason: &str,
    now: i64,
) -> Result<Vec<Item>, RecordsError> {
    require(config, signer, Permission::LegalHold)?;
    gate_free_text(reason).map_err(|why| refused(format!("the hold reason {why}")))?;
    let h = Hold { reason: reason.to_string(), since: now, by_key_id: signer.key_id() };
    Ok(store.hold(target, &h, now)?)
}

/// Signs and keeps a retention approval for `action` on item `id`.
///
/// # Errors
/// A signer without `approve_retention`; a release approval by the
/// principal who placed the hold; a gated reason; storage.
pub fn approve(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    id: &str,
    action: ApprovalAction,
    reason: &str,
    now: i64,
) -> Result<StoredApproval, RecordsError> {
    require(config, signer, Permission::ApproveRetention)?;
    gate_free_text(reason).map_err(|why| refused(format!("the approval reason {why}")))?;
    let item = store.item(id)?;
    if action == ApprovalAction::Release {
        match &item.hold {
            None => return Err(refused(format!("{id} is not under legal hold"))),
            Some(h) if h.by_key_id == signer.key_id() => {
                return Err(refused("the principal who placed a hold cannot approve its release"))
            }
            Some(_) => {}
        }
    }
    let body = RetentionApprovalStatement {
        format: RETENTION_APPROVAL_FORMAT.into(),
        item_id: item.id.clone(),
        item_sha256: item.sha256.clone(),
        action: action.as_str().into(),
        approver_key_id: signer.key_id(),
        approved_at: now,
        reason: reason.to_string(),
    };
    let signed = SignedStatement::sign(signer.key(), RETENTION_APPROVAL_FORMAT, &body)
        .map_err(|e| refused(format!("signing the approval: {e}")))?;
    let digest = cavra_package::manifest::sha256_tagged(signed.body.as_bytes());
    let a = StoredApproval {
        id: format!("rap-{}", digest.trim_start_matches("sha256:").get(..20).unwrap_or_default()),
        item_id: item.id,
        action,
        approver_key_id: signer.key_id(),
        body: signed.body,
        signature: signed.signature,
    };
    store.put_approval(&a, now)?;
    Ok(a)
}

/// The id of an approval of `action` on `item` that verifies now: signed by
/// a configured principal that holds `approve_retention`, over this item's
/// id and digest, and not by `not_by` (the key that would act on it).
///
/// # Errors
/// Storage.
pub fn verified_approval(
    store: &mut Store,
    config: &Config,
    item: &Item,
    action: ApprovalAction,
    not_by: Option<&str>,
) -> Result<Option<String>, RecordsError> {
    for a in store.approvals(&item.id, action)? {
        let Some((_, key)) = config.principal_key(&a.approver_key_id) else { continue };
        if !config.key_allows(key, Permission::ApproveRetention) || not_by == Some(a.approver_key_id.as_str()) {
            continue;
        }
        let signed = SignedStatement { body: a.body.clone(), signature: a.signature.clone() };
        let Ok(body) = signed.open::<RetentionApprovalStatement>(key, RETENTION_APPROVAL_FORMAT) else { continue };
        if body.item_id == item.id
            && body.item_sha256 == item.sha256
            && body.action == action.as_str()
            && body.approver_key_id == a.approver_key_id
        {
            return Ok(Some(a.id));
        }
    }
    Ok(None)
}

/// Releases the legal hold on `id`: the signer needs `legal_hold`, and a
/// release approval by another principal must verify.
///
/// # Errors
/// No verified approval; a signer without the permission; storage.
pub fn release(store: &mut Store, config: &Config, signer: &Signer, id: &str, now: i64) -> Result<Item, RecordsError> {
    require(config, signer, Permission::LegalHold)?;
    let item = store.item(id)?;
    let key_id = signer.key_id();
    let Some(approval) = verified_approval(store, config, &item, ApprovalAction::Release, Some(&key_id))? else {
        return Err(refused(format!(
            "releasing the hold on {id} needs a release approval signed by another principal with approve_retention \
             (cavra-reports retention approve {id} --action release --as KEYREF)"
        )));
    };
    Ok(store.release(id, &approval, &key_id, now)?)
}

/// The retention plan at `now`: every expired retained item and what
/// retention may do with it.
///
/// # Errors
/// Storage.
pub fn plan(store: &mut Store, config: &Config, now: i64) -> Result<Vec<PlanEntry>, RecordsError> {
    let policy = config.retention_policy();
    let items = store.all(&cavra_store::query::Filter::default())?;
    let mut failure = None;
    let entries = make_plan(&policy, items, now, &mut |item| match verified_approval(
        store,
        config,
        item,
        ApprovalAction::Delete,
        None,
    ) {
        Ok(a) => a,
        Err(e) => {
            failure.get_or_insert(e);
            None
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(entries),
    }
}

/// Carries out the plan at `now` as `signer` (who needs `apply_retention`).
///
/// # Errors
/// A signer without the permission; storage.
pub fn apply(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    now: i64,
) -> Result<(Vec<PlanEntry>, Vec<Tombstone>), RecordsError> {
    require(config, signer, Permission::ApplyRetention)?;
    let entries = plan(store, config, now)?;
    let tombstones = store.apply(&entries, now)?;
    Ok((entries, tombstones))
}

/// What a retrieval gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retrieved {
    /// The copy to hand out.
    Served {
        /// The item.
        item: Item,
        /// The retrieval id (`ret-<event sequence number>`).
        retrieval_id: String,
        /// What to hand out.
        copy: Copy,
    },
    /// Refused; the refusal is recorded too.
    Refused {
        /// The item, when it exists.
        item: Option<Item>,
        /// Why.
        reason: String,
        /// The refusal's retrieval id.
        retrieval_id: String,
    },
}

/// The bytes a served retrieval hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copy {
    /// The stored bytes, unchanged: stream them from the blob folder
    /// ([`cavra_store::blobs::Blobs::copy_to`], which checks them again).
    Stored,
    /// A watermarked copy (PDF, Word, HTML).
    Watermarked(Vec<u8>),
}

/// Largest item a watermarked copy is made of.
pub const WATERMARK_LIMIT: u64 = 256 << 20;

/// Why `signer` may not have `item` at `now`, if it may not.
fn refusal(config: &Config, signer: &Signer, item: &Item, now: i64) -> Option<String> {
    if !signer.allows(config, Permission::Retrieve) {
        return Some(format!("principal `{}` lacks the `retrieve` permission", signer.name()));
    }
    if !signer.roles().iter().any(|r| config.role_reads(r, &item.classification)) {
        return Some(format!(
            "principal `{}` (roles {}) may not retrieve {} items",
            signer.name(),
            signer.roles().join(", "),
            item.classification
        ));
    }
    if item.state == ItemState::Deleted {
        return Some(format!(
            "{} was deleted under retention class {}; its tombstone remains",
            item.id, item.retention_class
        ));
    }
    if cavra_store::watermark::watermarks(&item.format) && item.size > WATERMARK_LIMIT {
        return Some(format!("{} is larger than the {WATERMARK_LIMIT}-byte limit for a watermarked copy", item.id));
    }
    if item.hold.is_none() && config.retention_policy().effective_expiry(item).is_some_and(|e| e <= now) {
        return Some(format!("{} is past its retention (class {}) and awaits deletion", item.id, item.retention_class));
    }
    None
}

/// Retrieves item `id` as `signer` at `now`. Every outcome — served,
/// refused, or an unknown id — is a store event.
///
/// # Errors
/// Storage (an altered blob is an error, never served).
pub fn retrieve(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    id: &str,
    now: i64,
) -> Result<Retrieved, RecordsError> {
    let item = match store.item(id) {
        Ok(item) => item,
        Err(StoreError::NotFound(_)) => {
            let e = StoreEvent {
                seq: 0,
                at: now,
                action: EventAction::Retrieve,
                outcome: Outcome::Refused,
                item_id: None,
                tenant_ref: None,
                actor_key_id: Some(signer.key_id()),
                detail: Some("no such item".into()),
            };
            let seq = store.record(&e)?;
            return Ok(Retrieved::Refused {
                item: None,
                reason: format!("no item `{id}`"),
                retrieval_id: retrieval_id(seq),
            });
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(reason) = refusal(config, signer, &item, now) {
        let e =
            StoreEvent::about(now, EventAction::Retrieve, Outcome::Refused, &item).by(signer.key_id()).detail(&reason);
        let seq = store.record(&e)?;
        return Ok(Retrieved::Refused { item: Some(item), reason, retrieval_id: retrieval_id(seq) });
    }
    let recipient_class =
        signer.roles().iter().find(|r| config.role_reads(r, &item.classification)).cloned().unwrap_or_default();
    let watermarked = cavra_store::watermark::watermarks(&item.format);
    // The bytes are checked against their digest before anything is recorded as served.
    let stored = if watermarked {
        Some(store.blobs().read(&item.sha256)?)
    } else {
        store.blobs().copy_to(&item.sha256, std::io::sink())?;
        None
    };
    let detail =
        if watermarked { format!("watermarked copy for role {recipient_class}") } else { "stored bytes".into() };
    let e = StoreEvent::about(now, EventAction::Retrieve, Outcome::Done, &item).by(signer.key_id()).detail(detail);
    let seq = store.record(&e)?;
    let rid = retrieval_id(seq);
    let mark =
        cavra_store::watermark::Watermark { recipient_class, retrieval_id: rid.clone(), item_id: item.id.clone() };
    let copy = match stored {
        Some(bytes) => match cavra_store::watermark::apply(&item.format, &bytes, &mark)? {
            Some(marked) => Copy::Watermarked(marked),
            None => Copy::Stored,
        },
        None => Copy::Stored,
    };
    Ok(Retrieved::Served { item, retrieval_id: rid, copy })
}

fn retrieval_id(seq: u64) -> String {
    format!("ret-{seq:010}")
}

/// Registers a package file and the files inside it (each with the
/// package's id, so a search by package finds them all), after checking the
/// package against the signer's public key: the store records only what
/// verifies. Returns every item and whether it was new.
///
/// # Errors
/// A package that does not verify or whose manifest cannot be read; storage.
pub fn register_package(
    store: &mut Store,
    config: &Config,
    path: &std::path::Path,
    public_key_file: &str,
    classification: &str,
    now: i64,
) -> Result<Vec<(Item, bool)>, RecordsError> {
    use std::io::Read;
    let shown = path.display().to_string();
    let open = || std::fs::File::open(path).map_err(|e| StoreError::Io { path: shown.clone(), source: e });
    let limits = cavra_package::verify::Limits::default();
    let v = cavra_package::verify::verify_package(std::io::BufReader::new(open()?), public_key_file, &limits)
        .map_err(|e| refused(format!("{shown}: {e}")))?;
    if !v.ok() {
        let why: Vec<String> =
            v.failures().map(|c| format!("{}: {}", c.path, c.problem.clone().unwrap_or_default())).collect();
        return Err(refused(format!("{shown} does not verify: {}", why.join("; "))));
    }
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(open()?))
        .map_err(|e| refused(format!("{shown}: not a readable package: {e}")))?;
    let manifest: cavra_package::Manifest = {
        let mut text = String::new();
        let entry =
            zip.by_name(cavra_package::manifest::MANIFEST_PATH).map_err(|e| refused(format!("{shown}: {e}")))?;
        entry
            .take(limits.max_manifest_bytes)
            .read_to_string(&mut text)
            .map_err(|e| refused(format!("{shown}: {e}")))?;
        serde_json::from_str(&text).map_err(|e| refused(format!("{shown}: manifest.json: {e}")))?
    };
    let created_at = cavra_model::Timestamp::parse(&manifest.generated_at)
        .map_err(|e| refused(format!("{shown}: manifest generated_at: {e}")))?
        .unix_seconds();
    let policy = config.retention_policy();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("package.zip").to_string();
    let item = |name: String, kind: String, format: String, report_id: Option<String>| cavra_store::NewItem {
        tenant_ref: manifest.tenant_ref.clone(),
        kind,
        format,
        name,
        report_id,
        package: Some(manifest.package_id.clone()),
        classification: classification.to_string(),
        retention_class: manifest.retention_class.as_str().to_string(),
        created_at,
    };
    let mut out = vec![store.register(
        &item(name, manifest.package_type.clone(), "package".into(), None),
        std::io::BufReader::new(open()?),
        &policy,
        now,
    )?];
    for a in manifest.artifacts.iter().filter(|a| a.sha256.is_some()) {
        let entry = zip.by_name(&a.path).map_err(|e| refused(format!("{shown}: {}: {e}", a.path)))?;
        let file = a.path.rsplit('/').next().unwrap_or(&a.path).to_string();
        let kind = match &a.report_id {
            Some(_) => file.split('.').next().unwrap_or(&file).to_string(),
            None => a.format.clone(),
        };
        let new = item(file, kind, a.format.clone(), a.report_id.clone());
        let registered = store.register(&new, entry.take(limits.max_entry_bytes), &policy, now)?;
        if Some(&registered.0.sha256) != a.sha256.as_ref() {
            return Err(refused(format!("{shown}: {} changed while it was read", a.path)));
        }
        out.push(registered);
    }
    Ok(out)
}

/// Largest single artifact `store register` reads (it is gated whole).
pub const ARTIFACT_LIMIT: u64 = 512 << 20;

/// Registers one artifact file that the report center did not just write
/// (`store register` without `--pubkey`): its kind must be a report kind,
/// its format one the report center writes, its tenant reference plain
/// text the safety gate accepts, and its bytes — read whole, at most
/// [`ARTIFACT_LIMIT`] — must pass the output gate of
/// their format, as a rendered artifact's do. The store records nothing the
/// gate refuses.
///
/// # Errors
/// A refused kind, format, tenant or content; I/O and storage.
pub fn register_artifact(
    store: &mut Store,
    config: &Config,
    path: &std::path::Path,
    new: &cavra_store::NewItem,
    now: i64,
) -> Result<(Item, bool), RecordsError> {
    new.kind.parse::<cavra_model::ReportKind>().map_err(refused)?;
    let format: cavra_render::Format = new.format.parse().map_err(refused)?;
    if new.format != format.name() {
        return Err(refused(format!("give the format as `{}`", format.name())));
    }
    gate_free_text(&new.tenant_ref).map_err(|why| refused(format!("the tenant reference {why}")))?;
    if new.tenant_ref.is_empty() || new.tenant_ref.chars().any(char::is_whitespace) {
        return Err(refused("a tenant reference is one word, like tenant:northwind-prod"));
    }
    if !crate::config::CLASSIFICATIONS.contains(&new.classification.as_str()) {
        return Err(refused(format!(
            "`{}` is not one of {}",
            new.classification,
            crate::config::CLASSIFICATIONS.join(", ")
        )));
    }
    let shown = path.display().to_string();
    let bytes =
        cavra_model::limits::read_bounded(path, ARTIFACT_LIMIT).map_err(|e| refused(format!("{shown}: {e}")))?;
    cavra_render::gate_bytes(&new.name, format, &bytes).map_err(|e| refused(format!("{shown}: {e}")))?;
    Ok(store.register(new, bytes.as_slice(), &config.retention_policy(), now)?)
}
