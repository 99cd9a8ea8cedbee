//! agent-activity-digest: per agent and day, counts by decision and surface;
//! the rules that fire most; near misses; tools first seen in the window; and
//! one row per decision for the data formats.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use super::{cell_int, heading, para, table, table_columns, Ctx};
use crate::decisions::{DecisionView, Decisions};
use crate::input::{ControlSurface, DecisionKind, Severity, Timestamp};
use crate::posture::{agent_text, control_surface, decision_confidence, display_target, ConfidenceClass};
use crate::report::{
    Block, Cell, Chart, ChartKind, Classification, ColumnType, Dataset, Kpi, Report, ReportKind, RowSource, Rows,
    Series,
};
use crate::sections::{DigestSections, RuleCount, Sections};
use crate::text::Text;

const TOP_RULES: usize = 20;

/// A near miss: a critical or high severity action that was not stopped or gated.
fn near_miss(kind: DecisionKind, sev: Severity) -> bool {
    matches!(sev, Severity::Critical | Severity::High)
        && matches!(
            kind,
            DecisionKind::Warn | DecisionKind::AuditOnly | DecisionKind::AllowWithAttestation | DecisionKind::Allow
        )
}

#[derive(Default)]
struct Day {
    by_kind: [usize; 6],
    by_surface: [usize; 6],
}

fn kind_index(k: DecisionKind) -> usize {
    DecisionKind::ALL.iter().position(|x| *x == k).unwrap_or_default()
}

fn surface_index(s: ControlSurface) -> usize {
    ControlSurface::ALL.iter().position(|x| *x == s).unwrap_or_default()
}

/// Near misses listed in the `near_misses` dataset; every near miss is also
/// flagged in the per-decision rows, and the summary counts them all.
pub const NEAR_MISS_ROWS: usize = 1_000;

/// The per-decision dataset's columns.
fn decision_columns() -> Dataset {
    use ColumnType::*;
    Dataset::new(
        "decisions",
        "Decisions",
        &[
            ("timestamp", "Time", DateTime),
            ("decision_id", "Decision", Text),
            ("agent_id", "Agent", Text),
            ("session_id", "Session", Text),
            ("repository", "Repository", Text),
            ("action_type", "Action", Text),
            ("control_surface", "Surface", Status),
            ("rule_id", "Rule", Text),
            ("decision", "Decision taken", Status),
            ("severity", "Severity", Severity),
            ("tool", "Tool", Text),
            ("target", "Target", Text),
            ("evidence_confidence", "Evidence", Status),
            ("near_miss", "Near miss", Status),
        ],
    )
}

/// One row of the `decisions` dataset (target-redaction rule applied).
pub fn decision_row(d: &impl DecisionView) -> Vec<Cell> {
    row_with(d, RowFacts::of(d))
}

/// What a row needs that takes classifying the decision: worked out once
/// per decision, however many times its row is read.
#[derive(Clone, Copy)]
struct RowFacts {
    surface: ControlSurface,
    confidence: ConfidenceClass,
    shown: Shown,
}

/// How the target-redaction rule shows a decision's target.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    /// As recorded.
    Target,
    /// Hidden, cut or marked as not recorded: worked out again when shown.
    Other,
}

impl RowFacts {
    fn of(d: &impl DecisionView) -> RowFacts {
        let shown = display_target(d);
        let shown =
            if !shown.target_redacted && Text::ptr_eq(&shown.text, d.target()) { Shown::Target } else { Shown::Other };
        RowFacts { surface: control_surface(d), confidence: decision_confidence(d), shown }
    }

    fn target(self, d: &impl DecisionView) -> Text {
        match self.shown {
            Shown::Target => d.target().clone(),
            Shown::Other => display_target(d).text,
        }
    }
}

static YES_NO: LazyLock<[Text; 2]> = LazyLock::new(|| [Text::from("yes"), Text::from("no")]);

