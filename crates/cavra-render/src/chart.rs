//! Chart geometry shared by the graphical backends: turns a model
//! [`Chart`] into positioned shapes and labels in a fixed coordinate box.
//! Backends only draw what this computes, so every format shows the same
//! chart.

use cavra_model::report::{Chart, ChartKind};
use serde::Serialize;

use crate::document::chart_value as fmt;

/// A rectangle with an optional label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// Fill colour (`#rrggbb`).
    pub fill: String,
    /// Value label.
    pub value: String,
}

/// A text label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    /// Anchor x.
    pub x: f64,
    /// Baseline y.
    pub y: f64,
    /// Text.
    pub text: String,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
    /// Drawn reading upwards (turned a quarter counter-clockwise about its
    /// anchor), so narrow columns' labels never overlap.
    pub vertical: bool,
}

/// A polyline series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Polyline {
    /// Points as `(x, y)`.
    pub points: Vec<(f64, f64)>,
    /// Stroke colour.
    pub stroke: String,
}

/// A donut slice: its ring and angles, and the same shape as an SVG path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slice {
    /// Centre x.
    pub cx: f64,
    /// Centre y.
    pub cy: f64,
    /// Outer radius.
    pub outer: f64,
    /// Inner radius.
    pub inner: f64,
    /// Start angle in radians (0 = 3 o'clock, clockwise on screen).
    pub start: f64,
    /// Angle swept, in radians (capped just below a full turn).
    pub sweep: f64,
    /// SVG path data.
    pub path: String,
    /// Fill colour.
    pub fill: String,
}

impl Slice {
    /// A point on the ring at radius `r`, `t` (0–1) of the way through the slice.
    pub fn point(&self, r: f64, t: f64) -> (f64, f64) {
        let a = self.start + self.sweep * t;
        (self.cx + r * a.cos(), self.cy + r * a.sin())
    }
}

/// A legend entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegendItem {
    /// Swatch colour.
    pub fill: String,
    /// Text.
    pub text: String,
}

/// A laid-out chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layout {
    /// Title.
    pub title: String,
    /// Box width.
    pub width: f64,
    /// Box height.
    pub height: f64,
    /// Bars, heat cells.
    pub rects: Vec<Rect>,
    /// Line series.
    pub lines: Vec<Polyline>,
    /// Donut slices.
    pub slices: Vec<Slice>,
    /// Axis and category labels.
    pub labels: Vec<Label>,
    /// Axis lines as `(x1, y1, x2, y2)`.
    pub axes: Vec<(f64, f64, f64, f64)>,
    /// Legend.
    pub legend: Vec<LegendItem>,
    /// Text alternative describing the data.
    pub description: String,
    /// The size labels are drawn at on the medium (to leave them room).
    pub label_size: f64,
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

/// Heat colour from 0 (red) through amber to 100 (green).
pub fn heat_colour(score: f64) -> String {
    let t = (score / 100.0).clamp(0.0, 1.0);
    let (r, g, b) = if t < 0.5 {
        let u = t / 0.5;
        (213.0 + (230.0 - 213.0) * u, 94.0 + (159.0 - 94.0) * u, 0.0)
    } else {
        let u = (t - 0.5) / 0.5;
        (230.0 + (0.0 - 230.0) * u, 159.0 + (158.0 - 159.0) * u, 115.0 * u)
    };
    format!("#{:02x}{:02x}{:02x}", r.round() as u8, g.round() as u8, b.round() as u8)
}

/// Lays a chart out in its box on `medium` ([`crate::document::chart_box`]).
pub fn layout(c: &Chart, medium: crate::document::Medium) -> Layout {
    let (width, height) = crate::document::chart_box(c, medium);
    layout_in(c, width, height, crate::document::label_size(medium))
}

/// Lays a chart out in a `width` × `height` box, for labels of
/// `label_size`.
pub fn layout_in(c: &Chart, width: f64, height: f64, label_size: f64) -> Layout {
    let mut l = Layout {
        title: c.title.clone(),
        width,
        height,
        rects: Vec::new(),
        lines: Vec::new(),
        slices: Vec::new(),
        labels: Vec::new(),
        axes: Vec::new(),
        legend: Vec::new(),
        description: crate::document::chart_alt_text(c),
        label_size,
    };
    match c.kind {
        ChartKind::Bar => bars(c, &mut l),
        ChartKind::Line => lines(c, &mut l),
        ChartKind::Donut => donut(c, &mut l),
        ChartKind::HeatMap => heat(c, &mut l),
    }
    round_all(&mut l);
    l
}

