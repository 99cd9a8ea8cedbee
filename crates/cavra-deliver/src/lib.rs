//! # cavra-deliver
//!
//! Governed delivery of reports: the `cavra.toml` setup file ([`config`]),
//! recipient policy with spoofing-resistant domain matching ([`policy`]),
//! roles and permissions, approval gates ([`approval`]), schedules with
//! correct time-zone and daylight-saving behaviour ([`schedule`]), a durable
//! outbox on SQLite or a shared PostgreSQL server ([`outbox`], [`schema`]), messages built from the package manifest
//! ([`message`]), transports — SMTP ([`send`]), SendGrid and
//! signed webhooks ([`http`]), Amazon SES ([`ses`]) —, retries, bounce
//! handling ([`bounce`]) and a hash-chained, signed audit log ([`audit`]).

pub mod acceptance;
pub mod access;
pub mod approval;
pub mod audit;
pub mod authorise;
pub mod bounce;
pub mod config;
pub mod contracts;
pub mod http;
pub mod identity;
pub mod loopback;
pub mod message;
pub mod outbox;
pub mod policy;
pub mod records;
pub mod schedule;
pub mod schema;
pub mod send;
pub mod ses;
pub mod statement;
