//! The evidence-room access-event vocabulary: what an audit record says
//! about a view, a download, a revocation, an expiry, a failed
//! authentication, a failed policy decision or a watermark — never an
//! address, an IP address, a URL or a token, only the recipient's class,
//! references and outcomes. It travels in the signed audit log as an
//! [`crate::audit::AuditEvent`]'s `room_access`.
//!
//! ```
//! use cavra_deliver::access::*;
//! let e = AccessEvent::new(AccessType::Download, AccessOutcome::Allowed, "room-1")
//!     .actor("external_auditor")
//!     .link("lnk-1", LinkState::Valid)
//!     .artifact("itm-1")
//!     .watermark(WatermarkState::Applied);
//! assert_eq!(serde_json::to_value(&e).unwrap()["event_type"], "download");
//! ```

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessType {
    /// The room's page was opened.
    View,
    /// An artifact was downloaded.
    Download,
    /// A link or a room was revoked.
    Revocation,
    /// A link or a room was used after its expiry.
    Expiry,
    /// A token or a second factor did not verify.
    FailedAuthentication,
    /// A policy refused (terms not accepted, an artifact outside the room, a closed room).
    FailedPolicyDecision,
    /// A watermarked copy was made.
    Watermark,
    /// The room's terms were accepted.
    TermsAcceptance,
    /// A room was created.
    RoomCreated,
    /// A link was issued.
    LinkIssued,
    /// A room was closed.
    RoomClosed,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessOutcome {
    /// Allowed.
    Allowed,
    /// Denied.
    Denied,
}

/// The second factor's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MfaStatus {
    /// The room asks for none.
    NotRequired,
    /// Verified.
    Verified,
    /// Asked for and not given yet.
    Missing,
    /// A wrong code.
    Failed,
}

/// A watermark's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WatermarkState {
    /// The copy was watermarked.
    Applied,
    /// A format served as stored (data files, packages).
    NotApplicable,
    /// Nothing was served.
    None,
}

/// A signed link's state when it was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// It verified.
    Valid,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
    /// Its signature did not verify, or it could not be read.
    Tampered,
    /// Valid, but for another room.
    WrongRoom,
    /// No link was involved (an operator's command).
    Absent,
}

/// The signed link an event concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkUse {
    /// The link's id (`lnk-…`), when it could be read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub link_ref: Option<String>,
    /// Its state.
    pub state: LinkState,
}

/// A retention or licence check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Passed.
    Passed,
    /// Failed.
    Failed,
    /// Not made.
    NotApplicable,
}

/// One evidence-room access event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessEvent {
    /// What happened.
    pub event_type: AccessType,
    /// How it ended.
    pub outcome: AccessOutcome,
    /// The room (`room-…`), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub room_ref: Option<String>,
    /// The actor's class (the link's recipient class, `operator`, or `unknown`).
    pub actor_class: String,
    /// The second factor.
    pub mfa_status: MfaStatus,
    /// The rules that decided (`link_signature`, `room_expiry`, `terms`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_refs: Vec<String>,
    /// The artifacts concerned (item ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifact_refs: Vec<String>,
    /// The watermark.
    pub watermark_state: WatermarkState,
    /// The signed link.
    pub signed_link: LinkUse,
    /// Whether the room and its artifacts were within their retention.
    pub retention_check: CheckState,
    /// The access id of a served download (`acc-…`), printed in its watermark.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub access_id: Option<String>,
}

impl AccessEvent {
    /// An event of `event_type` ending in `outcome` in room `room`.
    pub fn new(event_type: AccessType, outcome: AccessOutcome, room: &str) -> AccessEvent {
        AccessEvent {
            event_type,
            outcome,
            room_ref: (!room.is_empty()).then(|| room.to_string()),
            actor_class: "unknown".into(),
            mfa_status: MfaStatus::NotRequired,
            policy_refs: Vec::new(),
            artifact_refs: Vec::new(),
            watermark_state: WatermarkState::None,
            signed_link: LinkUse { link_ref: None, state: LinkState::Absent },
            retention_check: CheckState::NotApplicable,
            access_id: None,
        }
    }

    /// With the actor's class.
    #[must_use]
    pub fn actor(mut self, class: &str) -> AccessEvent {
        self.actor_class = class.to_string();
        self
    }

    /// With the link and its state.
    #[must_use]
    pub fn link(mut self, link: &str, state: LinkState) -> AccessEvent {
        self.signed_link = LinkUse { link_ref: (!link.is_empty()).then(|| link.to_string()), state };
        self
    }

    /// With an artifact.
    #[must_use]
    pub fn artifact(mut self, item: &str) -> AccessEvent {
        self.artifact_refs.push(item.to_string());
        self
    }

    /// With a deciding rule.
    #[must_use]
    pub fn policy(mut self, rule: &str) -> AccessEvent {
        self.policy_refs.push(rule.to_string());
        self
    }

    /// With the watermark's state.
    #[must_use]
    pub fn watermark(mut self, state: WatermarkState) -> AccessEvent {
        self.watermark_state = state;
        self
    }

    /// With the second factor's state.
    #[must_use]
    pub fn mfa(mut self, status: MfaStatus) -> AccessEvent {
        self.mfa_status = status;
        self
    }

    /// With the retention check.
    #[must_use]
    pub fn retention(mut self, state: CheckState) -> AccessEvent {
        self.retention_check = state;
        self
    }

    /// With the access id.
    #[must_use]
    pub fn access_id(mut self, id: &str) -> AccessEvent {
        self.access_id = Some(id.to_string());
        self
    }

    /// The audit-log event carrying it, at `at` (RFC 3339).
    pub fn audit_event(&self, at: &str) -> crate::audit::AuditEvent {
        use crate::audit::{AuditAction, AuditEvent, AuditStatus};
        let status = match self.outcome {
            AccessOutcome::Allowed => AuditStatus::Accepted,
            AccessOutcome::Denied => AuditStatus::BlockedPolicy,
        };
        let mut e = AuditEvent::new(at, AuditAction::RoomAccess, status);
        e.room_access = Some(self.clone());
        e
    }
}
