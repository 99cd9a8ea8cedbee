//! Draws a chart [`Layout`] into a PNG with the `image` crate: bars, heat
//! cells, line series and donut slices (labels travel beside the picture as
//! text, so the image holds no text). Deterministic: the same layout always
//! gives the same bytes.

use image::{ImageFormat, Rgb, RgbImage};

use crate::chart::Layout;

/// Pixels per layout unit (2× for sharp printing).
const SCALE: f64 = 2.0;

fn rgb(hex: &str) -> Rgb<u8> {
    let h = hex.trim_start_matches('#');
    let v = u32::from_str_radix(h, 16).unwrap_or(0x0072B2);
    Rgb([(v >> 16) as u8, (v >> 8) as u8, v as u8])
}

fn fill_rect(img: &mut RgbImage, x: f64, y: f64, w: f64, h: f64, c: Rgb<u8>) {
    let (x0, y0) = ((x * SCALE).round().max(0.0) as u32, (y * SCALE).round().max(0.0) as u32);
    let (x1, y1) = (((x + w) * SCALE).round().max(0.0) as u32, ((y + h) * SCALE).round().max(0.0) as u32);
    for py in y0..y1.min(img.height()) {
        for px in x0..x1.min(img.width()) {
            img.put_pixel(px, py, c);
        }
    }
}

fn line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), width: f64, c: Rgb<u8>) {
    let steps = (((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt() * SCALE).ceil().max(1.0) as usize;
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        fill_rect(img, x - width / 2.0, y - width / 2.0, width, width, c);
    }
}

/// Renders the layout's shapes to PNG bytes.
pub fn png(l: &Layout) -> Vec<u8> {
    let (w, h) = ((l.width * SCALE) as u32, (l.height * SCALE) as u32);
    let mut img = RgbImage::from_pixel(w.max(1), h.max(1), Rgb([255, 255, 255]));
    for a in &l.axes {
        line(&mut img, (a.0, a.1), (a.2, a.3), 1.0, rgb("#9aa3b2"));
    }
    for r in &l.rects {
        fill_rect(&mut img, r.x, r.y, r.w, r.h, rgb(&r.fill));
    }
    for p in &l.lines {
        for pair in p.points.windows(2) {
            line(&mut img, pair[0], pair[1], 2.0, rgb(&p.stroke));
        }
    }
    if !l.slices.is_empty() {
        donut(&mut img, l);
    }
    let mut out = Vec::new();
    // Encoding an in-memory RGB image into a Vec cannot fail.
    let _ = image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png);
    out
}

/// Donut slices: every pixel on a slice's ring within its angles.
fn donut(img: &mut RgbImage, l: &Layout) {
    let tau = std::f64::consts::TAU;
    for py in 0..img.height() {
        for px in 0..img.width() {
            let (x, y) = (px as f64 / SCALE, py as f64 / SCALE);
            if let Some(s) = l.slices.iter().find(|s| {
                let d = ((x - s.cx).powi(2) + (y - s.cy).powi(2)).sqrt();
                d >= s.inner && d <= s.outer && ((y - s.cy).atan2(x - s.cx) - s.start).rem_euclid(tau) <= s.sweep
            }) {
                img.put_pixel(px, py, rgb(&s.fill));
            }
        }
    }
}
