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
use std::sync::{LazyLock, OnceLock};

use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};
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

    /// The kind's regular expression (`regex` syntax), or `None` for IPv6,
    /// which is found by parsing candidate runs. Published so that other
    /// tools, and the tests, can check the gate against a plain search.
    pub fn pattern(self) -> Option<&'static str> {
        match self {
            // The PEM block, or its base64 encoding (`-----BEGIN` encodes as `LS0tLS1CRUdJTi…`).
            SensitiveKind::PrivateKey => Some(
                r"(?i-u:-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----)(?s:.*?)(?:(?i-u:-----END[A-Z0-9 ]*PRIVATE KEY-----)|\z)|(?i-u:LS0tLS1CRUdJTi[A-Z0-9+/=]{8,})",
            ),
            SensitiveKind::Jwt => Some(r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
            SensitiveKind::AwsAccessKey => {
                Some(r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}(?-u:\b)")
            }
            SensitiveKind::GithubToken => Some(r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"),
            SensitiveKind::SlackToken => {
                Some(r"(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[A-Za-z0-9/]+")
            }
            SensitiveKind::SignedUrl => Some(
                r"[?&#;](?i-u:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|sig|signature|token|access_token|sv)=[^&\s]*",
            ),
            SensitiveKind::SecretAssignment => Some(
                r#"(?-u:\b)(?i-u:password|passwd|pwd|secret|client_secret|aws_secret_access_key|secret_access_key|api[_-]?key|apikey|auth[_-]?token|access[_-]?token|refresh[_-]?token|private[_-]?key)["']?\s*(?:=|:)\s*["']?[^\s&,;'"]+"#,
            ),
            SensitiveKind::BearerToken => Some(
                r"(?-u:\b)(?i-u:authorization)\s*[:=]\s*(?i-u:bearer|basic|token)\s+[^\s,;]{6,}|(?-u:\b)(?i-u:bearer)\s+[A-Za-z0-9._~+/=-]{20,}",
            ),
            SensitiveKind::StripeKey => Some(r"(?-u:\b)[sr]k_(?:live|test)_[A-Za-z0-9]{10,}"),
            SensitiveKind::GoogleApiKey => Some(r"(?-u:\b)AIza[0-9A-Za-z_-]{35}"),
            SensitiveKind::OpenAiKey => Some(r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
            // ASCII and internationalised addresses, and quoted local parts.
            SensitiveKind::Email => Some(
                r#"(?:"[^"\r\n]{1,64}"|[\p{L}\p{N}._%+-]+)@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*\.(?:\p{L}{2,}|xn--[a-z0-9-]+)"#,
            ),
            SensitiveKind::Ipv4 => Some(r"(?-u:\b)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?-u:\b)"),
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

/// Each pattern is compiled the first time a text needs it (the e-mail
/// pattern, with its Unicode letter classes the costliest to build, is
/// never built for a text without an `@`).
static PATTERNS: LazyLock<Vec<(SensitiveKind, &'static str, OnceLock<Regex>)>> =
    LazyLock::new(|| SensitiveKind::ALL.iter().filter_map(|k| k.pattern().map(|p| (*k, p, OnceLock::new()))).collect());

/// Every keyword of [`SensitiveKind::SecretAssignment`] contains one of
/// these stems; looked for in an ASCII-lowercased copy, they are where that
/// pattern is tried (it starts with a case-insensitive alternation, which
/// the regex engine cannot look for by literal).
static SECRET_STEMS: LazyLock<Vec<memchr::memmem::Finder<'static>>> = LazyLock::new(|| {
    ["pass", "pwd", "secret", "key", "token"].iter().map(|s| memchr::memmem::Finder::new(s.as_bytes())).collect()
});

/// Where a secret-assignment stem occurs, ascending.
fn secret_stems(text: &str) -> Vec<usize> {
    let mut lower = text.as_bytes().to_vec();
    lower.make_ascii_lowercase();
    let mut hits: Vec<usize> = SECRET_STEMS.iter().flat_map(|f| f.find_iter(&lower).collect::<Vec<_>>()).collect();
    hits.sort_unstable();
    hits
}

/// The longest secret-assignment keyword (`aws_secret_access_key`): a match
/// starts at most this far before a stem it contains.
const SECRET_KEYWORD_MAX: usize = 21;

/// An IPv4 address starts at most this far before one of its dots.
const IPV4_BEFORE_DOT: usize = 11;

/// Compiles every pattern now instead of on first need: a caller with an
/// idle core (the command line while it parses a snapshot) runs this on
/// another thread so that the first scans do not wait for it.
pub fn prepare() {
    for (_, pattern, compiled) in PATTERNS.iter() {
        compile(pattern, compiled);
    }
}

/// A pattern's regex, compiled on first use.
fn compile<'a>(pattern: &str, compiled: &'a OnceLock<Regex>) -> &'a Regex {
    compiled.get_or_init(|| Regex::new(pattern).expect("gate patterns are valid"))
}

thread_local! {
    /// Each thread's search caches, one per pattern: anchored searches run
    /// many times per text, and taking a cache from the regex's shared pool
    /// each time costs more than the search on threads other than the first.
    static CACHES: std::cell::RefCell<Vec<Option<regex_automata::meta::Cache>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `re.search(input)` with this thread's cache for pattern `index`.
fn search_cached(index: usize, re: &Regex, input: &Input<'_>) -> Option<regex_automata::Match> {
    CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        if caches.len() <= index {
            caches.resize_with(index + 1, || None);
        }
        let cache = caches[index].get_or_insert_with(|| re.create_cache());
        re.search_with(cache, input)
    })
}

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
    if cannot_match(text) {
        return Vec::new();
    }
    let found = scan_raw(text);
    if is_own_normal_form(text) {
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

/// Scans an artifact's bytes. Text (valid UTF-8) is scanned as
/// [`scan_text`] does, normal form included. In binary bytes (compressed
/// streams, font programs, pictures) what a reader or a `strings`-style tool
/// could see is scanned: every run of at least [`MIN_BINARY_RUN`] printable
/// characters (valid UTF-8, no control characters), each run on its own
/// line. Offsets in the detections are byte offsets in `bytes`.
///
/// ```
/// use cavra_model::gate::scan_bytes;
/// let found = scan_bytes(b"\xff\xfe\x01ops@example.test\x00\x9c");
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].range.start, 3);
/// assert!(scan_bytes(b"\x89PNG\r\n\x1a\n\x00\x00").is_empty());
/// ```
pub fn scan_bytes(bytes: &[u8]) -> Vec<Detection> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return scan_text(text);
    }
    // (offset in `joined`, offset in `bytes`) at the start of every run.
    let mut starts: Vec<(usize, usize)> = Vec::new();
    let mut joined = String::new();
    let mut offset = 0;
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut run_start = None;
        for (i, c) in valid.char_indices().chain(std::iter::once((valid.len(), '\0'))) {
            let printable = i < valid.len() && !c.is_control();
            match (printable, run_start) {
                (true, None) => run_start = Some(i),
                (false, Some(from)) => {
                    let run = &valid[from..i];
                    if run.chars().nth(MIN_BINARY_RUN - 1).is_some() {
                        starts.push((joined.len(), offset + from));
                        joined.push_str(run);
                        joined.push('\n');
                    }
                    run_start = None;
                }
                _ => {}
            }
        }
        offset += valid.len() + chunk.invalid().len();
    }
    let mut found = scan_text(&joined);
    for d in &mut found {
        let i = starts.partition_point(|(j, _)| *j <= d.range.start).saturating_sub(1);
        let (j, b) = starts.get(i).copied().unwrap_or((0, 0));
        d.range = (d.range.start - j + b)..(d.range.end - j + b);
    }
    found
}

