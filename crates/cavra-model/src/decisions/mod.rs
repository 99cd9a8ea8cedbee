//! The snapshot's decisions, stored compactly and shared.
//!
//! A tenant's million decisions name a few thousand agents, sessions, rules,
//! repositories and reasons, and carry two strings of their own (the
//! decision id and its evidence references). [`Decisions`] keeps one small
//! fixed-size record per decision: the repeated fields are numbers into one
//! table of shared [`Text`]s, and the decision's own strings sit end to end
//! in one buffer. A decision costs about 80 bytes plus its own strings,
//! against about 450 as a struct of texts. Reports index into the store
//! ([`DecisionRef`], [`SharedDecision`]) instead of copying decisions.
//!
//! A parsed or hand-made [`Decision`] goes in through [`DecisionsBuilder`]
//! (or `From<Vec<Decision>>`); what comes out is a [`DecisionRef`], a view
//! with one method per field. [`DecisionView`] is the part both share, so
//! the posture rules apply to either.
//!
//! ```
//! use cavra_model::decisions::{DecisionView, Decisions};
//! # let mut d = cavra_model::posture::tests_support::decision();
//! d.evidence_refs = vec!["signed://evidence/d-1.json".into()];
//! let decisions = Decisions::from(vec![d.clone()]);
//! let stored = decisions.get(0).unwrap();
//! assert_eq!(stored.decision_id(), "d-1");
//! assert_eq!(stored.agent_id(), "agent-a");
//! assert_eq!(stored.evidence_refs().collect::<Vec<_>>(), ["signed://evidence/d-1.json"]);
//! assert_eq!(stored.to_decision(), d); // nothing is lost
//! ```

use std::fmt;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::input::{Decision, DecisionKind, Severity, Timestamp};
use crate::Text;

mod view;

use view::RefsInner;
pub use view::{DecisionView, EvidenceRefs};

/// A symbol number meaning "absent" (for the optional fields).
const NONE: u32 = u32::MAX;

/// Field positions in [`Record::symbols`].
const SESSION: usize = 0;
const AGENT: usize = 1;
const ACTOR: usize = 2;
const REPOSITORY: usize = 3;
const ACTION: usize = 4;
const TARGET: usize = 5;
const OPERATION: usize = 6;
const PACK: usize = 7;
const RULE: usize = 8;
const REASON: usize = 9;
const TOOL: usize = 10;
const ROUTE: usize = 11;

/// One decision: the shared fields as symbol numbers, its own strings as
/// string numbers.
#[derive(Clone, Copy, PartialEq)]
struct Record {
    symbols: [u32; 12],
    /// Where the decision id sits in the store's bytes (kept in the record
    /// so that reading it is one lookup, not two).
    id: Span,
    first_ref: u32,
    refs: u32,
    timestamp: Timestamp,
    decision: DecisionKind,
    severity: Severity,
    extensions: bool,
}

/// A string in the store's bytes: 40 bits of start, 24 of length (a
/// decision id is at most 64 Ki characters, so at most 256 KiB).
#[derive(Clone, Copy, PartialEq)]
struct Span([u32; 2]);

impl Span {
    fn new(start: u64, len: usize) -> Result<Span, StoreFull> {
        if start >= 1 << 40 || len >= 1 << 24 {
            return Err(StoreFull);
        }
        Ok(Span([start as u32, ((start >> 32) as u32) << 24 | len as u32]))
    }

    fn range(self) -> std::ops::Range<usize> {
        let start = (u64::from(self.0[1] >> 24) << 32 | u64::from(self.0[0])) as usize;
        start..start + (self.0[1] & 0xFF_FFFF) as usize
    }
}

#[derive(Default)]
struct Store {
    records: Vec<Record>,
    /// Shared texts; a record's symbols index this.
    symbols: Vec<Text>,
    /// Every decision's own strings, end to end.
    bytes: String,
    /// Where each string starts in `bytes`; it ends where the next starts.
    starts: Vec<u64>,
}