/// Rounds every coordinate to hundredths: compact output, and the same
/// digits whatever the floating-point path that produced them.
fn round_all(l: &mut Layout) {
    let r = |v: &mut f64| *v = (*v * 100.0).round() / 100.0;
    r(&mut l.height);
    for x in &mut l.rects {
        r(&mut x.x);
        r(&mut x.y);
        r(&mut x.w);
        r(&mut x.h);
    }
    for x in &mut l.labels {
        r(&mut x.x);
        r(&mut x.y);
    }
    for a in &mut l.axes {
        r(&mut a.0);
        r(&mut a.1);
        r(&mut a.2);
        r(&mut a.3);
    }
    for line in &mut l.lines {
        for p in &mut line.points {
            r(&mut p.0);
            r(&mut p.1);
        }
    }
}

/// One legend entry per series, in palette order.
fn series_legend(c: &Chart) -> Vec<LegendItem> {
    c.series.iter().enumerate().map(|(j, s)| LegendItem { fill: series_fill(j), text: s.name.clone() }).collect()
}

fn max_value(c: &Chart) -> f64 {
    c.series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0, f64::max).max(1.0)
}

/// Horizontal bars: category labels on the left, one bar per series.
fn bars(c: &Chart, l: &mut Layout) {
    let (left, right, top) = (220.0, 50.0, 10.0);
    let plot_w = l.width - left - right;
    let n = c.categories.len().max(1) as f64;
    let series = c.series.len().max(1) as f64;
    let band = (l.height - top - 10.0) / n;
    let bar_h = (band * 0.7 / series).min(22.0);
    let max = max_value(c);
    for (i, cat) in c.categories.iter().enumerate() {
        let y0 = top + band * i as f64;
        l.labels.push(Label {
            x: left - 8.0,
            y: y0 + band / 2.0 + 4.0,
            text: shorten(cat, 34),
            anchor: "end",
            vertical: false,
        });
        for (j, s) in c.series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            let w = plot_w * v / max;
            let y = y0 + (band - bar_h * series) / 2.0 + bar_h * j as f64;
            l.rects.push(Rect { x: left, y, w, h: bar_h - 2.0, fill: series_fill(j), value: fmt(v) });
            l.labels.push(Label {
                x: left + w + 4.0,
                y: y + bar_h / 2.0 + 2.0,
                text: fmt(v),
                anchor: "start",
                vertical: false,
            });
        }
    }
    l.axes.push((left, top, left, l.height - 10.0));
    if c.series.len() > 1 {
        l.legend = series_legend(c);
    }
}

fn lines(c: &Chart, l: &mut Layout) {
    let (left, right, top, bottom) = (50.0, 20.0, 10.0, 40.0);
    let plot_w = l.width - left - right;
    let plot_h = l.height - top - bottom;
    let n = c.categories.len();
    let max = max_value(c);
    let step = if n > 1 { plot_w / (n - 1) as f64 } else { 0.0 };
    for (j, s) in c.series.iter().enumerate() {
        let points = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (left + step * i as f64, top + plot_h * (1.0 - v / max)))
            .collect();
        l.lines.push(Polyline { points, stroke: series_fill(j) });
    }
    l.axes.push((left, top + plot_h, left + plot_w, top + plot_h));
    l.axes.push((left, top, left, top + plot_h));
    for (k, frac) in [0.0, 0.5, 1.0].iter().enumerate() {
        let _ = k;
        l.labels.push(Label {
            x: left - 6.0,
            y: top + plot_h * (1.0 - frac) + 4.0,
            text: fmt((max * frac).round()),
            anchor: "end",
            vertical: false,
        });
    }
    // As many category labels as fit side by side without touching: every
    // `every`-th, and the last when there is room for it.
    let widest = c.categories.iter().map(|cat| shorten(cat, 12).chars().count()).max().unwrap_or(0) as f64;
    let room = widest * LABEL_EM * l.label_size + l.label_size;
    let every = if step > 0.0 { ((room / step).ceil() as usize).max(1) } else { 1 };
    let last_multiple = n.saturating_sub(1) / every * every;
    let last_fits = (n.saturating_sub(1) - last_multiple) as f64 * step >= room;
    for (i, cat) in c.categories.iter().enumerate().filter(|(i, _)| i % every == 0 || (*i + 1 == n && last_fits)) {
        l.labels.push(Label {
            x: left + step * i as f64,
            y: top + plot_h + 16.0,
            text: shorten(cat, 12),
            anchor: "middle",
            vertical: false,
        });
    }
    l.legend = series_legend(c);
}