/// The shortest run of printable characters [`scan_bytes`] scans in binary
/// bytes: shorter runs occur by chance in compressed data and cannot hold
/// any shape the gate detects (the shortest, an e-mail address such as
/// `a@b.cd`, has six).
pub const MIN_BINARY_RUN: usize = 6;

/// Every shape the gate finds either holds one of `@ . : =` or is at
/// least this long (an `xoxb-` Slack token; the others are longer).
const SHORTEST_WITHOUT_PUNCTUATION: usize = 15;

/// Short ASCII text without `@ . : = % &` can hold no shape and needs no
/// normal form: most report cells (names, ids, enum values), checked
/// without running a single pattern.
fn cannot_match(text: &str) -> bool {
    text.len() < SHORTEST_WITHOUT_PUNCTUATION
        && text.bytes().all(|b| b.is_ascii() && !matches!(b, b'@' | b'.' | b':' | b'=' | b'%' | b'&'))
}

/// Whether [`normalise`] would return `text` unchanged, decided without
/// building the normal form: no escapes, no invisible characters, and
/// already NFKC by the standard's quick check.
fn is_own_normal_form(text: &str) -> bool {
    !text.contains(['%', '&']) && is_plain(text)
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
    if is_plain(&t) {
        return t;
    }
    t.nfkc().filter(|c| !is_invisible(*c)).collect()
}

