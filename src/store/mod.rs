//! The persistent store: users, credentials (secret values encrypted at rest), collects with
//! their timelines, and documents. sqlx over SQLite; the SQL in `migrations/` is portable to
//! Postgres (no SQLite-only types or functions, `$n` placeholders, ids as TEXT uuid v4,
//! timestamps as BIGINT unix milliseconds).
//!
//! Every change that spans rows (a state change: the collect, its timeline and the
//! credential) is one transaction. Transactions write first and read after, so that two
//! writers never deadlock on SQLite's lock upgrade. With webhooks on, the same transaction
//! writes the change's events to the outbox (`outbox`).

mod browser_states;
mod change;
mod collects;
mod columns;
mod credentials;
mod db;
mod documents;
mod error;
pub mod known;
mod outbox;
mod schedules;
mod types;
mod ui_tokens;

#[cfg(test)]
mod tests;

pub use change::{Change, CollectRef, OutboxEvent, Reporter};
pub use columns::state_from_index;
pub use db::Store;
pub use error::StoreError;
pub use outbox::{Attempt, Delivery, DeliveryStatus, PendingEvent, Replay};
pub use schedules::Schedule;
pub use types::{
    Collect, CollectSummary, Credential, Document, NewCredential, NewDocument, TimelineEntry,
};
pub use ui_tokens::{NewUiToken, UiToken};
