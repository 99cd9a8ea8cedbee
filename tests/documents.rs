//! Documents as a reader sees them, checked with poppler's own tools:
//! every word of every PDF sits inside the page's content area and clear
//! of every other word (`pdftotext -bbox-layout`), identifiers and column
//! headers in tables come out as whole words, and every PDF is tagged with
//! headings, tables and described figures (`pdfinfo -struct`, `qpdf
//! --json`). The sample and a generated 1,000-agent snapshot are both
//! checked. CI installs the tools (`.ci/run`); where they are missing these
//! tests fail when `CI` is set and are skipped, loudly, elsewhere.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use cavra_reports::model::report::{Block, Report};
use cavra_reports::model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
use cavra_reports::render::{render, Format};
use cavra_reports::synth::{generate, SynthConfig};

/// A word's box on a page, in points from the top left corner.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

#[derive(Debug)]
struct Page {
    width: f64,
    height: f64,
    words: Vec<Word>,
}

fn attr(tag: &str, name: &str) -> f64 {
    let key = format!("{name}=\"");
    let start = tag.find(&key).map(|i| i + key.len()).unwrap_or_else(|| panic!("no {name} in {tag}"));
    let end = tag[start..].find('"').unwrap() + start;
    tag[start..end].parse().unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// The pages and words `pdftotext -bbox-layout` finds in `pdf`.
fn words(pdf: &Path) -> Vec<Page> {
    let out = Command::new("pdftotext").arg("-bbox-layout").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = String::from_utf8(out.stdout).unwrap();
    let mut pages = Vec::new();
    for part in html.split("<page ").skip(1) {
        let head = &part[..part.find('>').unwrap()];
        let mut page = Page { width: attr(head, "width"), height: attr(head, "height"), words: Vec::new() };
        for w in part.split("<word ").skip(1) {
            let close = w.find('>').unwrap();
            let tag = &w[..close];
            let text = &w[close + 1..w.find("</word>").unwrap()];
            page.words.push(Word {
                text: unescape(text),
                x0: attr(tag, "xMin"),
                y0: attr(tag, "yMin"),
                x1: attr(tag, "xMax"),
                y1: attr(tag, "yMax"),
            });
        }
        pages.push(page);
    }
    pages
}

/// A page's content area: text stays `margin` from the left and right
/// edges, and `band` from the top and bottom (the running header and
/// footer sit inside the bands, clear of the edges).
#[derive(Debug, Clone, Copy)]
struct Area {
    margin: f64,
    band: f64,
}

/// Our PDFs: 50 pt side margins.
const PDF_AREA: Area = Area { margin: 50.0, band: 24.0 };
/// Word documents as LibreOffice prints them: one-inch margins, the
/// header and footer half an inch from the edges.
const DOCX_AREA: Area = Area { margin: 72.0, band: 24.0 };
/// How far two boxes may meet (rounding, and glyph boxes a hair taller
/// than the line advance) before they count as overlapping.
const SLACK: f64 = 0.6;

/// Every problem with the words' placement on `pages`.
fn placement_problems(name: &str, pages: &[Page], area: Area) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, p) in pages.iter().enumerate() {
        for w in &p.words {
            let inside = w.x0 >= area.margin - SLACK
                && w.x1 <= p.width - area.margin + SLACK
                && w.y0 >= area.band - SLACK
                && w.y1 <= p.height - area.band + SLACK;
            if !inside {
                problems.push(format!("{name} page {}: `{}` leaves the content area {w:?}", n + 1, w.text));
            }
        }
        let mut sorted: Vec<&Word> = p.words.iter().collect();
        sorted.sort_by(|a, b| a.x0.total_cmp(&b.x0));
        for (i, a) in sorted.iter().enumerate() {
            for b in &sorted[i + 1..] {
                if b.x0 >= a.x1 - SLACK {
                    break;
                }
                let dx = a.x1.min(b.x1) - a.x0.max(b.x0);
                let dy = a.y1.min(b.y1) - a.y0.max(b.y0);
                // Boxes run from the font's ascent to its descent, so lines
                // set solid touch; words overlap when a third of the lower
                // box is covered.
                let h = (a.y1 - a.y0).min(b.y1 - b.y0);
                if dx > SLACK && dy > SLACK.max(h / 3.0) {
                    problems.push(format!("{name} page {}: `{}` overlaps `{}`", n + 1, a.text, b.text));
                }
            }
        }
    }
    problems
}

