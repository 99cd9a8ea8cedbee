//! # cavra-deliver
//!
//! Governance for sending reports: the `cavra.toml` setup file
//! ([`config`]), recipient policy with spoofing-resistant domain matching
//! ([`policy`]), roles and permissions, schedules with correct time-zone and
//! daylight-saving behaviour ([`schedule`]) and a hash-chained, signed audit
//! log ([`audit`]).
//!
//! Not yet here: the durable outbox, the SMTP/SES/SendGrid/webhook
//! transports, approvals, bounce handling and their commands.

pub mod approval;
pub mod audit;
pub mod bounce;
pub mod config;
pub mod http;
pub mod outbox;
pub mod policy;
pub mod schedule;
pub mod send;
