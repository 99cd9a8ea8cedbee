//! Rooms and their links, kept in the store's database (component `room`).

use cavra_deliver::config::{Config, Permission};
use cavra_deliver::identity::Signer;
use cavra_store::db::{Row, Value};
use cavra_store::migrate::Migration;
use cavra_store::{Item, Store};
use sha2::{Digest, Sha256};

use crate::link::{LinkKey, Token};
use crate::RoomError;

/// The rooms' migrations.
pub const ROOM_MIGRATIONS: &[Migration] = &[Migration {
    component: "room",
    version: 1,
    name: "evidence rooms and their links",
    sqlite: "CREATE TABLE rooms (
  id TEXT PRIMARY KEY, package_id TEXT NOT NULL, package_item TEXT NOT NULL, tenant_ref TEXT NOT NULL,
  audience TEXT NOT NULL, allowed_domains TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  closed_at INTEGER, terms_digest TEXT, mfa INTEGER NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE room_links (
  id TEXT PRIMARY KEY, room_id TEXT NOT NULL, recipient_class TEXT NOT NULL, recipient_domain TEXT NOT NULL,
  issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER, issued_by TEXT NOT NULL);
CREATE INDEX room_links_room ON room_links (room_id);
CREATE TABLE room_terms (link_id TEXT NOT NULL, terms_digest TEXT NOT NULL, accepted_at INTEGER NOT NULL,
  PRIMARY KEY (link_id, terms_digest));",
    postgres: "CREATE TABLE rooms (
  id TEXT PRIMARY KEY, package_id TEXT NOT NULL, package_item TEXT NOT NULL, tenant_ref TEXT NOT NULL,
  audience TEXT NOT NULL, allowed_domains TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
  closed_at BIGINT, terms_digest TEXT, mfa BIGINT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE room_links (
  id TEXT PRIMARY KEY, room_id TEXT NOT NULL, recipient_class TEXT NOT NULL, recipient_domain TEXT NOT NULL,
  issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT, issued_by TEXT NOT NULL);
CREATE INDEX room_links_room ON room_links (room_id);
CREATE TABLE room_terms (link_id TEXT NOT NULL, terms_digest TEXT NOT NULL, accepted_at BIGINT NOT NULL,
  PRIMARY KEY (link_id, terms_digest));",
}];

/// An evidence room.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Room {
    /// `room-…`.
    pub id: String,
    /// The package it shares.
    pub package_id: String,
    /// The package's own store item.
    pub package_item: String,
    /// Tenant.
    pub tenant_ref: String,
    /// Who it is for (`external_auditor`…).
    pub audience: String,
    /// Domains links may be issued to.
    pub allowed_domains: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds after which no link opens it.
    pub expires_at: i64,
    /// When it was closed.
    pub closed_at: Option<i64>,
    /// `sha256:` of the terms a recipient accepts before downloading, if any.
    pub terms_digest: Option<String>,
    /// Whether links need a TOTP code.
    pub mfa: bool,
    /// Key id of the principal that created it.
    pub created_by: String,
}

/// A link to a room.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Link {
    /// `lnk-…`.
    pub id: String,
    /// The room.
    pub room_id: String,
    /// The recipient's class under the recipient policy.
    pub recipient_class: String,
    /// The recipient's domain (never the address).
    pub recipient_domain: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Key id of the principal that issued it.
    pub issued_by: String,
}

/// How a room is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSettings {
    /// Who it is for.
    pub audience: String,
    /// Domains links may be issued to.
    pub allowed_domains: Vec<String>,
    /// Seconds it stays open.
    pub lifetime: i64,
    /// Terms a recipient must accept before the first download.
    pub terms: Option<String>,
    /// Whether links need a TOTP code.
    pub mfa: bool,
}

const ROOM_COLUMNS: &str =
    "id, package_id, package_item, tenant_ref, audience, allowed_domains, created_at, expires_at, \
     closed_at, terms_digest, mfa, created_by";
const LINK_COLUMNS: &str =
    "id, room_id, recipient_class, recipient_domain, issued_at, expires_at, revoked_at, issued_by";