/// Column keys whose cells are identifiers a reader must see whole.
const IDENTIFIERS: &[&str] = &["agent_id", "repository", "rule_id"];

/// The identifiers and header words each table of `report` shows in a
/// document that shows at most `rows` rows of a table.
fn table_words(report: &Report, rows: usize) -> BTreeSet<String> {
    let mut want = BTreeSet::new();
    for b in &report.blocks {
        let Block::Table(t) = b else { continue };
        let v = report.table_view(t).unwrap();
        for c in &v.columns {
            want.extend(c.label.split_whitespace().map(str::to_string));
        }
        for (i, c) in v.columns.iter().enumerate() {
            if !IDENTIFIERS.contains(&c.key.as_str()) {
                continue;
            }
            for row in v.rows.iter().take(rows) {
                want.insert(report.cell_text(&row[i]));
            }
        }
    }
    want.retain(|w| !w.is_empty());
    want
}

/// Renders every kind of `snapshot` as `format` into `dir`, and the PDFs a
/// reader sees: ours, or LibreOffice's print of a Word document.
fn documents(reports: Vec<Report>, format: Format, dir: &Path) -> Vec<(Report, std::path::PathBuf)> {
    let mut out = Vec::new();
    for report in reports {
        let a = render(&report, format).unwrap();
        let path = dir.join(&a.name);
        std::fs::write(&path, &a.bytes).unwrap();
        out.push((report, path));
    }
    if format == Format::Pdf {
        return out;
    }
    let printed = dir.join("printed");
    let profile = format!("-env:UserInstallation=file://{}", dir.join("lo-profile").display());
    let run = Command::new("soffice")
        .arg(&profile)
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&printed)
        .args(out.iter().map(|(_, p)| p))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    out.into_iter().map(|(r, p)| (r, printed.join(p.file_name().unwrap()).with_extension("pdf"))).collect()
}

/// Every posture kind of `snapshot`.
fn posture_reports(snapshot: &Snapshot) -> Vec<Report> {
    let posture = Posture::compute(snapshot);
    ReportKind::ALL.iter().map(|k| build_report(*k, snapshot, &posture, &ReportOptions::default())).collect()
}

/// Every posture kind of the sample and every operations kind of the operations sample.
fn every_sample_report() -> Vec<Report> {
    let mut reports = posture_reports(&common::load_text(&common::sample_text(), &LoadOptions::default()));
    reports.extend(common::ops_reports());
    reports
}

