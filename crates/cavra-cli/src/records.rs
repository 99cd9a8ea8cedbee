//! `store …` and `retention …`: the record store's commands, and the
//! `--store` option that registers what `render`, `digest` and `package`
//! write.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cavra_deliver::audit::{AuditAction, AuditEvent, AuditLog, AuditStatus};
use cavra_deliver::config::Config;
use cavra_deliver::records::documents::{self, DocFormat};
use cavra_deliver::records::{self as governed, Copy, Retrieved};
use cavra_store::query::{Cursor, Filter, Page};
use cavra_store::{ApprovalAction, HoldTarget, Item, NewItem, Store};
use clap::{Args, Subcommand};

use crate::evidence::{AsPrincipal, AuditArgs};

/// Where the store is.
#[derive(Debug, Clone, Args)]
pub struct StoreLocation {
    /// The record store: `sqlite:PATH` or `postgres://user@host:port/db` (default: `[store] url`).
    #[arg(long = "store", value_name = "URL")]
    pub url: Option<String>,
    /// The blob folder (default: `[store] blobs`, else `<file stem>.blobs` beside an SQLite store).
    #[arg(long, value_name = "DIR")]
    pub blobs: Option<PathBuf>,
}

/// The setup file and the store, for the records commands.
#[derive(Debug, Args)]
pub struct RecordsCommon {
    /// The setup file (principals, roles, retention classes, `[store]`).
    #[arg(long, value_name = "cavra.toml", default_value = "cavra.toml")]
    config: PathBuf,
    #[command(flatten)]
    store: StoreLocation,
    #[command(flatten)]
    audit: AuditArgs,
}

/// A resolved store: URL, blob folder, password.
struct Resolved {
    url: String,
    blobs: PathBuf,
    password: Option<String>,
}

impl StoreLocation {
    /// The URL and password alone (what `store migrate` needs).
    fn database(&self, config: Option<&Config>) -> Result<(String, Option<String>)> {
        let url = self
            .url
            .clone()
            .or_else(|| config.and_then(|c| c.store.url.clone()))
            .context("no store: give --store sqlite:PATH|postgres://… or set [store] url in the setup file")?;
        if cavra_deliver::config::has_store_password(&url) {
            bail!("a password in the store URL is refused; set [store] password = \"env:NAME\" in the setup file");
        }
        let password = match config.and_then(|c| c.store.password.as_deref()) {
            Some(r) => Some(cavra_deliver::config::resolve("store.password", r)?),
            None => None,
        };
        Ok((url, password))
    }

    fn resolve(&self, config: Option<&Config>) -> Result<Resolved> {
        let (url, password) = self.database(config)?;
        let blobs = match (
            self.blobs.clone().or_else(|| config.and_then(|c| c.store.blobs.clone())),
            cavra_store::db::Location::parse(&url)?,
        ) {
            (Some(b), _) => b,
            (None, cavra_store::db::Location::Sqlite(path)) => {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("store");
                path.with_file_name(format!("{stem}.blobs"))
            }
            (None, cavra_store::db::Location::Postgres(_)) => {
                bail!("a PostgreSQL store needs --blobs DIR or [store] blobs (a folder every worker shares)")
            }
        };
        Ok(Resolved { url, blobs, password })
    }

    /// Opens the store (its schema must be current).
    pub fn open(&self, config: Option<&Config>) -> Result<Store> {
        let r = self.resolve(config)?;
        Ok(Store::open_with(&r.url, r.password.as_deref(), &r.blobs)?)
    }
}