fn row_with(d: &impl DecisionView, facts: RowFacts) -> Vec<Cell> {
    vec![
        d.timestamp().into(),
        d.decision_id().into(),
        agent_text(d.agent_id()).into(),
        d.session_id().clone().into(),
        d.repository().clone().into(),
        d.action_type().clone().into(),
        facts.surface.text().into(),
        d.rule_id().clone().into(),
        d.decision().text().into(),
        d.severity().text().into(),
        d.tool().cloned().unwrap_or_default().into(),
        facts.target(d).into(),
        facts.confidence.text().into(),
        YES_NO[usize::from(!near_miss(d.decision(), d.severity()))].clone().into(),
    ]
}

/// The `decisions` dataset of an in-memory digest: one row per decision in
/// report order, made from the snapshot's shared decisions on demand.
pub(crate) struct DecisionRows {
    decisions: Decisions,
    /// Indices into `decisions`, in report order, with each one's facts.
    order: Vec<(u32, RowFacts)>,
}

impl RowSource for DecisionRows {
    fn len(&self) -> usize {
        self.order.len()
    }

    fn row(&self, i: usize) -> Vec<Cell> {
        let (index, facts) = self.order[i];
        match self.decisions.get(index as usize) {
            Some(d) => row_with(&d, facts),
            None => Vec::new(),
        }
    }
}

/// Everything the digest needs from the decisions, fed in report order
/// (time, then decision id). Its size grows with agents, days, rules and
/// tools, not with decisions.
pub(crate) struct DigestAcc {
    rows: Dataset,
    decision_count: usize,
    days: BTreeMap<(Text, time::Date), Day>,
    rules: BTreeMap<Text, ([usize; 4], BTreeSet<Text>)>,
    misses: Dataset,
    miss_count: usize,
    tools: BTreeMap<(Text, Text), Timestamp>,
}

impl DigestAcc {
    /// An empty accumulator. It never holds the per-decision rows: they are
    /// streamed from the decisions file, or derived from the snapshot's
    /// shared decisions ([`DecisionRows`]).
    pub fn new() -> Self {
        use ColumnType::*;
        DigestAcc {
            rows: decision_columns(),
            decision_count: 0,
            days: BTreeMap::new(),
            rules: BTreeMap::new(),
            misses: Dataset::new(
                "near_misses",
                "Near misses",
                &[
                    ("timestamp", "Time", DateTime),
                    ("decision_id", "Decision", Text),
                    ("agent_id", "Agent", Text),
                    ("repository", "Repository", Text),
                    ("rule_id", "Rule", Text),
                    ("decision", "Decision taken", Status),
                    ("severity", "Severity", Severity),
                    ("reason", "Reason", Text),
                ],
            ),
            miss_count: 0,
            tools: BTreeMap::new(),
        }
    }

    /// Adds the next decision of the window.
    pub fn add(&mut self, d: &impl DecisionView) {
        let agent = agent_text(d.agent_id());
        let surface = control_surface(d);
        let miss = near_miss(d.decision(), d.severity());
        self.decision_count += 1;
        let day = self.days.entry((agent.clone(), d.timestamp().day())).or_default();
        day.by_kind[kind_index(d.decision())] += 1;
        day.by_surface[surface_index(surface)] += 1;
        if !self.rules.contains_key(d.rule_id().as_str()) {
            self.rules.insert(d.rule_id().clone(), Default::default());
        }
        if let Some(rule) = self.rules.get_mut(d.rule_id().as_str()) {
            rule.0[0] += 1;
            match d.decision() {
                DecisionKind::Block => rule.0[1] += 1,
                DecisionKind::RequireApproval => rule.0[2] += 1,
                DecisionKind::Warn => rule.0[3] += 1,
                DecisionKind::AuditOnly | DecisionKind::AllowWithAttestation | DecisionKind::Allow => {}
            }
            if !rule.1.contains(&agent) {
                rule.1.insert(agent.clone());
            }
        }
        if let Some(t) = d.tool().filter(|t| !t.trim().is_empty()) {
            let first = self.tools.entry((agent.clone(), t.clone())).or_insert(d.timestamp());
            if d.timestamp() < *first {
                *first = d.timestamp();
            }
        }
        if miss {
            self.miss_count += 1;
            if self.misses.rows.len() < NEAR_MISS_ROWS {
                self.misses.push(vec![
                    d.timestamp().into(),
                    d.decision_id().into(),
                    agent.clone().into(),
                    d.repository().clone().into(),
                    d.rule_id().clone().into(),
                    d.decision().as_str().into(),
                    d.severity().as_str().into(),
                    d.reason().clone().into(),
                ]);
            }
        }
    }
}

