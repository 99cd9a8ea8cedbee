//! Times reading and verifying a response ledger of N events (default
//! 20,000 exception renewals over 1,000 exceptions) from an SQLite store:
//! what every workflow action and `alerts list` pay before they act.
//!
//! ```text
//! cargo run --release -p cavra-ops --example ledger_load -- 20000
//! ```

use cavra_deliver::config::Config;
use cavra_deliver::identity::Signer;
use cavra_ops::response::{append, workflows, ResponseEvent, RESPONSE_MIGRATIONS};
use cavra_render::signed::SigningKey;

// A measurement, printed to stderr: nothing it writes depends on the clock.
#[allow(clippy::disallowed_methods)]
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let key = SigningKey::generate().expect("a key");
    let toml = format!(
        "[roles.secops]\npermissions = [\"respond\"]\n[principals.desk]\npublic_key = \"{}\"\nroles = [\"secops\"]\n",
        key.public_key().base64()
    );
    let config = Config::from_toml(&toml).expect("the setup");
    let signer = Signer::authenticate(&config, key).expect("the principal");
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    cavra_store::Store::migrate(&url, RESPONSE_MIGRATIONS).expect("migrated");
    let mut store = cavra_store::Store::open(&url, &dir.path().join("blobs")).expect("open");
    let t0 = 1_793_491_200;
    for i in 0..n {
        let until = cavra_model::Timestamp::from_unix_seconds(t0 + 86_400 * 400).expect("a time");
        let event = ResponseEvent::ExceptionRenewed { until, reason: "compensating control".into() };
        append(&mut store, &signer, &format!("exc:EXC-{}", i % 1000), event, t0 + i as i64).expect("appended");
    }
    let clock = std::time::Instant::now();
    let (records, _) = workflows::load(&mut store, &config).expect("the ledger verifies");
    eprintln!("read and verified {} events in {:.2?}", records.len(), clock.elapsed());
}
