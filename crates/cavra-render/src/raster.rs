//! Draws a chart [`Layout`] into a PNG: bars, heat cells, line series and
//! donut slices (labels travel beside the picture as text, so the image
//! holds no text). A chart has a handful of flat colours, so it is drawn on
//! an indexed canvas (one byte per pixel, a palette of the colours used)
//! and written as an indexed PNG with fast compression. Deterministic: the
//! same layout always gives the same bytes.

use crate::chart::Layout;

/// Pixels per layout unit (2× for sharp printing).
const SCALE: f64 = 2.0;

/// The background (palette entry 0).
const WHITE: [u8; 3] = [255, 255, 255];

fn rgb(hex: &str) -> [u8; 3] {
    let h = hex.trim_start_matches('#');
    let v = u32::from_str_radix(h, 16).unwrap_or(crate::document::palette::DEFAULT_ACCENT);
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// One byte per pixel, indexing a palette of at most 256 colours.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    palette: Vec<[u8; 3]>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Canvas {
        Canvas { width, height, pixels: vec![0; width as usize * height as usize], palette: vec![WHITE] }
    }

    /// The palette index of a colour, added on first use (the last entry is
    /// reused once 256 are taken, which no chart comes near).
    fn ink(&mut self, hex: &str) -> u8 {
        let c = rgb(hex);
        let i = self.palette.iter().position(|p| *p == c).unwrap_or_else(|| {
            if self.palette.len() < 256 {
                self.palette.push(c);
            }
            self.palette.len() - 1
        });
        u8::try_from(i).unwrap_or(u8::MAX)
    }

    fn fill_rect(&mut self, x: f64, y: f64, w: f64, h: f64, ink: u8) {
        let to_px = |v: f64, max: u32| ((v * SCALE).round().max(0.0) as u32).min(max) as usize;
        let (x0, x1) = (to_px(x, self.width), to_px(x + w, self.width));
        let (y0, y1) = (to_px(y, self.height), to_px(y + h, self.height));
        let stride = self.width as usize;
        for row in y0..y1 {
            self.pixels[row * stride + x0..row * stride + x1.max(x0)].fill(ink);
        }
    }

    fn line(&mut self, a: (f64, f64), b: (f64, f64), width: f64, ink: u8) {
        let steps = (((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt() * SCALE).ceil().max(1.0) as usize;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
            self.fill_rect(x - width / 2.0, y - width / 2.0, width, width, ink);
        }
    }

    fn encode(self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(self.palette.concat());
        encoder.set_compression(png::Compression::Fast);
        // Writing an in-memory image into a Vec cannot fail.
        if let Ok(mut writer) = encoder.write_header() {
            let _ = writer.write_image_data(&self.pixels);
        }
        out
    }
}

/// Renders the layout's shapes to PNG bytes.
pub fn png(l: &Layout) -> Vec<u8> {
    let (w, h) = (((l.width * SCALE) as u32).max(1), ((l.height * SCALE) as u32).max(1));
    let mut canvas = Canvas::new(w, h);
    let axis = canvas.ink(&crate::document::palette::css(crate::document::palette::AXIS));
    for a in &l.axes {
        canvas.line((a.0, a.1), (a.2, a.3), 1.0, axis);
    }
    for r in &l.rects {
        let ink = canvas.ink(&r.fill);
        canvas.fill_rect(r.x, r.y, r.w, r.h, ink);
    }
    for p in &l.lines {
        let ink = canvas.ink(&p.stroke);
        for pair in p.points.windows(2) {
            canvas.line(pair[0], pair[1], 2.0, ink);
        }
    }
    if !l.slices.is_empty() {
        donut(&mut canvas, l);
    }
    canvas.encode()
}

/// Donut slices: every pixel on a slice's ring within its angles.
fn donut(canvas: &mut Canvas, l: &Layout) {
    let tau = std::f64::consts::TAU;
    let inks: Vec<u8> = l.slices.iter().map(|s| canvas.ink(&s.fill)).collect();
    // Only the pixels inside the rings' bounding box can belong to a slice.
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, 0.0f64, 0.0f64);
    for s in &l.slices {
        (x0, y0) = (x0.min(s.cx - s.outer), y0.min(s.cy - s.outer));
        (x1, y1) = (x1.max(s.cx + s.outer), y1.max(s.cy + s.outer));
    }
    let px_range = |lo: f64, hi: f64, max: u32| {
        ((lo * SCALE).floor().max(0.0) as u32)..((hi * SCALE).ceil().max(0.0) as u32 + 1).min(max)
    };
    let stride = canvas.width as usize;
    for py in px_range(y0, y1, canvas.height) {
        for px in px_range(x0, x1, canvas.width) {
            let (x, y) = (f64::from(px) / SCALE, f64::from(py) / SCALE);
            let hit = l.slices.iter().position(|s| {
                let d = ((x - s.cx).powi(2) + (y - s.cy).powi(2)).sqrt();
                d >= s.inner && d <= s.outer && ((y - s.cy).atan2(x - s.cx) - s.start).rem_euclid(tau) <= s.sweep
            });
            if let Some(i) = hit {
                canvas.pixels[py as usize * stride + px as usize] = inks[i];
            }
        }
    }
}
