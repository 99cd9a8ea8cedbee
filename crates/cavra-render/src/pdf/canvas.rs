//! A small page-layout engine over printpdf's operation lists: measured text
//! (glyph advances from the embedded font), wrapping, filled shapes and
//! lines, with a top-down cursor and automatic page breaks.

use printpdf::{
    Color, FontId, Line, LinePoint, Op, PaintMode, PdfFontHandle, Point, Polygon, PolygonRing, Pt, Rgb, TextItem,
    TextMatrix, WindingOrder,
};

/// Page geometry in points (A4 or US Letter).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSize {
    pub width: f32,
    pub height: f32,
}

impl PageSize {
    /// The same paper turned on its side (or back upright).
    pub fn turned(self) -> PageSize {
        PageSize { width: self.height, height: self.width }
    }
}

pub const A4: PageSize = PageSize { width: 595.28, height: 841.89 };
pub const LETTER: PageSize = PageSize { width: 612.0, height: 792.0 };

pub const MARGIN: f32 = 50.0;
pub const TOP: f32 = 64.0;
pub const BOTTOM: f32 = 60.0;

use crate::document::fonts::advance_width;

/// A font for drawing and the metrics to measure with.
pub struct FontRef<'a> {
    pub id: FontId,
    pub face: ttf_parser::Face<'a>,
    /// Advances of the common code points, from
    /// [`crate::document::fonts::advance_table`].
    pub advances: &'a [u16],
}

impl FontRef<'_> {
    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        advance_width(&self.face, self.advances, text, size)
    }
}

pub fn rgb(hex: u32) -> Color {
    Color::Rgb(Rgb {
        r: ((hex >> 16) & 0xff) as f32 / 255.0,
        g: ((hex >> 8) & 0xff) as f32 / 255.0,
        b: (hex & 0xff) as f32 / 255.0,
        icc_profile: None,
    })
}

pub fn hex_colour(s: &str) -> Color {
    rgb(u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap_or(crate::document::palette::DEFAULT_ACCENT))
}

/// Splits `text` into lines no wider than `max` points, the document
/// layer's way ([`crate::document::table::wrap`]): a word longer than a
/// line breaks at its natural points.
pub fn wrap(font: &FontRef, text: &str, size: f32, max: f32) -> Vec<String> {
    crate::document::table::wrap(text, f64::from(max), &|s: &str| f64::from(font.width(s, size)))
}

/// Cuts `text` to fit `max` points, ending with an ellipsis when cut.
pub fn fit(font: &FontRef, text: &str, size: f32, max: f32) -> String {
    if font.width(text, size) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if font.width(&format!("{out}{c}…"), size) > max {
            break;
        }
        out.push(c);
    }
    format!("{out}…")
}

/// A structure element of the tagged PDF: what a reader's assistive
/// technology sees (a heading, a paragraph, a table cell, a figure).
#[derive(Debug, Clone)]
pub struct Elem {
    /// Standard structure type (`H1`, `P`, `Table`, `TH`, `Figure`…).
    pub role: &'static str,
    /// Index of the parent element (the root `Document` is its own).
    pub parent: usize,
    /// Children and marked content, in reading order.
    pub kids: Vec<Kid>,
    /// Alternative text (figures).
    pub alt: Option<String>,
}

/// A structure element's child.
#[derive(Debug, Clone, Copy)]
pub enum Kid {
    /// Another element.
    Elem(usize),
    /// Marked content `mcid` on page `page`.
    Content { page: usize, mcid: i64 },
}

/// The structure tree being built while the pages are drawn. Element 0 is
/// the `Document`; content drawn while only it is open, or inside
/// [`Canvas::artifact`], is marked as an artifact (running headers, rules,
/// backgrounds, repeated table headers).
#[derive(Debug, Clone)]
pub struct Tags {
    pub elems: Vec<Elem>,
    stack: Vec<usize>,
    /// The next marked-content id of each page.
    pub next_mcid: Vec<i64>,
    artifact: usize,
}

