//! [`Store`]: the database and the blob folder together.

use std::path::Path;

use serde::Serialize;

use crate::blobs::Blobs;
use crate::db::{self, transaction, Db, Row, Value};
use crate::migrate::{Migration, Status, STORE_MIGRATIONS};
use crate::model::{
    item_id, ApprovalAction, EventAction, Hold, Item, ItemState, NewItem, Outcome, StoreEvent, StoredApproval,
    Tombstone,
};
use crate::query::{Condition, Cursor, Filter, Page, MAX_PAGE};
use crate::retention::{PlanEntry, RetentionPolicy};
use crate::StoreError;

const ITEM_COLUMNS: &str = "id, tenant_ref, kind, format, name, report_id, package, sha256, size, classification, \
     retention_class, created_at, expires_at, hold_reason, hold_since, hold_by, state";

fn item_of(r: &Row) -> Result<Item, StoreError> {
    let hold = match r.text_opt(13)? {
        Some(reason) => Some(Hold { reason, since: r.int(14)?, by_key_id: r.text(15)? }),
        None => None,
    };
    Ok(Item {
        id: r.text(0)?,
        tenant_ref: r.text(1)?,
        kind: r.text(2)?,
        format: r.text(3)?,
        name: r.text(4)?,
        report_id: r.text_opt(5)?,
        package: r.text_opt(6)?,
        sha256: r.text(7)?,
        size: u64::try_from(r.int(8)?).map_err(|_| StoreError::Corrupt("a negative size".into()))?,
        classification: r.text(9)?,
        retention_class: r.text(10)?,
        created_at: r.int(11)?,
        expires_at: r.int_opt(12)?,
        hold,
        state: ItemState::parse(&r.text(16)?)?,
    })
}

fn tombstone_of(r: &Row) -> Result<Tombstone, StoreError> {
    Ok(Tombstone {
        item_id: r.text(0)?,
        tenant_ref: r.text(1)?,
        sha256: r.text(2)?,
        size: u64::try_from(r.int(3)?).map_err(|_| StoreError::Corrupt("a negative size".into()))?,
        retention_class: r.text(4)?,
        expired_at: r.int(5)?,
        deleted_at: r.int(6)?,
        approval: r.text_opt(7)?,
    })
}

fn event_of(r: &Row) -> Result<StoreEvent, StoreError> {
    Ok(StoreEvent {
        seq: u64::try_from(r.int(0)?).map_err(|_| StoreError::Corrupt("a negative sequence number".into()))?,
        at: r.int(1)?,
        action: EventAction::parse(&r.text(2)?)?,
        outcome: Outcome::parse(&r.text(3)?)?,
        item_id: r.text_opt(4)?,
        tenant_ref: r.text_opt(5)?,
        actor_key_id: r.text_opt(6)?,
        detail: r.text_opt(7)?,
    })
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchPage {
    /// The items, by `created_at`, then id.
    pub items: Vec<Item>,
    /// How many items match the filter in all.
    pub total: u64,
    /// The cursor for the next page, when there is one.
    pub next: Option<String>,
}

/// Which items a legal hold covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldTarget {
    /// One item.
    Item(String),
    /// Every retained item of a tenant.
    Tenant(String),
}

/// The database and the blob folder.
pub struct Store {
    db: Box<dyn Db>,
    blobs: Blobs,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dialect", &self.db.dialect()).field("blobs", &self.blobs).finish()
    }
}

/// Applies the store's migrations, and `extra` ones (other components that
/// share the database), that `db` has not applied yet; returns what it ran.
///
/// # Errors
/// Database errors; a schema newer than this release.
pub fn migrate_db(db: &mut dyn Db, extra: &[Migration]) -> Result<Vec<Migration>, StoreError> {
    let set: Vec<Migration> = STORE_MIGRATIONS.iter().chain(extra).copied().collect();
    db.batch(crate::migrate::SCHEMA_TABLE)?;
    let status = Status::of(&set, &applied(db)?)?;
    for m in &status.pending {
        transaction(db, |db| {
            let sql = match db.dialect() {
                db::Dialect::Sqlite => m.sqlite,
                db::Dialect::Postgres => m.postgres,
            };
            if !sql.is_empty() {
                db.batch(sql)?;
            }
            db.exec(
                "INSERT INTO cavra_schema (component, version, name) VALUES (?1, ?2, ?3)",
                &[m.component.into(), i64::from(m.version).into(), m.name.into()],
            )?;
            Ok(())
        })?;
    }
    Ok(status.pending)
}

