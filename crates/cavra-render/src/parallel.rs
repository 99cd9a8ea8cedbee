//! Rendering on every core with output that does not depend on the number
//! of threads: work items are taken from a shared queue, and results come
//! back in the order of the items.
//!
//! ```
//! use cavra_render::parallel::{map_ordered, render_all};
//! use cavra_render::Format;
//! let squares = map_ordered(&[1, 2, 3, 4], 2, |n| n * n);
//! assert_eq!(squares, [1, 4, 9, 16]);
//!
//! let snapshot = cavra_model::Snapshot::from_json_str(
//!     include_str!("../../../examples/sample_snapshot.json"),
//!     &Default::default(),
//! )
//! .unwrap();
//! let posture = cavra_model::Posture::compute(&snapshot);
//! let report = cavra_model::build_report(
//!     cavra_model::ReportKind::ExecutiveRiskBrief,
//!     &snapshot,
//!     &posture,
//!     &Default::default(),
//! );
//! let one = render_all(&[&report], &[Format::Markdown, Format::Csv], 1);
//! let two = render_all(&[&report], &[Format::Markdown, Format::Csv], 2);
//! assert_eq!(one.len(), 2);
//! assert_eq!(one[1].as_ref().unwrap().bytes, two[1].as_ref().unwrap().bytes);
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use cavra_model::Report;

use crate::{render, Artifact, Format, RenderError};

/// The number of threads `jobs` means here: itself, or the available cores for 0.
pub fn effective_jobs(jobs: usize) -> usize {
    if jobs > 0 {
        jobs
    } else {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }
}

/// Applies `f` to every item on [`effective_jobs`] threads; the results are
/// in the order of `items`, whatever the number of threads.
pub fn map_ordered<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = effective_jobs(jobs).clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if let Ok(mut s) = slots.lock() {
                    s[i] = Some(r);
                }
            });
        }
    });
    slots.into_inner().unwrap_or_default().into_iter().flatten().collect()
}

/// As [`map_ordered`], but the threads take the items with the largest
/// `weight` first, so that one heavy item left for last does not keep one
/// core busy while the others idle. The results are still in the order of
/// `items`.
///
/// ```
/// use cavra_render::parallel::map_heaviest_first;
/// let lengths = map_heaviest_first(&["a", "ccc", "bb"], 2, |s| s.len() as u64, |s| s.len());
/// assert_eq!(lengths, [1, 3, 2]);
/// ```
pub fn map_heaviest_first<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    weight: impl Fn(&T) -> u64,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable: equal weights keep their order, so the schedule is a pure function of the items.
    order.sort_by_key(|i| std::cmp::Reverse(weight(&items[*i])));
    let mut results = map_ordered(&order, jobs, |i| (*i, f(&items[*i])));
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// How long one report takes to render in `format`, relative to the
/// cheapest formats (measured on the bundled sample): the order in which
/// [`render_all`] and the command line hand out work.
pub fn format_weight(format: Format) -> u64 {
    match format {
        Format::Pdf => 8,
        Format::Docx => 6,
        Format::Xlsx => 4,
        Format::Html | Format::SignedJson => 2,
        Format::Markdown | Format::Csv | Format::Json | Format::Jsonl => 1,
    }
}

/// Renders every report in every format on `jobs` threads (0: every core):
/// reports outer, formats inner, in the order given.
pub fn render_all(reports: &[&Report], formats: &[Format], jobs: usize) -> Vec<Result<Artifact, RenderError>> {
    let tasks: Vec<(&Report, Format)> = reports.iter().flat_map(|r| formats.iter().map(move |f| (*r, *f))).collect();
    map_heaviest_first(&tasks, jobs, |(_, format)| format_weight(*format), |(report, format)| render(report, *format))
}
