//! The store's records: items, holds, tombstones, retention approvals and
//! store events.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Whether an item's bytes are still kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// The bytes are kept.
    Retained,
    /// The bytes were deleted under retention; a tombstone remains.
    Deleted,
}

impl ItemState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Retained => "retained",
            ItemState::Deleted => "deleted",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<ItemState, crate::StoreError> {
        match s {
            "retained" => Ok(ItemState::Retained),
            "deleted" => Ok(ItemState::Deleted),
            other => Err(crate::StoreError::Corrupt(format!("unknown item state `{other}`"))),
        }
    }
}

/// A legal hold on an item: while it is set, the item's bytes are never
/// deleted, whatever its age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    /// The matter or ticket reference the hold was placed under (free text,
    /// gated; never a person's name or address).
    pub reason: String,
    /// Unix seconds when it was placed.
    pub since: i64,
    /// Key id of the principal that placed it.
    pub by_key_id: String,
}

/// What the caller knows about an artifact when it registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// Tenant reference (`tenant:…`).
    pub tenant_ref: String,
    /// Report kind (`board_pack`…) or package type (`board_and_audit_bundle`…).
    pub kind: String,
    /// Format name (`pdf`, `xlsx`, `package`…).
    pub format: String,
    /// File name it was written under (no folders).
    pub name: String,
    /// The report it was rendered from, when it is a report artifact.
    pub report_id: Option<String>,
    /// The package it belongs to (its package id), when it came in one.
    pub package: Option<String>,
    /// Handling classification (`public`, `internal`, `confidential`).
    pub classification: String,
    /// Retention class name (a class of the retention policy).
    pub retention_class: String,
    /// Unix seconds of the snapshot's `as_of` the artifact was built from.
    pub created_at: i64,
}

/// A stored artifact or package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Stable id: derived from the tenant, the bytes' digest and the package.
    pub id: String,
    /// Tenant reference.
    pub tenant_ref: String,
    /// Report kind or package type.
    pub kind: String,
    /// Format name.
    pub format: String,
    /// File name.
    pub name: String,
    /// Report id, for report artifacts.
    pub report_id: Option<String>,
    /// Package id, when it came in a package.
    pub package: Option<String>,
    /// `sha256:<hex>` of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Handling classification.
    pub classification: String,
    /// Retention class.
    pub retention_class: String,
    /// Unix seconds of the snapshot's `as_of`.
    pub created_at: i64,
    /// Unix seconds after which it may be deleted (`None`: never expires).
    pub expires_at: Option<i64>,
    /// The legal hold, if one is set.
    pub hold: Option<Hold>,
    /// Whether the bytes are kept.
    pub state: ItemState,
}

/// Prefix of item ids.
pub const ITEM_ID_PREFIX: &str = "itm-";

/// The id an item with these coordinates gets: the same bytes registered
/// again for the same tenant and package get the same id.
pub fn item_id(tenant_ref: &str, sha256: &str, package: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in ["cavra.store.item.v1", tenant_ref, sha256, package.unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let hex = format!("{:x}", h.finalize());
    format!("{ITEM_ID_PREFIX}{}", &hex[..24])
}

/// What remains of an item whose bytes were deleted under retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tombstone {
    /// The item's id.
    pub item_id: String,
    /// Tenant reference.
    pub tenant_ref: String,
    /// `sha256:` of the deleted bytes.
    pub sha256: String,
    /// Their size.
    pub size: u64,
    /// The retention class it was kept under.
    pub retention_class: String,
    /// Unix seconds when its retention ran out.
    pub expired_at: i64,
    /// Unix seconds when the bytes were deleted.
    pub deleted_at: i64,
    /// The deletion approval it was deleted under (`rap-…`), when its class
    /// requires one.
    pub approval: Option<String>,
}

/// Retention actions that need an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalAction {
    /// Deleting an expired item of a class that requires approval.
    Delete,
    /// Releasing a legal hold.
    Release,
}

impl ApprovalAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalAction::Delete => "delete",
            ApprovalAction::Release => "release",
        }
    }

    /// Reads a stored or command-line name.
    ///
    /// # Errors
    /// An unknown name.
    pub fn parse(s: &str) -> Result<ApprovalAction, String> {
        match s {
            "delete" => Ok(ApprovalAction::Delete),
            "release" => Ok(ApprovalAction::Release),
            other => Err(format!("unknown retention action `{other}` (known: delete, release)")),
        }
    }
}