fn check_documents(reports: Vec<Report>, label: &str, format: Format) {
    let dir = tempfile::tempdir().unwrap();
    let (area, rows) = match format {
        Format::Pdf => (PDF_AREA, cavra_reports::render::document::PDF_TABLE_ROWS),
        _ => (DOCX_AREA, usize::MAX),
    };
    let mut problems = Vec::new();
    for (report, path) in documents(reports, format, dir.path()) {
        let name = format!("{label} {}", path.file_name().unwrap().to_string_lossy());
        let pages = words(&path);
        assert!(!pages.is_empty(), "{name}: no pages");
        problems.extend(placement_problems(&name, &pages, area));
        let found: BTreeSet<&str> = pages.iter().flat_map(|p| p.words.iter().map(|w| w.text.as_str())).collect();
        for w in table_words(&report, rows) {
            if !found.contains(w.as_str()) {
                problems.push(format!("{name}: `{w}` is not one word"));
            }
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

fn thousand_agents() -> Snapshot {
    let raw = generate(&SynthConfig { agents: 1000, decisions: 20_000, seed: 1, ..SynthConfig::default() });
    Snapshot::from_raw(raw, None, &LoadOptions::default()).unwrap()
}

#[test]
fn sample_pdf_words_stay_apart_inside_the_page_and_whole() {
    if !common::tool_runs("pdftotext", &["-v"]) {
        return;
    }
    check_documents(every_sample_report(), "sample", Format::Pdf);
}

#[test]
fn thousand_agent_pdf_words_stay_apart_inside_the_page_and_whole() {
    if !common::tool_runs("pdftotext", &["-v"]) {
        return;
    }
    check_documents(posture_reports(&thousand_agents()), "1000 agents", Format::Pdf);
}

#[test]
fn sample_word_documents_printed_by_libreoffice_keep_words_apart_inside_the_page_and_whole() {
    if !common::tool_runs("pdftotext", &["-v"]) || !common::tool_runs("soffice", &["--version"]) {
        return;
    }
    check_documents(every_sample_report(), "sample", Format::Docx);
}

#[test]
fn thousand_agent_word_documents_printed_by_libreoffice_keep_words_apart_inside_the_page_and_whole() {
    if !common::tool_runs("pdftotext", &["-v"]) || !common::tool_runs("soffice", &["--version"]) {
        return;
    }
    check_documents(posture_reports(&thousand_agents()), "1000 agents", Format::Docx);
}

/// The structure types `pdfinfo -struct` lists, one per element.
fn structure(pdf: &Path) -> Vec<String> {
    let out = Command::new("pdfinfo").arg("-struct").arg(pdf).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|t| t.chars().next().is_some_and(char::is_uppercase))
        .map(|t| t.trim_end_matches(':').to_string())
        .collect()
}

/// The `/Alt` texts of the document's `Figure` elements, read with qpdf.
fn figure_alts(pdf: &Path) -> Vec<String> {
    let out = Command::new("qpdf").arg("--json").arg("--json-key=qpdf").arg(pdf).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let objects = json["qpdf"][1].as_object().unwrap();
    let mut alts = Vec::new();
    for v in objects.values() {
        let d = &v["value"];
        if d["/Type"] == "/StructElem" && d["/S"] == "/Figure" {
            let alt = d["/Alt"].as_str().unwrap_or("");
            alts.push(alt.trim_start_matches("u:").to_string());
        }
    }
    alts
}

#[test]
fn every_pdf_is_tagged_with_headings_tables_and_described_figures() {
    if !common::tool_runs("pdfinfo", &["-v"]) || !common::tool_runs("qpdf", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for report in every_sample_report() {
        let a = render(&report, Format::Pdf).unwrap();
        let path = dir.path().join(&a.name);
        std::fs::write(&path, &a.bytes).unwrap();
        let info = Command::new("pdfinfo").arg(&path).output().unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.lines().any(|l| l.split_whitespace().eq(["Tagged:", "yes"])), "{}: {info}", a.name);
        let types = structure(&path);
        let count = |t: &str| types.iter().filter(|x| *x == t).count();
        assert_eq!(types.first().map(String::as_str), Some("Document"), "{}", a.name);
        assert_eq!(count("H1"), 1, "{}: one title", a.name);
        let headings = report.blocks.iter().filter(|b| matches!(b, Block::Heading { level, .. } if *level > 1)).count();
        assert_eq!(count("H2") + count("H3"), headings, "{}: a heading element per heading", a.name);
        let tables = report.blocks.iter().filter(|b| matches!(b, Block::Table(_))).count();
        assert_eq!(count("Table"), tables, "{}: a Table element per table", a.name);
        assert!(count("TH") >= tables && count("TD") >= count("TH"), "{}: header and data cells", a.name);
        let charts: Vec<&cavra_reports::model::report::Chart> =
            report.blocks.iter().filter_map(|b| if let Block::Chart(c) = b { Some(c) } else { None }).collect();
        let alts = figure_alts(&path);
        assert_eq!(alts.len(), charts.len(), "{}: a Figure per chart", a.name);
        for c in charts {
            assert!(
                alts.iter().any(|alt| alt.starts_with(&c.title)),
                "{}: no alt text for `{}`: {alts:?}",
                a.name,
                c.title
            );
        }
    }
}

/// Whether the browser checks can run: Node, its packages (`npm ci` in
/// `tests/browser`, which `.ci/run` does) and Chromium. Panics in CI when
/// they cannot.
fn browser_checks_ready() -> bool {
    let modules = common::root().join("tests/browser/node_modules/puppeteer-core");
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| Path::new("/usr/bin/chromium").exists(), |p| Path::new(&p).exists());
    let ready = common::tool_runs("node", &["--version"]) && modules.exists() && chromium;
    if !ready {
        assert!(
            std::env::var_os("CI").is_none(),
            "node, tests/browser/node_modules and chromium are required in CI; .ci/run installs them"
        );
        eprintln!("SKIPPED: run `npm ci --prefix tests/browser` and install chromium to run the browser checks");
    }
    ready
}

#[test]
fn every_html_report_passes_axe_and_fits_1280_and_390_pixel_screens() {
    if !browser_checks_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let posture = Posture::compute(&snapshot);
    let themed = cavra_reports::render::setup::load(&common::root().join("examples/theme/theme.toml")).unwrap();
    let mut files = Vec::new();
    for report in every_sample_report() {
        let a = render(&report, Format::Html).unwrap();
        files.push(dir.path().join(&a.name));
        std::fs::write(files.last().unwrap(), &a.bytes).unwrap();
    }
    // A themed report with a logo and a watermark, and a 1,000-agent one.
    let mut report = build_report(ReportKind::ExecutiveRiskBrief, &snapshot, &posture, &themed);
    report.theme.watermark = Some("DRAFT — not for distribution".into());
    files.push(dir.path().join("themed-brief.html"));
    std::fs::write(files.last().unwrap(), render(&report, Format::Html).unwrap().bytes).unwrap();
    let big = thousand_agents();
    let report = build_report(ReportKind::AgentRiskRegister, &big, &Posture::compute(&big), &ReportOptions::default());
    files.push(dir.path().join("register-1000-agents.html"));
    std::fs::write(files.last().unwrap(), render(&report, Format::Html).unwrap().bytes).unwrap();

    let out = Command::new("node").arg(common::root().join("tests/browser/check.mjs")).args(&files).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut problems = Vec::new();
    let mut seen = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        seen += 1;
        let (file, width) = (r["file"].as_str().unwrap(), r["width"].as_u64().unwrap());
        if r["scrollWidth"].as_u64() > r["clientWidth"].as_u64() {
            problems.push(format!("{file} at {width} px: the page is {} px wide: {}", r["scrollWidth"], r["past"]));
        }
        for v in r["violations"].as_array().unwrap() {
            if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                problems.push(format!("{file}: {} ({}): {} at {}", v["id"], v["impact"], v["help"], v["nodes"]));
            } else {
                eprintln!("{file}: minor: {v}");
            }
        }
    }
    assert_eq!(seen, files.len() * 2, "one line per file and width");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Whitespace-separated words of the text nodes of a Word package's
