//! The safety gate: finds content that must never reach a report.
//!
//! It runs three times: on every free-text input field while a snapshot is
//! loaded (with JSON paths), on the built [`Report`](crate::Report) before
//! any renderer sees it, and on every artifact's final bytes. It fails closed
//! by default; [`GateMode::Redact`] replaces each match in the input with a
//! visible `[redacted:<kind>]` marker and counts it in the report metadata.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv6Addr;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};
use serde::Serialize;

/// What the gate does with a match in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateMode {
    /// Reject the input, listing every offending JSON path (the default).
    #[default]
    FailClosed,
    /// Replace each match with `[redacted:<kind>]` and count it.
    Redact,
}

/// A kind of sensitive content the gate detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveKind {
    /// `-----BEGIN … PRIVATE KEY-----` blocks.
    PrivateKey,
    /// JSON Web Tokens.
    Jwt,
    /// AWS access key ids (`AKIA…`, `ASIA…`).
    AwsAccessKey,
    /// GitHub tokens (`ghp_…`, `github_pat_…`).
    GithubToken,
    /// Slack tokens (`xoxb-…`) and webhook URLs.
    SlackToken,
    /// URLs carrying signatures or tokens in their query.
    SignedUrl,
    /// `password=…`, `"password": "…"`, `aws_secret_access_key=…` style assignments.
    SecretAssignment,
    /// `Authorization: Bearer …` headers and bearer tokens.
    BearerToken,
    /// Stripe secret and restricted keys (`sk_live_…`, `rk_live_…`, test keys too).
    StripeKey,
    /// Google API keys (`AIza…`).
    GoogleApiKey,
    /// OpenAI API keys (`sk-proj-…`, `sk-…`).
    OpenAiKey,
    /// E-mail addresses.
    Email,
    /// IPv4 addresses.
    Ipv4,
    /// IPv6 addresses.
    Ipv6,
}

