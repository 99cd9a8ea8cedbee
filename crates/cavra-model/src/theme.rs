//! Presentation settings every renderer applies: accent colour, logo, the
//! time zone instants are shown in, paper size. A theme changes how a report
//! looks, never what it says: data forms (CSV, JSON, JSON Lines, XLSX cells)
//! keep instants in UTC, and the theme is not part of the report's JSON.
//!
//! ```
//! use cavra_model::theme::{Paper, Theme};
//! let theme = Theme::default().with_timezone("America/New_York").unwrap();
//! let t = cavra_model::Timestamp::parse("2026-07-01T16:30:00Z").unwrap();
//! assert_eq!(theme.show_time(t), "2026-07-01 12:30 EDT");
//! assert_eq!(Theme::default().show_time(t), "2026-07-01T16:30:00Z");
//! assert_eq!(theme.paper, Paper::A4);
//! ```

use crate::input::Timestamp;

/// The default accent: a blue that stays legible in print and for the
/// common forms of colour blindness.
pub const DEFAULT_ACCENT: u32 = 0x0072B2;

/// How reports look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Accent colour, `0xRRGGBB`: headings, rules, table headers, KPI tiles.
    pub accent: u32,
    /// Organisation logo, printed on the cover or summary of each document.
    pub logo: Option<Logo>,
    /// IANA time zone instants are shown in; `None` shows UTC (RFC 3339).
    pub timezone: Option<String>,
    /// Paper size of paginated formats (PDF).
    pub paper: Paper,
    /// A visible watermark on every page or screen of HTML, PDF and DOCX
    /// (evidence rooms mark their copies with audience and reference).
    pub watermark: Option<String>,
}

impl Default for Theme {
    fn default() -> Self {
        Theme { accent: DEFAULT_ACCENT, logo: None, timezone: None, paper: Paper::A4, watermark: None }
    }
}

/// A logo, normalised to PNG (metadata stripped) with its pixel size.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    /// PNG bytes.
    pub png: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Logo({}x{}, {} bytes of PNG)", self.width, self.height, self.png.len())
    }
}

/// Paper sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// ISO A4, 210 × 297 mm.
    #[default]
    A4,
    /// US Letter, 8.5 × 11 in.
    Letter,
}

impl Paper {
    /// Width and height in millimetres.
    pub fn size_mm(self) -> (f32, f32) {
        match self {
            Paper::A4 => (210.0, 297.0),
            Paper::Letter => (215.9, 279.4),
        }
    }

    /// The name used in setup files: `a4` or `letter`.
    pub fn as_str(self) -> &'static str {
        match self {
            Paper::A4 => "a4",
            Paper::Letter => "letter",
        }
    }
}

impl std::str::FromStr for Paper {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "a4" => Ok(Paper::A4),
            "letter" | "us-letter" => Ok(Paper::Letter),
            _ => Err(format!("unknown paper size `{s}` (known: a4, letter)")),
        }
    }
}

impl Theme {
    /// Shows instants in `name`, an IANA time zone such as `Europe/Berlin`
    /// (`UTC` resets to the default).
    ///
    /// # Errors
    /// The name is not in the time-zone database bundled with this build.
    pub fn with_timezone(mut self, name: &str) -> Result<Theme, String> {
        if name == "UTC" {
            self.timezone = None;
            return Ok(self);
        }
        jiff::tz::TimeZone::get(name)
            .map_err(|_| format!("unknown time zone `{name}` (expected an IANA name such as Europe/Berlin)"))?;
        self.timezone = Some(name.to_string());
        Ok(self)
    }

    /// An instant as documents show it: RFC 3339 UTC by default, or
    /// `YYYY-MM-DD HH:MM <abbreviation>` in the theme's time zone.
    pub fn show_time(&self, t: Timestamp) -> String {
        let Some(name) = &self.timezone else { return t.to_string() };
        let Ok(tz) = jiff::tz::TimeZone::get(name) else { return t.to_string() };
        match jiff::Timestamp::from_second(t.unix_seconds()) {
            Ok(ts) => ts.to_zoned_datetime(tz).strftime("%Y-%m-%d %H:%M %Z").to_string(),
            Err(_) => t.to_string(),
        }
    }

    /// The accent as `#RRGGBB`.
    pub fn accent_hex(&self) -> String {
        format!("#{:06X}", self.accent & 0xFF_FFFF)
    }
}
