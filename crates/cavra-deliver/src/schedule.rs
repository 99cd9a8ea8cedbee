//! Schedules: a cadence (daily, weekly, monthly, quarterly or a five-field
//! cron expression) in an IANA time zone, with blackout windows.
//!
//! [`next_runs`] is a pure function of the schedule and an instant. Local
//! times are resolved the way calendar software does (RFC 5545): a time that
//! does not exist because clocks spring forward runs at the same offset
//! after the gap (02:30 becomes 03:30), and a time that occurs twice because
//! clocks fall back runs once, at its first occurrence. Every run has a
//! stable key — schedule id and scheduled instant — so a run fires at most
//! once even across restarts.
//!
//! ```
//! use cavra_deliver::schedule::{next_runs, Cadence, Schedule};
//! let s = Schedule::new("weekly-brief", Cadence::parse("weekly mon 08:00").unwrap(), "America/New_York").unwrap();
//! let after = cavra_model::Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
//! let runs = next_runs(&s, after, 2);
//! assert_eq!(runs[0].at.to_string(), "2026-11-02T13:00:00Z"); // 08:00 EST
//! assert_eq!(runs[0].key, "weekly-brief@2026-11-02T13:00:00Z");
//! ```

use cavra_model::Timestamp;
use cavra_package::manifest::sha256_tagged;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{ToSpan, ZonedDateTime};

/// Why a schedule is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

/// Checks that `name` is an IANA time zone name (`Area/Location`, or `UTC`):
/// POSIX rule strings, offsets and legacy abbreviations are refused, since
/// schedules and documents must follow the zone's real rules.
///
/// ```
/// use cavra_deliver::schedule::check_zone;
/// assert!(check_zone("America/New_York").is_ok());
/// assert!(check_zone("UTC").is_ok());
/// for bad in ["EST5EDT", "+05:00", "EST", "Mars/Olympus", "posix/Europe/Paris", ""] {
///     assert!(check_zone(bad).is_err(), "{bad}");
/// }
/// ```
///
/// # Errors
/// A message naming the zone.
pub fn check_zone(name: &str) -> Result<(), ScheduleError> {
    let shaped = name == "UTC"
        || (name.contains('/')
            && !name.starts_with("posix/")
            && !name.starts_with("right/")
            && name.split('/').all(|part| {
                part.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
            }));
    if !shaped || TimeZone::get(name).is_err() {
        return Err(err(format!("`{name}` is not an IANA time zone name (like `Europe/Paris` or `UTC`)")));
    }
    Ok(())
}

fn err(msg: impl Into<String>) -> ScheduleError {
    ScheduleError(msg.into())
}

/// A five-field cron expression: minute, hour, day of month, month, day of
/// week (0–7, Sunday is 0 or 7; names `jan`…`dec`, `sun`…`sat` accepted).
/// Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and
/// lists. When both day fields are restricted a day matching either runs
/// (as in Vixie cron).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    dom_any: bool,
    dow_any: bool,
    text: String,
}

fn field(text: &str, min: u32, max: u32, names: &[&str], what: &str) -> Result<(u64, bool), ScheduleError> {
    let mut bits = 0u64;
    let value = |s: &str| -> Result<u32, ScheduleError> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(min + i as u32);
        }
        s.parse::<u32>().map_err(|_| err(format!("cron {what}: `{s}` is not a number")))
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| err(format!("cron {what}: bad step `{s}`")))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(err(format!("cron {what}: step 0")));
        }
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(err(format!("cron {what}: `{part}` is outside {min}-{max}")));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, text == "*"))
}

