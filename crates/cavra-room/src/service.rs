//! The room service over HTTP.
//!
//! | route | what |
//! |---|---|
//! | `GET /rooms/{room}/{token}` | the room page: its files and their digests (or the terms, or the code form) |
//! | `GET /rooms/{room}/{token}/files/{item}` | one file: a watermarked copy (PDF, Word, HTML) or the stored bytes |
//! | `POST /rooms/{room}/{token}/terms` | accept the room's terms |
//! | `POST /rooms/{room}/{token}/code` | give the TOTP code (sets a short-lived, signed cookie) |
//!
//! Every response carries `Content-Security-Policy: default-src 'none'` (and
//! the one style sheet's hash), `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: no-referrer`, `Cache-Control: no-store` and
//! `X-Frame-Options: DENY`. The store and the audit log are used from
//! blocking threads (`spawn_blocking`), one request at a time for each;
//! stored files are streamed from the blob folder.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Form, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use cavra_deliver::access::{AccessEvent, AccessOutcome, AccessType, CheckState, LinkState, MfaStatus, WatermarkState};
use cavra_deliver::audit::AuditLog;
use cavra_deliver::config::Config;
use cavra_store::{EventAction, Item, ItemState, Outcome, Store, StoreEvent};

use crate::link::{totp_accepts, totp_secret, LinkKey, Token};
use crate::rooms::{self, Link, Room, ROOM_MIGRATIONS};
use crate::{pages, RoomError};

/// The service's clock: Unix seconds.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// How the service runs.
pub struct ServiceSettings {
    /// The setup file (recipient policy, retention classes).
    pub config: Config,
    /// The link key.
    pub key: LinkKey,
    /// Terms a room that asks for them shows (their digest is the room's `terms_digest`).
    pub terms: Option<String>,
    /// The clock.
    pub clock: Clock,
    /// Failed attempts a source, or a room, may make in a minute before it is refused (429).
    pub max_failures: usize,
    /// Whether the second-factor cookie is marked `Secure` (behind HTTPS).
    pub secure_cookies: bool,
}

struct Inner {
    store: Mutex<Store>,
    log: Mutex<AuditLog>,
    s: ServiceSettings,
    failures: Mutex<BTreeMap<String, Vec<i64>>>,
    csp: String,
}

/// The room service: share it with [`router`].
#[derive(Clone)]
pub struct RoomService(Arc<Inner>);

impl RoomService {
    /// A service over `store` writing access events to `log`.
    ///
    /// # Errors
    /// A store whose room schema is not current.
    pub fn new(mut store: Store, log: AuditLog, settings: ServiceSettings) -> Result<RoomService, RoomError> {
        store.require(ROOM_MIGRATIONS)?;
        use base64::Engine;
        use sha2::Digest;
        let style = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(pages::STYLE.as_bytes()));
        let csp = format!(
            "default-src 'none'; style-src 'sha256-{style}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        Ok(RoomService(Arc::new(Inner {
            store: Mutex::new(store),
            log: Mutex::new(log),
            s: settings,
            failures: Mutex::new(BTreeMap::new()),
            csp,
        })))
    }
}

/// Where a request came from (the peer's address, for rate limiting only;
/// it is never written anywhere).
#[derive(Debug, Clone)]
struct Source(String);

/// The service's routes, for `axum::serve` (with connect info, so failures
/// are limited per source) or for mounting in another service.
pub fn router(service: RoomService) -> Router {
    Router::new()
        .route("/rooms/{room}/{token}", get(view))
        .route("/rooms/{room}/{token}/files/{item}", get(download))
        .route("/rooms/{room}/{token}/terms", post(terms))
        .route("/rooms/{room}/{token}/code", post(code))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(service.clone(), guard))
        .with_state(service)
}

/// Strict headers on every response; the request's source noted for rate limiting.
async fn guard(State(s): State<RoomService>, mut req: Request, next: Next) -> Response {
    let source = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    req.extensions_mut().insert(Source(source));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &s.0.csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::CACHE_CONTROL, "no-store");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    res
}

