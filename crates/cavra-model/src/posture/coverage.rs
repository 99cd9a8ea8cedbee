//! Six-surface control coverage and the agent × repository heat map
//! (POSTURE.md, "Control coverage").

use std::collections::BTreeMap;

use serde::Serialize;

use super::classify::{agent_key, control_surface};
use super::confidence::EvidenceConfidence;
use crate::decisions::{DecisionRef, DecisionView};
use crate::input::{ControlSurface, DecisionKind};
use crate::Snapshot;

crate::input::string_enum! {
    /// Coverage status of a surface or heat-map cell.
    CoverageStatus {
        /// No decisions on this surface.
        NotObservedLocally => "not_observed_locally",
        /// Some block.
        Enforced => "enforced",
        /// Some require_approval.
        ApprovalGated => "approval_gated",
        /// Some warn.
        WarningOnly => "warning_only",
        /// Some allow_with_attestation.
        Attested => "attested",
        /// Decisions, none of the above.
        Observed => "observed",
    }
}

impl CoverageStatus {
    /// Heat score: enforced 100, approval_gated 82, attested 72, observed 58,
    /// warning_only 38, not observed 0.
    pub fn heat_score(self) -> i64 {
        match self {
            CoverageStatus::Enforced => 100,
            CoverageStatus::ApprovalGated => 82,
            CoverageStatus::Attested => 72,
            CoverageStatus::Observed => 58,
            CoverageStatus::WarningOnly => 38,
            CoverageStatus::NotObservedLocally => 0,
        }
    }

    /// Whether the cell is a gap (not observed or warning only).
    pub fn is_gap(self) -> bool {
        matches!(self, CoverageStatus::NotObservedLocally | CoverageStatus::WarningOnly)
    }

    /// Status of a set of decisions by precedence.
    pub fn of<D: DecisionView>(decisions: impl Iterator<Item = D> + Clone) -> CoverageStatus {
        let any = |k: DecisionKind| decisions.clone().any(|d| d.decision() == k);
        if decisions.clone().next().is_none() {
            CoverageStatus::NotObservedLocally
        } else if any(DecisionKind::Block) {
            CoverageStatus::Enforced
        } else if any(DecisionKind::RequireApproval) {
            CoverageStatus::ApprovalGated
        } else if any(DecisionKind::Warn) {
            CoverageStatus::WarningOnly
        } else if any(DecisionKind::AllowWithAttestation) {
            CoverageStatus::Attested
        } else {
            CoverageStatus::Observed
        }
    }
}

/// Coverage of one control surface.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurfaceCoverage {
    /// The surface.
    pub surface: ControlSurface,
    /// Status by precedence.
    pub coverage_status: CoverageStatus,
    /// Decisions on the surface.
    pub decision_count: usize,
    /// Blocks.
    pub blocked_actions: usize,
    /// Approvals required.
    pub approval_required_actions: usize,
    /// Warnings.
    pub warned_actions: usize,
    /// Evidence confidence of the surface's decisions.
    pub evidence_confidence: EvidenceConfidence,
    /// Heat score of the surface's status.
    pub heat_score: i64,
    /// Mean heat score of this surface's column in the heat map.
    pub mean_cell_score: i64,
    /// Heat-map cells on this surface that are gaps.
    pub gap_cells: usize,
}

/// One heat-map cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeatCell {
    /// Surface.
    pub surface: ControlSurface,
    /// Status.
    pub status: CoverageStatus,
    /// Heat score.
    pub score: i64,
}

/// One heat-map row: an (agent, repository) pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatRow {
    /// Agent.
    pub agent_id: String,
    /// Repository.
    pub repository: String,
    /// Six cells in [`ControlSurface::ALL`] order.
    pub cells: Vec<HeatCell>,
}

/// Coverage over the six surfaces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Always six rows, in [`ControlSurface::ALL`] order.
    pub surfaces: Vec<SurfaceCoverage>,
    /// Heat map rows sorted by (agent, repository).
    pub heat_rows: Vec<HeatRow>,
    /// Rounded mean over all cells (0 without rows).
    pub coverage_score: i64,
    /// Gap cells: warning-only first, then not observed, in row order.
    pub top_gaps: Vec<(String, String, ControlSurface, CoverageStatus)>,
}

impl Coverage {
    /// Computes coverage from the snapshot's in-window decisions and sessions.
    pub fn compute(snapshot: &Snapshot) -> Coverage {
        let classified: Vec<(ControlSurface, DecisionRef<'_>)> =
            snapshot.decisions.iter().map(|d| (control_surface(&d), d)).collect();

        let mut pairs: BTreeMap<(String, String), Vec<(ControlSurface, DecisionRef<'_>)>> = BTreeMap::new();
        for (s, d) in &classified {
            pairs.entry((agent_key(d.agent_id()).to_string(), d.repository().to_string())).or_default().push((*s, *d));
        }
        for s in &snapshot.sessions {
            pairs.entry((agent_key(&s.agent_id).to_string(), s.repository.to_string())).or_default();
        }
        let heat_rows: Vec<HeatRow> = pairs
            .into_iter()
            .map(|((agent_id, repository), ds)| HeatRow {
                agent_id: agent_id.to_string(),
                repository: repository.to_string(),
                cells: ControlSurface::ALL
                    .iter()
                    .map(|surface| {
                        let status = CoverageStatus::of(ds.iter().filter(|(s, _)| s == surface).map(|(_, d)| *d));
                        HeatCell { surface: *surface, status, score: status.heat_score() }
                    })
                    .collect(),
            })
            .collect();

        let cells = heat_rows.iter().flat_map(|r| r.cells.iter());
        let (sum, n) = cells.fold((0i64, 0usize), |(s, n), c| (s + c.score, n + 1));
        let coverage_score = crate::round::mean(sum, n);

        let surfaces = ControlSurface::ALL
            .iter()
            .enumerate()
            .map(|(i, surface)| {
                let on = || classified.iter().filter(move |(s, _)| s == surface).map(|(_, d)| *d);
                let status = CoverageStatus::of(on());
                let kind = |k: DecisionKind| on().filter(|d| d.decision() == k).count();
                let column: Vec<&HeatCell> = heat_rows.iter().map(|r| &r.cells[i]).collect();
                SurfaceCoverage {
                    surface: *surface,
                    coverage_status: status,
                    decision_count: on().count(),
                    blocked_actions: kind(DecisionKind::Block),
                    approval_required_actions: kind(DecisionKind::RequireApproval),
                    warned_actions: kind(DecisionKind::Warn),
                    evidence_confidence: EvidenceConfidence::compute(on()),
                    heat_score: status.heat_score(),
                    mean_cell_score: crate::round::mean(column.iter().map(|c| c.score).sum(), column.len()),
                    gap_cells: column.iter().filter(|c| c.status.is_gap()).count(),
                }
            })
            .collect();

        let mut top_gaps = Vec::new();
        for wanted in [CoverageStatus::WarningOnly, CoverageStatus::NotObservedLocally] {
            for r in &heat_rows {
                for c in r.cells.iter().filter(|c| c.status == wanted) {
                    top_gaps.push((r.agent_id.clone(), r.repository.clone(), c.surface, c.status));
                }
            }
        }
        Coverage { surfaces, heat_rows, coverage_score, top_gaps }
    }
}
