//! evidence-freshness: every evidence item with its SLO status.

use std::sync::Arc;

use super::{heading, para, Ctx};
use crate::posture::{FreshnessItem, SloStatus};
use crate::report::{
    Block, Cell, Chart, ChartKind, Classification, ColumnType, Dataset, Kpi, Report, ReportKind, RowSource, Rows,
    Series,
};
use crate::sections::{FreshnessSections, Sections, SloCounts};
use crate::text::Text;

/// Documents show the worst items only; the CSV lists every item.
pub(super) const DOCUMENT_ROWS: usize = 50;

pub(super) fn build(ctx: &Ctx) -> Report {
    let f = &ctx.posture.freshness;
    let mut r = ctx.start(
        ReportKind::EvidenceFreshness,
        "cavra.report.evidence_freshness.v1",
        "audit and GRC",
        Classification::Internal,
    );
    let sections = FreshnessSections {
        freshness_score: f.freshness_score,
        retention_score: f.retention_score,
        items: f.items.len(),
        slo: SloCounts { breached: f.breached, monitor: f.monitor, met: f.met },
    };

    r.blocks.push(heading(2, "Summary"));
    r.blocks.push(Block::Kpis {
        items: vec![
            Kpi {
                label: "Freshness score".into(),
                value: format!("{}/100", f.freshness_score),
                note: "fresh 100, review soon 68, stale 18".into(),
            },
            Kpi {
                label: "Retention score".into(),
                value: format!("{}/100", f.retention_score),
                note: "retained 100, sample 45, reference only 38".into(),
            },
            Kpi {
                label: "SLO breached".into(),
                value: f.breached.to_string(),
                note: "stale, undated or metadata only".into(),
            },
            Kpi {
                label: "To monitor".into(),
                value: f.monitor.to_string(),
                note: "ageing, sample or unretained evidence".into(),
            },
            Kpi { label: "SLO met".into(), value: f.met.to_string(), note: "fresh and retained".into() },
        ],
    });
    r.blocks.push(para(
        "Items are every decision in the window plus every session without decisions. Evidence is fresh up to 24 hours old, due for review up to 7 days, and stale after that. Retained references point at archive, immutable or object storage.",
    ));
    r.blocks.push(Block::Chart(Chart {
        kind: ChartKind::Donut,
        title: "Evidence items by SLO status".into(),
        categories: SloStatus::ALL.iter().map(|s| s.as_str().to_string()).collect(),
        series: vec![Series { name: "items".into(), values: vec![f.breached as f64, f.monitor as f64, f.met as f64] }],
    }));
    r.blocks.push(heading(2, "Items needing attention"));
    if f.items.len() > DOCUMENT_ROWS {
        r.blocks.push(para(&format!(
            "The worst {DOCUMENT_ROWS} of {} items are shown (breached first, oldest first); the CSV and JSON forms list every item.",
            f.items.len()
        )));
    }
    r.blocks.push(super::table_columns(
        "items",
        Some(DOCUMENT_ROWS),
        &[
            "item_id",
            "item_type",
            "freshness_status",
            "age_hours",
            "retention_status",
            "slo_status",
            "recommended_action",
        ],
    ));

    use ColumnType::*;
    let mut d = Dataset::new(
        "items",
        "Evidence freshness",
        &[
            ("item_id", "Item", Text),
            ("item_type", "Type", Status),
            ("freshness_status", "Freshness", Status),
            ("age_hours", "Age (h)", Integer),
            ("retention_status", "Retention", Status),
            ("recommended_action", "Recommended action", Text),
            ("slo_status", "SLO", Status),
            ("observed_at", "Observed", DateTime),
            ("agent_id", "Agent", Text),
            ("freshness_score", "Freshness score", Integer),
            ("retention_score", "Retention score", Integer),
        ],
    );
    d.rows = Rows::derived(Arc::new(ItemRows(f.items.clone())));
    r.datasets.push(d);
    r.finish(Sections::EvidenceFreshness(sections))
}

/// The `items` dataset: one row per freshness item, made from the posture's
/// shared item list when a writer asks for it.
struct ItemRows(Arc<Vec<FreshnessItem>>);

impl RowSource for ItemRows {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn row(&self, i: usize) -> Vec<Cell> {
        let i = &self.0[i];
        vec![
            i.item_id().into(),
            Text::from_static(i.item_type()).into(),
            i.freshness_status.text().into(),
            Cell::from(i.age_hours),
            i.retention_status.text().into(),
            Text::from_static(i.recommended_action()).into(),
            i.slo_status.text().into(),
            Cell::from(i.observed_at()),
            i.agent_id().into(),
            i.freshness_status.score().into(),
            i.retention_status.score().into(),
        ]
    }
}
