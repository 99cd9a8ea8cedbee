//! The presentation setup file and what a theme changes in each format: the
//! organisation, colour, logo, time zone and paper reach every document; the
//! data forms keep UTC; bad or secret-bearing setup files are refused.

mod common;

use std::path::{Path, PathBuf};

use cavra_reports::model::theme::Paper;
use cavra_reports::model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions};
use cavra_reports::render::setup::{load, SetupError};
use cavra_reports::render::{render, Format};

fn example_theme() -> PathBuf {
    common::root().join("examples/theme/theme.toml")
}

fn write_setup(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("setup.toml");
    std::fs::write(&p, body).unwrap();
    p
}

fn refused(body: &str) -> SetupError {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("logo.png"), std::fs::read(common::root().join("examples/theme/logo.png")).unwrap())
        .unwrap();
    load(&write_setup(dir.path(), body)).unwrap_err()
}

fn themed(kind: ReportKind, options: &ReportOptions) -> cavra_reports::model::Report {
    let snap = common::load_text(&common::sample_text(), &LoadOptions::default());
    let posture = Posture::compute(&snap);
    build_report(kind, &snap, &posture, options)
}

#[test]
fn the_example_setup_file_loads() {
    let o = load(&example_theme()).unwrap();
    assert_eq!(o.branding, "Northwind Security Office");
    assert!(o.legal_footer.starts_with("Confidential: prepared for Northwind"), "{}", o.legal_footer);
    assert_eq!(o.theme.accent, 0x1F6FEB);
    assert_eq!(o.theme.paper, Paper::Letter);
    assert_eq!(o.theme.timezone.as_deref(), Some("America/New_York"));
    let logo = o.theme.logo.as_ref().unwrap();
    assert_eq!((logo.width, logo.height), (240, 64));
    assert!(logo.png.starts_with(b"\x89PNG"));
}

#[test]
fn bad_setup_files_name_the_key_and_reason() {
    let cases: [(&str, &str, &str); 8] = [
        ("[branding]\ncolour = \"#fff\"\n", "line 2", "unknown field"),
        ("[branding]\nprimary_colour = \"blue\"\n", "branding.primary_colour", "#RRGGBB"),
        ("[branding]\ntimezone = \"Mars/Olympus\"\n", "branding.timezone", "unknown time zone"),
        ("[branding]\npaper = \"a3\"\n", "branding.paper", "unknown paper size"),
        ("[branding]\nlogo = \"missing.png\"\n", "branding.logo", "missing.png"),
        ("[branding]\nlegal_footer = \"env:CAVRA_TEST_UNSET_VARIABLE\"\n", "branding.legal_footer", "not set"),
        ("[branding]\norganisation = \"  \"\n", "branding.organisation", "must not be empty"),
        ("[delivery]\nmode = \"smtp\"\n", "line 1", "unknown field"),
    ];
    for (body, key, reason) in cases {
        let e = refused(body);
        assert_eq!(e.key, key, "{body}: {e}");
        assert!(e.reason.contains(reason), "{body}: {e}");
        assert!(e.to_string().contains("setup.toml"), "{e}");
    }
}

#[test]
fn literal_secrets_are_refused_without_being_echoed() {
    for (value, what) in [
        ("Contact secops@northwind.example for copies", "personal"),
        ("token=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "a secret"),
        ("AKIAABCDEFGHIJKLMNOP", "a secret"),
    ] {
        let e = refused(&format!("[branding]\nlegal_footer = \"{value}\"\n"));
        assert_eq!(e.key, "branding.legal_footer");
        assert!(e.reason.contains(what) && e.reason.contains("env:NAME or file:PATH"), "{e}");
        assert!(!e.to_string().contains(value), "the refused value is echoed: {e}");
    }
}

#[test]
fn references_resolve_from_files_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("footer.txt"), "Footer from a file\n").unwrap();
    let o = load(&write_setup(dir.path(), "[branding]\nlegal_footer = \"file:footer.txt\"\n")).unwrap();
    assert_eq!(o.legal_footer, "Footer from a file");
    // PATH is set in every test environment; its value is only read, never printed.
    let o = load(&write_setup(dir.path(), "[branding]\norganisation = \"env:PATH\"\n")).unwrap();
    assert_eq!(o.branding, std::env::var("PATH").unwrap().chars().take(500).collect::<String>());
}

