//! A dataset's rows: held as cells, or derived on demand from data the
//! report shares with the snapshot and posture.
//!
//! A tenant with 200,000 decisions has two datasets with one row per
//! decision. Held as cells they would cost about 200 MB; derived, each is an
//! index into the shared decisions and its cells exist only while a writer
//! formats one row.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use crate::report::Cell;

/// Produces the rows of a derived dataset, one at a time.
///
/// `row(i)` must return the same cells for the same `i` every time (the
/// gate and each format read the rows separately) and one cell per column.
///
/// ```
/// use std::sync::Arc;
/// use cavra_model::report::{Cell, RowSource, Rows};
/// struct Squares(usize);
/// impl RowSource for Squares {
///     fn len(&self) -> usize { self.0 }
///     fn row(&self, i: usize) -> Vec<Cell> { vec![Cell::from(i * i)] }
/// }
/// let rows = Rows::derived(Arc::new(Squares(3)));
/// let firsts: Vec<Cell> = rows.iter().map(|r| r[0].clone()).collect();
/// assert_eq!(firsts, [Cell::Integer(0), Cell::Integer(1), Cell::Integer(4)]);
/// ```
pub trait RowSource: Send + Sync {
    /// Number of rows.
    fn len(&self) -> usize;
    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `i` (`i < len()`).
    fn row(&self, i: usize) -> Vec<Cell>;
}

/// The rows of a dataset.
#[derive(Clone)]
pub enum Rows {
    /// Cells held by the dataset.
    Held(Vec<Vec<Cell>>),
    /// Cells made on demand by a shared source.
    Derived(Arc<dyn RowSource>),
}

impl Default for Rows {
    fn default() -> Self {
        Rows::Held(Vec::new())
    }
}

impl Rows {
    /// Rows made on demand by `source`.
    pub fn derived(source: Arc<dyn RowSource>) -> Rows {
        Rows::Derived(source)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Rows::Held(v) => v.len(),
            Rows::Derived(s) => s.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`, borrowed when held.
    pub fn get(&self, i: usize) -> Option<Cow<'_, [Cell]>> {
        match self {
            Rows::Held(v) => v.get(i).map(|r| Cow::Borrowed(r.as_slice())),
            Rows::Derived(s) => (i < s.len()).then(|| Cow::Owned(s.row(i))),
        }
    }

    /// The rows in order.
    pub fn iter(&self) -> RowIter<'_> {
        RowIter { rows: self, next: 0, len: self.len() }
    }

    /// Appends a held row.
    ///
    /// # Panics
    /// On derived rows: a builder bug, never caused by input.
    pub fn push(&mut self, row: Vec<Cell>) {
        match self {
            Rows::Held(v) => v.push(row),
            Rows::Derived(_) => panic!("rows derived from a source cannot be pushed to"),
        }
    }

    /// Reserves room for `n` more held rows (no effect on derived rows).
    pub fn reserve(&mut self, n: usize) {
        if let Rows::Held(v) = self {
            v.reserve(n);
        }
    }
}

/// Iterator over [`Rows`].
pub struct RowIter<'a> {
    rows: &'a Rows,
    next: usize,
    len: usize,
}

impl<'a> Iterator for RowIter<'a> {
    type Item = Cow<'a, [Cell]>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.len {
            return None;
        }
        let i = self.next;
        self.next += 1;
        self.rows.get(i)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for RowIter<'_> {}

impl<'a> IntoIterator for &'a Rows {
    type Item = Cow<'a, [Cell]>;
    type IntoIter = RowIter<'a>;
    fn into_iter(self) -> RowIter<'a> {
        self.iter()
    }
}

impl From<Vec<Vec<Cell>>> for Rows {
    fn from(v: Vec<Vec<Cell>>) -> Self {
        Rows::Held(v)
    }
}

impl PartialEq for Rows {
    fn eq(&self, other: &Rows) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl fmt::Debug for Rows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rows::Held(v) => f.debug_tuple("Held").field(v).finish(),
            Rows::Derived(s) => write!(f, "Derived({} rows)", s.len()),
        }
    }
}

impl Serialize for Rows {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for row in self {
            seq.serialize_element(&*row)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(usize);
    impl RowSource for Count {
        fn len(&self) -> usize {
            self.0
        }
        fn row(&self, i: usize) -> Vec<Cell> {
            vec![Cell::from(i), Cell::from(format!("row {i}"))]
        }
    }

    #[test]
    fn derived_rows_equal_the_same_rows_held() {
        let derived = Rows::derived(Arc::new(Count(3)));
        let held = Rows::from((0..3).map(|i| Count(3).row(i)).collect::<Vec<_>>());
        assert_eq!(derived, held);
        assert_eq!(derived.iter().len(), 3);
        assert!(derived.get(3).is_none());
        assert_eq!(serde_json::to_string(&derived).unwrap(), serde_json::to_string(&held).unwrap());
        assert_ne!(derived, Rows::derived(Arc::new(Count(2))));
        assert_eq!(format!("{derived:?}"), "Derived(3 rows)");
    }

    #[test]
    #[should_panic(expected = "cannot be pushed")]
    fn derived_rows_refuse_a_push() {
        Rows::derived(Arc::new(Count(1))).push(Vec::new());
    }
}
