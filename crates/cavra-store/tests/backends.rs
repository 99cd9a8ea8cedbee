//! The same store scenarios on SQLite and on a real PostgreSQL server.
//!
//! PostgreSQL tests read `CAVRA_TEST_POSTGRES`, a URL to a database on a
//! server where the user may create databases (`.ci/run` starts a
//! throw-away cluster and sets it); each test makes its own database. In CI
//! a missing server fails the test.

use cavra_store::query::{Filter, Page};
use cavra_store::retention::{plan, Decision, RetentionPolicy, DAY};
use cavra_store::{
    ApprovalAction, EventAction, Hold, HoldTarget, ItemState, NewItem, Outcome, Store, StoreError, StoredApproval,
};

const T0: i64 = 1_800_000_000;

/// A fresh store: `(url, blob folder, keep-alive)`.
struct Fixture {
    url: String,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        Fixture { url: format!("sqlite:{}", dir.path().join("store.db").display()), dir }
    }

    fn postgres(name: &str) -> Option<Fixture> {
        let Ok(admin) = std::env::var("CAVRA_TEST_POSTGRES") else {
            assert!(std::env::var_os("CI").is_none(), "CAVRA_TEST_POSTGRES is required in CI; .ci/run starts a server");
            eprintln!("skipping: CAVRA_TEST_POSTGRES is not set");
            return None;
        };
        Some(Fixture { url: fresh_database(&admin, name), dir: tempfile::tempdir().unwrap() })
    }

    fn open(&self) -> Store {
        Store::open(&self.url, &self.dir.path().join("blobs")).unwrap()
    }
}