#[test]
fn logos_are_decoded_scaled_and_re_encoded() {
    // A JPEG logo larger than the cap comes back as a PNG within it.
    let img = image::RgbImage::from_fn(1600, 400, |x, _| image::Rgb([(x % 256) as u8, 40, 90]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    let logo = cavra_reports::render::setup::logo_from_bytes(&jpeg).unwrap();
    assert!(logo.png.starts_with(b"\x89PNG"));
    assert_eq!((logo.width, logo.height), (800, 200));
    assert!(cavra_reports::render::setup::logo_from_bytes(b"GIF89a not really").is_err());
    assert!(cavra_reports::render::setup::logo_from_bytes(b"plain text").is_err());
}

#[test]
fn a_theme_reaches_every_document_and_leaves_data_in_utc() {
    let options = load(&example_theme()).unwrap();
    let plain = themed(ReportKind::AgentRiskRegister, &ReportOptions::default());
    let report = themed(ReportKind::AgentRiskRegister, &options);

    let html = render(&report, Format::Html).unwrap();
    let html = html.text().unwrap();
    assert!(html.contains("--accent:#1F6FEB;"));
    assert!(html.contains("src=\"data:image&#x2F;png;base64,") || html.contains("src=\"data:image/png;base64,"));
    assert!(html.contains("Northwind Security Office"));
    assert!(html.contains("EST") && html.contains("Generated 2026-11-01 07:00 EST"), "times in the display zone");
    assert!(!html.contains("<script"));

    let pdf = render(&report, Format::Pdf).unwrap();
    // The objects sit in compressed object streams: read them with a PDF reader.
    let doc = lopdf::Document::load_mem(&pdf.bytes).unwrap();
    let first = doc.get_pages().into_values().next().unwrap();
    let media = doc.get_dictionary(first).unwrap().get(b"MediaBox").unwrap().as_array().unwrap();
    assert_eq!(media[2].as_float().unwrap().round(), 612.0, "Letter paper");
    let image = doc.objects.values().any(|o| {
        o.as_stream()
            .is_ok_and(|s| s.dict.get(b"Subtype").and_then(lopdf::Object::as_name).is_ok_and(|n| n == b"Image"))
    });
    assert!(image, "logo image");
    assert_eq!(pdf.bytes, render(&report, Format::Pdf).unwrap().bytes, "deterministic");

    let docx = render(&report, Format::Docx).unwrap();
    let parts = common::zip_parts(&docx.bytes);
    assert!(parts.iter().any(|(n, _)| n.starts_with("word/media/")), "logo in DOCX");
    let document = parts.iter().find(|(n, _)| n == "word/document.xml").unwrap();
    let xml = String::from_utf8_lossy(&document.1);
    assert!(xml.contains("1F6FEB") && xml.contains("w:w=\"12240\""), "accent and Letter page");
    assert_eq!(docx.bytes, render(&report, Format::Docx).unwrap().bytes, "deterministic");

    let xlsx = render(&report, Format::Xlsx).unwrap();
    let parts = common::zip_parts(&xlsx.bytes);
    assert!(parts.iter().any(|(n, _)| n.starts_with("xl/media/image")), "logo in XLSX");
    assert!(parts.iter().any(|(_, b)| String::from_utf8_lossy(b).contains("FF1F6FEB")), "accent in XLSX styles");
    assert_eq!(xlsx.bytes, render(&report, Format::Xlsx).unwrap().bytes, "deterministic");

    // Data forms are unchanged by the theme: UTC instants, same rows.
    assert_eq!(render(&report, Format::Csv).unwrap().bytes, render(&plain, Format::Csv).unwrap().bytes);
    let json = render(&report, Format::Json).unwrap();
    assert!(json.text().unwrap().contains("\"generated_at\": \"2026-11-01T12:00:00Z\""));
    assert!(!json.text().unwrap().contains("logo"));
}