/// The migrations `db` has applied, `(component, version)`.
///
/// # Errors
/// Database errors.
pub fn applied(db: &mut dyn Db) -> Result<Vec<(String, u32)>, StoreError> {
    let exists = match db.dialect() {
        db::Dialect::Sqlite => db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'cavra_schema'", &[])?,
        db::Dialect::Postgres => db.query("SELECT table_name::text FROM information_schema.tables WHERE table_name = 'cavra_schema' AND table_schema = current_schema()", &[])?,
    };
    if exists.is_empty() {
        return Ok(Vec::new());
    }
    db.query("SELECT component, version FROM cavra_schema ORDER BY component, version", &[])?
        .iter()
        .map(|r| {
            Ok((r.text(0)?, u32::try_from(r.int(1)?).map_err(|_| StoreError::Corrupt("a bad schema version".into()))?))
        })
        .collect()
}

/// Refuses unless `db` has applied every migration in `set`.
///
/// # Errors
/// [`StoreError::NotMigrated`], [`StoreError::SchemaAhead`], database errors.
pub fn require_migrated(db: &mut dyn Db, set: &[Migration]) -> Result<(), StoreError> {
    Status::of(set, &applied(db)?)?.require_current()
}

impl Store {
    /// Applies pending migrations to the database at `url` (the store's own
    /// and `extra` ones); returns what it ran.
    ///
    /// # Errors
    /// As [`migrate_db`]; connection errors.
    pub fn migrate(url: &str, extra: &[Migration]) -> Result<Vec<Migration>, StoreError> {
        Store::migrate_with(url, None, extra)
    }

