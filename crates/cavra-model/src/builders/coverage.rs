//! control-coverage: the six surfaces, the heat map and the gaps.

use super::{cell_int, heading, para, table, Ctx};

/// The coverage columns a document shows: each surface's control, its
/// decisions, evidence, heat and gaps, and the framework clauses it maps to
/// (the confidence and mean cell scores are in the data forms).
const COVERAGE_VIEW: &[&str] = &[
    "surface",
    "coverage_status",
    "decision_count",
    "blocked_actions",
    "approval_required_actions",
    "warned_actions",
    "evidence_confidence",
    "heat_score",
    "gap_cells",
    "nist_ai_rmf",
    "iso_42001",
    "owasp_llm",
    "nist_ssdf",
    "eu_ai_act",
];
use crate::frameworks::{clause_list, surface_clauses, Framework};
use crate::input::ControlSurface;
use crate::report::{Block, Chart, ChartKind, Classification, ColumnType, Dataset, Kpi, Report, ReportKind, Series};
use crate::sections::{CoverageSections, Sections};

const HEAT_ROWS_IN_CHART: usize = 30;
const GAPS_SHOWN: usize = 25;

pub(super) fn build(ctx: &Ctx) -> Report {
    let c = &ctx.posture.coverage;
    let mut r = ctx.start(
        ReportKind::ControlCoverage,
        "cavra.report.control_coverage.v1",
        "security architecture and GRC",
        Classification::Internal,
    );
    let sections = CoverageSections {
        coverage_score: c.coverage_score,
        heat_map_rows: c.heat_rows.len(),
        gap_count: c.top_gaps.len(),
    };

    let enforced = c.surfaces.iter().filter(|s| !s.coverage_status.is_gap()).count();
    r.blocks.push(heading(2, "Summary"));
    r.blocks.push(Block::Kpis {
        items: vec![
            Kpi {
                label: "Coverage score".into(),
                value: format!("{}/100", c.coverage_score),
                note: "mean heat over agent × repository × surface".into(),
            },
            Kpi {
                label: "Surfaces with controls".into(),
                value: format!("{enforced} of 6"),
                note: "enforced, gated, attested or observed".into(),
            },
            Kpi {
                label: "Heat-map rows".into(),
                value: c.heat_rows.len().to_string(),
                note: "agent and repository pairs".into(),
            },
            Kpi {
                label: "Gap cells".into(),
                value: c.top_gaps.len().to_string(),
                note: "not observed or warning only".into(),
            },
        ],
    });
    r.blocks.push(para(
        "Each surface takes the strongest control seen on it: enforced (a block), approval gated, warning only, attested, or merely observed. Heat scores: enforced 100, approval gated 82, attested 72, observed 58, warning only 38, not observed 0.",
    ));
    r.blocks.push(heading(2, "Coverage by control surface"));
    r.blocks.push(super::table_columns("coverage", None, COVERAGE_VIEW));
    let rows: Vec<_> = c.heat_rows.iter().take(HEAT_ROWS_IN_CHART).collect();
    r.blocks.push(heading(2, "Heat map"));
    if c.heat_rows.len() > rows.len() {
        r.blocks.push(para(&format!(
            "The chart shows the first {} of {} agent and repository pairs; the heat_map dataset holds them all.",
            rows.len(),
            c.heat_rows.len()
        )));
    }
    r.blocks.push(Block::Chart(Chart {
        kind: ChartKind::HeatMap,
        title: "Heat score by agent and repository".into(),
        categories: ControlSurface::ALL.iter().map(|s| s.as_str().replace('_', " ")).collect(),
        series: rows
            .iter()
            .map(|row| Series {
                name: format!("{} / {}", row.agent_id, row.repository),
                values: row.cells.iter().map(|c| c.score as f64).collect(),
            })
            .collect(),
    }));
    r.blocks.push(heading(2, "Top gaps"));
    if c.top_gaps.is_empty() {
        r.blocks.push(para("No gaps: every agent and repository pair has controls on every surface."));
    } else {
        r.blocks.push(table("gaps", Some(GAPS_SHOWN)));
    }

    use ColumnType::*;
    let mut d = Dataset::new(
        "coverage",
        "Control coverage",
        &[
            ("surface", "Surface", Status),
            ("coverage_status", "Status", Status),
            ("decision_count", "Decisions", Integer),
            ("blocked_actions", "Blocked", Integer),
            ("approval_required_actions", "Approval required", Integer),
            ("warned_actions", "Warned", Integer),
            ("evidence_confidence", "Evidence confidence", Status),
            ("evidence_confidence_score", "Confidence score", Integer),
            ("heat_score", "Heat score", Integer),
            ("mean_cell_score", "Mean cell score", Integer),
            ("gap_cells", "Gap cells", Integer),
            ("nist_ai_rmf", "NIST AI RMF", Text),
            ("iso_42001", "ISO/IEC 42001", Text),
            ("owasp_llm", "OWASP LLM", Text),
            ("nist_ssdf", "NIST SSDF", Text),
            ("eu_ai_act", "EU AI Act", Text),
        ],
    );
    for s in &c.surfaces {
        let clauses = surface_clauses(s.surface);
        let mut row = vec![
            s.surface.as_str().into(),
            s.coverage_status.as_str().into(),
            cell_int(s.decision_count),
            cell_int(s.blocked_actions),
            cell_int(s.approval_required_actions),
            cell_int(s.warned_actions),
            s.evidence_confidence.label.as_str().into(),
            s.evidence_confidence.score.into(),
            s.heat_score.into(),
            s.mean_cell_score.into(),
            cell_int(s.gap_cells),
        ];
        row.extend(Framework::ALL.iter().map(|f| clause_list(clauses, *f).into()));
        d.push(row);
    }
    r.datasets.push(d);

    let mut cols: Vec<(String, String, ColumnType)> =
        vec![("agent_id".into(), "Agent".into(), Text), ("repository".into(), "Repository".into(), Text)];
    for s in ControlSurface::ALL {
        cols.push((s.as_str().into(), s.as_str().replace('_', " "), Status));
    }
    for s in ControlSurface::ALL {
        cols.push((format!("{}_score", s.as_str()), format!("{} score", s.as_str().replace('_', " ")), Integer));
    }
    let col_refs: Vec<(&str, &str, ColumnType)> = cols.iter().map(|(k, l, t)| (k.as_str(), l.as_str(), *t)).collect();
    let mut h = Dataset::new("heat_map", "Heat map", &col_refs);
    for row in &c.heat_rows {
        let mut cells = vec![row.agent_id.clone().into(), row.repository.clone().into()];
        cells.extend(row.cells.iter().map(|c| c.status.as_str().into()));
        cells.extend(row.cells.iter().map(|c| c.score.into()));
        h.push(cells);
    }
    r.datasets.push(h);

    let mut g = Dataset::new(
        "gaps",
        "Coverage gaps",
        &[
            ("agent_id", "Agent", Text),
            ("repository", "Repository", Text),
            ("surface", "Surface", Status),
            ("status", "Status", Status),
        ],
    );
    for (agent, repo, surface, status) in &c.top_gaps {
        g.push(vec![agent.clone().into(), repo.clone().into(), surface.as_str().into(), status.as_str().into()]);
    }
    r.datasets.push(g);
    r.finish(Sections::ControlCoverage(sections))
}