/// What a request gets, decided on a blocking thread.
enum Reply {
    Page(StatusCode, String),
    Bytes { name: String, media: &'static str, bytes: Vec<u8> },
    File { name: String, media: &'static str, path: std::path::PathBuf, size: u64 },
    Redirect { to: String, cookie: Option<String> },
}

/// A stored file's media type: its format's, from the format registry
/// (`package` and formats the registry does not know are zip and octet-stream).
fn media_type(format: &str) -> &'static str {
    match format.parse::<cavra_render::Format>() {
        Ok(f) => f.media_type(),
        Err(_) if format == "package" => "application/zip",
        Err(_) => "application/octet-stream",
    }
}

/// A download's `Content-Disposition`: the stored name, reduced to safe characters.
fn disposition(name: &str) -> String {
    let safe: String =
        name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).take(120).collect();
    format!("attachment; filename=\"{}\"", if safe.is_empty() { "file" } else { &safe })
}

impl Reply {
    async fn respond(self) -> Response {
        match self {
            Reply::Page(status, html) => {
                (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
            }
            Reply::Bytes { name, media, bytes } => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, media.to_string()), (header::CONTENT_DISPOSITION, disposition(&name))],
                bytes,
            )
                .into_response(),
            Reply::File { name, media, path, size } => match tokio::fs::File::open(&path).await {
                Ok(f) => {
                    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(f, 64 * 1024));
                    let mut res = (StatusCode::OK, body).into_response();
                    let h = res.headers_mut();
                    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
                    if let Ok(v) = HeaderValue::from_str(&disposition(&name)) {
                        h.insert(header::CONTENT_DISPOSITION, v);
                    }
                    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
                    res
                }
                Err(_) => unavailable(),
            },
            Reply::Redirect { to, cookie } => {
                let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
                if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
                    res.headers_mut().insert(header::SET_COOKIE, c);
                }
                res
            }
        }
    }
}

fn unavailable() -> Response {
    let html = pages::notice("Unavailable", "The room could not answer this request. Nothing was served.");
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// Runs `f` on a blocking thread (the store and the log are synchronous).
async fn run(s: RoomService, f: impl FnOnce(&Inner) -> Reply + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(move || f(&s.0)).await {
        Ok(reply) => reply.respond().await,
        Err(_) => unavailable(),
    }
}

fn mfa_cookie(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::COOKIE)?.to_str().ok()?;
    raw.split(';').find_map(|c| c.trim().strip_prefix("cavra_room_mfa=").map(str::to_string))
}

async fn view(
    State(s): State<RoomService>,
    Path((room, token)): Path<(String, String)>,
    Extension(src): Extension<Source>,
    headers: HeaderMap,
) -> Response {
    let cookie = mfa_cookie(&headers);
    run(s, move |i| i.view(&room, &token, &src.0, cookie.as_deref())).await
}

async fn download(
    State(s): State<RoomService>,
    Path((room, token, item)): Path<(String, String, String)>,
    Extension(src): Extension<Source>,
    headers: HeaderMap,
) -> Response {
    let cookie = mfa_cookie(&headers);
    run(s, move |i| i.download(&room, &token, &item, &src.0, cookie.as_deref())).await
}

#[derive(serde::Deserialize)]
struct TermsForm {
    accept: Option<String>,
}

async fn terms(
    State(s): State<RoomService>,
    Path((room, token)): Path<(String, String)>,
    Extension(src): Extension<Source>,
    headers: HeaderMap,
    Form(form): Form<TermsForm>,
) -> Response {
    let cookie = mfa_cookie(&headers);
    run(s, move |i| i.accept(&room, &token, &src.0, cookie.as_deref(), form.accept.as_deref() == Some("yes"))).await
}

#[derive(serde::Deserialize)]
struct CodeForm {
    code: String,
}

async fn code(
    State(s): State<RoomService>,
    Path((room, token)): Path<(String, String)>,
    Extension(src): Extension<Source>,
    Form(form): Form<CodeForm>,
) -> Response {
    run(s, move |i| i.code(&room, &token, &src.0, &form.code)).await
}