fn room_of(r: &Row) -> Result<Room, RoomError> {
    Ok(Room {
        id: r.text(0)?,
        package_id: r.text(1)?,
        package_item: r.text(2)?,
        tenant_ref: r.text(3)?,
        audience: r.text(4)?,
        allowed_domains: r.text(5)?.split(',').filter(|d| !d.is_empty()).map(str::to_string).collect(),
        created_at: r.int(6)?,
        expires_at: r.int(7)?,
        closed_at: r.int_opt(8)?,
        terms_digest: r.text_opt(9)?,
        mfa: r.int(10)? != 0,
        created_by: r.text(11)?,
    })
}

fn link_of(r: &Row) -> Result<Link, RoomError> {
    Ok(Link {
        id: r.text(0)?,
        room_id: r.text(1)?,
        recipient_class: r.text(2)?,
        recipient_domain: r.text(3)?,
        issued_at: r.int(4)?,
        expires_at: r.int(5)?,
        revoked_at: r.int_opt(6)?,
        issued_by: r.text(7)?,
    })
}

fn short_id(prefix: &str, parts: &[&str], hex_chars: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("{prefix}{}", &format!("{:x}", h.finalize())[..hex_chars])
}

fn require(config: &Config, signer: &Signer) -> Result<(), RoomError> {
    signer.require(config, Permission::ManageRooms).map_err(|r| RoomError::Refused(r.problems.join("; ")))
}

/// Creates a room from an evidence-room package that verifies against
/// `public_key_file` (it is registered in the store with its files first).
///
/// # Errors
/// A signer without `manage_rooms`; a package that does not verify or is
/// not an evidence-room bundle; bad settings; storage.
pub fn create(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    package: &std::path::Path,
    public_key_file: &str,
    settings: &RoomSettings,
    now: i64,
) -> Result<Room, RoomError> {
    require(config, signer)?;
    store.require(ROOM_MIGRATIONS)?;
    if settings.allowed_domains.is_empty() {
        return Err(RoomError::Invalid("a room needs at least one allowed domain".into()));
    }
    let policy = config.recipient_policy().map_err(|e| RoomError::Invalid(e.to_string()))?;
    for d in &settings.allowed_domains {
        policy.classify_domain(d).map_err(|e| RoomError::Invalid(format!("--allow-domain {d}: {e}")))?;
    }
    if !(3600..=366 * 86_400).contains(&settings.lifetime) {
        return Err(RoomError::Invalid("a room stays open between an hour and a year".into()));
    }
    cavra_deliver::identity::gate_free_text(&settings.audience)
        .map_err(|w| RoomError::Invalid(format!("the audience {w}")))?;
    let items = cavra_deliver::records::register_package(store, config, package, public_key_file, "confidential", now)
        .map_err(|e| RoomError::Refused(e.to_string()))?;
    let (pkg, _) = items.first().ok_or_else(|| RoomError::Invalid("an empty package".into()))?;
    if pkg.kind != cavra_package::PackageType::EvidenceRoomBundle.as_str() {
        return Err(RoomError::Invalid(format!("a room shares an evidence_room_bundle, not a {}", pkg.kind)));
    }
    let package_id = pkg.package.clone().unwrap_or_default();
    let key_id = signer.key_id();
    let room = Room {
        id: short_id("room-", &[&package_id, &now.to_string(), &key_id], 16),
        package_id,
        package_item: pkg.id.clone(),
        tenant_ref: pkg.tenant_ref.clone(),
        audience: settings.audience.clone(),
        allowed_domains: settings.allowed_domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
        created_at: now,
        expires_at: now.saturating_add(settings.lifetime),
        closed_at: None,
        terms_digest: settings.terms.as_ref().map(|t| cavra_package::manifest::sha256_tagged(t.as_bytes())),
        mfa: settings.mfa,
        created_by: key_id,
    };
    store.db().exec(
        &format!("INSERT INTO rooms ({ROOM_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,NULL,?9,?10,?11)"),
        &[
            (&room.id).into(),
            (&room.package_id).into(),
            (&room.package_item).into(),
            (&room.tenant_ref).into(),
            (&room.audience).into(),
            room.allowed_domains.join(",").as_str().into(),
            room.created_at.into(),
            room.expires_at.into(),
            Value::text_opt(room.terms_digest.as_deref()),
            i64::from(room.mfa).into(),
            (&room.created_by).into(),
        ],
    )?;
    Ok(room)
}

