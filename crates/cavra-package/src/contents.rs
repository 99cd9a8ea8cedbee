//! What each package type holds.

use cavra_model::{build_report, Posture, Report, ReportKind, Snapshot};
use cavra_render::signed::SigningKey;
use cavra_render::{render, render_to_writer, Format};
use serde_json::{json, Value};

use crate::archive::{Body, Entry, Spool};
use crate::bagit::{self, BagInfo};
use crate::manifest::{sha256_tagged, ManifestArtifact};
use crate::{oscal, PackageError, PackageOptions, PackageType};

/// Files of a package and their manifest entries (the manifest and its
/// signature come later).
pub(crate) struct Built {
    pub entries: Vec<Entry>,
    pub artifacts: Vec<ManifestArtifact>,
}

struct Builder<'a> {
    snapshot: &'a Snapshot,
    posture: &'a Posture,
    options: &'a PackageOptions,
    key: &'a SigningKey,
    out: Built,
}

impl Builder<'_> {
    fn report(&self, kind: ReportKind) -> Report {
        build_report(kind, self.snapshot, self.posture, &self.options.report)
    }

    /// Adds a file held in memory with its manifest entry.
    fn add(&mut self, path: String, bytes: Vec<u8>, report_id: Option<&str>, format: &str, media_type: &str) {
        let sha256 = sha256_tagged(&bytes);
        self.add_entry(Entry::new(path, bytes), sha256, report_id, format, media_type);
    }

    /// Adds an entry whose digest (`sha256:<hex>`) is known.
    fn add_entry(&mut self, entry: Entry, sha256: String, report_id: Option<&str>, format: &str, media_type: &str) {
        self.out.artifacts.push(ManifestArtifact {
            path: entry.path.clone(),
            report_id: report_id.map(str::to_string),
            format: format.into(),
            media_type: media_type.into(),
            size: Some(entry.len()),
            sha256: Some(sha256),
            signs: None,
        });
        self.out.entries.push(entry);
    }

    /// Renders `report` in `format` (both safety gates) into `dir`: text
    /// formats are streamed into a spooled member (a CSV or JSON Lines file
    /// of 200,000 rows is never held in memory), documents built in memory.
    fn render(&mut self, report: &Report, format: Format, dir: &str) -> Result<String, PackageError> {
        let what = || format!("{dir}{}", report.meta.kind);
        let path = format!("{dir}{}", cavra_render::artifact_name(report, format));
        if format.is_text() {
            let (spool, written) = Spool::write(|file| {
                render_to_writer(report, format, file).map_err(|source| PackageError::Render { what: what(), source })
            })?;
            let entry = Entry { path: path.clone(), body: Body::Spooled(spool) };
            let sha = format!("sha256:{}", written.sha256);
            self.add_entry(entry, sha, Some(&report.meta.report_id), format.name(), format.media_type());
            return Ok(path);
        }
        let a = render(report, format).map_err(|source| PackageError::Render { what: what(), source })?;
        self.add(path.clone(), a.bytes, Some(&report.meta.report_id), format.name(), a.media_type);
        Ok(path)
    }

    /// Renders the signed JSON form and its detached signature.
    fn render_signed(&mut self, report: &Report, dir: &str) -> Result<(), PackageError> {
        let a = render(report, Format::SignedJson)
            .map_err(|source| PackageError::Render { what: format!("{dir}{}", report.meta.kind), source })?;
        let comment =
            cavra_render::signed::trusted_comment(&report.meta.report_id, report.meta.kind.as_str(), &a.sha256);
        let sig = self.key.sign(std::io::Cursor::new(&a.bytes), &comment)?;
        let path = format!("{dir}{}", a.name);
        self.add(path.clone(), a.bytes, Some(&report.meta.report_id), Format::SignedJson.name(), a.media_type);
        let sig_path = format!("{path}.minisig");
        self.out.artifacts.push(ManifestArtifact {
            path: sig_path.clone(),
            report_id: Some(report.meta.report_id.clone()),
            format: "minisig".into(),
            media_type: "text/plain; charset=utf-8".into(),
            size: None,
            sha256: None,
            signs: Some(path),
        });
        self.out.entries.push(Entry::new(sig_path, sig.into_bytes()));
        Ok(())
    }

    /// A JSON document of ours, gated like any artifact and streamed into a
    /// spooled member as it is serialised.
    fn add_json(&mut self, path: &str, value: &impl serde::Serialize, format: &str) -> Result<(), PackageError> {
        let (spool, written) = Spool::write(|file| {
            cavra_render::write_json_gated(path, value, file)
                .map_err(|source| PackageError::Render { what: path.into(), source })
        })?;
        let entry = Entry { path: path.into(), body: Body::Spooled(spool) };
        self.add_entry(entry, format!("sha256:{}", written.sha256), None, format, "application/json");
        Ok(())
    }
}

/// One dataset of a report as a report of its own (so it renders as the
/// primary dataset of a CSV or the only rows of a JSON Lines file).
fn only_dataset(report: &Report, name: &str) -> Report {
    let mut r = report.clone();
    r.datasets.retain(|d| d.name == name);
    // Tables of the other datasets go with them (a flat file shows none).
    r.blocks.retain(|b| !matches!(b, cavra_model::report::Block::Table(t) if t.dataset != name));
    r
}