async fn not_found(State(s): State<RoomService>, Extension(src): Extension<Source>) -> Response {
    run(s, move |i| {
        let e = AccessEvent::new(AccessType::FailedPolicyDecision, AccessOutcome::Denied, "").policy("unknown_path");
        i.fail(&src.0, None, i.now());
        i.deny(e, StatusCode::NOT_FOUND, "Not found", "There is no such page.")
    })
    .await
}

/// A link that opened its room.
struct Access {
    room: Room,
    link: Link,
    mfa: MfaStatus,
}

/// A room id as the URL gives it, if it has the form of one (it is not trusted).
fn room_ref(url_room: &str) -> &str {
    let ok =
        url_room.len() == 21 && url_room.starts_with("room-") && url_room[5..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        url_room
    } else {
        ""
    }
}

const WINDOW: i64 = 60;
const MFA_HOURS: i64 = 12;

impl Inner {
    fn now(&self) -> i64 {
        (self.s.clock)()
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends the event to the signed log; `Err` when it could not be recorded.
    fn record(&self, e: &AccessEvent) -> Result<(), Reply> {
        let at = cavra_model::Timestamp::show_unix(self.now());
        let mut log = self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        log.append(&e.audit_event(&at)).map(|_| ()).map_err(|_| {
            Reply::Page(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::notice("Unavailable", "Nothing was served: the access could not be recorded."),
            )
        })
    }

    fn deny(&self, e: AccessEvent, status: StatusCode, title: &str, text: &str) -> Reply {
        match self.record(&e) {
            Ok(()) => Reply::Page(status, pages::notice(title, text)),
            Err(r) => r,
        }
    }

    /// Notes a failed attempt from `source` (and against `room`).
    fn fail(&self, source: &str, room: Option<&str>, now: i64) {
        let mut f = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for key in [Some(format!("source:{source}")), room.map(|r| format!("room:{r}"))].into_iter().flatten() {
            let v = f.entry(key).or_default();
            v.retain(|t| now - t < WINDOW);
            v.push(now);
        }
        // Forget sources that have been quiet for a window.
        f.retain(|_, v| v.last().is_some_and(|t| now - t < WINDOW));
    }

    fn limited(&self, source: &str, room: &str, now: i64) -> bool {
        let f = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let recent = |key: &str| f.get(key).map_or(0, |v| v.iter().filter(|t| now - **t < WINDOW).count());
        recent(&format!("source:{source}")) >= self.s.max_failures
            || recent(&format!("room:{room}")) >= self.s.max_failures
    }

    /// Checks the link: signature, room, revocation, expiry, room state,
    /// and the second factor's cookie.
    fn authorise(
        &self,
        url_room: &str,
        token: &str,
        source: &str,
        cookie: Option<&str>,
        now: i64,
    ) -> Result<Access, Reply> {
        let shown_room = room_ref(url_room);
        let event = |t, state, link: &str| {
            AccessEvent::new(t, AccessOutcome::Denied, shown_room).link(link, state).policy("signed_link")
        };
        if self.limited(source, shown_room, now) {
            let e = event(AccessType::FailedAuthentication, LinkState::Absent, "").policy("rate_limit");
            return Err(self.deny(
                e,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "Wait a minute and try again.",
            ));
        }
        let tampered = |link: &str| {
            self.fail(source, Some(shown_room), now);
            self.deny(
                event(AccessType::FailedAuthentication, LinkState::Tampered, link),
                StatusCode::UNAUTHORIZED,
                "Link not valid",
                "This link is not valid. Ask the sender for a new one.",
            )
        };
        let Ok(t) = Token::parse(token) else { return Err(tampered("")) };
        let found = {
            let mut store = self.store();
            match rooms::link(&mut store, &t.link_id) {
                Ok(Some(link)) => rooms::room(&mut store, &link.room_id).map(|room| Some((link, room))),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            }
        };
        let (link, room) = match found {
            Ok(Some(x)) => x,
            Ok(None) => return Err(tampered("")),
            Err(_) => {
                return Err(Reply::Page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    pages::notice("Unavailable", "Try again later."),
                ))
            }
        };
        if t.expires_at != link.expires_at || !t.verify(&self.s.key, &link.room_id, &link.recipient_class) {
            return Err(tampered(&link.id));
        }
        let denied = |t, state, policy: &str, status, title: &str, text: &str| {
            let e = AccessEvent::new(t, AccessOutcome::Denied, &link.room_id)
                .actor(&link.recipient_class)
                .link(&link.id, state)
                .policy(policy);
            self.deny(e, status, title, text)
        };
        if link.room_id != url_room {
            self.fail(source, Some(shown_room), now);
            return Err(denied(
                AccessType::FailedAuthentication,
                LinkState::WrongRoom,
                "signed_link",
                StatusCode::FORBIDDEN,
                "Link not valid here",
                "This link opens another room.",
            ));
        }
        if link.revoked_at.is_some() {
            return Err(denied(
                AccessType::FailedAuthentication,
                LinkState::Revoked,
                "revocation",
                StatusCode::FORBIDDEN,
                "Link revoked",
                "This link was revoked. Ask the sender for a new one.",
            ));
        }
        if now >= link.expires_at || now >= room.expires_at {
            return Err(denied(
                AccessType::Expiry,
                LinkState::Expired,
                "link_expiry",
                StatusCode::GONE,
                "Link expired",
                "This link has expired. Ask the sender for a new one.",
            ));
        }
        if room.closed_at.is_some() {
            return Err(denied(
                AccessType::FailedPolicyDecision,
                LinkState::Valid,
                "room_closed",
                StatusCode::GONE,
                "Room closed",
                "This room has been closed.",
            ));
        }
        let mfa = if !room.mfa {
            MfaStatus::NotRequired
        } else if cookie.is_some_and(|c| self.mfa_cookie_valid(c, &link.id, now)) {
            MfaStatus::Verified
        } else {
            MfaStatus::Missing
        };
        Ok(Access { room, link, mfa })
    }