/// The room with `id`.
///
/// # Errors
/// An unknown room; storage.
pub fn room(store: &mut Store, id: &str) -> Result<Room, RoomError> {
    let rows = store.db().query(&format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1"), &[id.into()])?;
    rows.first().map(room_of).transpose()?.ok_or_else(|| RoomError::NotFound(id.to_string()))
}

/// Every room, oldest first.
///
/// # Errors
/// Storage.
pub fn rooms(store: &mut Store) -> Result<Vec<Room>, RoomError> {
    store
        .db()
        .query(&format!("SELECT {ROOM_COLUMNS} FROM rooms ORDER BY created_at, id"), &[])?
        .iter()
        .map(room_of)
        .collect()
}

/// The link with `id`.
///
/// # Errors
/// Storage.
pub fn link(store: &mut Store, id: &str) -> Result<Option<Link>, RoomError> {
    let rows = store.db().query(&format!("SELECT {LINK_COLUMNS} FROM room_links WHERE id = ?1"), &[id.into()])?;
    rows.first().map(link_of).transpose()
}

/// A room's links, oldest first.
///
/// # Errors
/// Storage.
pub fn links(store: &mut Store, room_id: &str) -> Result<Vec<Link>, RoomError> {
    store
        .db()
        .query(
            &format!("SELECT {LINK_COLUMNS} FROM room_links WHERE room_id = ?1 ORDER BY issued_at, id"),
            &[room_id.into()],
        )?
        .iter()
        .map(link_of)
        .collect()
}

/// Whom a link is for, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The recipient's address (only its domain and class are kept).
    pub address: String,
    /// Seconds the link stays valid (1 minute to 90 days; never past the room).
    pub lifetime: i64,
}

/// Issues a link to `to.address` (who must be in one of the room's allowed
/// domains and allowed by the recipient policy) valid for `lifetime`
/// seconds, never past the room's expiry. Only the address's domain and
/// class are kept.
///
/// # Errors
/// A signer without `manage_rooms`; a closed or expired room; an address
/// outside the room's domains or refused by the policy; storage.
pub fn invite(
    store: &mut Store,
    config: &Config,
    key: &LinkKey,
    signer: &Signer,
    room_id: &str,
    to: &Invitation,
    now: i64,
) -> Result<(Link, Token), RoomError> {
    let (address, lifetime) = (to.address.as_str(), to.lifetime);
    require(config, signer)?;
    let room = room(store, room_id)?;
    if room.closed_at.is_some() || room.expires_at <= now {
        return Err(RoomError::Refused(format!("{room_id} is closed or expired")));
    }
    let a = cavra_deliver::policy::parse_address(address).map_err(|e| RoomError::Invalid(e.to_string()))?;
    let in_room = room.allowed_domains.iter().any(|d| a.domain == *d || a.domain.ends_with(&format!(".{d}")));
    if !in_room {
        return Err(RoomError::Refused(format!("{} is not one of the room's domains", a.domain)));
    }
    let policy = config.recipient_policy().map_err(|e| RoomError::Invalid(e.to_string()))?;
    let class = policy.classify_domain(&a.domain).map_err(|e| RoomError::Refused(e.to_string()))?;
    let issued = links(store, room_id)?.len().to_string();
    let id = short_id("lnk-", &[room_id, &a.to_string(), &now.to_string(), &issued], 24);
    let link = Link {
        id,
        room_id: room_id.to_string(),
        recipient_class: class.as_str().to_string(),
        recipient_domain: a.domain.clone(),
        issued_at: now,
        expires_at: now.saturating_add(lifetime.clamp(60, 90 * 86_400)).min(room.expires_at),
        revoked_at: None,
        issued_by: signer.key_id(),
    };
    store.db().exec(
        &format!("INSERT INTO room_links ({LINK_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,NULL,?7)"),
        &[
            (&link.id).into(),
            (&link.room_id).into(),
            (&link.recipient_class).into(),
            (&link.recipient_domain).into(),
            link.issued_at.into(),
            link.expires_at.into(),
            (&link.issued_by).into(),
        ],
    )?;
    let token = Token::issue(key, &link.id, &link.room_id, &link.recipient_class, link.expires_at);
    Ok((link, token))
}

/// Revokes a link; returns whether it was still valid.
///
/// # Errors
/// A signer without `manage_rooms`; storage.
pub fn revoke_link(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    link_id: &str,
    now: i64,
) -> Result<bool, RoomError> {
    require(config, signer)?;
    let n = store.db().exec(
        "UPDATE room_links SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        &[link_id.into(), now.into()],
    )?;
    Ok(n == 1)
}

