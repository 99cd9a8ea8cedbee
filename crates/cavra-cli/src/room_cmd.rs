//! `room …`: evidence rooms — create, invite, revoke, close, list, serve, events.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cavra_deliver::access::{AccessEvent, AccessOutcome, AccessType, LinkState};
use cavra_deliver::audit::AuditLog;
use cavra_deliver::config::Config;
use cavra_room::link::{base32, totp_secret, LinkKey};
use cavra_room::{rooms, Invitation, RoomSettings};
use clap::{Args, Subcommand};

use crate::evidence::{AsPrincipal, AuditArgs};
use crate::records::StoreLocation;

/// The setup file, the store and the audit log.
#[derive(Debug, Args)]
pub struct RoomCommon {
    /// The setup file (recipient policy, principals, `[rooms]`, `[store]`).
    #[arg(long, value_name = "cavra.toml", default_value = "cavra.toml")]
    config: PathBuf,
    #[command(flatten)]
    store: StoreLocation,
    #[command(flatten)]
    audit: AuditArgs,
}

#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// Create a room from an evidence-room package that verifies against its signer's key.
    Create {
        #[command(flatten)]
        common: RoomCommon,
        /// The evidence_room_bundle package.
        #[arg(long, value_name = "FILE.zip")]
        package: PathBuf,
        /// The package signer's public key file.
        #[arg(long, value_name = "KEY.pub")]
        pubkey: PathBuf,
        /// Who the room is for.
        #[arg(long, default_value = "external auditor")]
        audience: String,
        /// A domain links may be issued to (repeatable).
        #[arg(long = "allow-domain", value_name = "DOMAIN", required = true)]
        domains: Vec<String>,
        /// How long the room stays open: `14d`, `36h`.
        #[arg(long, default_value = "14d", value_parser = parse_duration)]
        expires: i64,
        /// Recipients accept `[rooms] terms_file` before the first download.
        #[arg(long)]
        terms: bool,
        /// Links need a TOTP code as a second factor.
        #[arg(long)]
        mfa: bool,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Issue a link to a recipient in one of the room's domains and queue it in the delivery outbox
    /// (`deliver run --store` sends it; the token is made only then, never stored). Prints the TOTP
    /// secret for a room with --mfa, to give apart from the link.
    Invite {
        /// The room.
        room: String,
        /// The recipient's address (only its domain and class are kept with the link).
        #[arg(long)]
        to: String,
        /// How long the link stays valid (never past the room): `7d`, `12h`.
        #[arg(long, default_value = "7d", value_parser = parse_duration)]
        expires: i64,
        /// The delivery outbox the invitation is queued in (the setup file must be accepted for it).
        #[arg(long, value_name = "FILE.db|URL", default_value = "outbox.db")]
        outbox: String,
        /// Print the link here instead of queueing it, to hand over by another channel.
        #[arg(long)]
        print_link: bool,
        #[command(flatten)]
        common: RoomCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Revoke a link (`lnk-…`), or every link of a room (`room-…`, which closes it).
    Revoke {
        /// The link or the room.
        id: String,
        #[command(flatten)]
        common: RoomCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Close a room: no link opens it any more.
    Close {
        /// The room.
        room: String,
        #[command(flatten)]
        common: RoomCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// List rooms and their links (`--format json`: the evidence-room document).
    List {
        #[command(flatten)]
        common: RoomCommon,
        /// table or json.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Serve the rooms over HTTP (behind a TLS-terminating proxy; see docs/evidence-room.md).
    Serve {
        #[command(flatten)]
        common: RoomCommon,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: std::net::SocketAddr,
    },
    /// Export a room's access events from a signed audit log (verified first).
    Events {
        /// The room.
        room: String,
        /// The audit log.
        #[arg(long, value_name = "FILE.jsonl")]
        log: PathBuf,
        /// The audit key's public key file.
        #[arg(long, value_name = "KEY.pub")]
        pubkey: PathBuf,
        /// json, csv or pdf (the evidence-room-access report; needs --out).
        #[arg(long, default_value = "json", value_parser = ["json", "csv", "pdf"])]
        format: String,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The record store, to show the room's own record in the PDF.
        #[command(flatten)]
        store: StoreLocation,
        /// The setup file (the organisation named in the PDF; `[store]`).
        #[arg(long, value_name = "cavra.toml")]
        config: Option<PathBuf>,
    },
}

/// Reads `14d`, `36h`, `90m` or plain seconds.
fn parse_duration(text: &str) -> Result<i64, String> {
    let (n, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = n.parse().map_err(|_| format!("`{text}` is not a duration like 14d, 36h or 90m"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: the unit is d, h, m or s")),
    };
    n.checked_mul(scale).filter(|s| *s > 0).ok_or_else(|| format!("`{text}` is out of range"))
}

impl RoomCommon {
    fn load(&self) -> Result<(Config, cavra_store::Store, Option<AuditLog>)> {
        let config = Config::load(&self.config)?;
        let mut store = self.store.open(Some(&config))?;
        store.require(cavra_room::ROOM_MIGRATIONS)?;
        let log = self.audit.open()?;
        Ok((config, store, log))
    }
}

pub(crate) fn link_key(config: &Config) -> Result<LinkKey> {
    let r = config
        .rooms
        .link_key
        .as_deref()
        .context("set [rooms] link_key = \"env:NAME\" (at least 32 bytes) in the setup file")?;
    let text = cavra_deliver::config::resolve("rooms.link_key", r)?;
    LinkKey::new(text.as_bytes()).map_err(|e| anyhow::anyhow!("rooms.link_key: {e}"))
}

fn operator(e: AccessEvent) -> AccessEvent {
    e.actor("operator")
}

fn record(log: &mut Option<AuditLog>, e: &AccessEvent) -> Result<()> {
    if let Some(l) = log.as_mut() {
        l.append(&e.audit_event(&crate::deliver::now().1))?;
    }
    Ok(())
}

fn terms_text(config: &Config, wanted: bool) -> Result<Option<String>> {
    if !wanted {
        return Ok(None);
    }
    let path = config.rooms.terms_file.as_deref().context("--terms needs [rooms] terms_file in the setup file")?;
    Ok(Some(
        cavra_model::limits::read_text_bounded(path, cavra_model::limits::SETUP_BYTES)
            .with_context(|| path.display().to_string())?,
    ))
}

/// How `room invite` hands the link over.
struct InviteHow<'a> {
    /// The outbox to queue it in; none: print it.
    outbox: Option<&'a str>,
    /// Seconds the link is valid.
    lifetime: i64,
}

/// `room invite`: issue the link, then queue the invitation (or print the link).
fn invite(
    common: &RoomCommon,
    principal: &AsPrincipal,
    room: &str,
    to: &str,
    how: &InviteHow<'_>,
    now: i64,
) -> Result<()> {
    let (config, mut store, mut log) = common.load()?;
    let signer = principal.signer(&config)?;
    let key = link_key(&config)?;
    let mut queue = match how.outbox {
        None => None,
        Some(outbox) => {
            if config.rooms.public_url.is_none() {
                bail!("set [rooms] public_url (where recipients reach the room service) to send invitations");
            }
            Some(crate::deliver::accepted_outbox(&config, &common.config, outbox)?)
        }
    };
    let invitation = Invitation { address: to.to_string(), lifetime: how.lifetime };
    let (link, token) = rooms::invite(&mut store, &config, &key, &signer, room, &invitation, now)?;
    let e = operator(AccessEvent::new(AccessType::LinkIssued, AccessOutcome::Allowed, room))
        .link(&link.id, LinkState::Valid);
    record(&mut log, &e.actor(&link.recipient_class))?;
    crate::say!(
        "{}  {} recipient  valid until {}",
        link.id,
        link.recipient_class,
        cavra_model::Timestamp::show_unix(link.expires_at)
    );
    match queue.as_mut() {
        Some(outbox) => {
            let queued = cavra_room::invitation::plan(&mut store, &config, &signer, &link, to, now)
                .map_err(anyhow::Error::from)
                .and_then(|p| crate::deliver::queue(&config, outbox, &mut log, &signer, &p, &crate::deliver::now().1));
            if let Err(e) = queued {
                // A link nobody was sent is withdrawn at once.
                rooms::revoke_link(&mut store, &config, &signer, &link.id, now)?;
                record(
                    &mut log,
                    &operator(AccessEvent::new(AccessType::Revocation, AccessOutcome::Allowed, room))
                        .link(&link.id, LinkState::Revoked),
                )?;
                return Err(e);
            }
        }
        None => {
            let base = config.rooms.public_url.as_deref().unwrap_or("http://127.0.0.1:8443").trim_end_matches('/');
            crate::say!("{base}/rooms/{room}/{}", token.text);
        }
    }
    if rooms::room(&mut store, room)?.mfa {
        crate::say!(
            "totp secret: {} (give it to the recipient apart from the link)",
            base32(&totp_secret(&key, &link.id))
        );
    }
    Ok(())
}

/// What `room create` is asked for.
struct NewRoom<'a> {
    package: &'a std::path::Path,
    pubkey: &'a std::path::Path,
    audience: &'a str,
    domains: &'a [String],
    lifetime: i64,
    terms: bool,
    mfa: bool,
}

/// `room create`: a room from a package that verifies against its signer's key.
fn create(common: &RoomCommon, principal: &AsPrincipal, what: &NewRoom<'_>, now: i64) -> Result<()> {
    let (config, mut store, mut log) = common.load()?;
    let signer = principal.signer(&config)?;
    let key = cavra_model::limits::read_text_bounded(what.pubkey, cavra_model::limits::KEY_BYTES)
        .with_context(|| what.pubkey.display().to_string())?;
    let settings = RoomSettings {
        audience: what.audience.to_string(),
        allowed_domains: what.domains.to_vec(),
        lifetime: what.lifetime,
        terms: terms_text(&config, what.terms)?,
        mfa: what.mfa,
    };
    let r = rooms::create(&mut store, &config, &signer, what.package, &key, &settings, now)?;
    record(
        &mut log,
        &operator(AccessEvent::new(AccessType::RoomCreated, AccessOutcome::Allowed, &r.id)).artifact(&r.package_item),
    )?;
    crate::say!("{}  package {}  open until {}", r.id, r.package_id, cavra_model::Timestamp::show_unix(r.expires_at));
    Ok(())
}

/// `room revoke`: one link, or every link of a room (which closes it).
fn revoke(common: &RoomCommon, principal: &AsPrincipal, id: &str, now: i64) -> Result<()> {
    let (config, mut store, mut log) = common.load()?;
    let signer = principal.signer(&config)?;
    let ids: Vec<String> = if id.starts_with("room-") {
        rooms::close(&mut store, &config, &signer, id, now)?;
        rooms::links(&mut store, id)?.into_iter().map(|l| l.id).collect()
    } else {
        vec![id.to_string()]
    };
    let mut revoked = 0;
    for l in &ids {
        if rooms::revoke_link(&mut store, &config, &signer, l, now)? {
            revoked += 1;
            let room = rooms::link(&mut store, l)?.map(|l| l.room_id).unwrap_or_default();
            record(
                &mut log,
                &operator(AccessEvent::new(AccessType::Revocation, AccessOutcome::Allowed, &room))
                    .link(l, LinkState::Revoked),
            )?;
        }
    }
    crate::say!("{revoked} link(s) revoked");
    Ok(())
}

pub fn room(cmd: &RoomCommand) -> Result<()> {
    let now = crate::deliver::now().0;
    match cmd {
        RoomCommand::Create { common, package, pubkey, audience, domains, expires, terms, mfa, principal } => {
            let what = NewRoom { package, pubkey, audience, domains, lifetime: *expires, terms: *terms, mfa: *mfa };
            create(common, principal, &what, now)
        }
        RoomCommand::Invite { room, to, expires, outbox, print_link, common, principal } => {
            let how = InviteHow { outbox: (!*print_link).then_some(outbox.as_str()), lifetime: *expires };
            invite(common, principal, room, to, &how, now)
        }
        RoomCommand::Revoke { id, common, principal } => revoke(common, principal, id, now),
        RoomCommand::Close { room, common, principal } => {
            let (config, mut store, mut log) = common.load()?;
            let signer = principal.signer(&config)?;
            if rooms::close(&mut store, &config, &signer, room, now)? {
                record(&mut log, &operator(AccessEvent::new(AccessType::RoomClosed, AccessOutcome::Allowed, room)))?;
                crate::say!("{room} closed");
            } else {
                crate::say!("{room} was already closed");
            }
            Ok(())
        }
        RoomCommand::List { common, format } => {
            let (_, mut store, _) = common.load()?;
            if format == "json" {
                let doc = cavra_room::rooms::document(&mut store, now)?;
                crate::say!("{}", serde_json::to_string_pretty(&doc)?);
                return Ok(());
            }
            for r in rooms::rooms(&mut store)? {
                let state = if r.closed_at.is_some() {
                    "closed"
                } else if r.expires_at <= now {
                    "expired"
                } else {
                    "open"
                };
                crate::say!(
                    "{}  {state}  until {}  {}  {}",
                    r.id,
                    cavra_model::Timestamp::show_unix(r.expires_at),
                    r.tenant_ref,
                    r.audience
                );
                for l in rooms::links(&mut store, &r.id)? {
                    let state = if l.revoked_at.is_some() {
                        "revoked"
                    } else if l.expires_at <= now {
                        "expired"
                    } else {
                        "valid"
                    };
                    crate::say!(
                        "  {}  {state}  until {}  {} at {}",
                        l.id,
                        cavra_model::Timestamp::show_unix(l.expires_at),
                        l.recipient_class,
                        l.recipient_domain
                    );
                }
            }
            Ok(())
        }
        RoomCommand::Serve { common, listen } => serve(common, *listen),
        RoomCommand::Events { room, log, pubkey, format, out, store, config } => {
            let target = EventsOut { format, out: out.as_deref(), store, config: config.as_deref() };
            events(room, log, pubkey, &target)
        }
    }
}

fn serve(common: &RoomCommon, listen: std::net::SocketAddr) -> Result<()> {
    let (config, store, log) = common.load()?;
    let Some(log) = log else {
        bail!("the room service records every access: give --audit-log FILE.jsonl --audit-key REF")
    };
    let key = link_key(&config)?;
    let terms = config
        .rooms
        .terms_file
        .as_deref()
        .map(|p| cavra_model::limits::read_text_bounded(p, cavra_model::limits::SETUP_BYTES))
        .transpose()?;
    let settings = cavra_room::ServiceSettings {
        key,
        terms,
        clock: std::sync::Arc::new(|| crate::deliver::now().0),
        max_failures: config.rooms.max_failures_per_minute.unwrap_or(10),
        secure_cookies: config.rooms.tls_certificate.is_some()
            || config.rooms.public_url.as_deref().is_some_and(|u| u.starts_with("https://")),
        config,
    };
    let tls = match (&settings.config.rooms.tls_certificate, &settings.config.rooms.tls_key) {
        (Some(cert), Some(key)) => {
            let chain = std::fs::read(cert).with_context(|| cert.display().to_string())?;
            let key = cavra_deliver::config::resolve("rooms.tls_key", key)?;
            Some(
                cavra_room::serve::tls_config(&chain, key.as_bytes())
                    .map_err(|e| anyhow::anyhow!("rooms.tls_certificate: {e}"))?,
            )
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let service = cavra_room::RoomService::new(store, log, settings)?;
    let rt = tokio::runtime::Runtime::new().context("starting the service runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
        eprintln!("serving evidence rooms on {scheme}://{}", listener.local_addr()?);
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        cavra_room::serve::serve(listener, cavra_room::router(service), tls, stop).await.context("serving")
    })
}

/// Where and how `room events` writes.
struct EventsOut<'a> {
    format: &'a str,
    out: Option<&'a std::path::Path>,
    store: &'a StoreLocation,
    config: Option<&'a std::path::Path>,
}

fn events(room: &str, log: &std::path::Path, pubkey: &std::path::Path, to: &EventsOut<'_>) -> Result<()> {
    let key = cavra_render::signed::PublicKey::from_file(pubkey)?;
    let text = cavra_model::limits::read_text_bounded(log, cavra_model::limits::PACKAGE_BYTES)
        .with_context(|| log.display().to_string())?;
    let events = cavra_room::events::read(&text, &key, room)
        .map_err(|why| crate::commands::Outcome::NotVerified(format!("{}: {why}", log.display())))?;
    let bytes = match to.format {
        "json" => events.json().map_err(anyhow::Error::msg)?.into_bytes(),
        "csv" => events.csv().map_err(anyhow::Error::msg)?.into_bytes(),
        _ => events_pdf(room, &events, &text, &key, to)?,
    };
    match to.out {
        Some(path) => crate::write::atomic_write(path, &bytes)?,
        None if to.format == "pdf" => bail!("--format pdf writes a file: give --out FILE.pdf"),
        None => crate::say!("{}", String::from_utf8_lossy(&bytes).trim_end()),
    }
    Ok(())
}

/// The room's access events as the `evidence-room-access` report in PDF.
fn events_pdf(
    room: &str,
    events: &cavra_room::events::RoomEvents,
    log: &str,
    key: &cavra_render::signed::PublicKey,
    to: &EventsOut<'_>,
) -> Result<Vec<u8>> {
    let config = to.config.map(Config::load).transpose()?;
    let record = match to.store.url.is_some() || config.as_ref().is_some_and(|c| c.store.url.is_some()) {
        true => {
            let mut store = to.store.open(config.as_ref())?;
            store.require(cavra_room::ROOM_MIGRATIONS)?;
            let r = rooms::room(&mut store, room)?;
            Some(cavra_ops::collect::room_record(&mut store, &r)?)
        }
        false => None,
    };
    let organisation = crate::ops_cmd::organisation(config.as_ref());

    let mut audit = cavra_ops::collect::audit_summary(log.as_bytes(), key);
    audit.records_in_window = events.events.len() as u64;
    let snapshot = cavra_ops::collect::room_snapshot(organisation, record, events, audit)?;
    let report = cavra_ops::build_ops_report(
        cavra_model::report::OpsKind::EvidenceRoomAccess,
        &snapshot,
        &Default::default(),
        &Default::default(),
    );
    let gated = cavra_render::Gated::check(&report)?;
    Ok(cavra_render::render_gated(gated, cavra_render::Format::Pdf)?.bytes)
}