impl RecordsCommon {
    fn load(&self) -> Result<(Config, Store, Option<AuditLog>)> {
        let config = Config::load(&self.config)?;
        let store = self.store.open(Some(&config))?;
        let log = self.audit.open()?;
        Ok((config, store, log))
    }
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Apply the store's and the outbox's pending schema migrations (the only command that changes a schema).
    Migrate {
        /// The setup file, for `[store]` (optional).
        #[arg(long, value_name = "cavra.toml")]
        config: Option<PathBuf>,
        #[command(flatten)]
        store: StoreLocation,
    },
    /// Register files: packages (verified with --pubkey, with every file inside) or single artifacts.
    Register(RegisterArgs),
    /// Find items: filters, stable order (creation, then id), paging with --after.
    Search {
        #[command(flatten)]
        common: RecordsCommon,
        #[command(flatten)]
        filter: FilterArgs,
        /// Items per page (1–1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// The cursor a previous page printed.
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
        /// `table` for people, `json` for machines.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Retrieve an item as a principal: its role must cover the item's classification;
    /// PDF, Word and HTML copies are watermarked; served or refused, it is recorded.
    Get {
        /// The item id.
        id: String,
        /// Where the copy goes (not overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        common: RecordsCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// The search-and-retrieval document (filters, items, every access decision).
    Report {
        #[command(flatten)]
        common: RecordsCommon,
        #[command(flatten)]
        filter: FilterArgs,
        /// json, csv or md.
        #[arg(long, default_value = "json")]
        format: DocFormat,
    },
}

/// `store register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Files to register.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    common: RecordsCommon,
    /// The package signer's public key file: the files are packages, verified before anything is registered.
    #[arg(long, value_name = "KEY.pub", conflicts_with_all = ["kind", "format", "report_id"])]
    pubkey: Option<PathBuf>,
    /// Classification of what is registered: public, internal or confidential.
    #[arg(long, default_value = "confidential")]
    classification: String,
    /// Single artifacts: the tenant reference.
    #[arg(long, value_name = "REF", required_unless_present = "pubkey")]
    tenant: Option<String>,
    /// Single artifacts: the report kind.
    #[arg(long, required_unless_present = "pubkey")]
    kind: Option<String>,
    /// Single artifacts: the format (`pdf`, `csv`…).
    #[arg(long, required_unless_present = "pubkey")]
    format: Option<String>,
    /// Single artifacts: the snapshot's as_of (RFC 3339), which starts the retention window.
    #[arg(long, value_name = "TIME", required_unless_present = "pubkey")]
    as_of: Option<String>,
    /// Single artifacts: the report id.
    #[arg(long)]
    report_id: Option<String>,
    /// Single artifacts: the retention class (default: the kind's, from `[retention.kinds]`).
    #[arg(long, value_name = "CLASS")]
    retention: Option<String>,
}

/// Search filters.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Tenant reference.
    #[arg(long, value_name = "REF")]
    tenant: Option<String>,
    /// Report kind or package type.
    #[arg(long)]
    kind: Option<String>,
    /// Format.
    #[arg(long = "item-format", value_name = "FORMAT")]
    item_format: Option<String>,
    /// Classification.
    #[arg(long)]
    classification: Option<String>,
    /// Created at or after (RFC 3339).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Created before (RFC 3339).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// `sha256:<hex>` of the bytes.
    #[arg(long, value_name = "DIGEST")]
    digest: Option<String>,
    /// Package id.
    #[arg(long, value_name = "ID")]
    package: Option<String>,
    /// Only held (`held`) or only unheld (`unheld`) items.
    #[arg(long, value_parser = ["held", "unheld"])]
    hold: Option<String>,
    /// Include items deleted under retention.
    #[arg(long)]
    include_deleted: bool,
}

fn seconds(text: &str, what: &str) -> Result<i64> {
    Ok(cavra_model::Timestamp::parse(text).map_err(|e| anyhow::anyhow!("{what}: {e}"))?.unix_seconds())
}

impl FilterArgs {
    fn filter(&self) -> Result<Filter> {
        Ok(Filter {
            tenant_ref: self.tenant.clone(),
            kind: self.kind.clone(),
            format: self.item_format.clone(),
            classification: self.classification.clone(),
            from: self.from.as_deref().map(|t| seconds(t, "--from")).transpose()?,
            until: self.until.as_deref().map(|t| seconds(t, "--until")).transpose()?,
            sha256: self.digest.clone(),
            package: self.package.clone(),
            held: self.hold.as_deref().map(|h| h == "held"),
            include_deleted: self.include_deleted,
        })
    }
}

fn show(t: Option<i64>) -> String {
    t.map_or_else(|| "-".into(), cavra_model::Timestamp::show_unix)
}

fn audit(log: &mut Option<AuditLog>, event: AuditEvent) -> Result<()> {
    if let Some(l) = log.as_mut() {
        l.append(&event)?;
    }
    Ok(())
}