impl Store {
    fn string(&self, i: u32) -> &str {
        let i = i as usize;
        let start = self.starts[i] as usize;
        let end = self.starts.get(i + 1).map_or(self.bytes.len(), |e| *e as usize);
        &self.bytes[start..end]
    }

    fn span(&self, span: Span) -> &str {
        &self.bytes[span.range()]
    }

    fn symbol(&self, n: u32) -> Option<&Text> {
        (n != NONE).then(|| &self.symbols[n as usize])
    }
}

/// The store has no room left: more than 4,294,967,294 distinct texts or
/// decision strings (far beyond what fits in memory as input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many decisions to hold in one snapshot (more than 4,294,967,294 distinct texts)")]
pub struct StoreFull;

/// Builds a [`Decisions`] store one decision at a time.
///
/// ```
/// use cavra_model::decisions::DecisionsBuilder;
/// # let d = cavra_model::posture::tests_support::decision();
/// let mut b = DecisionsBuilder::default();
/// assert!(b.note_id("d-1").unwrap(), "first time seen");
/// assert!(!b.note_id("d-1").unwrap(), "a duplicate");
/// b.push(&d).unwrap();
/// assert_eq!(b.finish().len(), 1);
/// ```
#[derive(Default)]
pub struct DecisionsBuilder {
    store: Store,
    symbol_ids: FxHashMap<Text, u32>,
    seen_ids: hashbrown::HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    /// The string of the id noted last: the id of the decision pushed next,
    /// unless the gate changed it.
    last_noted: Option<u32>,
}

impl DecisionsBuilder {
    /// Records `id` among the ids seen; `false` when it was seen before.
    /// Ids noted here need not belong to a decision that is pushed (a
    /// decision outside the reporting window still counts for duplicates).
    ///
    /// # Errors
    /// [`StoreFull`] when the store has no room for another string.
    pub fn note_id(&mut self, id: &str) -> Result<bool, StoreFull> {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(id);
        let store = &self.store;
        if self.seen_ids.find(hash, |&i| store.string(i) == id).is_some() {
            return Ok(false);
        }
        let n = push_string(&mut self.store, id)?;
        self.last_noted = Some(n);
        let (store, hasher) = (&self.store, &self.hasher);
        self.seen_ids.insert_unique(hash, n, |&i| hasher.hash_one(store.string(i)));
        Ok(true)
    }

    /// Adds a decision at the end.
    ///
    /// # Errors
    /// [`StoreFull`] when the store has no room for its texts.
    pub fn push(&mut self, d: &Decision) -> Result<(), StoreFull> {
        let noted = self.last_noted.take().filter(|n| self.store.string(*n) == d.decision_id);
        let n = match noted {
            Some(n) => n,
            None => push_string(&mut self.store, &d.decision_id)?,
        };
        let id = Span::new(self.store.starts[n as usize], d.decision_id.len())?;
        let first_ref = u32::try_from(self.store.starts.len()).map_err(|_| StoreFull)?;
        for r in &d.evidence_refs {
            push_string(&mut self.store, r)?;
        }
        let refs = u32::try_from(d.evidence_refs.len()).map_err(|_| StoreFull)?;
        let mut symbols = [NONE; 12];
        for (slot, text) in [
            (SESSION, &d.session_id),
            (AGENT, &d.agent_id),
            (ACTOR, &d.actor),
            (REPOSITORY, &d.repository),
            (ACTION, &d.action_type),
            (TARGET, &d.target),
            (OPERATION, &d.requested_operation),
            (PACK, &d.policy_pack),
            (RULE, &d.rule_id),
            (REASON, &d.reason),
        ] {
            symbols[slot] = self.symbol(text)?;
        }
        for (slot, text) in [(TOOL, &d.tool), (ROUTE, &d.approval_route)] {
            if let Some(t) = text {
                symbols[slot] = self.symbol(t)?;
            }
        }
        self.store.records.push(Record {
            symbols,
            id,
            first_ref,
            refs,
            timestamp: d.timestamp,
            decision: d.decision,
            severity: d.severity,
            extensions: d.x_extensions.is_some(),
        });
        Ok(())
    }

