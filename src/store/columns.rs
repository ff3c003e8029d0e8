//! How values are kept in columns: ids (uuid v4 text), timestamps (unix milliseconds,
//! shown as RFC 3339), JSON text and state indexes.

use std::sync::atomic::{AtomicI64, Ordering};

use super::error::StoreError;
use crate::codes::State;

pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Unix milliseconds, strictly increasing within the process so that "oldest first" and
/// "newest" orders are stable even for rows written in the same millisecond.
pub(super) fn now_ms() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp_millis();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// Unix milliseconds as an RFC 3339 UTC timestamp (`2025-01-31T12:00:00.000Z`).
pub(super) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The state with wire value `index`.
pub fn state_from_index(index: i64) -> Option<State> {
    State::ALL
        .into_iter()
        .find(|s| i64::from(s.index()) == index)
}

pub(super) fn stored_state(index: i64) -> Result<State, StoreError> {
    state_from_index(index).ok_or_else(|| StoreError::Corrupt(format!("unknown state {index}")))
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(super) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Maps of strings and `serde_json::Value`s always serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