fn donut(c: &Chart, l: &mut Layout) {
    let values: Vec<f64> = c.series.first().map(|s| s.values.clone()).unwrap_or_default();
    let total: f64 = values.iter().sum();
    let (cx, cy) = (l.height / 2.0, l.height / 2.0);
    let (ro, ri) = (l.height / 2.0 - 8.0, l.height / 4.0);
    let mut angle = -std::f64::consts::FRAC_PI_2;
    for (i, v) in values.iter().enumerate() {
        let fill = series_fill(i);
        l.legend.push(LegendItem {
            fill: fill.clone(),
            text: format!(
                "{} — {} ({}%)",
                c.categories.get(i).map_or("", String::as_str),
                fmt(*v),
                if total > 0.0 { fmt((v / total * 100.0).round()) } else { "0".into() }
            ),
        });
        if *v <= 0.0 || total <= 0.0 {
            continue;
        }
        // A full circle cannot be one arc: cap a single slice just below 2π.
        let sweep = (v / total * std::f64::consts::TAU).min(std::f64::consts::TAU - 1e-4);
        let end = angle + sweep;
        let large = i32::from(sweep > std::f64::consts::PI);
        let p = |r: f64, a: f64| (cx + r * a.cos(), cy + r * a.sin());
        let (x1, y1) = p(ro, angle);
        let (x2, y2) = p(ro, end);
        let (x3, y3) = p(ri, end);
        let (x4, y4) = p(ri, angle);
        l.slices.push(Slice {
            cx,
            cy,
            outer: ro,
            inner: ri,
            start: angle,
            sweep,
            path: format!(
                "M {x1:.2} {y1:.2} A {ro:.2} {ro:.2} 0 {large} 1 {x2:.2} {y2:.2} L {x3:.2} {y3:.2} A {ri:.2} {ri:.2} 0 {large} 0 {x4:.2} {y4:.2} Z"
            ),
            fill,
        });
        angle = end;
    }
    l.labels.push(Label { x: cx, y: cy + 5.0, text: fmt(total), anchor: "middle", vertical: false });
}

/// Characters a heat map's column label keeps (the whole name is in the
/// adjacent table and the text alternative).
const HEAT_LABEL_CHARS: usize = 24;

/// An upper bound on a label character's advance, in ems (DejaVu Sans'
/// widest lower-case letters and digits are under 0.65 em).
const LABEL_EM: f64 = 0.65;

fn heat(c: &Chart, l: &mut Layout) {
    let labels: Vec<String> = c.categories.iter().map(|cat| shorten(cat, HEAT_LABEL_CHARS)).collect();
    let longest = labels.iter().map(|t| t.chars().count()).max().unwrap_or(0) as f64;
    // Column labels read upwards above their columns: room for the longest.
    let (left, top) = (220.0, 12.0 + longest * LABEL_EM * l.label_size);
    let cols = c.categories.len().max(1) as f64;
    let rows = c.series.len().max(1) as f64;
    let cell_w = ((l.width - left - 10.0) / cols).min(90.0);
    let cell_h = ((l.height - 80.0) / rows).clamp(8.0, 24.0);
    l.height = top + cell_h * rows + 10.0;
    for (j, text) in labels.into_iter().enumerate() {
        l.labels.push(Label {
            x: left + cell_w * (j as f64 + 0.5) + l.label_size * 0.35,
            y: top - 6.0,
            text,
            anchor: "start",
            vertical: true,
        });
    }
    for (i, s) in c.series.iter().enumerate() {
        let y = top + cell_h * i as f64;
        l.labels.push(Label {
            x: left - 8.0,
            y: y + cell_h / 2.0 + 4.0,
            text: shorten(&s.name, 34),
            anchor: "end",
            vertical: false,
        });
        for (j, v) in s.values.iter().enumerate() {
            l.rects.push(Rect {
                x: left + cell_w * j as f64,
                y,
                w: cell_w - 2.0,
                h: cell_h - 2.0,
                fill: heat_colour(*v),
                value: fmt(*v),
            });
            // Each cell's value is written in it: colour is never the only cue.
            l.labels.push(Label {
                x: left + cell_w * (j as f64 + 0.5) - 1.0,
                y: y + cell_h / 2.0 + l.label_size * 0.35 - 1.0,
                text: fmt(*v),
                anchor: "middle",
                vertical: false,
            });
        }
    }
    l.legend = vec![
        LegendItem { fill: heat_colour(0.0), text: "0 not observed".into() },
        LegendItem { fill: heat_colour(38.0), text: "38 warning only".into() },
        LegendItem { fill: heat_colour(58.0), text: "58 observed".into() },
        LegendItem { fill: heat_colour(82.0), text: "82 approval gated".into() },
        LegendItem { fill: heat_colour(100.0), text: "100 enforced".into() },
    ];
}

/// The fill of the `i`-th series or slice, from the house palette.
fn series_fill(i: usize) -> String {
    use crate::document::palette::{css, SERIES};
    css(SERIES[i % SERIES.len()])
}
