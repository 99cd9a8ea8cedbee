//! The presentation setup file: organisation name, accent colour, logo,
//! legal footer, display time zone and paper size, read from TOML into
//! [`ReportOptions`].
//!
//! ```toml
//! [branding]
//! organisation = "Northwind Security Office"
//! primary_colour = "#1F6FEB"
//! logo = "logo.png"                 # PNG or JPEG, relative to this file
//! legal_footer = "file:legal.txt"   # literal text, or env:NAME / file:PATH
//! timezone = "America/New_York"     # IANA name; documents show times in it
//! paper = "letter"                  # a4 (default) or letter
//! ```
//!
//! Every key is optional; unknown keys are errors. The file must not hold
//! secrets or personal data: a value the safety gate flags (a token, a key,
//! an e-mail address, a signed URL…) is refused, without being echoed, and
//! must be given as a reference (`env:NAME` or `file:PATH`) instead. The
//! logo is decoded and re-encoded as PNG, which drops any metadata it
//! carried (EXIF, comments, colour profiles).
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("theme.toml");
//! std::fs::write(&path, "[branding]\norganisation = \"Northwind\"\npaper = \"letter\"\n").unwrap();
//! let options = cavra_render::setup::load(&path).unwrap();
//! assert_eq!(options.branding, "Northwind");
//! assert_eq!(options.theme.paper, cavra_model::theme::Paper::Letter);
//! ```

use std::path::{Path, PathBuf};

use cavra_model::gate::scan_text;
use cavra_model::theme::{Logo, Paper, Theme};
use cavra_model::ReportOptions;
use serde::Deserialize;

/// Largest logo file accepted.
pub const MAX_LOGO_BYTES: u64 = 2 * 1024 * 1024;
/// Logos larger than this (pixels, either side) are scaled down.
pub const LOGO_MAX_PIXELS: u32 = 800;
/// Longest organisation name or legal footer accepted, in characters.
const MAX_TEXT: usize = 500;