pub fn store(cmd: &StoreCommand) -> Result<()> {
    match cmd {
        StoreCommand::Migrate { config, store } => {
            let config = config.as_deref().map(Config::load).transpose()?;
            let (url, password) = store.database(config.as_ref())?;
            let extra: Vec<_> = cavra_deliver::outbox::migrations()
                .iter()
                .chain(cavra_room::ROOM_MIGRATIONS)
                .chain(cavra_ops::response::RESPONSE_MIGRATIONS)
                .copied()
                .collect();
            let ran = Store::migrate_with(&url, password.as_deref(), &extra)?;
            for m in &ran {
                crate::say!("applied {} {}: {}", m.component, m.version, m.name);
            }
            crate::say!("{} migration(s) applied; the schema is current", ran.len());
            Ok(())
        }
        StoreCommand::Register(args) => register(args),
        StoreCommand::Search { common, filter, limit, after, format } => {
            let (_, mut store, _) = common.load()?;
            let after = after.as_deref().map(str::parse::<Cursor>).transpose().map_err(anyhow::Error::msg)?;
            let page = store.search(&filter.filter()?, &Page { limit: *limit, after })?;
            if format == "json" {
                crate::say!("{}", serde_json::to_string_pretty(&page)?);
                return Ok(());
            }
            crate::say!("id  tenant  kind  format  classification  class  created  expires  hold  bytes");
            for i in &page.items {
                crate::say!(
                    "{}  {}  {}  {}  {}  {}  {}  {}  {}  {}",
                    i.id,
                    i.tenant_ref,
                    i.kind,
                    i.format,
                    i.classification,
                    i.retention_class,
                    show(Some(i.created_at)),
                    show(i.expires_at),
                    i.hold.as_ref().map_or("-", |h| h.reason.as_str()),
                    i.size
                );
            }
            crate::say!("{} of {} item(s)", page.items.len(), page.total);
            if let Some(next) = &page.next {
                crate::say!("next page: --after {next}");
            }
            Ok(())
        }
        StoreCommand::Get { id, out, common, principal } => get(id, out, common, principal),
        StoreCommand::Report { common, filter, format } => {
            let (config, mut store, _) = common.load()?;
            let doc = documents::search_retrieval(&mut store, &config, &filter.filter()?, crate::deliver::now().0)?;
            write_stdout(&doc.write(*format)?)
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn register(args: &RegisterArgs) -> Result<()> {
    let (config, mut store, mut log) = args.common.load()?;
    if !cavra_deliver::config::CLASSIFICATIONS.contains(&args.classification.as_str()) {
        bail!("--classification: `{}` is not one of public, internal, confidential", args.classification);
    }
    let now = crate::deliver::now();
    let mut items = Vec::new();
    for file in &args.files {
        let registered = match &args.pubkey {
            Some(pk) => {
                let key = cavra_model::limits::read_text_bounded(pk, cavra_model::limits::KEY_BYTES)
                    .with_context(|| pk.display().to_string())?;
                governed::register_package(&mut store, &config, file, &key, &args.classification, now.0)?
            }
            None => {
                let kind = args.kind.clone().unwrap_or_default();
                let new = NewItem {
                    tenant_ref: args.tenant.clone().unwrap_or_default(),
                    retention_class: args.retention.clone().unwrap_or_else(|| config.report_class(&kind)),
                    kind,
                    format: args.format.clone().unwrap_or_default(),
                    name: file.file_name().and_then(|n| n.to_str()).unwrap_or("artifact").to_string(),
                    report_id: args.report_id.clone(),
                    package: None,
                    classification: args.classification.clone(),
                    created_at: seconds(args.as_of.as_deref().unwrap_or_default(), "--as-of")?,
                };
                vec![governed::register_artifact(&mut store, &config, file, &new, now.0)?]
            }
        };
        items.extend(registered);
    }
    for (item, added) in &items {
        crate::say!(
            "{}  {}  {}  {}",
            item.id,
            if *added { "registered" } else { "already there" },
            item.sha256,
            item.name
        );
        let event = AuditEvent::new(&now.1, AuditAction::Register, AuditStatus::Registered)
            .digest(&item.sha256)
            .evidence(&item.id);
        audit(&mut log, event)?;
    }
    Ok(())
}

fn get(id: &str, out: &Path, common: &RecordsCommon, principal: &AsPrincipal) -> Result<()> {
    let (config, mut store, mut log) = common.load()?;
    let signer = principal.signer(&config)?;
    if out.exists() {
        bail!("{} exists; a retrieval never overwrites a file", out.display());
    }
    let now = crate::deliver::now();
    let outcome = governed::retrieve(&mut store, &config, &signer, id, now.0)?;
    let event = |status| AuditEvent::new(&now.1, AuditAction::Retrieve, status).by(Some(signer.actor()));
    match outcome {
        Retrieved::Refused { reason, retrieval_id, .. } => {
            audit(&mut log, event(AuditStatus::BlockedPolicy).evidence(&retrieval_id).detail(&reason))?;
            Err(cavra_deliver::send::Refused { problems: vec![format!("{retrieval_id}: {reason}")] }.into())
        }
        Retrieved::Served { item, retrieval_id, copy } => {
            write_copy(&store, &item, &copy, out)?;
            let watermarked = matches!(copy, Copy::Watermarked(_));
            let detail = if watermarked { "watermarked copy" } else { "stored bytes" };
            audit(&mut log, event(AuditStatus::Served).digest(&item.sha256).evidence(&retrieval_id).detail(detail))?;
            crate::say!("{retrieval_id}  {}  {detail}  -> {}", item.id, out.display());
            Ok(())
        }
    }
}

/// Writes the copy to a temporary file beside `out`, then moves it into place.
fn write_copy(store: &Store, item: &Item, copy: &Copy, out: &Path) -> Result<()> {
    use std::io::Write;
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| dir.display().to_string())?;
    match copy {
        Copy::Stored => {
            store.blobs().copy_to(&item.sha256, tmp.as_file_mut())?;
        }
        Copy::Watermarked(bytes) => tmp.as_file_mut().write_all(bytes)?,
    }
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(out).map_err(|e| e.error).with_context(|| out.display().to_string())?;
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// List what has expired and what retention may do with each (delete, wait for approval, keep: held).
    Plan {
        #[command(flatten)]
        common: RecordsCommon,
        /// The instant to plan for (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// `table` for people, `json` for machines.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Delete the bytes of expired, unheld items (approved where their class requires it), leaving tombstones.
    Apply {
        #[command(flatten)]
        common: RecordsCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Sign an approval: deleting an item whose class requires it, or releasing a legal hold.
    Approve {
        /// The item id.
        id: String,
        /// `delete` or `release`.
        #[arg(long, value_parser = ["delete", "release"])]
        action: String,
        /// The matter or ticket reference.
        #[arg(long, value_name = "REF")]
        reason: String,
        #[command(flatten)]
        common: RecordsCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Place a legal hold on an item or on every item of a tenant.
    Hold {
        /// The item id.
        #[arg(required_unless_present = "tenant", conflicts_with = "tenant")]
        id: Option<String>,
        /// Every item of this tenant.
        #[arg(long, value_name = "REF")]
        tenant: Option<String>,
        /// The matter or ticket reference.
        #[arg(long, value_name = "REF")]
        reason: String,
        #[command(flatten)]
        common: RecordsCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Release a legal hold (needs a release approval signed by another principal).
    Release {
        /// The item id.
        id: String,
        #[command(flatten)]
        common: RecordsCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// The retention-lifecycle document (classes, states, holds, tombstones, evidence refs).
    Report {
        #[command(flatten)]
        common: RecordsCommon,
        /// One tenant (default: all).
        #[arg(long, value_name = "REF")]
        tenant: Option<String>,
        /// The instant the states are given for (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// json, csv or md.
        #[arg(long, default_value = "json")]
        format: DocFormat,
    },
}

fn at_or_now(at: Option<&str>) -> Result<i64> {
    at.map_or(Ok(crate::deliver::now().0), |t| seconds(t, "--at"))
}

pub fn retention(cmd: &RetentionCommand) -> Result<()> {
    let now = crate::deliver::now();
    match cmd {
        RetentionCommand::Plan { common, at, format } => {
            let (config, mut store, _) = common.load()?;
            let entries = governed::plan(&mut store, &config, at_or_now(at.as_deref())?)?;
            if format == "json" {
                crate::say!("{}", serde_json::to_string_pretty(&entries)?);
                return Ok(());
            }
            for e in &entries {
                crate::say!(
                    "{}  {}  expired {}  {}",
                    e.item.id,
                    e.item.retention_class,
                    show(Some(e.expired_at)),
                    e.decision.reason()
                );
            }
            let deletes = entries.iter().filter(|e| e.decision.deletes()).count();
            crate::say!("{} expired item(s); {deletes} would be deleted", entries.len());
            Ok(())
        }
        RetentionCommand::Apply { common, principal } => {
            let (config, mut store, mut log) = common.load()?;
            let signer = principal.signer(&config)?;
            let (entries, tombstones) = governed::apply(&mut store, &config, &signer, now.0)?;
            for t in &tombstones {
                crate::say!(
                    "{}  deleted  {}  tombstone kept{}",
                    t.item_id,
                    t.sha256,
                    t.approval.as_ref().map_or(String::new(), |a| format!("  approval {a}"))
                );
                let e = AuditEvent::new(&now.1, AuditAction::Retention, AuditStatus::Deleted).by(Some(signer.actor()));
                audit(&mut log, e.digest(&t.sha256).evidence(&t.item_id))?;
            }
            for e in entries.iter().filter(|e| !e.decision.deletes()) {
                crate::say!("{}  kept  {}", e.item.id, e.decision.reason());
            }
            crate::say!("{} deleted, {} kept", tombstones.len(), entries.len() - tombstones.len());
            Ok(())
        }
        RetentionCommand::Approve { id, action, reason, common, principal } => {
            let (config, mut store, mut log) = common.load()?;
            let signer = principal.signer(&config)?;
            let action = ApprovalAction::parse(action).map_err(anyhow::Error::msg)?;
            let a = governed::approve(&mut store, &config, &signer, id, action, reason, now.0)?;
            let e = AuditEvent::new(&now.1, AuditAction::Retention, AuditStatus::Accepted).by(Some(signer.actor()));
            audit(&mut log, e.evidence(&a.id).detail(format!("{} approval for {id}", action.as_str())))?;
            crate::say!("{}  {} approved for {id}", a.id, action.as_str());
            Ok(())
        }
        RetentionCommand::Hold { id, tenant, reason, common, principal } => {
            let (config, mut store, mut log) = common.load()?;
            let signer = principal.signer(&config)?;
            let target = match (id, tenant) {
                (Some(id), _) => HoldTarget::Item(id.clone()),
                (None, Some(t)) => HoldTarget::Tenant(t.clone()),
                (None, None) => bail!("give an item id or --tenant"),
            };
            let held = governed::hold(&mut store, &config, &signer, &target, reason, now.0)?;
            for i in &held {
                let e = AuditEvent::new(&now.1, AuditAction::LegalHold, AuditStatus::Held).by(Some(signer.actor()));
                audit(&mut log, e.digest(&i.sha256).evidence(&i.id).detail(reason.as_str()))?;
                crate::say!("{}  held  {reason}", i.id);
            }
            crate::say!("{} item(s) placed under legal hold", held.len());
            Ok(())
        }
        RetentionCommand::Release { id, common, principal } => {
            let (config, mut store, mut log) = common.load()?;
            let signer = principal.signer(&config)?;
            let item = governed::release(&mut store, &config, &signer, id, now.0)?;
            let e = AuditEvent::new(&now.1, AuditAction::LegalHold, AuditStatus::Released).by(Some(signer.actor()));
            audit(&mut log, e.digest(&item.sha256).evidence(&item.id))?;
            crate::say!("{}  released", item.id);
            Ok(())
        }
        RetentionCommand::Report { common, tenant, at, format } => {
            let (config, mut store, _) = common.load()?;
            let backend = match cavra_store::db::Location::parse(&common.store.resolve(Some(&config))?.url)? {
                cavra_store::db::Location::Sqlite(_) => "sqlite",
                cavra_store::db::Location::Postgres(_) => "postgres",
            };
            let doc = documents::retention_lifecycle(
                &mut store,
                &config,
                tenant.as_deref(),
                at_or_now(at.as_deref())?,
                backend,
            )?;
            write_stdout(&doc.write(*format)?)
        }
    }
}

/// What `render`, `digest` and `package` wrote, to register with `--store`.
#[derive(Debug, Clone)]
pub struct Origin {
    /// File name in the output folder.
    pub name: String,
    /// Report kind.
    pub kind: String,
    /// Format name.
    pub format: String,
    /// Report id.
    pub report_id: Option<String>,
    /// Classification.
    pub classification: String,
}

/// Registers rendered artifacts in the store `--store` names (the setup
/// file given with `--config`, if any, supplies the retention classes).
pub fn register_rendered(
    location: &StoreLocation,
    config: Option<&Path>,
    out_dir: &Path,
    tenant: &str,
    as_of: i64,
    origins: &[Origin],
) -> Result<()> {
    let config = config.map(Config::load).transpose()?.unwrap_or_default();
    let mut store = location.open(Some(&config))?;
    let now = crate::deliver::now().0;
    let policy = config.retention_policy();
    for o in origins {
        let path = out_dir.join(&o.name);
        let f = std::fs::File::open(&path).with_context(|| path.display().to_string())?;
        let new = NewItem {
            tenant_ref: tenant.to_string(),
            kind: o.kind.clone(),
            format: o.format.clone(),
            name: o.name.clone(),
            report_id: o.report_id.clone(),
            package: None,
            classification: o.classification.clone(),
            retention_class: config.report_class(&o.kind),
            created_at: as_of,
        };
        let (item, added) = store.register(&new, std::io::BufReader::new(f), &policy, now)?;
        crate::say!("stored {}  {}  {}", item.id, if added { "registered" } else { "already there" }, o.name);
    }
    Ok(())
}

/// Registers packages (verified against their signer's key) with `--store`.
pub fn register_packages(
    location: &StoreLocation,
    config: Option<&Path>,
    paths: &[PathBuf],
    public_key_file: &str,
    classification: &str,
) -> Result<()> {
    let config = config.map(Config::load).transpose()?.unwrap_or_default();
    let mut store = location.open(Some(&config))?;
    let now = crate::deliver::now().0;
    for p in paths {
        let items = governed::register_package(&mut store, &config, p, public_key_file, classification, now)?;
        let added = items.iter().filter(|(_, a)| *a).count();
        crate::say!("stored {}  {} item(s), {added} new", p.display(), items.len());
    }
    Ok(())
}

/// Registers what a batch run wrote for each tenant that succeeded:
/// report artifacts with their kind, format, report id and classification,
/// packages verified against the signing key. Returns how many items were
/// registered or found.
pub fn register_batch(
    location: &StoreLocation,
    config: Option<&Path>,
    out: &Path,
    results: &[cavra_batch::TenantResult],
    public_key_file: Option<&str>,
    package_classification: &str,
) -> Result<usize> {
    let config = config.map(Config::load).transpose()?.unwrap_or_default();
    let mut store = location.open(Some(&config))?;
    let now = crate::deliver::now().0;
    let policy = config.retention_policy();
    let mut count = 0;
    for r in results {
        let Some((tenant_ref, as_of)) = &r.snapshot else { continue };
        for f in &r.files {
            let Some(origin) = &f.origin else { continue };
            let path = out.join(&r.tenant).join(&f.name);
            if origin.format == "package" {
                let key = public_key_file.context("packages are registered against their signing key")?;
                count +=
                    governed::register_package(&mut store, &config, &path, key, package_classification, now)?.len();
                continue;
            }
            let new = NewItem {
                tenant_ref: tenant_ref.clone(),
                kind: origin.kind.clone(),
                format: origin.format.clone(),
                name: f.name.clone(),
                report_id: origin.report_id.clone(),
                package: None,
                classification: origin.classification.clone(),
                retention_class: config.report_class(&origin.kind),
                created_at: *as_of,
            };
            let file = std::fs::File::open(&path).with_context(|| path.display().to_string())?;
            let (item, _) = store.register(&new, std::io::BufReader::new(file), &policy, now)?;
            if item.sha256 != f.sha256 {
                bail!("{}: changed after the batch wrote it", path.display());
            }
            count += 1;
        }
    }
    Ok(count)
}
