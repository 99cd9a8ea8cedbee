//! Alert notices, composed when they are sent.
//!
//! An alert's routing queues one notice job per recipient, naming
//! `alert:<id>:<level>`; the routing principal signed the digest of the
//! alert's descriptor at that level ([`super::workflows::notice_descriptor`]).
//! At each attempt [`AlertNotices`] reads and verifies the ledger again,
//! remakes the descriptor (an edited alert no longer matches the signed
//! digest, so nothing is sent), sends nothing for a resolved alert, and
//! holds a suppressed one back until its suppression ends.

use std::cell::RefCell;

use cavra_deliver::config::Config;
use cavra_deliver::send::{Notice, Notices, SendFailure};
use cavra_store::Store;

use super::workflows::{load, notice_descriptor, NOTICE_PREFIX};
use super::AlertStatus;

/// Makes alert notices from the response ledger at send time.
pub struct AlertNotices {
    store: RefCell<Store>,
    config: Config,
    /// The ledger as last verified, and its last event's number: a pass
    /// sending many notices verifies it once, and again only when an event
    /// was appended since.
    verified: RefCell<Option<(u64, std::rc::Rc<super::Ledger>)>>,
}

impl std::fmt::Debug for AlertNotices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertNotices").finish_non_exhaustive()
    }
}

impl AlertNotices {
    /// A source over the record store; `config`'s principals verify the ledger.
    pub fn new(store: Store, config: Config) -> AlertNotices {
        AlertNotices { store: RefCell::new(store), config, verified: RefCell::new(None) }
    }
}

impl AlertNotices {
    fn ledger(&self) -> Result<std::rc::Rc<super::Ledger>, SendFailure> {
        let transient = |e: super::ResponseError| SendFailure::new(true, format!("reading the response ledger: {e}"));
        let mut store = self.store.borrow_mut();
        let last = super::last_seq(&mut store).map_err(transient)?;
        if let Some((seq, ledger)) = self.verified.borrow().as_ref() {
            if *seq == last {
                return Ok(std::rc::Rc::clone(ledger));
            }
        }
        let (records, ledger) = load(&mut store, &self.config).map_err(|e| match e {
            super::ResponseError::Tampered { .. } => SendFailure::new(false, e.to_string()),
            other => transient(other),
        })?;
        let ledger = std::rc::Rc::new(ledger);
        let seq = records.last().map_or(0, |r| r.seq);
        *self.verified.borrow_mut() = Some((seq, std::rc::Rc::clone(&ledger)));
        Ok(ledger)
    }
}

impl Notices for AlertNotices {
    fn notice(&self, reference: &str, now: i64) -> Result<Notice, SendFailure> {
        let rest = reference
            .strip_prefix(NOTICE_PREFIX)
            .ok_or_else(|| SendFailure::new(false, format!("`{reference}` is not an alert notice")))?;
        let (id, level) = rest
            .rsplit_once(':')
            .and_then(|(id, l)| l.parse::<u32>().ok().map(|l| (id, l)))
            .ok_or_else(|| SendFailure::new(false, format!("`{reference}` is not an alert notice")))?;
        let ledger = self.ledger()?;
        let a = ledger.alerts.get(id).ok_or_else(|| SendFailure::new(false, format!("no alert {id} in the ledger")))?;
        if a.status == AlertStatus::Resolved {
            return Err(SendFailure::new(false, format!("{id} was resolved; the notice is not sent")));
        }
        let t = cavra_model::Timestamp::from_unix_seconds(now).map_err(|e| SendFailure::new(false, e))?;
        if a.suppressed_at(t) {
            return Err(SendFailure::new(true, format!("{id} is suppressed; the notice waits")));
        }
        let mut paragraphs = vec![
            format!(
                "Alert {id} (level {level}) was raised at {} by rule {} ({}).",
                a.raised_at,
                a.rule_id,
                a.signal.replace('_', " ")
            ),
            format!("Observed: {}. Objective: {}.", a.observed, a.objective),
            format!("Status: {}.", a.status.as_str()),
        ];
        if level > 1 {
            paragraphs.push(format!("It is escalated to level {level}: no one acknowledged it in time."));
        }
        paragraphs.push(format!(
            "Acknowledge it with `cavra-reports alerts ack {id} --as file:<your key>`; every step is signed \
             and recorded in the audit log."
        ));
        Ok(Notice { descriptor: notice_descriptor(a, level), paragraphs, link: None })
    }
}
