//! Rounding as the portal did it: half to even (Python's `round`).

/// Rounds half to even: `2.5 → 2`, `3.5 → 4`, `-0.5 → 0`.
///
/// ```
/// use cavra_model::round::half_even;
/// assert_eq!(half_even(2.5), 2);
/// assert_eq!(half_even(3.5), 4);
/// assert_eq!(half_even(2.4999), 2);
/// ```
pub fn half_even(x: f64) -> i64 {
    // Values here are small scores and ages; the cast cannot overflow in practice
    // and saturates if it ever did.
    x.round_ties_even() as i64
}

/// The rounded mean of `sum / count`, or 0 when `count` is 0.
///
/// ```
/// use cavra_model::round::mean;
/// assert_eq!(mean(5, 2), 2); // 2.5 rounds to even
/// assert_eq!(mean(0, 0), 0);
/// ```
pub fn mean(sum: i64, count: usize) -> i64 {
    if count == 0 {
        0
    } else {
        half_even(sum as f64 / count as f64)
    }
}
