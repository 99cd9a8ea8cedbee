//! Governed records on SQLite and on a real PostgreSQL server: holds,
//! signed approvals, retention apply with tombstones, and audited,
//! watermarked retrieval.

use cavra_deliver::config::Config;
use cavra_deliver::identity::Signer;
use cavra_deliver::records::{self, documents, Copy, Retrieved};
use cavra_render::signed::SigningKey;
use cavra_store::retention::{Decision, DAY};
use cavra_store::{ApprovalAction, EventAction, HoldTarget, ItemState, NewItem, Outcome, Store, StoredApproval};

const T0: i64 = 1_800_000_000;

struct People {
    config: Config,
    keeper: Signer,
    approver: Signer,
    janitor: Signer,
    auditor: Signer,
    cso: Signer,
}

fn people() -> People {
    let keys: Vec<SigningKey> = (0..5).map(|_| SigningKey::generate().unwrap()).collect();
    let names = ["keeper", "approver", "janitor", "auditor", "cso"];
    let mut toml = String::from(
        "[roles.keeper]\npermissions = [\"legal_hold\"]\n\
         [roles.approver]\npermissions = [\"approve_retention\"]\n\
         [roles.janitor]\npermissions = [\"apply_retention\"]\n\
         [roles.auditor]\npermissions = [\"retrieve\"]\nclassifications = [\"internal\"]\n\
         [roles.cso]\npermissions = [\"retrieve\"]\nclassifications = [\"internal\", \"confidential\"]\n\
         [retention.classes.short]\ndays = 30\n",
    );
    for (n, k) in names.iter().zip(&keys) {
        toml.push_str(&format!("[principals.{n}]\npublic_key = \"{}\"\nroles = [\"{n}\"]\n", k.public_key().base64()));
    }
    let config = Config::from_toml(&toml).unwrap();
    let mut s = keys.into_iter().map(|k| Signer::authenticate(&config, k).unwrap());
    let mut next = || s.next().unwrap();
    People { keeper: next(), approver: next(), janitor: next(), auditor: next(), cso: next(), config }
}

fn item(format: &str, classification: &str, class: &str) -> NewItem {
    NewItem {
        tenant_ref: "tenant:northwind-prod".into(),
        kind: "board-kpi-pack".into(),
        format: format.into(),
        name: format!("board-kpi-pack.{format}"),
        report_id: Some("rpt-1".into()),
        package: None,
        classification: classification.into(),
        retention_class: class.into(),
        created_at: T0,
    }
}

/// The sample board pack as a PDF.
fn board_pack_pdf() -> Vec<u8> {
    use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/sample_snapshot.json")).unwrap();
    let snapshot = Snapshot::from_json_str(&text, &LoadOptions::default()).unwrap();
    let report =
        build_report(ReportKind::BoardKpiPack, &snapshot, &Posture::compute(&snapshot), &ReportOptions::default());
    cavra_render::render(&report, cavra_render::Format::Pdf).unwrap().bytes
}

fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).unwrap()
}