    fn symbol(&mut self, t: &Text) -> Result<u32, StoreFull> {
        if let Some(n) = self.symbol_ids.get(t) {
            return Ok(*n);
        }
        let n = u32::try_from(self.store.symbols.len()).ok().filter(|n| *n != NONE).ok_or(StoreFull)?;
        self.store.symbols.push(t.clone());
        self.symbol_ids.insert(t.clone(), n);
        Ok(n)
    }

    /// Decisions pushed so far.
    pub fn len(&self) -> usize {
        self.store.records.len()
    }

    /// Whether none was pushed.
    pub fn is_empty(&self) -> bool {
        self.store.records.is_empty()
    }

    /// The finished, shareable store.
    pub fn finish(self) -> Decisions {
        let mut store = self.store;
        store.records.shrink_to_fit();
        store.symbols.shrink_to_fit();
        store.bytes.shrink_to_fit();
        store.starts.shrink_to_fit();
        Decisions(Arc::new(store))
    }
}

fn push_string(store: &mut Store, s: &str) -> Result<u32, StoreFull> {
    let n = u32::try_from(store.starts.len()).ok().filter(|n| *n != NONE).ok_or(StoreFull)?;
    store.starts.push(store.bytes.len() as u64);
    store.bytes.push_str(s);
    Ok(n)
}

/// An immutable, cheaply cloned list of decisions (see the
/// [module documentation](self)).
///
/// ```
/// use cavra_model::decisions::Decisions;
/// let d = Decisions::from(Vec::new());
/// assert!(d.is_empty());
/// let shared = d.clone(); // a pointer copy, not a copy of the decisions
/// assert_eq!(shared.len(), 0);
/// ```
#[derive(Clone, Default)]
pub struct Decisions(Arc<Store>);

impl Decisions {
    /// How many decisions.
    pub fn len(&self) -> usize {
        self.0.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.records.is_empty()
    }

    /// The `i`-th decision.
    pub fn get(&self, i: usize) -> Option<DecisionRef<'_>> {
        self.0.records.get(i).map(|rec| DecisionRef { store: &self.0, rec })
    }

    /// The decisions in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { store: &self.0, inner: self.0.records.iter() }
    }

    /// An owned handle on the `i`-th decision (`None` past the end).
    pub fn share(&self, i: usize) -> Option<SharedDecision> {
        (i < self.len()).then(|| SharedDecision { decisions: self.clone(), index: i })
    }

    /// The decisions as owned records.
    pub fn to_vec(&self) -> Vec<Decision> {
        self.iter().map(|d| d.to_decision()).collect()
    }
}

/// Panics only when the decisions hold more than 4,294,967,294 distinct
/// texts, which cannot fit in memory as [`Decision`]s in the first place.
impl From<Vec<Decision>> for Decisions {
    fn from(v: Vec<Decision>) -> Self {
        v.into_iter().collect()
    }
}

impl FromIterator<Decision> for Decisions {
    fn from_iter<I: IntoIterator<Item = Decision>>(iter: I) -> Self {
        let mut b = DecisionsBuilder::default();
        for d in iter {
            b.push(&d).expect("fewer than 2^32 strings");
        }
        b.finish()
    }
}

impl PartialEq for Decisions {
    fn eq(&self, other: &Decisions) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.to_decision() == b.to_decision())
    }
}

impl fmt::Debug for Decisions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl serde::Serialize for Decisions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|d| d.to_decision()))
    }
}

/// The decisions of a [`Decisions`] in order.
#[derive(Clone)]
pub struct Iter<'a> {
    store: &'a Store,
    inner: std::slice::Iter<'a, Record>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = DecisionRef<'a>;
    fn next(&mut self) -> Option<DecisionRef<'a>> {
        self.inner.next().map(|rec| DecisionRef { store: self.store, rec })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|rec| DecisionRef { store: self.store, rec })
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Decisions {
    type Item = DecisionRef<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// One stored decision (a view into [`Decisions`]; copying it is free).
#[derive(Clone, Copy)]
pub struct DecisionRef<'a> {
    store: &'a Store,
    rec: &'a Record,
}