/// Why a setup file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {key}: {reason}", file.display())]
pub struct SetupError {
    /// The setup file.
    pub file: PathBuf,
    /// The offending key, such as `branding.logo` (`$` for the whole file).
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetup {
    branding: Option<RawBranding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBranding {
    organisation: Option<String>,
    primary_colour: Option<String>,
    logo: Option<String>,
    legal_footer: Option<String>,
    timezone: Option<String>,
    paper: Option<String>,
}

/// Reads a setup file into report options (defaults for what it omits).
///
/// # Errors
/// [`SetupError`] naming the file, the key and the reason: unreadable file,
/// TOML syntax, unknown key, bad colour, unknown time zone or paper size, a
/// logo that is missing, too large or not PNG/JPEG, an unresolvable
/// reference, or a literal value the safety gate flags.
pub fn load(path: &Path) -> Result<ReportOptions, SetupError> {
    let err = |key: &str, reason: String| SetupError { file: path.to_path_buf(), key: key.to_string(), reason };
    let text = cavra_model::limits::read_text_bounded(path, cavra_model::limits::SETUP_BYTES)
        .map_err(|e| err("$", format!("cannot read: {e}")))?;
    let raw: RawSetup = toml::from_str(&text).map_err(|e| {
        let key = e.span().map_or("$".to_string(), |s| {
            let line = text.as_bytes()[..s.start.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1;
            format!("line {line}")
        });
        err(&key, e.message().to_string())
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    from_raw(raw.branding, base).map_err(|(key, reason)| err(&key, reason))
}

/// Resolves `env:NAME` and `file:PATH` references; other values are literal
/// and must pass the safety gate.
fn value(key: &str, v: &str, base: &Path) -> Result<String, (String, String)> {
    let fail = |reason: String| (key.to_string(), reason);
    let resolved = if let Some(name) = v.strip_prefix("env:") {
        std::env::var(name).map_err(|_| fail(format!("environment variable {name} is not set")))?
    } else if let Some(p) = v.strip_prefix("file:") {
        let p = base.join(p);
        let t = cavra_model::limits::read_text_bounded(&p, cavra_model::limits::KEY_BYTES)
            .map_err(|e| fail(format!("cannot read {}: {e}", p.display())))?;
        t.trim_end_matches(['\n', '\r']).to_string()
    } else {
        if let Some(d) = scan_text(v).into_iter().next() {
            return Err(fail(format!(
                "holds what looks like {} ({}); setup files take no secrets or personal data — give the value as a reference (env:NAME or file:PATH)",
                article(d.kind),
                d.kind
            )));
        }
        v.to_string()
    };
    if resolved.chars().count() > MAX_TEXT {
        return Err(fail(format!("longer than {MAX_TEXT} characters")));
    }
    if resolved.chars().any(|c| c.is_control() || cavra_model::gate::is_bidi_control(c)) {
        return Err(fail("contains control or bidirectional-override characters".into()));
    }
    Ok(resolved)
}

fn article(kind: cavra_model::gate::SensitiveKind) -> &'static str {
    use cavra_model::gate::SensitiveKind as K;
    match kind {
        K::Email | K::Ipv4 | K::Ipv6 => "personal or network data",
        K::PrivateKey
        | K::Jwt
        | K::AwsAccessKey
        | K::GithubToken
        | K::SlackToken
        | K::SignedUrl
        | K::SecretAssignment
        | K::BearerToken
        | K::StripeKey
        | K::GoogleApiKey
        | K::OpenAiKey => "a secret",
    }
}

/// `#RRGGBB` (or `RRGGBB`) to a number.
fn colour(v: &str) -> Result<u32, String> {
    let hex = v.strip_prefix('#').unwrap_or(v);
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{v}` is not a colour of the form #RRGGBB"));
    }
    u32::from_str_radix(hex, 16).map_err(|e| e.to_string())
}

/// Decodes a PNG or JPEG logo, scales it to at most [`LOGO_MAX_PIXELS`] and
/// re-encodes it as PNG.
pub fn logo_from_bytes(bytes: &[u8]) -> Result<Logo, String> {
    let format = image::guess_format(bytes).map_err(|_| "not a PNG or JPEG image".to_string())?;
    if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
        return Err(format!("{format:?} images are not supported; use PNG or JPEG"));
    }
    let mut img = image::load_from_memory_with_format(bytes, format).map_err(|e| format!("cannot decode: {e}"))?;
    if img.width() == 0 || img.height() == 0 {
        return Err("the image is empty".into());
    }
    if img.width() > LOGO_MAX_PIXELS || img.height() > LOGO_MAX_PIXELS {
        img = img.resize(LOGO_MAX_PIXELS, LOGO_MAX_PIXELS, image::imageops::FilterType::Triangle);
    }
    let img = if img.color().has_alpha() {
        image::DynamicImage::ImageRgba8(img.into_rgba8())
    } else {
        image::DynamicImage::ImageRgb8(img.into_rgb8())
    };
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).map_err(|e| e.to_string())?;
    Ok(Logo { png, width: img.width(), height: img.height() })
}

fn from_raw(branding: Option<RawBranding>, base: &Path) -> Result<ReportOptions, (String, String)> {
    let mut options = ReportOptions::default();
    let Some(b) = branding else { return Ok(options) };
    let mut theme = Theme::default();
    if let Some(v) = &b.organisation {
        let name = value("branding.organisation", v, base)?;
        if name.trim().is_empty() {
            return Err(("branding.organisation".into(), "must not be empty".into()));
        }
        options.branding = name;
    }
    if let Some(v) = &b.legal_footer {
        options.legal_footer = value("branding.legal_footer", v, base)?;
    }
    if let Some(v) = &b.primary_colour {
        theme.accent = colour(v).map_err(|e| ("branding.primary_colour".to_string(), e))?;
    }
    if let Some(v) = &b.timezone {
        theme = theme.with_timezone(v).map_err(|e| ("branding.timezone".to_string(), e))?;
    }
    if let Some(v) = &b.paper {
        theme.paper = v.parse::<Paper>().map_err(|e| ("branding.paper".to_string(), e))?;
    }
    if let Some(v) = &b.logo {
        let key = "branding.logo";
        let path = base.join(v.strip_prefix("file:").unwrap_or(v));
        let meta = std::fs::metadata(&path).map_err(|e| (key.to_string(), format!("{}: {e}", path.display())))?;
        if meta.len() > MAX_LOGO_BYTES {
            return Err((key.into(), format!("{}: larger than {} bytes", path.display(), MAX_LOGO_BYTES)));
        }
        let bytes = cavra_model::limits::read_bounded(&path, cavra_model::limits::LOGO_BYTES)
            .map_err(|e| (key.to_string(), format!("{}: {e}", path.display())))?;
        theme.logo = Some(logo_from_bytes(&bytes).map_err(|e| (key.to_string(), format!("{}: {e}", path.display())))?);
    }
    options.theme = theme;
    Ok(options)
}