    fn mfa_cookie_valid(&self, cookie: &str, link: &str, now: i64) -> bool {
        let mut parts = cookie.split('.');
        let (Some(id), Some(until), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        id == link
            && until.parse::<i64>().is_ok_and(|u| u > now)
            && self.s.key.check(&["cavra.room_mfa.v1", id, until], tag)
    }

    fn base(room: &str, token: &str) -> String {
        format!("/rooms/{room}/{token}")
    }

    fn allowed(a: &Access, t: AccessType) -> AccessEvent {
        AccessEvent::new(t, AccessOutcome::Allowed, &a.room.id)
            .actor(&a.link.recipient_class)
            .link(&a.link.id, LinkState::Valid)
            .mfa(a.mfa)
    }

    /// The terms the link's recipient must still accept, if the room has any.
    fn pending_terms(&self, a: &Access) -> Result<Option<String>, RoomError> {
        let Some(digest) = &a.room.terms_digest else { return Ok(None) };
        if rooms::accepted_terms(&mut self.store(), &a.link.id, digest)? {
            return Ok(None);
        }
        Ok(Some(
            self.s.terms.clone().unwrap_or_else(|| "The terms for this room are not available; ask the sender.".into()),
        ))
    }

    fn view(&self, room: &str, token: &str, source: &str, cookie: Option<&str>) -> Reply {
        let now = self.now();
        let a = match self.authorise(room, token, source, cookie, now) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let base = Self::base(room, token);
        if a.mfa == MfaStatus::Missing {
            let e = AccessEvent::new(AccessType::View, AccessOutcome::Denied, &a.room.id)
                .actor(&a.link.recipient_class)
                .link(&a.link.id, LinkState::Valid)
                .mfa(MfaStatus::Missing)
                .policy("mfa");
            return match self.record(&e) {
                Ok(()) => Reply::Page(StatusCode::UNAUTHORIZED, pages::code_form(&base, false)),
                Err(r) => r,
            };
        }
        // One lock at a time: the store's guard is released before the terms are looked up.
        let files = rooms::files(&mut self.store(), &a.room);
        let listed = files.and_then(|f| Ok((f, self.pending_terms(&a)?)));
        let Ok((files, terms)) = listed else {
            return Reply::Page(StatusCode::INTERNAL_SERVER_ERROR, pages::notice("Unavailable", "Try again later."));
        };
        let mut e = Self::allowed(&a, AccessType::View).retention(CheckState::Passed);
        for f in &files {
            e = e.artifact(&f.id);
        }
        if let Err(r) = self.record(&e) {
            return r;
        }
        let standing = pages::Standing { base: &base, class: &a.link.recipient_class, terms: terms.as_deref() };
        Reply::Page(StatusCode::OK, pages::room(&a.room, &files, &standing))
    }

    fn download(&self, room: &str, token: &str, item: &str, source: &str, cookie: Option<&str>) -> Reply {
        let now = self.now();
        let a = match self.authorise(room, token, source, cookie, now) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let refuse = |policy: &str, status, title: &str, text: &str, check| {
            let e = AccessEvent::new(AccessType::FailedPolicyDecision, AccessOutcome::Denied, &a.room.id)
                .actor(&a.link.recipient_class)
                .link(&a.link.id, LinkState::Valid)
                .mfa(a.mfa)
                .policy(policy)
                .retention(check);
            self.deny(e, status, title, text)
        };
        if a.mfa == MfaStatus::Missing {
            let e = AccessEvent::new(AccessType::FailedAuthentication, AccessOutcome::Denied, &a.room.id)
                .actor(&a.link.recipient_class)
                .link(&a.link.id, LinkState::Valid)
                .mfa(MfaStatus::Missing)
                .policy("mfa");
            return self.deny(
                e,
                StatusCode::UNAUTHORIZED,
                "Verification needed",
                "Open the room and give your code first.",
            );
        }
        let well_formed =
            item.len() == 28 && item.starts_with("itm-") && item[4..].bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            self.fail(source, Some(&a.room.id), now);
            return refuse(
                "artifact_ref",
                StatusCode::BAD_REQUEST,
                "Not a file",
                "There is no such file in this room.",
                CheckState::NotApplicable,
            );
        }
        match self.pending_terms(&a) {
            Ok(None) => {}
            Ok(Some(_)) => {
                return refuse(
                    "terms",
                    StatusCode::FORBIDDEN,
                    "Terms not accepted",
                    "Accept the room's terms first.",
                    CheckState::NotApplicable,
                )
            }
            Err(_) => {
                return Reply::Page(StatusCode::INTERNAL_SERVER_ERROR, pages::notice("Unavailable", "Try again later."))
            }
        }
        let file = rooms::files(&mut self.store(), &a.room).map(|f| f.into_iter().find(|f| f.id == item));
        let file = match file {
            Ok(Some(f)) => f,
            Ok(None) => {
                return refuse(
                    "outside_room",
                    StatusCode::NOT_FOUND,
                    "Not a file",
                    "There is no such file in this room.",
                    CheckState::NotApplicable,
                )
            }
            Err(_) => {
                return Reply::Page(StatusCode::INTERNAL_SERVER_ERROR, pages::notice("Unavailable", "Try again later."))
            }
        };
        let past =
            file.hold.is_none() && self.s.config.retention_policy().effective_expiry(&file).is_some_and(|e| e <= now);
        if file.state == ItemState::Deleted || past {
            return refuse(
                "retention",
                StatusCode::GONE,
                "No longer kept",
                "This file is past its retention.",
                CheckState::Failed,
            );
        }
        self.serve(&a, &file, now)
    }