pub(super) fn build(ctx: &Ctx) -> Report {
    let s = ctx.snapshot;
    // Sorted on keys made once (time, then position; ids only break a tie
    // of time), so a comparison does not look the decision up. The store
    // numbers fewer than 2^32 decisions.
    let at = |i: u32| s.decisions.get(i as usize);
    let mut order: Vec<(Timestamp, u32)> = s.decisions.iter().map(|d| (d.timestamp(), d.index() as u32)).collect();
    order.sort_unstable_by(|x, y| {
        x.0.cmp(&y.0).then_with(|| match (at(x.1), at(y.1)) {
            (Some(a), Some(b)) => a.decision_id().cmp(b.decision_id()),
            _ => x.1.cmp(&y.1),
        })
    });
    let mut acc = DigestAcc::new();
    for d in order.iter().filter_map(|(_, i)| at(*i)) {
        acc.add(&d);
    }
    let order = order.into_iter().filter_map(|(_, i)| at(i).map(|d| (i, RowFacts::of(&d)))).collect();
    acc.rows.rows = Rows::derived(Arc::new(DecisionRows { decisions: s.decisions.clone(), order }));
    finish(ctx, acc)
}

/// The report from an accumulator (with or without the per-decision rows).
pub(super) fn finish(ctx: &Ctx, acc: DigestAcc) -> Report {
    use ColumnType::*;
    let mut r = ctx.start(
        ReportKind::AgentActivityDigest,
        "cavra.report.agent_activity_digest.v2",
        "security operations and SIEM",
        Classification::Internal,
    );
    let DigestAcc { rows, decision_count, days, rules, misses, miss_count, tools, .. } = acc;
    let mut daily_cols: Vec<(String, String, ColumnType)> = vec![
        ("agent_id".into(), "Agent".into(), Text),
        ("date".into(), "Date (UTC)".into(), Text),
        ("decisions".into(), "Decisions".into(), Integer),
    ];
    daily_cols
        .extend(DecisionKind::ALL.iter().map(|k| (k.as_str().to_string(), k.as_str().replace('_', " "), Integer)));
    daily_cols.extend(
        ControlSurface::ALL.iter().map(|x| (format!("surface_{}", x.as_str()), x.as_str().replace('_', " "), Integer)),
    );
    let refs: Vec<(&str, &str, ColumnType)> = daily_cols.iter().map(|(k, l, t)| (k.as_str(), l.as_str(), *t)).collect();
    let mut daily = Dataset::new("daily", "Daily activity by agent", &refs);
    let mut per_day_total: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let dates: Vec<String> = days.keys().map(|(_, day)| crate::input::date_string(*day)).collect();
    for (((agent, _), day), date) in days.iter().zip(&dates) {
        let total: usize = day.by_kind.iter().sum();
        let mut row = vec![agent.clone().into(), date.as_str().into(), cell_int(total)];
        row.extend(day.by_kind.iter().map(|n| cell_int(*n)));
        row.extend(day.by_surface.iter().map(|n| cell_int(*n)));
        daily.push(row);
        let t = per_day_total.entry(date.as_str()).or_default();
        t.0 += total;
        t.1 += day.by_kind[kind_index(DecisionKind::Block)];
    }

    let mut top: Vec<(&str, [usize; 4], usize)> = rules.iter().map(|(k, (c, a))| (k.as_str(), *c, a.len())).collect();
    top.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then_with(|| a.0.cmp(b.0)));
    top.truncate(TOP_RULES);
    let top_rules: Vec<RuleCount> = top
        .iter()
        .map(|(rule, c, agents)| RuleCount {
            rule_id: (*rule).to_string(),
            decisions: c[0],
            blocked: c[1],
            approval_required: c[2],
            warned: c[3],
            agents: *agents,
        })
        .collect();

    let mut new_tools = Dataset::new(
        "new_tools",
        "Tools used in the window",
        &[
            ("agent_id", "Agent", Text),
            ("tool", "Tool", Text),
            ("first_seen_at", "First seen", DateTime),
            ("new_in_window", "New in window", Status),
        ],
    );
    for ((agent, tool), at) in &tools {
        let new = match super::drift::is_new(ctx, agent, "tool", tool) {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        new_tools.push(vec![agent.clone().into(), tool.clone().into(), (*at).into(), new.into()]);
    }

    let agents = days.keys().map(|(a, _)| a.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    let sections = DigestSections {
        decision_count,
        agent_count: agents,
        day_count: per_day_total.len(),
        near_misses: miss_count,
        top_rules,
    };
    let top_rules = Dataset::from_rows("top_rules", "Most frequent rules", &sections.top_rules).held_in("top_rules");

    r.blocks.push(heading(2, "Summary"));
    r.blocks.push(Block::Kpis {
        items: vec![
            Kpi { label: "Decisions".into(), value: decision_count.to_string(), note: "in the window".into() },
            Kpi {
                label: "Active agents".into(),
                value: agents.to_string(),
                note: format!("over {} days", per_day_total.len()),
            },
            Kpi {
                label: "Near misses".into(),
                value: miss_count.to_string(),
                note: "critical or high, not blocked or gated".into(),
            },
            Kpi { label: "Rules fired".into(), value: rules.len().to_string(), note: "distinct rules".into() },
        ],
    });
    r.blocks.push(Block::Chart(Chart {
        kind: ChartKind::Line,
        title: "Decisions per day".into(),
        categories: per_day_total.keys().map(|d| (*d).to_string()).collect(),
        series: vec![
            Series { name: "decisions".into(), values: per_day_total.values().map(|t| t.0 as f64).collect() },
            Series { name: "blocked".into(), values: per_day_total.values().map(|t| t.1 as f64).collect() },
        ],
    }));
    r.blocks.push(para(
        "The per-decision rows (one per policy decision, targets redacted) are in the CSV and JSON Lines forms of this report; documents show the summaries below.",
    ));
    r.blocks.push(heading(2, "Daily activity by agent"));
    let mut daily_cols_shown = vec!["agent_id", "date", "decisions"];
    daily_cols_shown.extend(DecisionKind::ALL.iter().map(|k| k.as_str()));
    r.blocks.push(table_columns("daily", Some(60), &daily_cols_shown));
    r.blocks.push(heading(2, "Most frequent rules"));
    r.blocks.push(table("top_rules", None));
    r.blocks.push(heading(2, "Near misses"));
    if misses.rows.is_empty() {
        r.blocks.push(para("No near misses: every critical or high severity action was blocked or held for approval."));
    } else {
        if miss_count > misses.rows.len() {
            r.blocks.push(para(&format!(
                "The first {} of {miss_count} near misses are listed in the near-miss dataset; every near miss is flagged (near_miss = yes) in the per-decision rows.",
                misses.rows.len()
            )));
        }
        r.blocks.push(table("near_misses", Some(25)));
    }
    r.blocks.push(heading(2, "Tools used in the window"));
    if new_tools.rows.is_empty() {
        r.blocks.push(para("No tool calls were recorded in the window."));
    } else {
        r.blocks.push(table("new_tools", Some(40)));
    }
    r.datasets.extend([rows, daily, top_rules, misses, new_tools]);
    r.finish(Sections::AgentActivityDigest(sections))
}
