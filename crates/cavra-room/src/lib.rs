//! # cavra-room
//!
//! Evidence rooms: an auditor opens a verified evidence-room package in a
//! browser through a signed, expiring link bound to one room and one class
//! of recipient; every PDF, Word and HTML download is a watermarked copy
//! naming its access id; every view, download, refusal, expiry and
//! watermark is an access event in the signed audit log
//! ([`cavra_deliver::access`]).
//!
//! - [`link`]: the link tokens (HMAC-SHA-256 under the service's key) and
//!   the optional TOTP second factor;
//! - [`rooms`]: rooms and links in the store's database;
//! - [`invitation`]: links sent through the delivery outbox, the token made only at send time;
//! - [`service`]: the HTTP service, as an axum [`axum::Router`] another
//!   Rust service can mount, or served on its own by `cavra-reports room serve`.
//!
//! The pages are server-rendered HTML with no scripts and strict headers;
//! no part of a URL is ever used as a file path (a file is found by its
//! item id among the room's items, and read from the blob folder by its
//! digest).

pub mod events;
pub mod invitation;
pub mod link;
mod pages;
pub mod rooms;
pub mod serve;
pub mod service;

pub use rooms::{Invitation, Link, Room, RoomSettings, ROOM_MIGRATIONS};
pub use service::{router, RoomService, ServiceSettings};

/// Why a room operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    /// The principal may not do this, or a rule forbids it.
    #[error("refused: {0}")]
    Refused(String),
    /// A setting or argument is not valid.
    #[error("{0}")]
    Invalid(String),
    /// No such room.
    #[error("no room `{0}`")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] cavra_store::StoreError),
    /// The audit log failed (nothing is served that is not recorded).
    #[error(transparent)]
    Audit(#[from] cavra_deliver::audit::AuditError),
}