fn scenario(url: &str, blobs: &std::path::Path) {
    Store::migrate(url, &[]).unwrap();
    let mut store = Store::open(url, blobs).unwrap();
    let p = people();
    let c = &p.config;
    let policy = c.retention_policy();
    let pdf = board_pack_pdf();
    let (a, _) = store.register(&item("pdf", "internal", "governance_record"), &pdf[..], &policy, T0).unwrap();
    let (b, _) = store.register(&item("csv", "confidential", "audit_record"), &b"k,v\n"[..], &policy, T0).unwrap();
    let (s, _) =
        store.register(&item("html", "internal", "short"), &b"<html><body>x</body></html>"[..], &policy, T0).unwrap();
    assert_eq!(s.expires_at, Some(T0 + 30 * DAY), "a configured class");

    // retrieval, before anything expires
    let soon = T0 + 10 * DAY;
    let Retrieved::Served { copy: Copy::Watermarked(marked), retrieval_id, .. } =
        records::retrieve(&mut store, c, &p.auditor, &a.id, soon).unwrap()
    else {
        panic!("an internal PDF is served to the auditor, watermarked")
    };
    let text = pdf_text(&marked);
    assert!(text.contains("Retrieved copy for auditor recipients"), "{text:.300}");
    assert!(text.contains(&retrieval_id));
    assert!(text.contains("Board KPI pack"), "the document itself is still there");
    assert_eq!(store.blobs().read(&a.sha256).unwrap(), pdf, "the stored bytes are unchanged");
    let refused = records::retrieve(&mut store, c, &p.auditor, &b.id, soon).unwrap();
    assert!(matches!(&refused, Retrieved::Refused { reason, .. } if reason.contains("may not retrieve confidential")));
    assert!(matches!(
        records::retrieve(&mut store, c, &p.cso, &b.id, soon).unwrap(),
        Retrieved::Served { copy: Copy::Stored, .. }
    ));
    assert!(matches!(records::retrieve(&mut store, c, &p.keeper, &a.id, soon).unwrap(), Retrieved::Refused { .. }));
    assert!(matches!(
        records::retrieve(&mut store, c, &p.cso, "itm-nothing", soon).unwrap(),
        Retrieved::Refused { item: None, .. }
    ));
    let b_events = store.events(Some(&b.id)).unwrap();
    let outcomes: Vec<(EventAction, Outcome)> = b_events.iter().map(|e| (e.action, e.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (EventAction::Register, Outcome::Done),
            (EventAction::Retrieve, Outcome::Refused),
            (EventAction::Retrieve, Outcome::Done)
        ]
    );
    assert_eq!(b_events[1].actor_key_id.as_deref(), Some(p.auditor.key_id().as_str()));

    // a hold, by the principal allowed to place one
    assert!(records::hold(&mut store, c, &p.auditor, &HoldTarget::Item(a.id.clone()), "MATTER-7", soon).is_err());
    assert!(
        records::hold(&mut store, c, &p.keeper, &HoldTarget::Item(a.id.clone()), "jane@northwind.example", soon)
            .is_err(),
        "gated reason"
    );
    assert_eq!(
        records::hold(&mut store, c, &p.keeper, &HoldTarget::Item(a.id.clone()), "MATTER-7", soon).unwrap().len(),
        1
    );

    // long after every expiry
    let late = T0 + 3000 * DAY;
    assert!(records::apply(&mut store, c, &p.auditor, late).is_err(), "apply needs apply_retention");
    let plan = records::plan(&mut store, c, late).unwrap();
    let decision = |id: &str| plan.iter().find(|e| e.item.id == id).unwrap().decision.clone();
    assert_eq!(decision(&a.id), Decision::Held);
    assert_eq!(decision(&b.id), Decision::NeedsApproval);
    assert_eq!(decision(&s.id), Decision::Delete);
    // a forged approval row (no valid signature) approves nothing
    let forged = StoredApproval {
        id: "rap-forged".into(),
        item_id: b.id.clone(),
        action: ApprovalAction::Delete,
        approver_key_id: p.approver.key_id(),
        body: format!("{{\"item_id\":\"{}\"}}", b.id),
        signature: "untrusted comment: x\nRWQ=\n".into(),
    };
    store.put_approval(&forged, late).unwrap();
    let (_, tombstones) = records::apply(&mut store, c, &p.janitor, late).unwrap();
    assert_eq!(tombstones.iter().map(|t| t.item_id.as_str()).collect::<Vec<_>>(), [s.id.as_str()]);
    assert_eq!(store.item(&a.id).unwrap().state, ItemState::Retained, "a held item survives apply after its expiry");
    assert_eq!(store.item(&b.id).unwrap().state, ItemState::Retained, "an unapproved deletion is refused");
    assert!(store.blobs().has(&a.sha256) && store.blobs().has(&b.sha256) && !store.blobs().has(&s.sha256));

    // retrieval of what retention deleted, or what is past its retention, is refused
    let gone = records::retrieve(&mut store, c, &p.cso, &s.id, late).unwrap();
    assert!(matches!(&gone, Retrieved::Refused { reason, .. } if reason.contains("deleted under retention")));
    let expired = records::retrieve(&mut store, c, &p.cso, &b.id, late).unwrap();
    assert!(matches!(&expired, Retrieved::Refused { reason, .. } if reason.contains("past its retention")));
    assert!(
        matches!(records::retrieve(&mut store, c, &p.cso, &a.id, late).unwrap(), Retrieved::Served { .. }),
        "held: still served"
    );

    // approvals: by the right principal, never by the one who placed the hold
    assert!(records::approve(&mut store, c, &p.janitor, &b.id, ApprovalAction::Delete, "CHG-1", late).is_err());
    let del = records::approve(&mut store, c, &p.approver, &b.id, ApprovalAction::Delete, "CHG-1", late).unwrap();
    // B's genuine, signed approval copied onto A (a replay under another item) approves nothing for A,
    // and a delete approval is no release approval
    let replayed = StoredApproval { id: "rap-replayed".into(), item_id: a.id.clone(), ..del.clone() };
    store.put_approval(&replayed, late).unwrap();
    let held = store.item(&a.id).unwrap();
    assert_eq!(records::verified_approval(&mut store, c, &held, ApprovalAction::Delete, None).unwrap(), None);
    let as_release = StoredApproval {
        id: "rap-as-release".into(),
        item_id: a.id.clone(),
        action: ApprovalAction::Release,
        ..del.clone()
    };
    store.put_approval(&as_release, late).unwrap();
    assert!(records::release(&mut store, c, &p.keeper, &a.id, late).is_err(), "a copied approval releases nothing");
    assert!(records::release(&mut store, c, &p.keeper, &a.id, late).is_err(), "release needs an approval");
    assert!(records::approve(&mut store, c, &p.keeper, &a.id, ApprovalAction::Release, "M-7", late).is_err());
    records::approve(&mut store, c, &p.approver, &a.id, ApprovalAction::Release, "MATTER-7 closed", late).unwrap();
    assert!(records::release(&mut store, c, &p.approver, &a.id, late).is_err(), "releasing needs legal_hold");
    assert!(records::release(&mut store, c, &p.keeper, &a.id, late).unwrap().hold.is_none());

    let (_, tombstones) = records::apply(&mut store, c, &p.janitor, late).unwrap();
    assert_eq!(tombstones.len(), 2);
    let tb = tombstones.iter().find(|t| t.item_id == b.id).unwrap();
    assert_eq!(tb.approval.as_deref(), Some(del.id.as_str()), "the tombstone names its deletion approval");
    assert_eq!(store.tombstones(None).unwrap().len(), 3);

    // the two contract documents
    let life = documents::retention_lifecycle(&mut store, c, None, late, "sqlite").unwrap();
    assert_eq!(life.summary.deleted, 3);
    assert_eq!(life.tombstones.len(), 3);
    let json: serde_json::Value = serde_json::from_slice(&life.write(documents::DocFormat::Json).unwrap()).unwrap();
    assert_eq!(json["schema_version"], documents::RETENTION_SCHEMA);
    let md = String::from_utf8(life.write(documents::DocFormat::Markdown).unwrap()).unwrap();
    assert!(md.starts_with("# Retention lifecycle") && md.contains("| short | 30 | not required |"));
    let search = documents::search_retrieval(
        &mut store,
        c,
        &cavra_store::query::Filter { include_deleted: true, ..Default::default() },
        late,
    )
    .unwrap();
    assert_eq!(search.total, 3);
    let refusals = search.access_decisions.iter().filter(|d| d.outcome == "refused").count();
    assert_eq!(refusals, 5);
    assert!(search.access_decisions.iter().any(|d| d.watermarked == Some(true)));
    let csv = String::from_utf8(search.write(documents::DocFormat::Csv).unwrap()).unwrap();
    assert_eq!(csv.lines().count(), 4);
}