impl Cron {
    /// Parses `m h dom mon dow`.
    ///
    /// # Errors
    /// A field that is malformed or out of range, or not five fields.
    pub fn parse(text: &str) -> Result<Cron, ScheduleError> {
        let f: Vec<&str> = text.split_whitespace().collect();
        let [m, h, dom, mon, dow] = f.as_slice() else {
            return Err(err(format!(
                "cron expression `{text}` needs five fields: minute hour day-of-month month day-of-week"
            )));
        };
        const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
        const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        let (minutes, _) = field(m, 0, 59, &[], "minute")?;
        let (hours, _) = field(h, 0, 23, &[], "hour")?;
        let (days, dom_any) = field(dom, 1, 31, &[], "day of month")?;
        let (months, _) = field(mon, 1, 12, &MONTHS, "month")?;
        let (mut weekdays, dow_any) = field(dow, 0, 7, &DAYS, "day of week")?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: (weekdays & 0x7F) as u8,
            dom_any,
            dow_any,
            text: f.join(" "),
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        match (self.dom_any, self.dow_any) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        }
    }

    /// Local times of day (in order) the expression fires at.
    fn times(&self) -> Vec<Time> {
        let mut out = Vec::new();
        for h in 0..24i8 {
            if self.hours & (1 << h) == 0 {
                continue;
            }
            for m in 0..60i8 {
                if self.minutes & (1 << m) != 0 {
                    out.push(Time::constant(h, m, 0, 0));
                }
            }
        }
        out
    }
}

impl std::fmt::Display for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// How often a schedule runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cadence {
    /// Every day at a local time.
    Daily(Time),
    /// Every week on a weekday at a local time.
    Weekly(Weekday, Time),
    /// Every month on a day (1–28, or 31 for "last day") at a local time.
    Monthly(i8, Time),
    /// Every quarter (Jan, Apr, Jul, Oct) on a day at a local time.
    Quarterly(i8, Time),
    /// A cron expression.
    Cron(Cron),
}

fn parse_time(s: &str) -> Result<Time, ScheduleError> {
    let (h, m) = s.split_once(':').ok_or_else(|| err(format!("`{s}` is not a time of the form HH:MM")))?;
    let (h, m): (i8, i8) = (
        h.parse().map_err(|_| err(format!("`{s}`: bad hour")))?,
        m.parse().map_err(|_| err(format!("`{s}`: bad minute")))?,
    );
    Time::new(h, m, 0, 0).map_err(|_| err(format!("`{s}` is not a time of day")))
}

fn parse_day(s: &str) -> Result<i8, ScheduleError> {
    match s {
        "last" => Ok(31),
        _ => match s.parse::<i8>() {
            Ok(d @ 1..=28) => Ok(d),
            _ => Err(err(format!("day `{s}`: use 1-28 or `last`"))),
        },
    }
}

impl Cadence {
    /// Parses `daily HH:MM`, `weekly <mon…sun> HH:MM`, `monthly <1-28|last>
    /// HH:MM`, `quarterly <1-28|last> HH:MM` or `cron <five fields>`.
    ///
    /// # Errors
    /// [`ScheduleError`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Cadence, ScheduleError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["daily", t] => Ok(Cadence::Daily(parse_time(t)?)),
            ["weekly", d, t] => {
                let day = match d.to_ascii_lowercase().as_str() {
                    "mon" | "monday" => Weekday::Monday,
                    "tue" | "tuesday" => Weekday::Tuesday,
                    "wed" | "wednesday" => Weekday::Wednesday,
                    "thu" | "thursday" => Weekday::Thursday,
                    "fri" | "friday" => Weekday::Friday,
                    "sat" | "saturday" => Weekday::Saturday,
                    "sun" | "sunday" => Weekday::Sunday,
                    other => return Err(err(format!("`{other}` is not a weekday"))),
                };
                Ok(Cadence::Weekly(day, parse_time(t)?))
            }
            ["monthly", d, t] => Ok(Cadence::Monthly(parse_day(d)?, parse_time(t)?)),
            ["quarterly", d, t] => Ok(Cadence::Quarterly(parse_day(d)?, parse_time(t)?)),
            ["cron", rest @ ..] => Ok(Cadence::Cron(Cron::parse(&rest.join(" "))?)),
            _ => Err(err(format!(
                "cadence `{text}`: expected `daily HH:MM`, `weekly DAY HH:MM`, `monthly DAY HH:MM`, `quarterly DAY HH:MM` or `cron M H DOM MON DOW`"
            ))),
        }
    }

    /// Local times this cadence fires at on `d`.
    fn times_on(&self, d: Date) -> Vec<Time> {
        let day_of = |want: i8| if want == 31 { d.last_of_month().day() } else { want };
        match self {
            Cadence::Daily(t) => vec![*t],
            Cadence::Weekly(w, t) => {
                if d.weekday() == *w {
                    vec![*t]
                } else {
                    vec![]
                }
            }
            Cadence::Monthly(day, t) => {
                if d.day() == day_of(*day) {
                    vec![*t]
                } else {
                    vec![]
                }
            }
            Cadence::Quarterly(day, t) => {
                if matches!(d.month(), 1 | 4 | 7 | 10) && d.day() == day_of(*day) {
                    vec![*t]
                } else {
                    vec![]
                }
            }
            Cadence::Cron(c) => {
                if c.day_matches(d) {
                    c.times()
                } else {
                    vec![]
                }
            }
        }
    }
}