impl Tags {
    fn new() -> Tags {
        Tags {
            elems: vec![Elem { role: "Document", parent: 0, kids: Vec::new(), alt: None }],
            stack: vec![0],
            next_mcid: Vec::new(),
            artifact: 0,
        }
    }
}

/// Pages of operations with a cursor measured from the top of the page.
pub struct Canvas {
    /// The structure tree.
    pub tags: Tags,
    /// The size of the page being drawn.
    pub size: PageSize,
    pub pages: Vec<Vec<Op>>,
    /// Each page's size (a landscape table's pages are turned).
    pub sizes: Vec<PageSize>,
    /// Distance from the top edge to the next free line.
    pub y: f32,
    /// Accent colour, `0xRRGGBB`.
    pub accent: u32,
}

impl Canvas {
    pub fn new(size: PageSize) -> Canvas {
        Canvas {
            tags: Tags::new(),
            size,
            pages: vec![Vec::new()],
            sizes: vec![size],
            y: TOP,
            accent: cavra_model::theme::DEFAULT_ACCENT,
        }
    }

    pub fn content_width(&self) -> f32 {
        self.size.width - 2.0 * MARGIN
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.sizes.push(self.size);
        self.y = TOP;
    }

    /// Goes on with pages of `size`: the current page when nothing is
    /// drawn on it yet, else a new one.
    pub fn turn_to(&mut self, size: PageSize) {
        if size == self.size {
            return;
        }
        self.size = size;
        if self.pages.last().is_some_and(Vec::is_empty) {
            if let Some(last) = self.sizes.last_mut() {
                *last = size;
            }
            self.y = TOP;
        } else {
            self.new_page();
        }
    }

    /// Starts a new page unless `height` points still fit on this one.
    pub fn ensure(&mut self, height: f32) -> bool {
        if self.y + height > self.size.height - BOTTOM {
            self.new_page();
            true
        } else {
            false
        }
    }

    /// Opens a structure element of `role` inside the current one.
    pub fn open(&mut self, role: &'static str) {
        self.open_with(role, None);
    }

    /// Opens a structure element with alternative text.
    pub fn open_with(&mut self, role: &'static str, alt: Option<String>) {
        let parent = self.tags.stack.last().copied().unwrap_or(0);
        let id = self.tags.elems.len();
        self.tags.elems.push(Elem { role, parent, kids: Vec::new(), alt });
        self.tags.elems[parent].kids.push(Kid::Elem(id));
        self.tags.stack.push(id);
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) {
        if self.tags.stack.len() > 1 {
            self.tags.stack.pop();
        }
    }

    /// Draws `f`'s output as an artifact: not part of the reading order.
    pub fn artifact<R>(&mut self, f: impl FnOnce(&mut Canvas) -> R) -> R {
        self.tags.artifact += 1;
        let r = f(self);
        self.tags.artifact -= 1;
        r
    }

    /// The operator that opens marked content for what is drawn next: the
    /// innermost open element's content (for a shape, only inside a
    /// figure), or an artifact.
    fn begin_mark(&mut self, shape: bool) -> Op {
        let top = self.tags.stack.last().copied().unwrap_or(0);
        let role = self.tags.elems[top].role;
        if self.tags.artifact > 0 || top == 0 || (shape && role != "Figure") {
            return Op::BeginMarkedContent { tag: "Artifact".into() };
        }
        let page = self.pages.len().saturating_sub(1);
        if self.tags.next_mcid.len() <= page {
            self.tags.next_mcid.resize(page + 1, 0);
        }
        let mcid = self.tags.next_mcid[page];
        self.tags.next_mcid[page] += 1;
        self.tags.elems[top].kids.push(Kid::Content { page, mcid });
        let map = std::collections::BTreeMap::from([("MCID".to_string(), printpdf::DictItem::Int(mcid))]);
        Op::BeginMarkedContentWithProperties { tag: role.into(), properties: printpdf::DictItem::Dict { map } }
    }