    fn serve(&self, a: &Access, file: &Item, now: i64) -> Reply {
        let fail =
            || Reply::Page(StatusCode::INTERNAL_SERVER_ERROR, pages::notice("Unavailable", "Nothing was served."));
        let mut store = self.store();
        let watermark = cavra_store::watermark::watermarks(&file.format);
        let checked = if watermark {
            store.blobs().read(&file.sha256).map(Some)
        } else {
            store.blobs().copy_to(&file.sha256, std::io::sink()).map(|_| None)
        };
        let Ok(stored) = checked else { return fail() };
        let e = StoreEvent::about(now, EventAction::Retrieve, Outcome::Done, file)
            .detail(format!("room {} link {}", a.room.id, a.link.id));
        let Ok(seq) = store.record(&e) else { return fail() };
        let path = store.blobs().path(&file.sha256);
        drop(store);
        let access = format!("acc-{seq:010}");
        let mark = |state| {
            Self::allowed(a, AccessType::Download)
                .artifact(&file.id)
                .watermark(state)
                .retention(CheckState::Passed)
                .access_id(&access)
        };
        match stored {
            Some(bytes) => {
                let wm = cavra_store::watermark::Watermark {
                    recipient_class: a.link.recipient_class.clone(),
                    retrieval_id: access.clone(),
                    item_id: file.id.clone(),
                };
                let Ok(Some(copy)) = cavra_store::watermark::apply(&file.format, &bytes, &wm) else { return fail() };
                let w = Self::allowed(a, AccessType::Watermark)
                    .artifact(&file.id)
                    .watermark(WatermarkState::Applied)
                    .access_id(&access);
                if let Err(r) = self.record(&mark(WatermarkState::Applied)).and_then(|()| self.record(&w)) {
                    return r;
                }
                Reply::Bytes { name: file.name.clone(), media: media_type(&file.format), bytes: copy }
            }
            None => {
                let Ok(path) = path else { return fail() };
                if let Err(r) = self.record(&mark(WatermarkState::NotApplicable)) {
                    return r;
                }
                Reply::File { name: file.name.clone(), media: media_type(&file.format), path, size: file.size }
            }
        }
    }