    /// [`Store::migrate`] with the PostgreSQL password given apart from the URL.
    ///
    /// # Errors
    /// As [`Store::migrate`].
    pub fn migrate_with(url: &str, password: Option<&str>, extra: &[Migration]) -> Result<Vec<Migration>, StoreError> {
        // Migrating is how a store comes to be: an SQLite file's folder is made here.
        if let db::Location::Sqlite(path) = db::Location::parse(url)? {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
            }
        }
        let mut db = db::open_with(url, password)?;
        migrate_db(db.as_mut(), extra)
    }

    /// Opens the store at `url` with its blob folder at `blobs`.
    ///
    /// # Errors
    /// Connection errors; a schema that is behind or ahead.
    pub fn open(url: &str, blobs: &Path) -> Result<Store, StoreError> {
        Store::open_with(url, None, blobs)
    }

    /// [`Store::open`] with the PostgreSQL password given apart from the URL.
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_with(url: &str, password: Option<&str>, blobs: &Path) -> Result<Store, StoreError> {
        let mut db = db::open_with(url, password)?;
        require_migrated(db.as_mut(), STORE_MIGRATIONS)?;
        Ok(Store { db, blobs: Blobs::at(blobs) })
    }

    /// The blob folder.
    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    /// The database, for the components that keep their own tables beside
    /// the store's (the outbox, evidence rooms), each under its own
    /// migrations.
    pub fn db(&mut self) -> &mut dyn Db {
        self.db.as_mut()
    }

    /// Refuses unless the database has applied every migration in `set`
    /// (another component's, checked when it starts using the store).
    ///
    /// # Errors
    /// [`StoreError::NotMigrated`], [`StoreError::SchemaAhead`], database errors.
    pub fn require(&mut self, set: &[Migration]) -> Result<(), StoreError> {
        require_migrated(self.db.as_mut(), set)
    }

    /// Registers an artifact: its bytes go into the blob folder, its record
    /// into the database, with its expiry under `policy`. Registering the
    /// same bytes again for the same tenant and package returns the item
    /// already there and `false`.
    ///
    /// # Errors
    /// An unknown retention class, I/O and database errors.
    pub fn register(
        &mut self,
        new: &NewItem,
        bytes: impl std::io::Read,
        policy: &RetentionPolicy,
        now: i64,
    ) -> Result<(Item, bool), StoreError> {
        let expires_at = policy.expiry(&new.retention_class, new.created_at).map_err(StoreError::Invalid)?;
        check_name(&new.name)?;
        let (sha256, size) = self.blobs.put(bytes)?;
        let item = Item {
            id: item_id(&new.tenant_ref, &sha256, new.package.as_deref()),
            tenant_ref: new.tenant_ref.clone(),
            kind: new.kind.clone(),
            format: new.format.clone(),
            name: new.name.clone(),
            report_id: new.report_id.clone(),
            package: new.package.clone(),
            sha256,
            size,
            classification: new.classification.clone(),
            retention_class: new.retention_class.clone(),
            created_at: new.created_at,
            expires_at,
            hold: None,
            state: ItemState::Retained,
        };
        let added = transaction(self.db.as_mut(), |db| {
            let added = db.exec(
                &format!(
                    "INSERT INTO items ({ITEM_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,NULL,NULL,NULL,'retained') \
                     ON CONFLICT (id) DO NOTHING"
                ),
                &[
                    (&item.id).into(),
                    (&item.tenant_ref).into(),
                    (&item.kind).into(),
                    (&item.format).into(),
                    (&item.name).into(),
                    Value::text_opt(item.report_id.as_deref()),
                    Value::text_opt(item.package.as_deref()),
                    (&item.sha256).into(),
                    i64::try_from(item.size).unwrap_or(i64::MAX).into(),
                    (&item.classification).into(),
                    (&item.retention_class).into(),
                    item.created_at.into(),
                    Value::int_opt(item.expires_at),
                ],
            )? == 1;
            if added {
                append_event(db, &StoreEvent::about(now, EventAction::Register, Outcome::Done, &item))?;
            }
            Ok(added)
        })?;
        if added {
            Ok((item, true))
        } else {
            Ok((self.item(&item.id)?, false))
        }
    }

    /// The item with `id`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; database errors.
    pub fn item(&mut self, id: &str) -> Result<Item, StoreError> {
        let rows = self.db.query(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1"), &[id.into()])?;
        rows.first().map(item_of).transpose()?.ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// Items matching `filter`, by `created_at` then id, one page at a time.
    ///
    /// # Errors
    /// A page size outside 1..=[`MAX_PAGE`]; database errors.
    pub fn search(&mut self, filter: &Filter, page: &Page) -> Result<SearchPage, StoreError> {
        if page.limit == 0 || page.limit > MAX_PAGE {
            return Err(StoreError::Invalid(format!("a page holds 1 to {MAX_PAGE} items")));
        }
        let all = Condition::of(filter, None);
        let total = self.db.query(&format!("SELECT COUNT(*) FROM items WHERE {}", all.sql), &values(&all))?;
        let total = total.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
        let c = Condition::of(filter, page.after.as_ref());
        let mut params = values(&c);
        params.push(i64::from(page.limit).into());
        let sql =
            format!("SELECT {ITEM_COLUMNS} FROM items WHERE {} ORDER BY created_at, id LIMIT ?{}", c.sql, params.len());
        let items = self.db.query(&sql, &params)?.iter().map(item_of).collect::<Result<Vec<_>, _>>()?;
        let next =
            (items.len() == page.limit as usize).then(|| items.last().map(|i| Cursor::of(i).to_string())).flatten();
        Ok(SearchPage { items, total: u64::try_from(total).unwrap_or(0), next })
    }

    /// Every item matching `filter` (all pages).
    ///
    /// # Errors
    /// Database errors.
    pub fn all(&mut self, filter: &Filter) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut page = Page { limit: MAX_PAGE, after: None };
        loop {
            let p = self.search(filter, &page)?;
            let last = p.items.last().map(Cursor::of);
            out.extend(p.items);
            match (p.next, last) {
                (Some(_), Some(cursor)) => page.after = Some(cursor),
                _ => return Ok(out),
            }
        }
    }

    /// Places a legal hold on the target's retained items that are not held
    /// yet; returns the items it changed.
    ///
    /// # Errors
    /// An empty reason, an unknown item; database errors.
    pub fn hold(&mut self, target: &HoldTarget, hold: &Hold, now: i64) -> Result<Vec<Item>, StoreError> {
        if hold.reason.trim().is_empty() {
            return Err(StoreError::Invalid("a legal hold needs a reason (a matter or ticket reference)".into()));
        }
        let (sql, param) = match target {
            HoldTarget::Item(id) => {
                self.item(id)?;
                ("id = ?1", id)
            }
            HoldTarget::Tenant(t) => ("tenant_ref = ?1", t),
        };
        transaction(self.db.as_mut(), |db| {
            let cond = format!("{sql} AND state = 'retained' AND hold_reason IS NULL");
            let rows = db.query(
                &format!("SELECT {ITEM_COLUMNS} FROM items WHERE {cond} ORDER BY created_at, id"),
                &[param.into()],
            )?;
            let mut changed = Vec::new();
            for r in &rows {
                let mut item = item_of(r)?;
                db.exec(
                    "UPDATE items SET hold_reason = ?2, hold_since = ?3, hold_by = ?4 WHERE id = ?1 AND hold_reason IS NULL",
                    &[(&item.id).into(), (&hold.reason).into(), hold.since.into(), (&hold.by_key_id).into()],
                )?;
                item.hold = Some(hold.clone());
                let e = StoreEvent::about(now, EventAction::Hold, Outcome::Done, &item)
                    .by(&hold.by_key_id)
                    .detail(&hold.reason);
                append_event(db, &e)?;
                changed.push(item);
            }
            Ok(changed)
        })
    }

    /// Lifts the legal hold on `id`, under the approval `approval` (which
    /// the caller has verified).
    ///
    /// # Errors
    /// [`StoreError::Refused`] when the item is not held; database errors.
    pub fn release(&mut self, id: &str, approval: &str, by_key_id: &str, now: i64) -> Result<Item, StoreError> {
        let mut item = self.item(id)?;
        if item.hold.is_none() {
            return Err(StoreError::Refused(format!("{id} is not under legal hold")));
        }
        transaction(self.db.as_mut(), |db| {
            let n = db.exec(
                "UPDATE items SET hold_reason = NULL, hold_since = NULL, hold_by = NULL WHERE id = ?1 AND hold_reason IS NOT NULL",
                &[id.into()],
            )?;
            if n != 1 {
                return Err(StoreError::Refused(format!("{id} is not under legal hold")));
            }
            let e = StoreEvent::about(now, EventAction::Release, Outcome::Done, &item).by(by_key_id).detail(approval);
            append_event(db, &e)
        })?;
        item.hold = None;
        Ok(item)
    }

    /// Keeps a signed retention approval (its signature is checked by the
    /// governance layer before it is stored and again whenever it is used).
    /// Storing the same approval again changes nothing.
    ///
    /// # Errors
    /// Database errors.
    pub fn put_approval(&mut self, a: &StoredApproval, now: i64) -> Result<bool, StoreError> {
        let item = self.item(&a.item_id)?;
        transaction(self.db.as_mut(), |db| {
            let added = db.exec(
                "INSERT INTO retention_approvals (id, item_id, action, approver_key_id, body, signature) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                &[
                    (&a.id).into(),
                    (&a.item_id).into(),
                    a.action.as_str().into(),
                    (&a.approver_key_id).into(),
                    (&a.body).into(),
                    (&a.signature).into(),
                ],
            )? == 1;
            if added {
                let e = StoreEvent::about(now, EventAction::Approve, Outcome::Done, &item)
                    .by(&a.approver_key_id)
                    .detail(format!("{} {}", a.action.as_str(), a.id));
                append_event(db, &e)?;
            }
            Ok(added)
        })
    }

    /// The approvals kept for an action on an item, by id.
    ///
    /// # Errors
    /// Database errors.
    pub fn approvals(&mut self, item_id: &str, action: ApprovalAction) -> Result<Vec<StoredApproval>, StoreError> {
        let rows = self.db.query(
            "SELECT id, item_id, action, approver_key_id, body, signature FROM retention_approvals \
             WHERE item_id = ?1 AND action = ?2 ORDER BY id",
            &[item_id.into(), action.as_str().into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(StoredApproval {
                    id: r.text(0)?,
                    item_id: r.text(1)?,
                    action: ApprovalAction::parse(&r.text(2)?).map_err(StoreError::Corrupt)?,
                    approver_key_id: r.text(3)?,
                    body: r.text(4)?,
                    signature: r.text(5)?,
                })
            })
            .collect()
    }

    /// Carries out the deleting lines of a plan: for each, in one
    /// transaction, marks the item deleted and writes its tombstone —
    /// unless it has been held meanwhile, which the statement itself checks
    /// — then deletes the blob once no retained item shares it. Returns
    /// the tombstones written.
    ///
    /// # Errors
    /// I/O and database errors (what was deleted before stays deleted and
    /// tombstoned).
    pub fn apply(&mut self, plan: &[PlanEntry], now: i64) -> Result<Vec<Tombstone>, StoreError> {
        let mut out = Vec::new();
        for entry in plan.iter().filter(|e| e.decision.deletes()) {
            let t = Tombstone {
                item_id: entry.item.id.clone(),
                tenant_ref: entry.item.tenant_ref.clone(),
                sha256: entry.item.sha256.clone(),
                size: entry.item.size,
                retention_class: entry.item.retention_class.clone(),
                expired_at: entry.expired_at,
                deleted_at: now,
                approval: entry.decision.approval().map(str::to_string),
            };
            let deleted = transaction(self.db.as_mut(), |db| delete_one(db, &entry.item, &t, now))?;
            if deleted {
                let still_used = self.db.query(
                    "SELECT id FROM items WHERE sha256 = ?1 AND state = 'retained' LIMIT 1",
                    &[(&t.sha256).into()],
                )?;
                if still_used.is_empty() {
                    self.blobs.remove(&t.sha256)?;
                }
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Tombstones, by deletion time then item id; of one tenant when given.
    ///
    /// # Errors
    /// Database errors.
    pub fn tombstones(&mut self, tenant_ref: Option<&str>) -> Result<Vec<Tombstone>, StoreError> {
        let cols = "item_id, tenant_ref, sha256, size, retention_class, expired_at, deleted_at, approval";
        let rows = match tenant_ref {
            Some(t) => self.db.query(
                &format!("SELECT {cols} FROM tombstones WHERE tenant_ref = ?1 ORDER BY deleted_at, item_id"),
                &[t.into()],
            )?,
            None => self.db.query(&format!("SELECT {cols} FROM tombstones ORDER BY deleted_at, item_id"), &[])?,
        };
        rows.iter().map(tombstone_of).collect()
    }

    /// Appends an event (retrievals, refusals); returns its sequence number.
    ///
    /// # Errors
    /// Database errors.
    pub fn record(&mut self, event: &StoreEvent) -> Result<u64, StoreError> {
        transaction(self.db.as_mut(), |db| append_event(db, event))
    }

    /// Events, in order; about one item when given.
    ///
    /// # Errors
    /// Database errors.
    pub fn events(&mut self, item_id: Option<&str>) -> Result<Vec<StoreEvent>, StoreError> {
        let cols = "seq, at, action, outcome, item_id, tenant_ref, actor_key_id, detail";
        let rows = match item_id {
            Some(id) => self
                .db
                .query(&format!("SELECT {cols} FROM store_events WHERE item_id = ?1 ORDER BY seq"), &[id.into()])?,
            None => self.db.query(&format!("SELECT {cols} FROM store_events ORDER BY seq"), &[])?,
        };
        rows.iter().map(event_of).collect()
    }
}

fn values(c: &Condition) -> Vec<Value> {
    c.params
        .iter()
        .map(|p| match p {
            crate::query::Param::Text(s) => Value::Text(s.clone()),
            crate::query::Param::Int(i) => Value::Int(*i),
        })
        .collect()
}

/// File names are kept for people; a name with a folder in it is refused.
fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty()
        || name.len() > 255
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
        || name == ".."
    {
        return Err(StoreError::Invalid(format!("`{}` is not a plain file name", name.escape_debug())));
    }
    Ok(())
}

fn delete_one(db: &mut dyn Db, item: &Item, t: &Tombstone, now: i64) -> Result<bool, StoreError> {
    // The hold check is part of the statement: a hold placed after the plan
    // was made still wins.
    let n = db.exec(
        "UPDATE items SET state = 'deleted' WHERE id = ?1 AND state = 'retained' AND hold_reason IS NULL",
        &[(&t.item_id).into()],
    )?;
    if n != 1 {
        return Ok(false);
    }
    db.exec(
        "INSERT INTO tombstones (item_id, tenant_ref, sha256, size, retention_class, expired_at, deleted_at, approval) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            (&t.item_id).into(),
            (&t.tenant_ref).into(),
            (&t.sha256).into(),
            i64::try_from(t.size).unwrap_or(i64::MAX).into(),
            (&t.retention_class).into(),
            t.expired_at.into(),
            t.deleted_at.into(),
            Value::text_opt(t.approval.as_deref()),
        ],
    )?;
    let detail = match &t.approval {
        Some(a) => format!("retention class {} expired; approval {a}", t.retention_class),
        None => format!("retention class {} expired", t.retention_class),
    };
    append_event(db, &StoreEvent::about(now, EventAction::Delete, Outcome::Done, item).detail(detail))?;
    Ok(true)
}

fn append_event(db: &mut dyn Db, e: &StoreEvent) -> Result<u64, StoreError> {
    let rows = db.query(
        "INSERT INTO store_events (at, action, outcome, item_id, tenant_ref, actor_key_id, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING seq",
        &[
            e.at.into(),
            e.action.as_str().into(),
            e.outcome.as_str().into(),
            Value::text_opt(e.item_id.as_deref()),
            Value::text_opt(e.tenant_ref.as_deref()),
            Value::text_opt(e.actor_key_id.as_deref()),
            Value::text_opt(e.detail.as_deref()),
        ],
    )?;
    let seq = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    Ok(u64::try_from(seq).unwrap_or(0))
}
