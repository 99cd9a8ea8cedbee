//! Invitations sent through the delivery outbox.
//!
//! A link's token is a bearer secret, so it is never stored: not in the
//! room's tables, not in the outbox. `room invite` queues a notice job that
//! names the link (`room-link:lnk-…`) and whose digest is that of the
//! invitation's descriptor ([`descriptor`]: room, package, link, recipient
//! class and domain, expiries, second factor, terms digest), signed by the
//! inviting principal like any send request and held to the recipient
//! policy. When the job is sent, [`RoomNotices`] reads the link again,
//! remakes the descriptor (a record changed since — another room, a later
//! expiry — no longer matches the signed digest, and nothing is sent),
//! refuses a revoked or expired link, and only then computes the token
//! into the message.

use std::cell::RefCell;

use cavra_deliver::send::{Notice, Notices, SendFailure};
use cavra_store::Store;

use crate::link::{LinkKey, Token};
use crate::rooms::{self, Link, Room};

/// The prefix of an invitation's notice reference.
pub const NOTICE_PREFIX: &str = "room-link:";

/// The descriptor's format name.
pub const INVITATION_FORMAT: &str = "cavra.room_invitation.v1";

#[derive(serde::Serialize)]
struct Descriptor<'a> {
    format: &'a str,
    room_id: &'a str,
    package_id: &'a str,
    audience: &'a str,
    link_id: &'a str,
    recipient_class: &'a str,
    recipient_domain: &'a str,
    link_expires_at: i64,
    room_expires_at: i64,
    mfa: bool,
    terms_digest: Option<&'a str>,
}

/// The canonical bytes an invitation's requester signs the digest of.
///
/// ```
/// # use cavra_room::{Link, Room};
/// # let room = Room { id: "room-1".into(), package_id: "pkg-1".into(), package_item: "itm-1".into(),
/// #     tenant_ref: "t".into(), audience: "external auditor".into(), allowed_domains: vec!["audit.example".into()],
/// #     created_at: 0, expires_at: 100, closed_at: None, terms_digest: None, mfa: false, created_by: "k".into() };
/// # let link = Link { id: "lnk-1".into(), room_id: "room-1".into(), recipient_class: "external".into(),
/// #     recipient_domain: "audit.example".into(), issued_at: 0, expires_at: 50, revoked_at: None, issued_by: "k".into() };
/// let bytes = cavra_room::invitation::descriptor(&room, &link);
/// assert!(std::str::from_utf8(&bytes).unwrap().starts_with(r#"{"format":"cavra.room_invitation.v1","room_id":"room-1""#));
/// ```
pub fn descriptor(room: &Room, link: &Link) -> Vec<u8> {
    let d = Descriptor {
        format: INVITATION_FORMAT,
        room_id: &room.id,
        package_id: &room.package_id,
        audience: &room.audience,
        link_id: &link.id,
        recipient_class: &link.recipient_class,
        recipient_domain: &link.recipient_domain,
        link_expires_at: link.expires_at,
        room_expires_at: room.expires_at,
        mfa: room.mfa,
        terms_digest: room.terms_digest.as_deref(),
    };
    // A struct of strings, integers and booleans always serialises.
    serde_json::to_vec(&d).unwrap_or_default()
}

/// The notice reference of a link.
pub fn reference(link: &Link) -> String {
    format!("{NOTICE_PREFIX}{}", link.id)
}

/// The subject line of an invitation.
pub fn subject(room: &Room) -> String {
    format!("Evidence room {} is open to you", room.id)
}

/// Makes invitation messages from the room records at send time.
pub struct RoomNotices {
    store: RefCell<Store>,
    key: LinkKey,
    base_url: String,
    organisation: String,
}