#[test]
fn governed_records_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scenario(&format!("sqlite:{}", dir.path().join("store.db").display()), &dir.path().join("blobs"));
}

#[test]
fn governed_records_on_postgres() {
    let Ok(admin) = std::env::var("CAVRA_TEST_POSTGRES") else {
        assert!(std::env::var_os("CI").is_none(), "CAVRA_TEST_POSTGRES is required in CI; .ci/run starts a server");
        eprintln!("skipping: CAVRA_TEST_POSTGRES is not set");
        return;
    };
    let db = format!("cavra_records_{}", std::process::id());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {db}")).unwrap();
    client.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    let root = admin.rsplit_once('/').map_or(admin.as_str(), |(r, _)| r);
    let dir = tempfile::tempdir().unwrap();
    scenario(&format!("{root}/{db}"), &dir.path().join("blobs"));
}

#[test]
fn an_outbox_file_written_before_migrations_were_recorded_is_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    {
        // The embedded outbox as earlier releases created it: tables, no cavra_schema.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(cavra_deliver::schema::OUTBOX_MIGRATIONS[0].sqlite).unwrap();
        conn.execute(
            "INSERT INTO jobs (id, message_id, recipient, subject, attachment, digest, role, state, next_attempt) \
             VALUES ('job-1', 'm', 'a@northwind.example', 's', 'p.zip', 'sha256:00', 'cso', 'queued', 0)",
            [],
        )
        .unwrap();
    }
    let url = format!("sqlite:{}", path.display());
    assert!(cavra_deliver::outbox::Outbox::connect(&url).is_err(), "a worker refuses an unrecorded schema");
    let store = cavra_deliver::outbox::Outbox::open(&path).unwrap();
    use cavra_deliver::outbox::OutboxStore;
    assert_eq!(store.jobs().unwrap().len(), 1, "the jobs are kept");
    drop(store);
    assert!(cavra_deliver::outbox::Outbox::connect(&url).is_ok(), "and the schema is now recorded");
}