impl SensitiveKind {
    /// Every kind, in detection precedence order.
    pub const ALL: &'static [SensitiveKind] = &[
        SensitiveKind::PrivateKey,
        SensitiveKind::Jwt,
        SensitiveKind::AwsAccessKey,
        SensitiveKind::GithubToken,
        SensitiveKind::SlackToken,
        SensitiveKind::SignedUrl,
        SensitiveKind::BearerToken,
        SensitiveKind::StripeKey,
        SensitiveKind::GoogleApiKey,
        SensitiveKind::OpenAiKey,
        SensitiveKind::SecretAssignment,
        SensitiveKind::Email,
        SensitiveKind::Ipv4,
        SensitiveKind::Ipv6,
    ];

    /// Stable snake_case name, used in redaction markers.
    pub fn as_str(self) -> &'static str {
        match self {
            SensitiveKind::PrivateKey => "private_key",
            SensitiveKind::Jwt => "jwt",
            SensitiveKind::AwsAccessKey => "aws_access_key",
            SensitiveKind::GithubToken => "github_token",
            SensitiveKind::SlackToken => "slack_token",
            SensitiveKind::SignedUrl => "signed_url",
            SensitiveKind::SecretAssignment => "secret_assignment",
            SensitiveKind::BearerToken => "bearer_token",
            SensitiveKind::StripeKey => "stripe_key",
            SensitiveKind::GoogleApiKey => "google_api_key",
            SensitiveKind::OpenAiKey => "openai_key",
            SensitiveKind::Email => "email",
            SensitiveKind::Ipv4 => "ipv4",
            SensitiveKind::Ipv6 => "ipv6",
        }
    }

    fn pattern(self) -> Option<&'static str> {
        match self {
            // The PEM block, or its base64 encoding (`-----BEGIN` encodes as `LS0tLS1CRUdJTi…`).
            SensitiveKind::PrivateKey => Some(
                r"(?i)-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\z)|LS0tLS1CRUdJTi[A-Za-z0-9+/=]{8,}",
            ),
            SensitiveKind::Jwt => Some(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
            SensitiveKind::AwsAccessKey => Some(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b"),
            SensitiveKind::GithubToken => Some(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"),
            SensitiveKind::SlackToken => {
                Some(r"\bxox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[A-Za-z0-9/]+")
            }
            SensitiveKind::SignedUrl => Some(
                r"(?i)[?&#;](?:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|sig|signature|token|access_token|sv)=[^&\s]*",
            ),
            SensitiveKind::SecretAssignment => Some(
                r#"(?i)\b(?:password|passwd|pwd|secret|client_secret|aws_secret_access_key|secret_access_key|api[_-]?key|apikey|auth[_-]?token|access[_-]?token|refresh[_-]?token|private[_-]?key)["']?\s*(?:=|:)\s*["']?[^\s&,;'"]+"#,
            ),
            SensitiveKind::BearerToken => Some(
                r"(?i)\bauthorization\s*[:=]\s*(?:bearer|basic|token)\s+[^\s,;]{6,}|\bbearer\s+[A-Za-z0-9._~+/=-]{20,}",
            ),
            SensitiveKind::StripeKey => Some(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,}"),
            SensitiveKind::GoogleApiKey => Some(r"\bAIza[0-9A-Za-z_-]{35}"),
            SensitiveKind::OpenAiKey => Some(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
            // ASCII and internationalised addresses, and quoted local parts.
            SensitiveKind::Email => Some(
                r#"(?:"[^"\r\n]{1,64}"|[\p{L}\p{N}._%+-]+)@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*\.(?:\p{L}{2,}|xn--[a-z0-9-]+)"#,
            ),
            SensitiveKind::Ipv4 => Some(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
            SensitiveKind::Ipv6 => None,
        }
    }
}

impl fmt::Display for SensitiveKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One detected span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// What was found.
    pub kind: SensitiveKind,
    /// Byte range in the scanned text.
    pub range: std::ops::Range<usize>,
}

static PATTERNS: LazyLock<Vec<(SensitiveKind, Regex)>> = LazyLock::new(|| {
    SensitiveKind::ALL
        .iter()
        .filter_map(|k| k.pattern().map(|p| (*k, Regex::new(p).expect("gate patterns are valid"))))
        .collect()
});

/// Every pattern in one automaton: one pass tells whether (and which)
/// individual patterns need to run, so clean text costs a single scan.
static SET: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(PATTERNS.iter().map(|(_, re)| re.as_str())).expect("gate patterns are valid"));

/// Finds every sensitive span in `text`, non-overlapping, in text order.
/// Where two detections overlap, the one earlier in [`SensitiveKind::ALL`] wins.
///
/// ```
/// use cavra_model::gate::{scan_text, SensitiveKind};
/// let found = scan_text("mail ops@example.test from 10.1.2.3");
/// let kinds: Vec<_> = found.iter().map(|d| d.kind).collect();
/// assert_eq!(kinds, [SensitiveKind::Email, SensitiveKind::Ipv4]);
/// assert!(scan_text("agent-7 blocked a git push to main").is_empty());
/// ```
pub fn scan_text(text: &str) -> Vec<Detection> {
    let found = scan_raw(text);
    // Plain ASCII without escapes is its own normal form: skip the work.
    if text.is_ascii() && !text.contains(['%', '&']) {
        return found;
    }
    let normal = normalise(text);
    // A shape hidden by encoding, width or invisible characters: the normal
    // form cannot be mapped back span by span, so the whole text counts.
    let hidden = if normal == text {
        None
    } else {
        scan_raw(&normal).into_iter().map(|d| d.kind).find(|k| found.iter().all(|d| d.kind != *k))
    };
    match hidden {
        Some(kind) => vec![Detection { kind, range: 0..text.len() }],
        None => found,
    }
}

/// The text as a reader or a decoder would see it: percent-encoding and
/// HTML character references decoded (twice, for double encoding), Unicode
/// NFKC (full-width and compatibility forms to their plain letters), and
/// zero-width characters, soft hyphens and bidirectional controls removed.
/// Letter case is folded by the detectors themselves, whose keyword
/// shapes match case-insensitively.
///
/// ```
/// use cavra_model::gate::normalise;
/// assert_eq!(normalise("ops%40example.test"), "ops@example.test");
/// assert_eq!(normalise("ops&#64;example&period;test"), "ops@example.test");
/// assert_eq!(normalise("ｏｐｓ＠ｅｘａｍｐｌｅ．ｔｅｓｔ"), "ops@example.test");
/// assert_eq!(normalise("pass\u{200B}word=hunter2"), "password=hunter2");
/// ```
pub fn normalise(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut t = text.to_string();
    for _ in 0..2 {
        let decoded = decode_html(&decode_percent(&t));
        if decoded == t {
            break;
        }
        t = decoded;
    }
    t.nfkc().filter(|c| !is_invisible(*c)).collect()
}

/// Zero-width characters, the soft hyphen, the word joiner, the BOM and
/// bidirectional controls.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}')
        || is_bidi_control(c)
}