/// printed parts (body, headers, footers), charts excluded: the words it
/// prints outside its charts.
fn package_words(bytes: &[u8]) -> Vec<String> {
    let mut words = Vec::new();
    for (name, content) in common::zip_parts(bytes) {
        let printed = name == "word/document.xml" || name.starts_with("word/header") || name.starts_with("word/footer");
        if !printed {
            continue;
        }
        let text = String::from_utf8_lossy(&content);
        for node in text.split('>').filter_map(|s| s.split('<').next()) {
            words.extend(unescape(node).split_whitespace().map(str::to_string));
        }
    }
    words
}

fn count(words: &[String], w: &str) -> usize {
    words.iter().filter(|x| *x == w).count()
}

/// A workbook's package without its drawings: the sheets no longer place
/// their charts (the cells stay).
fn without_charts(bytes: &[u8]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in common::zip_parts(bytes) {
        let content = if name.starts_with("xl/worksheets/sheet") {
            let text = String::from_utf8(content).unwrap();
            match (text.find("<drawing "), text.find("<drawing ").and_then(|i| text[i..].find("/>").map(|j| i + j + 2)))
            {
                (Some(a), Some(b)) => format!("{}{}", &text[..a], &text[b..]).into_bytes(),
                _ => text.into_bytes(),
            }
        } else {
            content
        };
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut out, &content).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// The words LibreOffice prints for the workbook at `path` without its
/// charts.
fn printed_without_charts(path: &Path, dir: &Path) -> Vec<String> {
    let plain = dir.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let copy = plain.join(path.file_name().unwrap());
    std::fs::write(&copy, without_charts(&std::fs::read(path).unwrap())).unwrap();
    let profile = format!("-env:UserInstallation=file://{}", dir.join("lo-profile").display());
    let run = Command::new("soffice")
        .arg(&profile)
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&plain)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    words(&copy.with_extension("pdf")).iter().flat_map(|p| p.words.iter().map(|w| w.text.clone())).collect()
}