/// Creates (or re-creates) a database named after the test and returns its URL.
pub fn fresh_database(admin: &str, name: &str) -> String {
    let db = format!("cavra_{name}_{}", std::process::id());
    let mut client = postgres::Client::connect(admin, postgres::NoTls).expect("connecting to CAVRA_TEST_POSTGRES");
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {db}")).unwrap();
    client.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    let (base, query) = admin.split_once('?').map_or((admin, None), |(b, q)| (b, Some(q)));
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

fn new_item(tenant: &str, format: &str, class: &str, created_at: i64) -> NewItem {
    NewItem {
        tenant_ref: tenant.into(),
        kind: "board_pack".into(),
        format: format.into(),
        name: format!("board_pack.{format}"),
        report_id: Some("rpt-1".into()),
        package: None,
        classification: "confidential".into(),
        retention_class: class.into(),
        created_at,
    }
}

fn hold(reason: &str) -> Hold {
    Hold { reason: reason.into(), since: T0, by_key_id: "KEY1".into() }
}

/// Register, search with paging, hold, plan, apply, release, tombstones and events.
fn lifecycle(f: &Fixture) {
    assert!(matches!(Store::open(&f.url, f.dir.path()), Err(StoreError::NotMigrated { found: 0, wanted: 1, .. })));
    assert_eq!(Store::migrate(&f.url, &[]).unwrap().len(), 1);
    assert!(Store::migrate(&f.url, &[]).unwrap().is_empty(), "migrating twice changes nothing");
    let mut store = f.open();
    let policy = RetentionPolicy::default();

    // registration is idempotent
    let (a, added) =
        store.register(&new_item("tenant:a", "pdf", "operational_record", T0), &b"A"[..], &policy, T0).unwrap();
    assert!(added);
    assert_eq!(a.expires_at, Some(T0 + 90 * DAY));
    let (again, added) =
        store.register(&new_item("tenant:a", "pdf", "operational_record", T0), &b"A"[..], &policy, T0).unwrap();
    assert!(!added);
    assert_eq!(again, a);
    // the same bytes in another tenant are another item, sharing one blob
    let (b, _) =
        store.register(&new_item("tenant:b", "pdf", "operational_record", T0), &b"A"[..], &policy, T0).unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(a.sha256, b.sha256);
    let mut ids = vec![a.id.clone(), b.id.clone()];
    for i in 0..5 {
        let bytes = format!("csv {i}");
        let (it, _) = store
            .register(&new_item("tenant:a", "csv", "audit_record", T0 + i), bytes.as_bytes(), &policy, T0)
            .unwrap();
        ids.push(it.id);
    }
    let unknown = store.register(&new_item("tenant:a", "pdf", "forever", T0), &b"Z"[..], &policy, T0);
    assert!(matches!(unknown, Err(StoreError::Invalid(_))));

    // search: filters, stable order, paging by cursor
    let tenant_a = Filter { tenant_ref: Some("tenant:a".into()), ..Filter::default() };
    let mut seen = Vec::new();
    let mut page = Page { limit: 2, after: None };
    loop {
        let p = store.search(&tenant_a, &page).unwrap();
        assert_eq!(p.total, 6);
        seen.extend(p.items.iter().map(|i| i.id.clone()));
        match p.next {
            Some(c) => page.after = Some(c.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    let all = store.all(&tenant_a).unwrap();
    assert_eq!(all.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), seen, "pages and all() agree");
    let mut sorted = all.clone();
    sorted.sort_by(|x, y| (x.created_at, &x.id).cmp(&(y.created_at, &y.id)));
    assert_eq!(sorted, all, "ordered by created_at, then id");
    let csv = store.search(&Filter { format: Some("csv".into()), ..Filter::default() }, &Page::default()).unwrap();
    assert_eq!(csv.items.len(), 5);
    let by_digest = Filter { sha256: Some(a.sha256.clone()), ..Filter::default() };
    assert_eq!(store.search(&by_digest, &Page::default()).unwrap().total, 2);
    let window = Filter { from: Some(T0 + 1), until: Some(T0 + 3), ..Filter::default() };
    assert_eq!(store.search(&window, &Page::default()).unwrap().total, 2);
    assert!(store.search(&Filter::default(), &Page { limit: 0, after: None }).is_err());

    // hold one item; a tenant-wide hold covers the rest of tenant b
    let held = store.hold(&HoldTarget::Item(a.id.clone()), &hold("MATTER-7"), T0).unwrap();
    assert_eq!(held.len(), 1);
    assert!(store.hold(&HoldTarget::Item(a.id.clone()), &hold("MATTER-7"), T0).unwrap().is_empty(), "already held");
    assert!(store.hold(&HoldTarget::Item("itm-none".into()), &hold("M"), T0).is_err());
    assert!(store.hold(&HoldTarget::Tenant("tenant:b".into()), &hold(" "), T0).is_err(), "a hold needs a reason");
    let held_filter = Filter { held: Some(true), ..Filter::default() };
    assert_eq!(store.search(&held_filter, &Page::default()).unwrap().items[0].id, a.id);

    // long after every expiry: the held item is kept, audit records need approval
    let later = T0 + 3000 * DAY;
    let items = store.all(&Filter::default()).unwrap();
    let p = plan(&policy, items.clone(), later, &mut |_| None);
    assert_eq!(p.len(), 7);
    let decision = |id: &str| p.iter().find(|e| e.item.id == id).unwrap().decision.clone();
    assert_eq!(decision(&a.id), Decision::Held);
    assert_eq!(decision(&b.id), Decision::Delete);
    assert_eq!(decision(&ids[2]), Decision::NeedsApproval);
    // before anything expires, nothing is planned
    assert!(plan(&policy, items, T0 + DAY, &mut |_| None).is_empty());

    // an approval for one audit record
    let approval = StoredApproval {
        id: "rap-1".into(),
        item_id: ids[2].clone(),
        action: ApprovalAction::Delete,
        approver_key_id: "KEY2".into(),
        body: "{}".into(),
        signature: "sig".into(),
    };
    assert!(store.put_approval(&approval, later).unwrap());
    assert!(!store.put_approval(&approval, later).unwrap());
    assert_eq!(store.approvals(&ids[2], ApprovalAction::Delete).unwrap(), vec![approval]);
    let approved = ids[2].clone();
    let items = store.all(&Filter::default()).unwrap();
    let p = plan(&policy, items, later, &mut |i| (i.id == approved).then(|| "rap-1".to_string()));
    let tombstones = store.apply(&p, later).unwrap();
    assert_eq!(tombstones.len(), 2, "b (no approval needed) and the approved audit record");
    assert!(tombstones.iter().any(|t| t.item_id == approved && t.approval.as_deref() == Some("rap-1")));
    // a's bytes are shared with deleted b, and a is held: the blob stays
    assert!(store.blobs().has(&a.sha256));
    assert_eq!(store.blobs().read(&a.sha256).unwrap(), b"A");
    assert_eq!(store.item(&b.id).unwrap().state, ItemState::Deleted);
    assert_eq!(store.item(&a.id).unwrap().state, ItemState::Retained);
    // applying the same plan again deletes nothing twice
    assert!(store.apply(&p, later + 1).unwrap().is_empty());
    assert_eq!(store.tombstones(None).unwrap().len(), 2);
    assert_eq!(store.tombstones(Some("tenant:b")).unwrap().len(), 1);

    // a hold placed after the plan was made still wins
    let fresh = store.all(&Filter::default()).unwrap();
    let p = plan(&policy, fresh, later, &mut |_| Some("rap-x".into()));
    let victim = p.iter().find(|e| e.decision.deletes()).unwrap().item.id.clone();
    store.hold(&HoldTarget::Item(victim.clone()), &hold("LATE-HOLD"), later).unwrap();
    let t = store.apply(&p, later).unwrap();
    assert!(t.iter().all(|t| t.item_id != victim), "a held item is never deleted");
    assert_eq!(store.item(&victim).unwrap().state, ItemState::Retained);

    // release needs a hold
    assert!(matches!(store.release(&b.id, "rap-r", "KEY2", later), Err(StoreError::Refused(_))));
    let released = store.release(&a.id, "rap-r", "KEY2", later).unwrap();
    assert!(released.hold.is_none());
    let p = plan(&policy, vec![store.item(&a.id).unwrap()], later, &mut |_| None);
    let t = store.apply(&p, later).unwrap();
    assert_eq!(t.len(), 1, "released and expired: deleted now");
    assert!(!store.blobs().has(&a.sha256), "no retained item shares the blob any more");

    // every step left an event
    let events = store.events(Some(&a.id)).unwrap();
    let actions: Vec<EventAction> = events.iter().map(|e| e.action).collect();
    assert_eq!(actions, [EventAction::Register, EventAction::Hold, EventAction::Release, EventAction::Delete]);
    assert!(events.iter().all(|e| e.outcome == Outcome::Done));
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(events[1].detail.as_deref(), Some("MATTER-7"));
    // deleted items are left out of searches unless asked for
    let with_deleted = Filter { include_deleted: true, ..Filter::default() };
    assert_eq!(store.search(&with_deleted, &Page::default()).unwrap().total, 7);
    assert!(store.search(&Filter::default(), &Page::default()).unwrap().total < 7);
}

#[test]
fn lifecycle_on_sqlite() {
    lifecycle(&Fixture::sqlite());
}

#[test]
fn lifecycle_on_postgres() {
    if let Some(f) = Fixture::postgres("lifecycle") {
        lifecycle(&f);
    }
}

#[test]
fn an_altered_blob_is_not_served() {
    let f = Fixture::sqlite();
    Store::migrate(&f.url, &[]).unwrap();
    let mut store = f.open();
    let (item, _) = store
        .register(
            &new_item("tenant:a", "pdf", "governance_record", T0),
            &b"original"[..],
            &RetentionPolicy::default(),
            T0,
        )
        .unwrap();
    std::fs::write(store.blobs().path(&item.sha256).unwrap(), b"forged").unwrap();
    assert!(matches!(store.blobs().read(&item.sha256), Err(StoreError::Altered { .. })));
}

#[test]
fn a_store_newer_than_this_release_is_refused() {
    let f = Fixture::sqlite();
    Store::migrate(&f.url, &[]).unwrap();
    let conn = rusqlite::Connection::open(f.dir.path().join("store.db")).unwrap();
    conn.execute("INSERT INTO cavra_schema VALUES ('store', 2, 'from the future')", []).unwrap();
    assert!(matches!(Store::open(&f.url, f.dir.path()), Err(StoreError::SchemaAhead { found: 2, .. })));
    assert!(Store::migrate(&f.url, &[]).is_err());
}

mod properties {
    use cavra_store::db::Location;
    use cavra_store::query::Cursor;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cursor_parsing_never_panics_and_round_trips(text in "\\PC{0,80}", t in any::<i64>(), id in "[0-9a-f]{24}") {
            let _ = text.parse::<Cursor>();
            let c = Cursor { created_at: t, id: format!("itm-{id}") };
            prop_assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        }

        #[test]
        fn store_urls_never_panic_and_never_echo(text in "\\PC{0,120}") {
            if let Err(e) = Location::parse(&text) {
                let shown = e.to_string();
                prop_assert!(text.len() < 8 || !shown.contains(&text), "{shown}");
            }
        }

        #[test]
        fn blob_names_are_only_digests(text in "\\PC{0,100}") {
            let dir = tempfile::tempdir().unwrap();
            let blobs = cavra_store::blobs::Blobs::at(dir.path());
            if let Ok(p) = blobs.path(&text) {
                prop_assert!(p.starts_with(dir.path().join("sha256")));
                prop_assert!(!text.contains(['/', '.']) || text.starts_with("sha256:"));
            }
        }
    }
}