    /// Text with its baseline `y` points below the top edge.
    pub fn text_at(&mut self, font: &FontRef, text: &str, size: f32, x: f32, y: f32, colour: Color) {
        let baseline = self.size.height - y;
        self.text_with(font, text, size, TextMatrix::Translate(Pt(x), Pt(baseline)), colour);
    }

    /// Text rotated `degrees` counter-clockwise about its start, which sits
    /// at `x` and `y` points below the top edge.
    #[allow(clippy::too_many_arguments)]
    pub fn text_rotated(&mut self, font: &FontRef, text: &str, size: f32, x: f32, y: f32, degrees: f32, colour: Color) {
        let baseline = self.size.height - y;
        self.text_with(font, text, size, TextMatrix::TranslateRotate(Pt(x), Pt(baseline), degrees), colour);
    }

    /// One text section placed by an absolute text matrix.
    fn text_with(&mut self, font: &FontRef, text: &str, size: f32, matrix: TextMatrix, colour: Color) {
        let mark = self.begin_mark(false);
        self.ops().extend([
            mark,
            Op::StartTextSection,
            Op::SetFillColor { col: colour },
            Op::SetFont { font: PdfFontHandle::External(font.id.clone()), size: Pt(size) },
            Op::SetTextMatrix { matrix },
            Op::ShowText { items: vec![TextItem::Text(text.to_string())] },
            Op::EndTextSection,
            Op::EndMarkedContent,
        ]);
    }

    /// An image XObject of `px` pixels drawn `w` × `h` points with its top
    /// left corner at (`x`, `y` from the page top).
    pub fn image(&mut self, id: &printpdf::XObjectId, px: (usize, usize), x: f32, y: f32, w: f32, h: f32) {
        let bottom = self.size.height - y - h;
        let transform = printpdf::XObjectTransform {
            translate_x: Some(Pt(x)),
            translate_y: Some(Pt(bottom)),
            scale_x: Some(w / px.0.max(1) as f32),
            scale_y: Some(h / px.1.max(1) as f32),
            dpi: Some(72.0),
            ..Default::default()
        };
        let mark = self.begin_mark(true);
        self.ops().extend([mark, Op::UseXobject { id: id.clone(), transform }, Op::EndMarkedContent]);
    }

    /// A filled rectangle; `y` is its top, measured from the page top.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Color) {
        if w <= 0.0 || h <= 0.0 {
            return;
        }
        let top = self.size.height - y;
        let pts = [(x, top), (x + w, top), (x + w, top - h), (x, top - h)];
        self.polygon(&pts, colour);
    }

    /// A filled polygon in page-top coordinates already converted to PDF space.
    pub fn polygon(&mut self, pts: &[(f32, f32)], colour: Color) {
        let ring = PolygonRing {
            points: pts.iter().map(|(x, y)| LinePoint { p: Point { x: Pt(*x), y: Pt(*y) }, bezier: false }).collect(),
        };
        let mark = self.begin_mark(true);
        self.ops().extend([
            mark,
            Op::SetFillColor { col: colour },
            Op::DrawPolygon {
                polygon: Polygon { rings: vec![ring], mode: PaintMode::Fill, winding_order: WindingOrder::NonZero },
            },
            Op::EndMarkedContent,
        ]);
    }

    /// A stroked polyline; points measured from the page top.
    pub fn line(&mut self, pts: &[(f32, f32)], width: f32, colour: Color) {
        let h = self.size.height;
        let line = Line {
            points: pts
                .iter()
                .map(|(x, y)| LinePoint { p: Point { x: Pt(*x), y: Pt(h - *y) }, bezier: false })
                .collect(),
            is_closed: false,
        };
        let mark = self.begin_mark(true);
        self.ops().extend([
            mark,
            Op::SetOutlineColor { col: colour },
            Op::SetOutlineThickness { pt: Pt(width) },
            Op::DrawLine { line },
            Op::EndMarkedContent,
        ]);
    }
}