/// A signed retention approval as the store keeps it: the statement's body
/// and detached signature, checked against the approver's key each time it
/// is used (the store itself trusts nothing it holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredApproval {
    /// `rap-…`, derived from the body.
    pub id: String,
    /// The item it approves an action on.
    pub item_id: String,
    /// The action.
    pub action: ApprovalAction,
    /// Key id of the approver.
    pub approver_key_id: String,
    /// Canonical JSON of the signed statement.
    pub body: String,
    /// Its minisign signature.
    pub signature: String,
}

/// What a store event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    /// An item was registered.
    Register,
    /// An item was asked for.
    Retrieve,
    /// A legal hold was placed.
    Hold,
    /// A legal hold was released.
    Release,
    /// A retention approval was recorded.
    Approve,
    /// An item's bytes were deleted under retention.
    Delete,
}

impl EventAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Register => "register",
            EventAction::Retrieve => "retrieve",
            EventAction::Hold => "hold",
            EventAction::Release => "release",
            EventAction::Approve => "approve",
            EventAction::Delete => "delete",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<EventAction, crate::StoreError> {
        Ok(match s {
            "register" => EventAction::Register,
            "retrieve" => EventAction::Retrieve,
            "hold" => EventAction::Hold,
            "release" => EventAction::Release,
            "approve" => EventAction::Approve,
            "delete" => EventAction::Delete,
            other => return Err(crate::StoreError::Corrupt(format!("unknown event action `{other}`"))),
        })
    }
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Done,
    /// Refused (the detail says why).
    Refused,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Refused => "refused",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Outcome, crate::StoreError> {
        match s {
            "done" => Ok(Outcome::Done),
            "refused" => Ok(Outcome::Refused),
            other => Err(crate::StoreError::Corrupt(format!("unknown outcome `{other}`"))),
        }
    }
}

/// One line of the store's own append-only event table. Operators who need
/// a record a distrustful party can check keep the signed audit log as well;
/// the command line writes both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreEvent {
    /// Sequence number, assigned by the store (0 before it is appended).
    pub seq: u64,
    /// Unix seconds (the caller's clock).
    pub at: i64,
    /// What was done.
    pub action: EventAction,
    /// How it ended.
    pub outcome: Outcome,
    /// The item concerned.
    pub item_id: Option<String>,
    /// The tenant concerned.
    pub tenant_ref: Option<String>,
    /// Key id of the principal that acted.
    pub actor_key_id: Option<String>,
    /// Why (for refusals), or the reference acted under.
    pub detail: Option<String>,
}

impl StoreEvent {
    /// An event about `item`.
    pub fn about(at: i64, action: EventAction, outcome: Outcome, item: &Item) -> StoreEvent {
        StoreEvent {
            seq: 0,
            at,
            action,
            outcome,
            item_id: Some(item.id.clone()),
            tenant_ref: Some(item.tenant_ref.clone()),
            actor_key_id: None,
            detail: None,
        }
    }

    /// Sets the actor.
    pub fn by(mut self, key_id: impl Into<String>) -> StoreEvent {
        self.actor_key_id = Some(key_id.into());
        self
    }

    /// Sets the detail.
    pub fn detail(mut self, detail: impl Into<String>) -> StoreEvent {
        self.detail = Some(detail.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_are_stable_and_depend_on_every_coordinate() {
        let a = item_id("tenant:a", "sha256:00", None);
        assert_eq!(a, item_id("tenant:a", "sha256:00", None));
        assert_eq!(a.len(), ITEM_ID_PREFIX.len() + 24);
        assert_ne!(a, item_id("tenant:b", "sha256:00", None));
        assert_ne!(a, item_id("tenant:a", "sha256:01", None));
        assert_ne!(a, item_id("tenant:a", "sha256:00", Some("pkg-1")));
        // the separators keep coordinates from running into each other
        assert_ne!(item_id("tenant:ab", "c", None), item_id("tenant:a", "bc", None));
    }
}