/// What to do with a run that falls in a blackout window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlackoutPolicy {
    /// Run when the window ends.
    Defer,
    /// Do not run.
    Skip,
    /// Run at the planned time only once someone approves it.
    RequireManualApproval,
}

impl std::str::FromStr for BlackoutPolicy {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "defer" => Ok(BlackoutPolicy::Defer),
            "skip" => Ok(BlackoutPolicy::Skip),
            "require_manual_approval" => Ok(BlackoutPolicy::RequireManualApproval),
            _ => Err(err(format!("blackout policy `{s}`: use defer, skip or require_manual_approval"))),
        }
    }
}

/// A blackout window in the schedule's local time, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blackout {
    /// Local start.
    pub start: DateTime,
    /// Local end.
    pub end: DateTime,
    /// What happens to runs inside it.
    pub policy: BlackoutPolicy,
}

impl Blackout {
    /// Parses local `YYYY-MM-DDTHH:MM` bounds.
    ///
    /// # Errors
    /// Bad dates or an empty window.
    pub fn parse(start: &str, end: &str, policy: BlackoutPolicy) -> Result<Blackout, ScheduleError> {
        let p = |s: &str| {
            let b = s.as_bytes();
            let shaped = b.len() == 16
                && b.iter().enumerate().all(|(i, c)| match i {
                    4 | 7 => *c == b'-',
                    10 => *c == b'T',
                    13 => *c == b':',
                    _ => c.is_ascii_digit(),
                });
            if !shaped {
                return Err(err(format!("blackout bound `{s}`: not of the form YYYY-MM-DDTHH:MM")));
            }
            s.parse::<DateTime>().map_err(|e| err(format!("blackout bound `{s}`: {e}")))
        };
        let (start, end) = (p(start)?, p(end)?);
        if end <= start {
            return Err(err("a blackout window must end after it starts"));
        }
        Ok(Blackout { start, end, policy })
    }
}

/// A schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Stable id (part of every run key).
    pub id: String,
    /// Cadence.
    pub cadence: Cadence,
    /// IANA time zone.
    pub timezone: String,
    /// Blackout windows.
    pub blackouts: Vec<Blackout>,
}

impl Schedule {
    /// A schedule without blackouts.
    ///
    /// # Errors
    /// An unknown time zone or an id that cannot be part of a run key.
    pub fn new(id: &str, cadence: Cadence, timezone: &str) -> Result<Schedule, ScheduleError> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(err(format!("schedule id `{id}`: use letters, digits, `-`, `_` and `.`")));
        }
        check_zone(timezone)?;
        let s = Schedule { id: id.into(), cadence, timezone: timezone.into(), blackouts: Vec::new() };
        // A fixed anchor keeps validation deterministic; ten years covers every real cadence.
        let anchor = Timestamp::from_unix_seconds(1_767_225_600).map_err(err)?; // 2026-01-01T00:00:00Z
        if next_runs(&s, anchor, 1).is_empty() {
            return Err(err(format!("schedule `{id}`: the cadence never fires (no run in ten years)")));
        }
        Ok(s)
    }
}