/// The SIEM field dictionary: every dataset's columns, keys as in the JSON Lines rows.
fn field_dictionary(report: &Report) -> Value {
    json!({
        "schema_version": "cavra.siem_field_dictionary.v1",
        "jsonl_schema_version": cavra_render::JSONL_SCHEMA_VERSION,
        "report_id": report.meta.report_id,
        "record_types": {
            "header": "first line: report metadata and, per dataset, its columns and row count",
            "row": "one line per dataset row: `_record` = \"row\", `_dataset` = dataset name, then one key per column",
        },
        "datasets": report.datasets.iter().map(|d| json!({
            "name": d.name,
            "title": d.title,
            "fields": d.columns.iter().map(|c| json!({
                "key": c.key,
                "label": c.label,
                "type": c.ty,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn plus_days(t: cavra_model::Timestamp, days: u32) -> String {
    cavra_model::Timestamp::from_unix_seconds(t.unix_seconds() + i64::from(days) * 86_400)
        .map_or_else(|_| t.date_string(), |x| x.date_string())
}

pub(crate) fn build(
    ptype: PackageType,
    snapshot: &Snapshot,
    posture: &Posture,
    options: &PackageOptions,
    package_id: &str,
    key: &SigningKey,
) -> Result<Built, PackageError> {
    let mut b = Builder { snapshot, posture, options, key, out: Built { entries: Vec::new(), artifacts: Vec::new() } };
    match ptype {
        PackageType::BoardAndAuditBundle => {
            let brief = b.report(ReportKind::ExecutiveRiskBrief);
            b.render(&brief, Format::Pdf, "reports/")?;
            b.render(&brief, Format::Docx, "reports/")?;
            let board = b.report(ReportKind::BoardKpiPack);
            b.render(&board, Format::Xlsx, "reports/")?;
            b.render_signed(&board, "reports/")?;
            let soc2 = b.report(ReportKind::Soc2AuditSummary);
            b.render(&soc2, Format::Pdf, "reports/")?;
        }
        PackageType::GrcUploadPackage => {
            b.add_json(
                "oscal/assessment-results.json",
                &oscal::assessment_results(snapshot, posture, package_id),
                "oscal-assessment-results",
            )?;
            b.add_json("oscal/poam.json", &oscal::poam(snapshot, posture), "oscal-poam")?;
            b.render(&b.report(ReportKind::ControlCoverage), Format::Csv, "reports/")?;
            b.render(&b.report(ReportKind::EvidenceFreshness), Format::Csv, "reports/")?;
        }
        PackageType::SiemExportBundle => {
            let digest = b.report(ReportKind::AgentActivityDigest);
            b.render(&digest, Format::Jsonl, "siem/")?;
            b.add_json("siem/field-dictionary.json", &field_dictionary(&digest), "field-dictionary")?;
        }
        PackageType::IncidentReviewPacket => {
            let packet = b.report(ReportKind::IncidentPacket);
            b.render(&packet, Format::Pdf, "incident/")?;
            b.render(&packet, Format::Json, "incident/")?;
            let linked = only_dataset(&packet, "linked_decisions");
            let a = render(&linked, Format::Jsonl)
                .map_err(|source| PackageError::Render { what: "incident/linked-decisions.jsonl".into(), source })?;
            b.add(
                "incident/linked-decisions.jsonl".into(),
                a.bytes,
                Some(&packet.meta.report_id),
                "jsonl",
                a.media_type,
            );
            let custody = only_dataset(&packet, "chain_of_custody");
            let a = render(&custody, Format::Csv)
                .map_err(|source| PackageError::Render { what: "incident/chain-of-custody.csv".into(), source })?;
            b.add("incident/chain-of-custody.csv".into(), a.bytes, Some(&packet.meta.report_id), "csv", a.media_type);
        }
        PackageType::EvidenceRoomBundle => {
            let room = &options.room;
            let mut watermarked = options.report.clone();
            watermarked.theme.watermark = Some(bagit::watermark(room));
            let with_mark = |kind| build_report(kind, snapshot, posture, &watermarked);
            let soc2 = with_mark(ReportKind::Soc2AuditSummary);
            for f in [Format::Pdf, Format::Docx, Format::Html, Format::Json] {
                b.render(&soc2, f, "data/reports/")?;
            }
            let coverage = with_mark(ReportKind::ControlCoverage);
            b.render(&coverage, Format::Csv, "data/reports/")?;
            b.render(&coverage, Format::Html, "data/reports/")?;
            let freshness = with_mark(ReportKind::EvidenceFreshness);
            b.render(&freshness, Format::Csv, "data/reports/")?;
            b.render(&freshness, Format::Pdf, "data/reports/")?;
            let register = with_mark(ReportKind::AgentRiskRegister);
            b.render(&register, Format::Xlsx, "data/reports/")?;
            let window = soc2.window_label();
            let retention = options.retention.unwrap_or(ptype.default_retention());
            let info = BagInfo {
                organisation: &snapshot.tenant.display_name,
                window: &window,
                bagging_date: &snapshot.as_of.date_string(),
                retention_class: retention.as_str(),
                expires: &plus_days(snapshot.as_of, room.retention_days),
                room,
                package_id,
            };
            for tag in bagit::tag_files(&b.out.entries, &info) {
                let sha = format!("sha256:{}", tag.sha256_hex().map_err(|e| PackageError::Archive(e.to_string()))?);
                b.add_entry(tag, sha, None, "bagit-tag", "text/plain; charset=utf-8");
            }
        }
    }
    Ok(b.out)
}
