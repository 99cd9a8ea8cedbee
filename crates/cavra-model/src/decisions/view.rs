//! [`DecisionView`]: the fields of a decision, held or stored.

use super::Store;
use crate::input::{Decision, DecisionKind, Severity, Timestamp};
use crate::Text;

/// What a decision shows, whether held as a [`Decision`] or stored in
/// [`Decisions`]: one method per field of the decision record.
pub trait DecisionView {
    /// Unique decision id.
    fn decision_id(&self) -> &str;
    /// Session link.
    fn session_id(&self) -> &Text;
    /// Agent link.
    fn agent_id(&self) -> &Text;
    /// Who drove the agent; never printed.
    fn actor(&self) -> &Text;
    /// Repository or workspace.
    fn repository(&self) -> &Text;
    /// Kind of action.
    fn action_type(&self) -> &Text;
    /// What the action touched (shown only after target redaction).
    fn target(&self) -> &Text;
    /// Operation label; never printed.
    fn requested_operation(&self) -> &Text;
    /// Policy pack that matched.
    fn policy_pack(&self) -> &Text;
    /// Rule that matched.
    fn rule_id(&self) -> &Text;
    /// The decision.
    fn decision(&self) -> DecisionKind;
    /// Severity.
    fn severity(&self) -> Severity;
    /// Short policy reason.
    fn reason(&self) -> &Text;
    /// When decided.
    fn timestamp(&self) -> Timestamp;
    /// Evidence references, in input order.
    fn evidence_refs(&self) -> EvidenceRefs<'_>;
    /// Tool name for MCP/tool calls.
    fn tool(&self) -> Option<&Text>;
    /// Approval route or approver group.
    fn approval_route(&self) -> Option<&Text>;
}

impl<T: DecisionView + ?Sized> DecisionView for &T {
    fn decision_id(&self) -> &str {
        (**self).decision_id()
    }
    fn session_id(&self) -> &Text {
        (**self).session_id()
    }
    fn agent_id(&self) -> &Text {
        (**self).agent_id()
    }
    fn actor(&self) -> &Text {
        (**self).actor()
    }
    fn repository(&self) -> &Text {
        (**self).repository()
    }
    fn action_type(&self) -> &Text {
        (**self).action_type()
    }
    fn target(&self) -> &Text {
        (**self).target()
    }
    fn requested_operation(&self) -> &Text {
        (**self).requested_operation()
    }
    fn policy_pack(&self) -> &Text {
        (**self).policy_pack()
    }
    fn rule_id(&self) -> &Text {
        (**self).rule_id()
    }
    fn decision(&self) -> DecisionKind {
        (**self).decision()
    }
    fn severity(&self) -> Severity {
        (**self).severity()
    }
    fn reason(&self) -> &Text {
        (**self).reason()
    }
    fn timestamp(&self) -> Timestamp {
        (**self).timestamp()
    }
    fn evidence_refs(&self) -> EvidenceRefs<'_> {
        (**self).evidence_refs()
    }
    fn tool(&self) -> Option<&Text> {
        (**self).tool()
    }
    fn approval_route(&self) -> Option<&Text> {
        (**self).approval_route()
    }
}

impl DecisionView for Decision {
    fn decision_id(&self) -> &str {
        &self.decision_id
    }
    fn session_id(&self) -> &Text {
        &self.session_id
    }
    fn agent_id(&self) -> &Text {
        &self.agent_id
    }
    fn actor(&self) -> &Text {
        &self.actor
    }
    fn repository(&self) -> &Text {
        &self.repository
    }
    fn action_type(&self) -> &Text {
        &self.action_type
    }
    fn target(&self) -> &Text {
        &self.target
    }
    fn requested_operation(&self) -> &Text {
        &self.requested_operation
    }
    fn policy_pack(&self) -> &Text {
        &self.policy_pack
    }
    fn rule_id(&self) -> &Text {
        &self.rule_id
    }
    fn decision(&self) -> DecisionKind {
        self.decision
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn reason(&self) -> &Text {
        &self.reason
    }
    fn timestamp(&self) -> Timestamp {
        self.timestamp
    }
    fn evidence_refs(&self) -> EvidenceRefs<'_> {
        EvidenceRefs(RefsInner::Held(self.evidence_refs.iter()))
    }
    fn tool(&self) -> Option<&Text> {
        self.tool.as_ref()
    }
    fn approval_route(&self) -> Option<&Text> {
        self.approval_route.as_ref()
    }
}

/// A decision's evidence references, in input order.
#[derive(Clone)]
pub struct EvidenceRefs<'a>(pub(super) RefsInner<'a>);

#[derive(Clone)]
pub(super) enum RefsInner<'a> {
    Held(std::slice::Iter<'a, String>),
    Stored { store: &'a Store, next: u32, end: u32 },
}

impl<'a> Iterator for EvidenceRefs<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        match &mut self.0 {
            RefsInner::Held(it) => it.next().map(String::as_str),
            RefsInner::Stored { store, next, end } => {
                if next >= end {
                    return None;
                }
                let s = store.string(*next);
                *next += 1;
                Some(s)
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            RefsInner::Held(it) => it.len(),
            RefsInner::Stored { next, end, .. } => (end - next) as usize,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for EvidenceRefs<'_> {}

impl EvidenceRefs<'_> {
    /// Whether there are none (left).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The references joined with `sep`.
    pub fn join(self, sep: &str) -> String {
        let mut out = String::new();
        for (i, r) in self.enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(r);
        }
        out
    }
}
