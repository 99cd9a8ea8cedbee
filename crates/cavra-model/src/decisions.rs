//! The snapshot's decisions, shared: datasets that show one row per
//! decision index into them instead of copying them into cells.

use std::ops::Deref;
use std::sync::Arc;

use crate::input::Decision;

/// An immutable, cheaply cloned list of decisions (dereferences to a slice).
///
/// ```
/// use cavra_model::decisions::Decisions;
/// let d = Decisions::from(Vec::new());
/// assert!(d.is_empty());
/// let shared = d.clone(); // a pointer copy, not a copy of the decisions
/// assert_eq!(shared.len(), 0);
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Decisions(Arc<Vec<Decision>>);

impl Deref for Decisions {
    type Target = [Decision];
    fn deref(&self) -> &[Decision] {
        &self.0
    }
}

impl From<Vec<Decision>> for Decisions {
    fn from(v: Vec<Decision>) -> Self {
        Decisions(Arc::new(v))
    }
}

impl<'a> IntoIterator for &'a Decisions {
    type Item = &'a Decision;
    type IntoIter = std::slice::Iter<'a, Decision>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl std::fmt::Debug for Decisions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}