/// Whether `text` is already NFKC (by the standard's quick check) and holds
/// no invisible characters: then the last step of [`normalise`] changes
/// nothing and is skipped.
fn is_plain(text: &str) -> bool {
    use unicode_normalization::{is_nfkc_quick, IsNormalized};
    text.is_ascii() || (!text.chars().any(is_invisible) && is_nfkc_quick(text.chars()) == IsNormalized::Yes)
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
    for (index, (kind, pattern, compiled)) in PATTERNS.iter().enumerate() {
        let re = || compile(pattern, compiled);
        let valid = |m: &regex_automata::Match| {
            *kind != SensitiveKind::Ipv4 || text[m.range()].split('.').all(|o| o.parse::<u8>().is_ok())
        };
        match anchors(*kind, text) {
            Anchors::Never => {}
            Anchors::Anywhere => {
                for m in re().find_iter(text).filter(valid) {
                    push(Detection { kind: *kind, range: m.range() });
                }
            }
            Anchors::Near { hits, before } => {
                // Try an anchored match at each start that could reach the
                // hit; the first that matches is the leftmost one there.
                let mut covered = 0;
                for hit in hits {
                    for start in hit.saturating_sub(before).max(covered)..=hit {
                        if !text.is_char_boundary(start) {
                            continue;
                        }
                        let input = Input::new(text).range(start..).anchored(Anchored::Yes);
                        if let Some(m) = search_cached(index, re(), &input).filter(valid) {
                            covered = m.end();
                            push(Detection { kind: *kind, range: m.range() });
                            break;
                        }
                    }
                }
            }
        }
    }
    let maybe_ipv6 = text.bytes().filter(|b| *b == b':').nth(1).is_some();
    for range in if maybe_ipv6 { ipv6_candidates(text) } else { Vec::new() } {
        push(Detection { kind: SensitiveKind::Ipv6, range });
    }
    found.sort_by_key(|d| d.range.start);
    found
}

/// Where a pattern needs to be tried.
enum Anchors {
    /// Nowhere: a character every match needs is absent.
    Never,
    /// Over the whole text (the engine finds the pattern's literal itself).
    Anywhere,
    /// At starts up to `before` bytes ahead of each hit (ascending).
    Near { hits: Vec<usize>, before: usize },
}

/// The two patterns that start with a class, and the one that starts with
/// a case-insensitive alternation, are tried only near what every match
/// contains: an `@`, a digit-dot-digit, a keyword stem. Every other pattern
/// starts with a literal the regex engine looks for first.
fn anchors(kind: SensitiveKind, text: &str) -> Anchors {
    match kind {
        SensitiveKind::Email if text.contains('@') => Anchors::Anywhere,
        SensitiveKind::Email => Anchors::Never,
        SensitiveKind::Ipv4 => {
            let b = text.as_bytes();
            let hits: Vec<usize> = memchr::memchr_iter(b'.', b)
                .filter(|&i| i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit())
                .collect();
            Anchors::Near { hits, before: IPV4_BEFORE_DOT }
        }
        SensitiveKind::SecretAssignment => Anchors::Near { hits: secret_stems(text), before: SECRET_KEYWORD_MAX },
        SensitiveKind::PrivateKey
        | SensitiveKind::Jwt
        | SensitiveKind::AwsAccessKey
        | SensitiveKind::GithubToken
        | SensitiveKind::SlackToken
        | SensitiveKind::SignedUrl
        | SensitiveKind::BearerToken
        | SensitiveKind::StripeKey
        | SensitiveKind::GoogleApiKey
        | SensitiveKind::OpenAiKey
        | SensitiveKind::Ipv6 => Anchors::Anywhere,
    }
}