fn decode_percent(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |x: u8| (x as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn decode_html(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|e| *e <= 12);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = if let Some(num) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(num, 16).ok().and_then(char::from_u32)
            } else if let Some(num) = name.strip_prefix('#') {
                num.parse::<u32>().ok().and_then(char::from_u32)
            } else {
                match name.to_ascii_lowercase().as_str() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "commat" => Some('@'),
                    "period" => Some('.'),
                    "colon" => Some(':'),
                    "sol" => Some('/'),
                    "equals" => Some('='),
                    "quest" => Some('?'),
                    "nbsp" => Some(' '),
                    _ => None,
                }
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn scan_raw(text: &str) -> Vec<Detection> {
    let mut found: Vec<Detection> = Vec::new();
    let mut push = |d: Detection| {
        if !found.iter().any(|f| f.range.start < d.range.end && d.range.start < f.range.end) {
            found.push(d);
        }
    };
    let hits = SET.matches(text);
    for (i, (kind, re)) in PATTERNS.iter().enumerate() {
        if !hits.matched(i) {
            continue;
        }
        for m in re.find_iter(text) {
            if *kind == SensitiveKind::Ipv4 && !m.as_str().split('.').all(|o| o.parse::<u8>().is_ok()) {
                continue;
            }
            push(Detection { kind: *kind, range: m.range() });
        }
    }
    let maybe_ipv6 = text.bytes().filter(|b| *b == b':').nth(1).is_some();
    for range in if maybe_ipv6 { ipv6_candidates(text) } else { Vec::new() } {
        push(Detection { kind: SensitiveKind::Ipv6, range });
    }
    found.sort_by_key(|d| d.range.start);
    found
}

fn ipv6_candidates(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let is_run = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_run(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_run(bytes[i]) {
            i += 1;
        }
        let mut end = i;
        while end > start && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let before_ok = start == 0 || !is_word(bytes[start - 1]);
        let after_ok = i >= bytes.len() || !is_word(bytes[i]);
        let run = &text[start..end];
        let colons = run.bytes().filter(|b| *b == b':').count();
        if before_ok
            && after_ok
            && colons >= 2
            && run.bytes().any(|b| b.is_ascii_hexdigit())
            && run.parse::<Ipv6Addr>().is_ok()
        {
            out.push(start..end);
        }
    }
    out
}

/// Replaces every detection in `text` with `[redacted:<kind>]`, returning the
/// kinds replaced.
///
/// ```
/// let (clean, kinds) = cavra_model::gate::redact_text("ask ops@example.test");
/// assert_eq!(clean, "ask [redacted:email]");
/// assert_eq!(kinds.len(), 1);
/// ```
pub fn redact_text(text: &str) -> (String, Vec<SensitiveKind>) {
    let found = scan_text(text);
    if found.is_empty() {
        return (text.to_string(), Vec::new());
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for d in &found {
        out.push_str(&text[last..d.range.start]);
        out.push_str("[redacted:");
        out.push_str(d.kind.as_str());
        out.push(']');
        last = d.range.end;
    }
    out.push_str(&text[last..]);
    (out, found.into_iter().map(|d| d.kind).collect())
}

/// What the gate did to the input, carried into every report's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RedactionSummary {
    /// The mode the gate ran in.
    pub mode: GateMode,
    /// Total replacements.
    pub total: usize,
    /// Replacements per kind name.
    pub by_kind: BTreeMap<String, usize>,
}

/// Runs the gate over `text` at `path`: in fail-closed mode records a
/// violation, in redact mode rewrites the text and counts.
pub(crate) struct InputGate {
    pub mode: GateMode,
    pub summary: RedactionSummary,
    pub violations: Vec<(String, SensitiveKind)>,
    /// Fields longer than [`crate::limits::FREE_TEXT_CHARS`].
    pub too_long: Vec<String>,
}

/// Whether `c` never belongs in report text: bidi controls and C0/C1
/// controls other than tab and newline.
fn is_unwanted_control(c: char) -> bool {
    is_bidi_control(c) || (c.is_control() && !matches!(c, '\t' | '\n'))
}

impl InputGate {
    pub fn new(mode: GateMode) -> Self {
        InputGate {
            mode,
            summary: RedactionSummary { mode, ..Default::default() },
            violations: Vec::new(),
            too_long: Vec::new(),
        }
    }

    /// Removes bidi and control characters from `text` (so no format can
    /// carry them), enforces the length limit, then scans.
    pub fn check(&mut self, text: &mut String, path: impl FnOnce() -> String) {
        if text.chars().any(is_unwanted_control) {
            text.retain(|c| !is_unwanted_control(c));
        }
        if text.len() > crate::limits::FREE_TEXT_CHARS && text.chars().count() > crate::limits::FREE_TEXT_CHARS {
            self.too_long.push(path());
            return;
        }
        match self.mode {
            GateMode::FailClosed => {
                let found = scan_text(text);
                if !found.is_empty() {
                    let path = path();
                    let mut kinds: Vec<SensitiveKind> = found.iter().map(|d| d.kind).collect();
                    kinds.sort();
                    kinds.dedup();
                    for k in kinds {
                        self.violations.push((path.clone(), k));
                    }
                }
            }
            GateMode::Redact => {
                let (clean, kinds) = redact_text(text);
                if !kinds.is_empty() {
                    *text = clean;
                    for k in kinds {
                        self.summary.total += 1;
                        *self.summary.by_kind.entry(k.as_str().to_string()).or_default() += 1;
                    }
                }
            }
        }
    }
}

/// Walks every string of a JSON value, reporting detections with their JSON
/// path. Used on the report model and on JSON artifacts.
pub fn scan_json(value: &serde_json::Value) -> Vec<(String, SensitiveKind)> {
    let mut out = Vec::new();
    walk(value, "$".to_string(), &mut out);
    out
}

fn walk(value: &serde_json::Value, path: String, out: &mut Vec<(String, SensitiveKind)>) {
    match value {
        serde_json::Value::String(s) => {
            let mut kinds: Vec<SensitiveKind> = scan_text(s).into_iter().map(|d| d.kind).collect();
            kinds.sort();
            kinds.dedup();
            out.extend(kinds.into_iter().map(|k| (path.clone(), k)));
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                walk(v, format!("{path}.{k}"), out);
            }
        }
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
    }
}

/// Whether `c` is a bidirectional embedding, override or isolate control
/// (U+202A–U+202E, U+2066–U+2069) or a directional mark used to reorder
/// text (U+200E, U+200F, U+061C): characters that make text display other
/// than it reads.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}