impl<'a> DecisionRef<'a> {
    /// Its position in the store.
    pub fn index(self) -> usize {
        // The record lies in the store's list; its offset over the record
        // size is its index.
        let start = self.store.records.as_ptr() as usize;
        (std::ptr::from_ref(self.rec) as usize - start) / std::mem::size_of::<Record>()
    }

    fn sym(self, slot: usize) -> &'a Text {
        &self.store.symbols[self.rec.symbols[slot] as usize]
    }

    /// Unique decision id.
    pub fn decision_id(self) -> &'a str {
        self.store.span(self.rec.id)
    }
    /// Session link.
    pub fn session_id(self) -> &'a Text {
        self.sym(SESSION)
    }
    /// Agent link.
    pub fn agent_id(self) -> &'a Text {
        self.sym(AGENT)
    }
    /// Who drove the agent; never printed.
    pub fn actor(self) -> &'a Text {
        self.sym(ACTOR)
    }
    /// Repository or workspace.
    pub fn repository(self) -> &'a Text {
        self.sym(REPOSITORY)
    }
    /// Kind of action.
    pub fn action_type(self) -> &'a Text {
        self.sym(ACTION)
    }
    /// What the action touched (shown only after target redaction).
    pub fn target(self) -> &'a Text {
        self.sym(TARGET)
    }
    /// Operation label; never printed.
    pub fn requested_operation(self) -> &'a Text {
        self.sym(OPERATION)
    }
    /// Policy pack that matched.
    pub fn policy_pack(self) -> &'a Text {
        self.sym(PACK)
    }
    /// Rule that matched.
    pub fn rule_id(self) -> &'a Text {
        self.sym(RULE)
    }
    /// The decision.
    pub fn decision(self) -> DecisionKind {
        self.rec.decision
    }
    /// Severity.
    pub fn severity(self) -> Severity {
        self.rec.severity
    }
    /// Short policy reason.
    pub fn reason(self) -> &'a Text {
        self.sym(REASON)
    }
    /// When decided.
    pub fn timestamp(self) -> Timestamp {
        self.rec.timestamp
    }
    /// Evidence references, in input order.
    pub fn evidence_refs(self) -> EvidenceRefs<'a> {
        let next = self.rec.first_ref;
        EvidenceRefs(RefsInner::Stored { store: self.store, next, end: next + self.rec.refs })
    }
    /// Tool name for MCP/tool calls.
    pub fn tool(self) -> Option<&'a Text> {
        self.store.symbol(self.rec.symbols[TOOL])
    }
    /// Approval route or approver group.
    pub fn approval_route(self) -> Option<&'a Text> {
        self.store.symbol(self.rec.symbols[ROUTE])
    }

    /// The decision as an owned record.
    pub fn to_decision(self) -> Decision {
        Decision {
            decision_id: self.decision_id().to_owned(),
            session_id: self.session_id().clone(),
            agent_id: self.agent_id().clone(),
            actor: self.actor().clone(),
            repository: self.repository().clone(),
            action_type: self.action_type().clone(),
            target: self.target().clone(),
            requested_operation: self.requested_operation().clone(),
            policy_pack: self.policy_pack().clone(),
            rule_id: self.rule_id().clone(),
            decision: self.decision(),
            severity: self.severity(),
            reason: self.reason().clone(),
            timestamp: self.timestamp(),
            evidence_refs: self.evidence_refs().map(str::to_owned).collect(),
            tool: self.tool().cloned(),
            approval_route: self.approval_route().cloned(),
            x_extensions: self.rec.extensions.then_some(crate::input::Extensions),
        }
    }
}

