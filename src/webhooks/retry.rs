//! When a failed delivery is tried again: exponential backoff with full jitter.

use std::time::Duration;

use rand::Rng;

/// The ceiling of the delay after `failures` failed attempts (1, 2…):
/// `first × 2^(failures−1)`, at most `max`.
pub fn backoff_ceiling(failures: u32, first: Duration, max: Duration) -> Duration {
    let doublings = failures.saturating_sub(1);
    if doublings >= 32 {
        return max;
    }
    first.checked_mul(1u32 << doublings).unwrap_or(max).min(max)
}

/// Exponential backoff with full jitter: uniform between zero and
/// [`backoff_ceiling`], so that many retries do not all come back at once.
pub fn backoff(failures: u32, first: Duration, max: Duration, rng: &mut impl Rng) -> Duration {
    let ceiling = backoff_ceiling(failures, first, max);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
}