    fn accept(&self, room: &str, token: &str, source: &str, cookie: Option<&str>, yes: bool) -> Reply {
        let now = self.now();
        let a = match self.authorise(room, token, source, cookie, now) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let base = Self::base(room, token);
        let (Some(digest), true) = (&a.room.terms_digest, yes && a.mfa != MfaStatus::Missing) else {
            return Reply::Redirect { to: base, cookie: None };
        };
        if rooms::accept_terms(&mut self.store(), &a.link.id, digest, now).is_err() {
            return Reply::Page(StatusCode::INTERNAL_SERVER_ERROR, pages::notice("Unavailable", "Try again later."));
        }
        let e = Self::allowed(&a, AccessType::TermsAcceptance).policy(&format!("terms:{digest}"));
        match self.record(&e) {
            Ok(()) => Reply::Redirect { to: base, cookie: None },
            Err(r) => r,
        }
    }

    fn code(&self, room: &str, token: &str, source: &str, code: &str) -> Reply {
        let now = self.now();
        let a = match self.authorise(room, token, source, None, now) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let base = Self::base(room, token);
        if !a.room.mfa {
            return Reply::Redirect { to: base, cookie: None };
        }
        let secret = totp_secret(&self.s.key, &a.link.id);
        if !totp_accepts(&secret, now, code.trim()) {
            self.fail(source, Some(&a.room.id), now);
            let e = AccessEvent::new(AccessType::FailedAuthentication, AccessOutcome::Denied, &a.room.id)
                .actor(&a.link.recipient_class)
                .link(&a.link.id, LinkState::Valid)
                .mfa(MfaStatus::Failed)
                .policy("mfa");
            return match self.record(&e) {
                Ok(()) => Reply::Page(StatusCode::UNAUTHORIZED, pages::code_form(&base, true)),
                Err(r) => r,
            };
        }
        let until = (now + MFA_HOURS * 3600).min(a.link.expires_at).to_string();
        let tag = self.s.key.tag(&["cavra.room_mfa.v1", &a.link.id, &until]);
        let secure = if self.s.secure_cookies { "; Secure" } else { "" };
        let cookie = format!(
            "cavra_room_mfa={}.{until}.{tag}; Path=/rooms/{}/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            a.link.id,
            a.room.id,
            MFA_HOURS * 3600
        );
        let e = Self::allowed(&Access { mfa: MfaStatus::Verified, ..a }, AccessType::View).policy("mfa");
        match self.record(&e) {
            Ok(()) => Reply::Redirect { to: base, cookie: Some(cookie) },
            Err(r) => r,
        }
    }
}