impl std::fmt::Debug for RoomNotices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomNotices").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl RoomNotices {
    /// A source over the room store, with the link key and the public
    /// address the room service is reached at (`https://rooms.example`).
    pub fn new(store: Store, key: LinkKey, base_url: &str, organisation: &str) -> RoomNotices {
        RoomNotices {
            store: RefCell::new(store),
            key,
            base_url: base_url.trim_end_matches('/').to_string(),
            organisation: organisation.to_string(),
        }
    }

    fn records(&self, link_id: &str) -> Result<(Room, Link), SendFailure> {
        let mut store = self.store.borrow_mut();
        let transient = |e: crate::RoomError| SendFailure::new(true, format!("reading the room records: {e}"));
        let link = rooms::link(&mut store, link_id)
            .map_err(transient)?
            .ok_or_else(|| SendFailure::new(false, format!("no link {link_id} in the room store")))?;
        let room = rooms::room(&mut store, &link.room_id).map_err(|e| match e {
            crate::RoomError::NotFound(r) => SendFailure::new(false, format!("no room {r} in the room store")),
            other => transient(other),
        })?;
        Ok((room, link))
    }
}

impl Notices for RoomNotices {
    fn notice(&self, reference: &str, now: i64) -> Result<Notice, SendFailure> {
        let link_id = reference
            .strip_prefix(NOTICE_PREFIX)
            .ok_or_else(|| SendFailure::new(false, format!("`{reference}` is not a room invitation")))?;
        let (room, link) = self.records(link_id)?;
        let expired = |what: &str| SendFailure::new(false, format!("{what}; the invitation is not sent"));
        if link.revoked_at.is_some() {
            return Err(expired(&format!("{} was revoked", link.id)));
        }
        if room.closed_at.is_some() {
            return Err(expired(&format!("{} is closed", room.id)));
        }
        if link.expires_at <= now || room.expires_at <= now {
            return Err(expired(&format!("{} has expired", link.id)));
        }
        let token = Token::issue(&self.key, &link.id, &link.room_id, &link.recipient_class, link.expires_at);
        let url = format!("{}/rooms/{}/{}", self.base_url, room.id, token.text);
        let until = cavra_model::Timestamp::show_unix(link.expires_at);
        let mut paragraphs = vec![
            format!(
                "{} has opened evidence room {} to you ({}): package {}.",
                self.organisation, room.id, room.audience, room.package_id
            ),
            format!("Open it at {url}"),
            format!(
                "The link works for this room only and until {until}. Keep it to yourself: every view and \
                 download is recorded, and each PDF, Word or HTML file you download carries a watermark \
                 naming this access."
            ),
        ];
        if room.mfa {
            paragraphs.push(
                "The room also asks for a six-digit code from an authenticator app; its secret reaches you separately."
                    .into(),
            );
        }
        if room.terms_digest.is_some() {
            paragraphs.push("Before the first download you are asked to accept the room's terms.".into());
        }
        paragraphs.push(
            "The room lists each file's sha256; the package itself can be checked with \
             `cavra-reports verify PACKAGE.zip --pubkey <the signer's public key>`."
                .into(),
        );
        Ok(Notice { descriptor: descriptor(&room, &link), paragraphs, link: Some(url) })
    }
}

/// The outbox plan of an invitation for `link`, issued by [`rooms::invite`]
/// to `address`: one notice job, signed by `signer` and held to the
/// recipient policy like any send (store it with
/// [`cavra_deliver::outbox::OutboxStore::enqueue_plan`]).
///
/// # Errors
/// No such room; the policy or the signer's permissions refuse the send.
pub fn plan(
    store: &mut Store,
    config: &cavra_deliver::config::Config,
    signer: &cavra_deliver::identity::Signer,
    link: &Link,
    address: &str,
    now: i64,
) -> Result<cavra_deliver::send::Plan, crate::RoomError> {
    let room = rooms::room(store, &link.room_id)?;
    cavra_deliver::send::plan_notice(
        config,
        signer,
        address,
        &subject(&room),
        &reference(link),
        &descriptor(&room, link),
        now,
    )
    .map_err(|r| crate::RoomError::Refused(r.problems.join("; ")))
}
