//! Load on the room service: 200 concurrent downloads of a 10 MB file from
//! a loopback client. Run under `/usr/bin/time -v` for the peak memory of
//! the process (client and server); figures in `docs/performance.md`.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;

use cavra_deliver::audit::AuditLog;
use cavra_deliver::config::Config;
use cavra_deliver::identity::Signer;
use cavra_render::signed::SigningKey;
use cavra_room::link::LinkKey;
use cavra_room::{rooms, Invitation, RoomService, RoomSettings, ServiceSettings, ROOM_MIGRATIONS};
use cavra_store::{NewItem, Store};
use criterion::{criterion_group, criterion_main, Criterion};

const CLIENTS: usize = 200;
const FILE_BYTES: usize = 10 << 20;
const NOW: i64 = 1_800_000_000;

/// Starts a service holding one room with a 10 MB data file; returns the file's URL.
fn service(dir: &std::path::Path) -> String {
    let desk = SigningKey::generate().unwrap();
    let config = Config::from_toml(&format!(
        "[[recipients.domains]]\ndomain = \"audit.example\"\nclassification = \"external_auditor\"\n\
         [roles.rooms]\npermissions = [\"manage_rooms\"]\n[principals.desk]\npublic_key = \"{}\"\nroles = [\"rooms\"]\n",
        desk.public_key().base64()
    ))
    .unwrap();
    let signer = Signer::authenticate(&config, desk).unwrap();
    let url = format!("sqlite:{}", dir.join("store.db").display());
    Store::migrate(&url, ROOM_MIGRATIONS).unwrap();
    let mut store = Store::open(&url, &dir.join("blobs")).unwrap();
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/sample_snapshot.json")).unwrap();
    let snapshot = cavra_model::Snapshot::from_json_str(&text, &Default::default()).unwrap();
    let pkg_key = SigningKey::generate().unwrap();
    let p = cavra_package::build_package(
        cavra_package::PackageType::EvidenceRoomBundle,
        &snapshot,
        &cavra_model::Posture::compute(&snapshot),
        &Default::default(),
        &pkg_key,
    )
    .unwrap();
    let path = dir.join(&p.file_name);
    std::fs::write(&path, &p.bytes).unwrap();
    let settings = RoomSettings {
        audience: "external auditor".into(),
        allowed_domains: vec!["audit.example".into()],
        lifetime: 14 * 86_400,
        terms: None,
        mfa: false,
    };
    let room = rooms::create(&mut store, &config, &signer, &path, &pkg_key.public_key_file(), &settings, NOW).unwrap();
    let key = LinkKey::new(b"the load benchmark's link key, 32 bytes+").unwrap();
    let to = Invitation { address: "lead@audit.example".into(), lifetime: 7 * 86_400 };
    let (_, token) = rooms::invite(&mut store, &config, &key, &signer, &room.id, &to, NOW).unwrap();
    let big: Vec<u8> = (0..FILE_BYTES).map(|i| b"0123456789,abcdef\n"[i % 18]).collect();
    let new = NewItem {
        tenant_ref: room.tenant_ref.clone(),
        kind: "agent-activity-digest".into(),
        format: "csv".into(),
        name: "big.csv".into(),
        report_id: None,
        package: Some(room.package_id.clone()),
        classification: "confidential".into(),
        retention_class: "governance_record".into(),
        created_at: NOW,
    };
    let (item, _) = store.register(&new, big.as_slice(), &config.retention_policy(), NOW).unwrap();
    let log = AuditLog::open(&dir.join("access.jsonl"), SigningKey::generate().unwrap()).unwrap();
    let service = RoomService::new(
        store,
        log,
        ServiceSettings {
            config,
            key,
            terms: None,
            clock: Arc::new(|| NOW + 60),
            max_failures: 10,
            secure_cookies: false,
        },
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = cavra_room::router(service).into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}/rooms/{}/{}/files/{}", room.id, token.text, item.id)
}

fn downloads(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let url = service(dir.path());
    let mut g = c.benchmark_group("room");
    g.sample_size(10);
    g.throughput(criterion::Throughput::Bytes((CLIENTS * FILE_BYTES) as u64));
    g.bench_function("200 concurrent downloads of a 10 MB file", |b| {
        b.iter(|| {
            let handles: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    let url = url.clone();
                    std::thread::spawn(move || {
                        let agent: ureq::Agent =
                            ureq::Agent::config_builder().http_status_as_error(true).build().into();
                        let mut res = agent.get(&url).call().expect("a download");
                        let mut body = res.body_mut().with_config().limit(u64::MAX).reader();
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut n = 0usize;
                        loop {
                            let k = body.read(&mut buf).expect("reading the body");
                            if k == 0 {
                                break;
                            }
                            n += k;
                        }
                        n
                    })
                })
                .collect();
            let total: usize = handles.into_iter().map(|h| h.join().expect("a client")).sum();
            assert_eq!(total, CLIENTS * FILE_BYTES, "every byte of every download, no error");
        })
    });
    g.finish();
}

criterion_group!(load, downloads);
criterion_main!(load);