#[test]
fn word_and_excel_charts_print_with_their_categories_and_values() {
    if !common::tool_runs("pdftotext", &["-v"]) || !common::tool_runs("soffice", &["--version"]) {
        return;
    }
    use cavra_reports::model::report::ChartKind;
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let mut problems = Vec::new();
    let mut checked = 0;
    for format in [Format::Docx, Format::Xlsx] {
        let dir = tempfile::tempdir().unwrap();
        for (report, printed) in documents(posture_reports(&snapshot), format, dir.path()) {
            let source = dir.path().join(printed.with_extension(format.extension()).file_name().unwrap());
            // What prints without the charts: a Word body's own words; a
            // workbook printed again with its charts taken out.
            let outside = match format {
                Format::Docx => package_words(&std::fs::read(&source).unwrap()),
                _ => printed_without_charts(&source, dir.path()),
            };
            let pages = words(&printed);
            let shown: Vec<String> = pages.iter().flat_map(|p| p.words.iter().map(|w| w.text.clone())).collect();
            // A line chart's dates run up a turned axis: the raw text order keeps each one whole, on its own line.
            let raw = raw_lines(&printed);
            let raw_outside = match format {
                Format::Docx => Vec::new(),
                _ => raw_lines(&dir.path().join("plain").join(printed.file_name().unwrap())),
            };
            for b in &report.blocks {
                let Block::Chart(c) = b else { continue };
                if c.kind == ChartKind::HeatMap {
                    continue; // a picture in Word, a stacked column chart of cells in Excel
                }
                checked += 1;
                // Dates on a turned axis come out of the print letter by letter.
                let mut want: Vec<String> = if c.kind == ChartKind::Line {
                    Vec::new()
                } else {
                    c.categories.iter().flat_map(|cat| cat.split_whitespace().map(str::to_string)).collect()
                };
                let labelled = c.kind == ChartKind::Bar || (format == Format::Docx && c.kind == ChartKind::Donut);
                if labelled {
                    want.extend(
                        c.series
                            .iter()
                            .flat_map(|s| s.values.iter().map(|v| cavra_reports::render::document::chart_value(*v))),
                    );
                }
                want.extend(c.title.split_whitespace().map(str::to_string));
                if c.kind == ChartKind::Line {
                    let axis: Vec<&String> = match format {
                        // In Word the labels follow the figure's caption.
                        Format::Docx => {
                            let caption = format!("Figure: {}", c.title);
                            let start = raw.iter().position(|l| *l == caption).map_or(raw.len(), |i| i + 1);
                            raw[start..].iter().take_while(|l| !l.starts_with("Figure: ")).collect()
                        }
                        _ => raw.iter().collect(),
                    };
                    for cat in &c.categories {
                        let here = axis.iter().filter(|l| **l == cat).count();
                        if here <= raw_outside.iter().filter(|l| *l == cat).count() {
                            problems.push(format!(
                                "{format} {}: line chart `{}` does not print its label `{cat}`",
                                report.meta.kind, c.title
                            ));
                        }
                    }
                }
                for w in want {
                    if count(&shown, &w) <= count(&outside, &w) {
                        problems
                            .push(format!("{format} {}: chart `{}` does not print `{w}`", report.meta.kind, c.title));
                    }
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} charts checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The lines of a PDF's text in content order (`pdftotext -raw`), trimmed.
fn raw_lines(pdf: &Path) -> Vec<String> {
    let out = Command::new("pdftotext").arg("-raw").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "{}: {}", pdf.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_string()).collect()
}

/// The (width, height) of each page of a PDF, in points.
fn page_sizes(pdf: &[u8]) -> Vec<(f32, f32)> {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    doc.get_pages()
        .into_values()
        .map(|id| {
            let media = doc.get_dictionary(id).unwrap().get(b"MediaBox").unwrap().as_array().unwrap().clone();
            let n = |i: usize| media[i].as_float().unwrap();
            (n(2) - n(0), n(3) - n(1))
        })
        .collect()
}

#[test]
fn backend_options_choose_the_paper_and_whether_wide_tables_turn() {
    use cavra_reports::model::theme::Paper;
    use cavra_reports::render::options::{
        DocxOptions, HtmlOptions, PdfOptions, RenderOptions, WideTables, XlsxOptions,
    };
    use cavra_reports::render::render_with;
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let posture = Posture::compute(&snapshot);
    let report = build_report(ReportKind::AgentRiskRegister, &snapshot, &posture, &ReportOptions::default());

    let plain = page_sizes(&render_with(&report, Format::Pdf, &RenderOptions::default()).unwrap().bytes);
    assert_eq!(plain, page_sizes(&render(&report, Format::Pdf).unwrap().bytes), "the defaults are render's");
    assert!(plain.iter().any(|(w, h)| w > h), "the register's table turns by default: {plain:?}");
    assert!(plain.iter().all(|(w, h)| (w.min(*h) - 595.3).abs() < 0.5), "A4 from the theme: {plain:?}");

    let options = RenderOptions {
        pdf: PdfOptions { paper: Some(Paper::Letter), wide_tables: WideTables::Upright, table_rows: 5 },
        docx: DocxOptions { paper: Some(Paper::Letter), wide_tables: WideTables::Upright },
        html: HtmlOptions { paper: Some(Paper::Letter) },
        xlsx: XlsxOptions { paper: Some(Paper::Letter) },
    };
    let pdf = render_with(&report, Format::Pdf, &options).unwrap();
    let sizes = page_sizes(&pdf.bytes);
    assert!(sizes.iter().all(|(w, h)| (*w - 612.0).abs() < 0.5 && (*h - 792.0).abs() < 0.5), "{sizes:?}");
    assert!(cavra_reports::render::gate_bytes(&pdf.name, Format::Pdf, &pdf.bytes).is_ok());

    let docx = render_with(&report, Format::Docx, &options).unwrap();
    let parts = common::zip_parts(&docx.bytes);
    let xml = String::from_utf8_lossy(&parts.iter().find(|(n, _)| n == "word/document.xml").unwrap().1).into_owned();
    assert!(xml.contains(r#"w:w="12240" w:h="15840""#), "Letter pages");
    assert!(!xml.contains("landscape"), "no section turns when tables stay upright");
    let plain = render(&report, Format::Docx).unwrap();
    let plain_xml = common::zip_parts(&plain.bytes).into_iter().find(|(n, _)| n == "word/document.xml").unwrap().1;
    assert!(String::from_utf8_lossy(&plain_xml).contains(r#"w:orient="landscape""#), "the default turns");

    // HTML prints on the paper asked for; the sheets of a workbook too (Excel's paper code 1 is Letter)
    let html = render_with(&report, Format::Html, &options).unwrap();
    assert!(String::from_utf8_lossy(&html.bytes).contains("@page { size: letter;"));
    assert!(String::from_utf8_lossy(&render(&report, Format::Html).unwrap().bytes).contains("@page { size: A4;"));
    let xlsx = render_with(&report, Format::Xlsx, &options).unwrap();
    let sheets: Vec<String> = common::zip_parts(&xlsx.bytes)
        .into_iter()
        .filter(|(n, _)| n.starts_with("xl/worksheets/sheet"))
        .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
        .collect();
    assert!(!sheets.is_empty() && sheets.iter().all(|x| x.contains(r#"paperSize="1""#)), "Letter sheets");
    let plain = render(&report, Format::Xlsx).unwrap();
    assert!(common::zip_parts(&plain.bytes)
        .iter()
        .any(|(n, b)| n.starts_with("xl/worksheets/") && String::from_utf8_lossy(b).contains(r#"paperSize="9""#)));
}
