//! The room service on a loopback port, driven by a real HTTP client:
//! a valid link opens the room and downloads a watermarked PDF whose text
//! names the access id; expired, revoked, other-room and tampered links, a
//! wrong TOTP code and path-traversal URLs are refused with their status and
//! an access event; the events verify in the signed audit log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use cavra_deliver::audit::{verify_log, AuditLog};
use cavra_deliver::config::Config;
use cavra_deliver::identity::Signer;
use cavra_render::signed::SigningKey;
use cavra_room::link::{totp_code, totp_secret, LinkKey};
use cavra_room::{rooms, Invitation, RoomService, RoomSettings, ServiceSettings, ROOM_MIGRATIONS};
use cavra_store::Store;

const T0: i64 = 1_800_000_000;
const LINK_KEY: &[u8] = b"the room service's test link key, 32+ bytes";

struct World {
    _dir: tempfile::TempDir,
    base: String,
    clock: Arc<AtomicI64>,
    log: PathBuf,
    audit_pub: cavra_render::signed::PublicKey,
    rooms: Vec<(String, String)>,
    revoked: String,
    mfa_room: (String, String, String),
    terms_room: (String, String),
}

const TERMS: &str = "Handle under the engagement letter of 2027-01-15; do not redistribute.";

fn package(dir: &Path, key: &SigningKey) -> PathBuf {
    use cavra_model::{LoadOptions, Posture, Snapshot};
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/sample_snapshot.json")).unwrap();
    let snapshot = Snapshot::from_json_str(&text, &LoadOptions::default()).unwrap();
    let p = cavra_package::build_package(
        cavra_package::PackageType::EvidenceRoomBundle,
        &snapshot,
        &Posture::compute(&snapshot),
        &cavra_package::PackageOptions::default(),
        key,
    )
    .unwrap();
    let path = dir.join(&p.file_name);
    std::fs::write(&path, &p.bytes).unwrap();
    path
}

fn world() -> World {
    world_with(50)
}

fn world_with(max_failures: usize) -> World {
    let dir = tempfile::tempdir().unwrap();
    let manager = SigningKey::generate().unwrap();
    let config = Config::from_toml(&format!(
        "[[recipients.domains]]\ndomain = \"audit.example\"\nclassification = \"external_auditor\"\n\
         [[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\
         [roles.rooms]\npermissions = [\"manage_rooms\"]\n\
         [principals.evidence-desk]\npublic_key = \"{}\"\nroles = [\"rooms\"]\n",
        manager.public_key().base64()
    ))
    .unwrap();
    let signer = Signer::authenticate(&config, manager).unwrap();
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    Store::migrate(&url, ROOM_MIGRATIONS).unwrap();
    let mut store = Store::open(&url, &dir.path().join("blobs")).unwrap();
    let pkg_key = SigningKey::generate().unwrap();
    let pkg = package(dir.path(), &pkg_key);
    let key = LinkKey::new(LINK_KEY).unwrap();
    let settings = |mfa| RoomSettings {
        audience: "external auditor".into(),
        allowed_domains: vec!["audit.example".into()],
        lifetime: 14 * 86_400,
        terms: None,
        mfa,
    };
    let with_terms = RoomSettings { terms: Some(TERMS.into()), ..settings(false) };
    let pk = pkg_key.public_key_file();
    let mut made = Vec::new();
    for i in 0..2 {
        let room = rooms::create(&mut store, &config, &signer, &pkg, &pk, &settings(false), T0 + i).unwrap();
        let to = Invitation { address: "lead@audit.example".into(), lifetime: 7 * 86_400 };
        let (_, token) = rooms::invite(&mut store, &config, &key, &signer, &room.id, &to, T0 + i).unwrap();
        made.push((room.id, token.text));
    }
    // outside the room's domains, or not allowed by the policy: no link
    let bad = Invitation { address: "cso@northwind.example".into(), lifetime: 86_400 };
    assert!(rooms::invite(&mut store, &config, &key, &signer, &made[0].0, &bad, T0).is_err());
    let to = Invitation { address: "second@audit.example".into(), lifetime: 86_400 };
    let (link, revoked) = rooms::invite(&mut store, &config, &key, &signer, &made[0].0, &to, T0).unwrap();
    assert!(rooms::revoke_link(&mut store, &config, &signer, &link.id, T0 + 5).unwrap());
    let mfa = rooms::create(&mut store, &config, &signer, &pkg, &pk, &settings(true), T0 + 7).unwrap();
    let (mfa_link, mfa_token) = rooms::invite(
        &mut store,
        &config,
        &key,
        &signer,
        &mfa.id,
        &Invitation { address: "x@audit.example".into(), lifetime: 86_400 },
        T0 + 7,
    )
    .unwrap();

    let terms_room = rooms::create(&mut store, &config, &signer, &pkg, &pk, &with_terms, T0 + 9).unwrap();
    let (_, terms_token) = rooms::invite(
        &mut store,
        &config,
        &key,
        &signer,
        &terms_room.id,
        &Invitation { address: "t@audit.example".into(), lifetime: 86_400 },
        T0 + 9,
    )
    .unwrap();
    let audit_key = SigningKey::generate().unwrap();
    let audit_pub = audit_key.public_key();
    let log_path = dir.path().join("access.jsonl");
    let log = AuditLog::open(&log_path, audit_key).unwrap();
    let clock = Arc::new(AtomicI64::new(T0 + 60));
    let c = Arc::clone(&clock);
    let service = RoomService::new(
        store,
        log,
        ServiceSettings {
            config,
            key,
            terms: Some(TERMS.into()),
            clock: Arc::new(move || c.load(Ordering::SeqCst)),
            max_failures,
            secure_cookies: false,
        },
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = cavra_room::router(service).into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
    });
    World {
        base: format!("http://{addr}"),
        clock,
        log: log_path,
        audit_pub,
        rooms: made,
        revoked: revoked.text,
        mfa_room: (mfa.id, mfa_token.text, mfa_link.id),
        terms_room: (terms_room.id, terms_token.text),
        _dir: dir,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
}