/// Closes a room (no link opens it any more); returns whether it was open.
///
/// # Errors
/// A signer without `manage_rooms`; storage.
pub fn close(store: &mut Store, config: &Config, signer: &Signer, room_id: &str, now: i64) -> Result<bool, RoomError> {
    require(config, signer)?;
    room(store, room_id)?;
    let n = store
        .db()
        .exec("UPDATE rooms SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL", &[room_id.into(), now.into()])?;
    Ok(n == 1)
}

/// Whether the link's recipient accepted the room's current terms.
///
/// # Errors
/// Storage.
pub fn accepted_terms(store: &mut Store, link_id: &str, digest: &str) -> Result<bool, RoomError> {
    let rows = store.db().query(
        "SELECT accepted_at FROM room_terms WHERE link_id = ?1 AND terms_digest = ?2",
        &[link_id.into(), digest.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Records that the link's recipient accepted the terms with `digest`.
///
/// # Errors
/// Storage.
pub fn accept_terms(store: &mut Store, link_id: &str, digest: &str, now: i64) -> Result<(), RoomError> {
    store.db().exec(
        "INSERT INTO room_terms (link_id, terms_digest, accepted_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        &[link_id.into(), digest.into(), now.into()],
    )?;
    Ok(())
}

/// The files a room shares: every retained item of its package, by name.
///
/// # Errors
/// Storage.
pub fn files(store: &mut Store, room: &Room) -> Result<Vec<Item>, RoomError> {
    let filter = cavra_store::query::Filter { package: Some(room.package_id.clone()), ..Default::default() };
    let mut items = store.all(&filter)?;
    items.retain(|i| i.tenant_ref == room.tenant_ref);
    items.sort_by(|a, b| (a.format == "package", &a.name).cmp(&(b.format == "package", &b.name)));
    Ok(items)
}

/// One room as the evidence-room document shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RoomView {
    /// The room.
    #[serde(flatten)]
    pub room: Room,
    /// `open`, `expired` or `closed`.
    pub state: &'static str,
    /// Its files: item id, name, format, digest.
    pub files: Vec<FileView>,
    /// Its links.
    pub links: Vec<LinkView>,
}

/// A file in a room.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct FileView {
    /// Item id.
    pub item_id: String,
    /// File name.
    pub name: String,
    /// Format.
    pub format: String,
    /// `sha256:` digest.
    pub sha256: String,
}

/// A link as the document shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct LinkView {
    /// The link.
    #[serde(flatten)]
    pub link: Link,
    /// `valid`, `expired` or `revoked`.
    pub state: &'static str,
}

/// The evidence-room document (`cavra.evidence_rooms.v1`): every room, its
/// files and its links, at `now`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RoomsDocument {
    /// `cavra.evidence_rooms.v1`.
    pub schema_version: &'static str,
    /// The rooms.
    pub rooms: Vec<RoomView>,
}

/// The evidence-room document's JSON Schema, generated from its types
/// (`schemas/evidence_rooms.v1.schema.json`).
pub fn json_schema() -> String {
    cavra_model::schema::publish::<RoomsDocument>("evidence_rooms.v1.schema.json", "cavra.evidence_rooms.v1")
}

/// The evidence-room document at `now`.
///
/// # Errors
/// Storage.
pub fn document(store: &mut Store, now: i64) -> Result<RoomsDocument, RoomError> {
    let mut out = Vec::new();
    for room in rooms(store)? {
        let state = if room.closed_at.is_some() {
            "closed"
        } else if room.expires_at <= now {
            "expired"
        } else {
            "open"
        };
        let files = files(store, &room)?
            .into_iter()
            .map(|i| FileView { item_id: i.id, name: i.name, format: i.format, sha256: i.sha256 })
            .collect();
        let links = links(store, &room.id)?
            .into_iter()
            .map(|l| {
                let state = if l.revoked_at.is_some() {
                    "revoked"
                } else if l.expires_at <= now {
                    "expired"
                } else {
                    "valid"
                };
                LinkView { link: l, state }
            })
            .collect();
        out.push(RoomView { room, state, files, links });
    }
    Ok(RoomsDocument { schema_version: "cavra.evidence_rooms.v1", rooms: out })
}