impl DecisionView for DecisionRef<'_> {
    fn decision_id(&self) -> &str {
        DecisionRef::decision_id(*self)
    }
    fn session_id(&self) -> &Text {
        DecisionRef::session_id(*self)
    }
    fn agent_id(&self) -> &Text {
        DecisionRef::agent_id(*self)
    }
    fn actor(&self) -> &Text {
        DecisionRef::actor(*self)
    }
    fn repository(&self) -> &Text {
        DecisionRef::repository(*self)
    }
    fn action_type(&self) -> &Text {
        DecisionRef::action_type(*self)
    }
    fn target(&self) -> &Text {
        DecisionRef::target(*self)
    }
    fn requested_operation(&self) -> &Text {
        DecisionRef::requested_operation(*self)
    }
    fn policy_pack(&self) -> &Text {
        DecisionRef::policy_pack(*self)
    }
    fn rule_id(&self) -> &Text {
        DecisionRef::rule_id(*self)
    }
    fn decision(&self) -> DecisionKind {
        self.rec.decision
    }
    fn severity(&self) -> Severity {
        self.rec.severity
    }
    fn reason(&self) -> &Text {
        DecisionRef::reason(*self)
    }
    fn timestamp(&self) -> Timestamp {
        self.rec.timestamp
    }
    fn evidence_refs(&self) -> EvidenceRefs<'_> {
        DecisionRef::evidence_refs(*self)
    }
    fn tool(&self) -> Option<&Text> {
        DecisionRef::tool(*self)
    }
    fn approval_route(&self) -> Option<&Text> {
        DecisionRef::approval_route(*self)
    }
}

/// The same JSON as the [`Decision`] it came from, written without making
/// one.
impl serde::Serialize for DecisionRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (tool, route) = (self.tool(), self.approval_route());
        let n = 15 + usize::from(tool.is_some()) + usize::from(route.is_some());
        let mut st = s.serialize_struct("Decision", n)?;
        st.serialize_field("decision_id", self.decision_id())?;
        st.serialize_field("session_id", self.session_id())?;
        st.serialize_field("agent_id", self.agent_id())?;
        st.serialize_field("actor", self.actor())?;
        st.serialize_field("repository", self.repository())?;
        st.serialize_field("action_type", self.action_type())?;
        st.serialize_field("target", self.target())?;
        st.serialize_field("requested_operation", self.requested_operation())?;
        st.serialize_field("policy_pack", self.policy_pack())?;
        st.serialize_field("rule_id", self.rule_id())?;
        st.serialize_field("decision", &self.decision())?;
        st.serialize_field("severity", &self.severity())?;
        st.serialize_field("reason", self.reason())?;
        st.serialize_field("timestamp", &self.timestamp())?;
        st.serialize_field("evidence_refs", &RefList(self.evidence_refs()))?;
        match tool {
            Some(t) => st.serialize_field("tool", t)?,
            None => st.skip_field("tool")?,
        }
        match route {
            Some(r) => st.serialize_field("approval_route", r)?,
            None => st.skip_field("approval_route")?,
        }
        st.end()
    }
}

/// Evidence references as a JSON array.
pub(crate) struct RefList<'a>(pub(crate) EvidenceRefs<'a>);

impl serde::Serialize for RefList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

impl fmt::Debug for DecisionRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_decision(), f)
    }
}

impl PartialEq for DecisionRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.to_decision() == other.to_decision()
    }
}

/// An owned handle on one stored decision: what a finding or an
/// evidence-freshness item keeps instead of copies of the decision's
/// fields (a shared pointer and an index).
#[derive(Clone)]
pub struct SharedDecision {
    decisions: Decisions,
    index: usize,
}

impl SharedDecision {
    /// The decision.
    pub fn get(&self) -> DecisionRef<'_> {
        let rec = &self.decisions.0.records[self.index];
        DecisionRef { store: &self.decisions.0, rec }
    }

    /// Its position among the snapshot's decisions.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl fmt::Debug for SharedDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl PartialEq for SharedDecision {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

#[cfg(test)]
mod tests;
