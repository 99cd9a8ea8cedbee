//! Retention classes and the retention plan: what has expired, and what
//! may be done about it.
//!
//! ```
//! use cavra_store::retention::{Decision, RetentionPolicy};
//! let policy = RetentionPolicy::default();
//! assert_eq!(policy.class("governance_record").unwrap().days, Some(365));
//! assert_eq!(policy.class("legal_hold").unwrap().days, None); // never expires
//! // a year after it was created, a governance record has expired
//! let created = 1_800_000_000;
//! assert_eq!(policy.expiry("governance_record", created).unwrap(), Some(created + 365 * 86_400));
//! assert!(policy.expiry("no_such_class", created).is_err());
//! # let _ = Decision::Delete;
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Item;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// One retention class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClassRule {
    /// Days an item is kept after its `created_at` (`None`: kept until
    /// someone decides otherwise; it never expires by age).
    pub days: Option<u32>,
    /// Whether deleting an expired item needs a signed approval.
    pub deletion_approval: bool,
}

/// Retention classes by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    /// The classes.
    pub classes: BTreeMap<String, ClassRule>,
}

impl Default for RetentionPolicy {
    /// The contract's four classes: operational records for 90 days,
    /// governance records (reports) for 365, audit records for 2,555 with
    /// deletion approval, and `legal_hold`, which never expires.
    fn default() -> Self {
        let rule = |days, deletion_approval| ClassRule { days, deletion_approval };
        RetentionPolicy {
            classes: BTreeMap::from([
                ("operational_record".to_string(), rule(Some(90), false)),
                ("governance_record".to_string(), rule(Some(365), false)),
                ("audit_record".to_string(), rule(Some(2555), true)),
                ("legal_hold".to_string(), rule(None, true)),
            ]),
        }
    }
}

impl RetentionPolicy {
    /// The rule of a class.
    ///
    /// # Errors
    /// An unknown class, naming the known ones.
    pub fn class(&self, name: &str) -> Result<&ClassRule, String> {
        self.classes.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.classes.keys().map(String::as_str).collect();
            format!("unknown retention class `{name}` (known: {})", known.join(", "))
        })
    }

    /// When an item of `class` created at `created_at` expires.
    ///
    /// # Errors
    /// An unknown class.
    pub fn expiry(&self, class: &str, created_at: i64) -> Result<Option<i64>, String> {
        Ok(self.class(class)?.days.map(|d| created_at.saturating_add(i64::from(d) * DAY)))
    }

    /// When `item` expires under this policy: the later of the expiry fixed
    /// when it was registered and the one today's policy gives, so changing
    /// a class never deletes anything sooner than either says. An item
    /// whose class is no longer configured never expires.
    pub fn effective_expiry(&self, item: &Item) -> Option<i64> {
        let now_rule = self.expiry(&item.retention_class, item.created_at).ok()?;
        match (item.expires_at, now_rule) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        }
    }
}

/// What retention may do with an expired item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    /// Its bytes will be deleted.
    Delete,
    /// Its bytes will be deleted under this approval.
    DeleteApproved {
        /// The approval id.
        approval: String,
    },
    /// Its class requires a deletion approval and there is none that verifies.
    NeedsApproval,
    /// It is under legal hold and is kept, whatever its age.
    Held,
}

impl Decision {
    /// Whether `retention apply` deletes it.
    pub fn deletes(&self) -> bool {
        matches!(self, Decision::Delete | Decision::DeleteApproved { .. })
    }

    /// The approval it is deleted under.
    pub fn approval(&self) -> Option<&str> {
        match self {
            Decision::DeleteApproved { approval } => Some(approval),
            Decision::Delete | Decision::NeedsApproval | Decision::Held => None,
        }
    }

    /// A short reason, for people.
    pub fn reason(&self) -> String {
        match self {
            Decision::Delete => "expired; its class needs no deletion approval".into(),
            Decision::DeleteApproved { approval } => format!("expired; deletion approved by {approval}"),
            Decision::NeedsApproval => {
                "expired; its class requires a signed deletion approval and none verifies".into()
            }
            Decision::Held => "expired but under legal hold: kept".into(),
        }
    }
}

/// One line of a retention plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanEntry {
    /// The item.
    pub item: Item,
    /// When it expired (Unix seconds).
    pub expired_at: i64,
    /// What retention may do.
    #[serde(flatten)]
    pub decision: Decision,
}

/// Decides what to do with each expired item among `items` at `now`.
/// `approval` returns the id of a verified deletion approval for an item,
/// if there is one. Items not yet expired, or already deleted, are left out.
pub fn plan(
    policy: &RetentionPolicy,
    items: impl IntoIterator<Item = Item>,
    now: i64,
    approval: &mut dyn FnMut(&Item) -> Option<String>,
) -> Vec<PlanEntry> {
    let mut out = Vec::new();
    for item in items {
        if item.state != crate::ItemState::Retained {
            continue;
        }
        let Some(expired_at) = policy.effective_expiry(&item) else { continue };
        if expired_at > now {
            continue;
        }
        let decision = if item.hold.is_some() {
            Decision::Held
        } else if policy.class(&item.retention_class).is_ok_and(|c| c.deletion_approval) {
            approval(&item).map_or(Decision::NeedsApproval, |a| Decision::DeleteApproved { approval: a })
        } else {
            Decision::Delete
        };
        out.push(PlanEntry { item, expired_at, decision });
    }
    out
}