fn get(url: &str) -> (u16, ureq::http::HeaderMap, Vec<u8>) {
    let mut res = agent().get(url).call().unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.body_mut().read_to_vec().unwrap())
}

fn events(w: &World) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(&w.log).unwrap();
    let v = verify_log(std::io::BufReader::new(text.as_bytes()), &w.audit_pub, None);
    assert!(v.ok(), "the access log verifies: {:?}", v.problems);
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|r| r["event"]["room_access"].as_object().cloned().map(serde_json::Value::Object))
        .collect()
}

/// The PDF's text as `pdftotext` extracts it (`None` outside CI when it is missing).
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.pdf");
    std::fs::write(&path, pdf).unwrap();
    match std::process::Command::new("pdftotext").arg(&path).arg("-").output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        _ => {
            assert!(std::env::var_os("CI").is_none(), "pdftotext is required in CI; .ci/run installs it");
            None
        }
    }
}

#[test]
fn the_room_serves_valid_links_and_refuses_everything_else_with_an_event() {
    let w = world();
    let (room, token) = w.rooms[0].clone();
    let page_url = format!("{}/rooms/{room}/{token}", w.base);
    let (status, headers, body) = get(&page_url);
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Files in this room") && !html.contains("<script"), "{html}");
    let csp = headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    for (h, v) in
        [("x-content-type-options", "nosniff"), ("referrer-policy", "no-referrer"), ("cache-control", "no-store")]
    {
        assert_eq!(headers.get(h).unwrap(), v, "{h}");
    }

    // the PDF link downloads a watermarked copy naming its access id
    let pdf_href = html.split("href=\"").skip(1).map(|s| &s[..s.find('"').unwrap()]).find(|h| {
        let name_at = html.find(h).unwrap();
        html[name_at..].split("</a>").next().unwrap().contains(".pdf")
    });
    let pdf_href = pdf_href.expect("a PDF in the room").replace("&amp;", "&");
    let (status, headers, pdf) = get(&format!("{}{pdf_href}", w.base));
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").unwrap(), "application/pdf");
    assert!(headers.get("content-disposition").unwrap().to_str().unwrap().starts_with("attachment; filename=\""));
    let access = events(&w).into_iter().rev().find(|e| e["event_type"] == "download").unwrap()["access_id"].clone();
    let access = access.as_str().unwrap().to_string();
    if let Some(text) = pdftotext(&pdf) {
        assert!(text.contains(&access), "the watermark names {access}: {text:.400}");
        assert!(text.contains("Retrieved copy for external_auditor recipients"));
    }
    // a data file is served as stored, byte for byte
    let csv_href = html
        .split("href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .find(|h| html[html.find(h).unwrap()..].split("</a>").next().unwrap().contains(".csv"))
        .expect("a CSV in the room")
        .to_string();
    let (status, _, csv) = get(&format!("{}{csv_href}", w.base));
    assert_eq!(status, 200);
    let digest = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&csv));
    assert!(html.contains(&digest), "the page lists the digest of what it serves");

    let refused = |path: &str, want: u16| {
        let (status, headers, body) = get(&format!("{}{path}", w.base));
        assert_eq!(status, want, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(headers.get("content-security-policy").is_some(), "{path}: headers on refusals too");
    };
    // tampered token, a link for another room, a revoked link, traversal, a file outside the room
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    refused(&format!("/rooms/{room}/{forged}"), 401);
    refused(&format!("/rooms/{room}/not-a-token"), 401);
    refused(&format!("/rooms/{}/{token}", w.rooms[1].0), 403);
    refused(&format!("/rooms/{room}/{}", w.revoked), 403);
    refused(&format!("/rooms/{room}/{token}/files/..%2F..%2F..%2Fetc%2Fpasswd"), 400);
    refused(&format!("/rooms/{room}/{token}/files/itm-000000000000000000000000"), 404);
    refused("/rooms/../../etc/passwd", 404);
    refused("/etc/passwd", 404);

    // a wrong second factor, then the right one
    let (mfa_room, mfa_token, mfa_link) = w.mfa_room.clone();
    let mfa_url = format!("{}/rooms/{mfa_room}/{mfa_token}", w.base);
    assert_eq!(get(&mfa_url).0, 401, "the code form first");
    let post = |code: &str| {
        let mut res = agent()
            .post(&format!("{mfa_url}/code"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(format!("code={code}"))
            .unwrap();
        let cookie = res.headers().get("set-cookie").map(|c| c.to_str().unwrap().to_string());
        (res.status().as_u16(), cookie, res.body_mut().read_to_string().unwrap_or_default())
    };
    let now = w.clock.load(Ordering::SeqCst);
    let right = totp_code(&totp_secret(&LinkKey::new(LINK_KEY).unwrap(), &mfa_link), now);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert_eq!(post(&wrong).0, 401);
    let (status, cookie, _) = post(&right);
    assert_eq!(status, 303);
    let cookie = cookie.expect("a cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let value = cookie.split(';').next().unwrap().to_string();
    let mut res = agent().get(&mfa_url).header("Cookie", &value).call().unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", res.body_mut().read_to_string().unwrap());
    let mut res = agent().get(&mfa_url).header("Cookie", "cavra_room_mfa=lnk-0.99999999999.AAAA").call().unwrap();
    assert_eq!(res.status().as_u16(), 401, "a forged cookie is no second factor");
    let _ = res.body_mut().read_to_vec();

    // past the link's expiry
    w.clock.store(T0 + 8 * 86_400, Ordering::SeqCst);
    refused(&format!("/rooms/{room}/{token}"), 410);

    let all = events(&w);
    let count = |t: &str, outcome: &str| all.iter().filter(|e| e["event_type"] == t && e["outcome"] == outcome).count();
    assert!(count("view", "allowed") >= 2);
    assert!(count("download", "allowed") >= 2);
    assert_eq!(count("watermark", "allowed"), 1);
    assert!(count("failed_authentication", "denied") >= 5, "tampered ×2, wrong room, revoked, wrong code");
    assert!(count("failed_policy_decision", "denied") >= 4, "traversal, outside the room, unknown paths");
    assert_eq!(count("expiry", "denied"), 1);
    let states: Vec<&str> = all.iter().filter_map(|e| e["signed_link"]["state"].as_str()).collect();
    for s in ["valid", "tampered", "wrong_room", "revoked", "expired"] {
        assert!(states.contains(&s), "{s}: {states:?}");
    }
    assert!(all.iter().any(|e| e["mfa_status"] == "failed"));
    assert!(all.iter().any(|e| e["mfa_status"] == "verified"));
    // no address, token or URL in any event
    let text = std::fs::read_to_string(&w.log).unwrap();
    for leak in ["audit.example", "@", &token, "127.0.0.1", "http://"] {
        assert!(!text.contains(leak), "the access log holds `{leak}`");
    }
}

#[test]
fn terms_are_accepted_before_the_first_download_and_recorded() {
    let w = world();
    let (room, token) = w.terms_room.clone();
    let url = format!("{}/rooms/{room}/{token}", w.base);
    let (status, _, body) = get(&url);
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    assert!(html.contains("engagement letter of 2027-01-15") && html.contains("I accept these terms"), "{html}");
    assert!(!html.contains("/files/"), "no download links before the terms are accepted");
    let id = html.split("<td class=\"digest\">").count();
    assert!(id > 3, "the files are listed all the same");
    // a download before accepting is refused
    let mut res = agent().get(&format!("{url}/files/itm-{}", "0".repeat(24))).call().unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let _ = res.body_mut().read_to_vec();
    let mut res = agent()
        .post(&format!("{url}/terms"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send("accept=yes")
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let _ = res.body_mut().read_to_vec();
    let (status, _, body) = get(&url);
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    assert!(html.contains("/files/itm-") && !html.contains("I accept these terms"), "{html}");
    let digest = cavra_package::manifest::sha256_tagged(TERMS.as_bytes());
    let all = events(&w);
    let accepted = all.iter().find(|e| e["event_type"] == "terms_acceptance").expect("an acceptance event");
    assert_eq!(accepted["policy_refs"][0], format!("terms:{digest}"));
    assert!(all.iter().any(|e| e["event_type"] == "failed_policy_decision" && e["policy_refs"][0] == "terms"));
}

#[test]
fn failed_attempts_are_limited_per_source() {
    let w = world_with(3);
    let (room, token) = w.rooms[0].clone();
    for _ in 0..3 {
        assert_eq!(get(&format!("{}/rooms/{room}/crl1.lnk-0.1.AAAA", w.base)).0, 401);
    }
    // the limit now refuses even a valid link from this source, for a minute
    assert_eq!(get(&format!("{}/rooms/{room}/{token}", w.base)).0, 429);
    w.clock.fetch_add(61, Ordering::SeqCst);
    assert_eq!(get(&format!("{}/rooms/{room}/{token}", w.base)).0, 200);
    let all = events(&w);
    assert!(all.iter().any(|e| e["policy_refs"].as_array().is_some_and(|p| p.iter().any(|r| r == "rate_limit"))));
}

#[test]
fn with_a_certificate_the_service_speaks_tls_only() {
    use cavra_room::serve::{serve, tls_config};
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let tls = tls_config(cert.pem().as_bytes(), signing_key.serialize_pem().as_bytes()).unwrap();
    assert!(tls_config(b"not a pem", signing_key.serialize_pem().as_bytes()).is_err());
    // the same room world, served through TLS on another port
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    Store::migrate(&url, ROOM_MIGRATIONS).unwrap();
    let store = Store::open(&url, &dir.path().join("blobs")).unwrap();
    let log = AuditLog::open(&dir.path().join("tls.jsonl"), SigningKey::generate().unwrap()).unwrap();
    let settings = ServiceSettings {
        config: Config::default(),
        key: LinkKey::new(LINK_KEY).unwrap(),
        terms: None,
        clock: Arc::new(|| T0),
        max_failures: 10,
        secure_cookies: true,
    };
    let service = RoomService::new(store, log, settings).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            serve(listener, cavra_room::router(service), Some(tls), std::future::pending()).await.unwrap();
        });
    });
    let root = ureq::tls::Certificate::from_der(cert.der()).to_owned();
    let tls_agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .tls_config(
            ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root]))).build(),
        )
        .build()
        .into();
    let mut res = tls_agent.get(&format!("https://localhost:{port}/rooms/x/y")).call().unwrap();
    assert_eq!(res.status().as_u16(), 401, "a TLS answer, with the room's refusal");
    assert!(res.headers().get("content-security-policy").is_some());
    let _ = res.body_mut().read_to_vec();
    // plain HTTP on the TLS port gets no answer
    assert!(agent().get(&format!("http://127.0.0.1:{port}/rooms/x/y")).call().is_err());
    drop(w);
}