/// How a planned run goes ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKind {
    /// At its time.
    Normal,
    /// Moved to the end of a blackout window that covered `planned`.
    Deferred {
        /// The instant it was planned for.
        planned: Timestamp,
    },
    /// Inside a blackout window that needs a manual approval.
    NeedsApproval,
}

/// A run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// `<schedule id>@<planned instant>`: the same run always has the same key.
    pub key: String,
    /// When it fires (UTC).
    pub at: Timestamp,
    /// Local wall-clock time of the planned instant, with its offset.
    pub local: String,
    /// How it goes ahead.
    pub kind: RunKind,
}

fn to_ts(z: &ZonedDateTime) -> Option<Timestamp> {
    Timestamp::from_unix_seconds(z.timestamp().as_second()).ok()
}

/// The next `n` runs strictly after `after`.
pub fn next_runs(schedule: &Schedule, after: Timestamp, n: usize) -> Vec<Run> {
    let Ok(tz) = TimeZone::get(&schedule.timezone) else { return Vec::new() };
    let Ok(start) = jiff::Timestamp::from_second(after.unix_seconds()) else { return Vec::new() };
    let mut day = start.to_zoned_datetime(tz.clone()).date();
    let mut out = Vec::new();
    // Ten years of days is far more than any cadence needs to produce `n` runs.
    for _ in 0..3700 {
        for t in schedule.cadence.times_on(day) {
            let local = day.to_datetime(t);
            // Compatible disambiguation: gaps shift forward, folds take the first.
            let Ok(zoned) = tz.to_ambiguous_zoned_datetime(local).compatible() else { continue };
            if zoned.timestamp() <= start {
                continue;
            }
            let Some(planned) = to_ts(&zoned) else { continue };
            let key = format!("{}@{planned}", schedule.id);
            let shown = zoned.strftime("%Y-%m-%dT%H:%M%:z %Z").to_string();
            let blackout = schedule.blackouts.iter().find(|b| local >= b.start && local < b.end);
            let run = match blackout {
                None => Some(Run { key, at: planned, local: shown, kind: RunKind::Normal }),
                Some(b) => match b.policy {
                    BlackoutPolicy::Skip => None,
                    BlackoutPolicy::RequireManualApproval => {
                        Some(Run { key, at: planned, local: shown, kind: RunKind::NeedsApproval })
                    }
                    BlackoutPolicy::Defer => tz
                        .to_ambiguous_zoned_datetime(b.end)
                        .compatible()
                        .ok()
                        .and_then(|end| to_ts(&end))
                        .map(|at| Run { key, at, local: shown, kind: RunKind::Deferred { planned } }),
                },
            };
            if let Some(r) = run {
                out.push(r);
                if out.len() == n {
                    return out;
                }
            }
        }
        match day.checked_add(1.day()) {
            Ok(d) => day = d,
            Err(_) => break,
        }
    }
    out
}

/// What [`run_due`] did with one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The run.
    pub run: Run,
    /// Jobs queued (0 when it waits for a manual approval or was refused).
    pub queued: usize,
    /// The approval the queued jobs wait for (external recipients, or a
    /// recipient set that changed since the schedule last ran).
    pub approval: Option<String>,
    /// Why nothing was queued, when nothing was.
    pub note: Option<String>,
}

/// `sha256:` of a run's sorted recipient addresses.
fn recipient_fingerprint(jobs: &[crate::outbox::Job]) -> String {
    let mut set: Vec<&str> = jobs.iter().map(|j| j.recipient.as_str()).collect();
    set.sort_unstable();
    sha256_tagged(set.join("\n").as_bytes())
}

