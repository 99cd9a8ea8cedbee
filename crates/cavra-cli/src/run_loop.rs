//! `deliver run`: one pass over the due jobs, or (`--loop`) a sender that
//! keeps going — sending what is due, then waiting for the next due job or
//! new work — with a progress display, until Ctrl-C/SIGTERM (the job in
//! hand is finished and recorded first) or, with `--until-idle`, until
//! nothing is left to send.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cavra_deliver::audit::AuditLog;
use cavra_deliver::config::{Config, Mode};
use cavra_deliver::outbox::{Backlog, Job, OutboxStore, SqliteOutbox};
use cavra_deliver::send::{run_pass_with, Notices, PassContext, RunSummary, Smtp, Transport};
use indicatif::{ProgressBar, ProgressStyle};

/// How `deliver run` behaves.
#[derive(Debug, Clone, Copy)]
pub struct LoopOptions {
    /// Seconds a sender holds a job.
    pub lease_seconds: i64,
    /// Keep running after the first pass.
    pub keep_running: bool,
    /// With `keep_running`: stop once nothing is queued, retrying or in flight.
    pub until_idle: bool,
    /// With `keep_running`: look for new work at least this often.
    pub poll_seconds: u64,
}

/// The transport the setup file's delivery mode names.
pub fn transport<'a>(config: &'a Config, config_path: &std::path::Path) -> Result<Box<dyn Transport + 'a>> {
    use cavra_deliver::http::{SendGrid, SendGridWith, Webhook};
    let msg = anyhow::Error::msg;
    Ok(match config.delivery.mode {
        Mode::Smtp | Mode::Microsoft365 | Mode::GoogleWorkspace => Box::new(Smtp::from_config(config).map_err(msg)?),
        Mode::Webhook => Box::new(Webhook::from_config(config).map_err(msg)?),
        Mode::Sendgrid => Box::new(SendGridWith { transport: SendGrid::from_config(config).map_err(msg)?, config }),
        Mode::Ses => Box::new(cavra_deliver::ses::Ses::from_config(config).map_err(msg)?),
        Mode::Disabled => bail!("delivery is disabled in {}", config_path.display()),
    })
}

fn add(total: &mut RunSummary, pass: &RunSummary) {
    total.sent += pass.sent;
    total.retried += pass.retried;
    total.failed += pass.failed;
    total.dead_lettered += pass.dead_lettered;
}

fn counts(total: &RunSummary, backlog: &Backlog) -> String {
    format!(
        "sent {} · retrying {} · failed {} · dead-lettered {} · queued {} · awaiting approval {}",
        total.sent, backlog.retry_scheduled, total.failed, total.dead_lettered, backlog.queued, backlog.blocked
    )
}

/// Where progress goes: a spinner line on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new() -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").unwrap_or_else(|_| {
                // The template is a constant; fall back to the default style rather than fail a send.
                ProgressStyle::default_spinner()
            }));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    /// One job's outcome: a log line (never the recipient's address).
    fn job(&self, job: &Job) {
        let line = format!(
            "{} {} (attempt {}){}",
            job.id,
            job.state.as_str(),
            job.attempts,
            if job.possible_duplicate { ", possible duplicate" } else { "" }
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn status(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs `deliver run`.
pub fn run(
    config: &Config,
    config_path: &std::path::Path,
    store: &mut SqliteOutbox,
    notices: &dyn Notices,
    mut log: Option<&mut AuditLog>,
    options: LoopOptions,
) -> Result<RunSummary> {
    let transport = transport(config, config_path)?;
    let stop = Arc::new(AtomicBool::new(false));
    if options.keep_running {
        let flag = Arc::clone(&stop);
        ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).context("installing the Ctrl-C handler")?;
    }
    let progress = Progress::new();
    let mut total = RunSummary::default();
    loop {
        let context = PassContext {
            transport: transport.as_ref(),
            notices,
            clock: &crate::deliver::now,
            lease_seconds: options.lease_seconds,
        };
        let pass = run_pass_with(config, store, &context, log.as_deref_mut(), &mut |job, _| {
            progress.job(job);
            if stop.load(Ordering::SeqCst) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        add(&mut total, &pass);
        let backlog = store.backlog()?;
        if !options.keep_running || stop.load(Ordering::SeqCst) || (options.until_idle && backlog.is_idle()) {
            progress.finish();
            if stop.load(Ordering::SeqCst) {
                eprintln!("stopped; {}", counts(&total, &backlog));
            }
            return Ok(total);
        }
        // Sleep until the next job is due, or the poll interval, in short
        // steps so a stop request is honoured promptly.
        let (now, _) = crate::deliver::now();
        let poll = i64::try_from(options.poll_seconds.max(1)).unwrap_or(i64::MAX);
        let latest = now.saturating_add(poll);
        let wake = backlog.next_due.map_or(latest, |due| due.clamp(now, latest));
        while crate::deliver::now().0 < wake && !stop.load(Ordering::SeqCst) {
            let left = wake - crate::deliver::now().0;
            progress.status(format!("{} · next look in {left} s", counts(&total, &backlog)));
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