fn ipv6_candidates(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let is_run = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    // Every candidate is a maximal run of hex digits, colons and dots that
    // holds a colon: expand around each colon not yet inside a run.
    let mut next_free = 0;
    for colon in memchr::memchr_iter(b':', bytes) {
        // In an address a colon has a hex digit or a colon beside it, and
        // another colon within five bytes (groups are at most four digits).
        let beside =
            |i: Option<usize>| i.and_then(|i| bytes.get(i)).is_some_and(|b| b.is_ascii_hexdigit() || *b == b':');
        if colon < next_free || !(beside(colon.checked_sub(1)) || beside(Some(colon + 1))) {
            continue;
        }
        let near = &bytes[colon.saturating_sub(5)..(colon + 6).min(bytes.len())];
        if near.iter().filter(|b| **b == b':').count() < 2 {
            continue;
        }
        let mut start = colon;
        while start > 0 && is_run(bytes[start - 1]) {
            start -= 1;
        }
        let mut i = colon;
        while i < bytes.len() && is_run(bytes[i]) {
            i += 1;
        }
        next_free = i;
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

/// Scans shared texts, each distinct one once: a text found clean is
/// remembered by the address of its bytes (and kept alive, so the address
/// cannot be reused), so the agent id or rule repeated in 200,000 rows of a
/// report is scanned a single time.
///
/// ```
/// use cavra_model::gate::{SensitiveKind, SharedScan};
/// use cavra_model::Text;
/// let mut scan = SharedScan::default();
/// let agent = Text::from("codex-payments");
/// assert_eq!(scan.first(&agent), None);
/// assert_eq!(scan.first(&Text::from("mail ops@example.test")), Some(SensitiveKind::Email));
/// ```
pub struct SharedScan {
    clean: CleanTexts,
}

impl Default for SharedScan {
    /// After loading no interning pool holds a text: one other holder (the
    /// snapshot, a label table) makes it shared.
    fn default() -> Self {
        SharedScan { clean: CleanTexts::new(2) }
    }
}

impl SharedScan {
    /// The kind of the first sensitive span in `text`, if any.
    pub fn first(&mut self, text: &crate::text::Text) -> Option<SensitiveKind> {
        if self.clean.contains(text) {
            return None;
        }
        let hit = scan_text(text).first().map(|d| d.kind);
        if hit.is_none() {
            self.clean.remember(text);
        }
        hit
    }
}

/// Shared texts found clean, by the address of their bytes; each is kept
/// alive here, so an address cannot be reused while the set lives.
struct CleanTexts {
    seen: rustc_hash::FxHashMap<usize, crate::text::Text>,
    /// Holders a text needs to be remembered: a unique id is never seen
    /// again, and remembering it would only cost memory.
    min_shares: usize,
}

impl CleanTexts {
    fn new(min_shares: usize) -> Self {
        CleanTexts { seen: Default::default(), min_shares }
    }

    fn contains(&self, text: &crate::text::Text) -> bool {
        self.seen.contains_key(&(text.as_ptr() as usize))
    }

    fn remember(&mut self, text: &crate::text::Text) {
        if text.share_count() >= self.min_shares {
            self.seen.insert(text.as_ptr() as usize, text.clone());
        }
    }
}

/// Runs the gate over `text` at `path`: in fail-closed mode records a
/// violation, in redact mode rewrites the text and counts.
pub(crate) struct InputGate {
    pub mode: GateMode,
    pub summary: RedactionSummary,
    pub violations: Vec<(String, SensitiveKind)>,
    /// Fields longer than [`crate::limits::FREE_TEXT_CHARS`].
    pub too_long: Vec<String>,
    /// Shared texts already found clean: an interned agent id or rule
    /// named by 200,000 decisions is scanned once.
    clean: CleanTexts,
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
            // While a snapshot loads the interning pool holds every text, so
            // a shared one has at least three holders.
            clean: CleanTexts::new(3),
        }
    }

    /// Removes bidi and control characters from `text` (so no format can
    /// carry them), enforces the length limit, then scans.
    pub fn check(&mut self, text: &mut String, path: impl FnOnce() -> String) {
        if let Some(changed) = self.inspect(text, path) {
            *text = changed;
        }
    }

    /// As [`InputGate::check`] for shared text: a string the gate leaves
    /// alone keeps sharing its bytes.
    pub fn check_text(&mut self, text: &mut crate::text::Text, path: impl FnOnce() -> String) {
        if self.clean.contains(text) {
            return;
        }
        let before = (self.violations.len(), self.too_long.len());
        match self.inspect(text, path) {
            Some(changed) => *text = changed.into(),
            None if before == (self.violations.len(), self.too_long.len()) => self.clean.remember(text),
            None => {}
        }
    }

    /// The gate's work on one string: `Some` with the replacement when the
    /// string changes (controls removed, or redacted).
    fn inspect(&mut self, text: &str, path: impl FnOnce() -> String) -> Option<String> {
        let cleaned = text.chars().any(is_unwanted_control).then(|| {
            let mut t = text.to_string();
            t.retain(|c| !is_unwanted_control(c));
            t
        });
        let current = cleaned.as_deref().unwrap_or(text);
        if current.len() > crate::limits::FREE_TEXT_CHARS && current.chars().count() > crate::limits::FREE_TEXT_CHARS {
            self.too_long.push(path());
            return cleaned;
        }
        match self.mode {
            GateMode::FailClosed => {
                let found = scan_text(current);
                if !found.is_empty() {
                    let path = path();
                    let mut kinds: Vec<SensitiveKind> = found.iter().map(|d| d.kind).collect();
                    kinds.sort();
                    kinds.dedup();
                    for k in kinds {
                        self.violations.push((path.clone(), k));
                    }
                }
                cleaned
            }
            GateMode::Redact => {
                let (clean, kinds) = redact_text(current);
                if kinds.is_empty() {
                    return cleaned;
                }
                for k in kinds {
                    self.summary.total += 1;
                    *self.summary.by_kind.entry(k.as_str().to_string()).or_default() += 1;
                }
                Some(clean)
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