/// Fires every run of every configured schedule that is due at `now` and
/// was not fired before (runs up to `lookback` seconds old are caught up;
/// older ones are left). Each run is claimed by its key together with the
/// jobs it queues, in one transaction, so calling this twice — or after a
/// restart — fires nothing twice.
///
/// Recipients go through the same policy as `deliver send` (external ones
/// wait for an approval). A schedule's first run records its recipient set
/// (after group expansion); when a later run's set differs — the schedule's
/// `to` or a group changed — its jobs wait for an approval covering that
/// package and set, and the new set becomes the baseline once approved.
///
/// The sends are requested, and signed, by `signer`: a principal with the
/// `schedule` permission that also holds each schedule's `role` (a run of a
/// schedule whose role it lacks is refused and noted).
///
/// # Errors
/// Storage errors; a schedule that cannot be planned is reported in its
/// [`Fired::note`] instead.
pub fn run_due(
    config: &crate::config::Config,
    signer: &crate::identity::Signer,
    store: &mut dyn crate::outbox::OutboxStore,
    now: Timestamp,
    lookback: i64,
) -> Result<Vec<Fired>, crate::outbox::OutboxError> {
    let mut out = Vec::new();
    let Ok(since) = Timestamp::from_unix_seconds(now.unix_seconds() - lookback) else { return Ok(out) };
    for entry in &config.schedules {
        let Ok(schedule) = config.schedule(entry) else { continue };
        let baseline = store.schedule_baseline(&entry.id)?;
        // The package is hashed once per schedule, when a run first needs it,
        // not once per caught-up run.
        let mut package: Option<Result<String, String>> = None;
        for run in next_runs(&schedule, since, 1000).into_iter().take_while(|r| r.at <= now) {
            let mut plan = None;
            let mut fingerprint = None;
            let (state, note) = match run.kind {
                RunKind::NeedsApproval => {
                    ("needs_approval", Some("inside a blackout window: needs a manual approval".to_string()))
                }
                RunKind::Normal | RunKind::Deferred { .. } => match package
                    .get_or_insert_with(|| {
                        crate::authorise::verify_intake(config, std::path::Path::new(&entry.package))
                    })
                    .clone()
                {
                    Err(e) => ("failed", Some(e)),
                    Ok(_) if !signer.roles().contains(&entry.role) => (
                        "refused",
                        Some(format!(
                            "principal `{}` does not hold the schedule's role `{}`",
                            signer.name(),
                            entry.role
                        )),
                    ),
                    Ok(digest) => {
                        let request = crate::send::SendRequest {
                            recipients: entry.to.clone(),
                            attachment: entry.package.clone().into(),
                            subject: entry
                                .subject
                                .clone()
                                .unwrap_or_else(|| format!("Scheduled reports: {}", entry.id)),
                        };
                        match crate::send::plan(config, signer, &request, &digest, run.at.unix_seconds()) {
                            Ok(mut p) => {
                                let fp = recipient_fingerprint(&p.jobs);
                                let changed = baseline.as_deref().is_some_and(|b| b != fp);
                                if changed {
                                    let why = format!("schedule {}: recipients changed since it last ran", entry.id);
                                    p.require_approval(config, signer.name(), now.unix_seconds(), &why);
                                }
                                let note = p.approval().map(|a| format!("waiting for approval {a}"));
                                fingerprint = Some(fp);
                                plan = Some(p);
                                ("fired", note)
                            }
                            Err(refused) => ("refused", Some(refused.to_string())),
                        }
                    }
                },
            };
            let jobs = plan.as_ref().map_or(&[][..], |p| &p.jobs[..]);
            let claim = crate::outbox::RunClaim {
                key: &run.key,
                state,
                now: now.unix_seconds(),
                jobs,
                approval: plan.as_ref().and_then(|p| p.request.as_ref()),
                recipients: fingerprint.as_deref().map(|f| (entry.id.as_str(), f)),
                request: plan.as_ref().map(|p| &p.statement),
            };
            if store.claim_run(&claim)? {
                let approval = plan.as_ref().and_then(|p| p.approval().map(str::to_string));
                out.push(Fired { run, queued: jobs.len(), approval, note });
            }
        }
    }
    Ok(out)
}
