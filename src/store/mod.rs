//! The persistent store: users, credentials (secret values encrypted at rest), collects with
//! their timelines, and documents. sqlx over SQLite; the SQL in `migrations/` is portable to
//! Postgres (no SQLite-only types or functions, `$n` placeholders, ids as TEXT uuid v4,
//! timestamps as BIGINT unix milliseconds).
//!
//! Every change that spans rows (a state change: the collect, its timeline and the
//! credential) is one transaction. Transactions write first and read after, so that two
//! writers never deadlock on SQLite's lock upgrade. With webhooks on, the same transaction
//! writes the change's events to the outbox (`outbox`).

mod browser_sessions;
mod collects;
mod credentials;
mod documents;
pub mod known;
mod outbox;
mod schedules;
mod sessions;
mod types;

#[cfg(test)]
mod tests;

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::codes::State;
use crate::secrets::{Cipher, CipherError};

pub use outbox::{
    Attempt, Change, CollectRef, Delivery, DeliveryStatus, OutboxEvent, PendingEvent, Replay,
    Reporter,
};
pub use schedules::Schedule;
pub use sessions::{NewSession, Session};
pub use types::{
    Collect, CollectSummary, Credential, Document, NewCredential, NewDocument,
    TimelineEntry,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Cipher(#[from] CipherError),
    /// A stored value that cannot be read back (bad JSON, an unknown state index…).
    #[error("corrupt store: {0}")]
    Corrupt(String),
    #[error("not found: {0}")]
    NotFound(String),
}

/// The store. Cloning is cheap (a pool handle and a key handle).
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    cipher: Cipher,
    /// Webhook events: written or not, and the delivery worker's wake-up.
    outbox: outbox::Outbox,
}

impl Store {
    /// Opens (creating it if needed) the database at `database_url` and runs the migrations.
    /// Accepts `sqlite://path`, `sqlite:path`, `sqlite::memory:` and a bare file path.
    pub async fn open(database_url: &str, cipher: Cipher) -> Result<Store, StoreError> {
        let options = if database_url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(database_url)?
        } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            return Err(sqlx::Error::Configuration(
                "this build of gleaner supports SQLite databases only".into(),
            )
            .into());
        } else {
            SqliteConnectOptions::new().filename(database_url)
        };
        let options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            // Deleted rows (wiped secrets, sessions) are overwritten with zeros on disk.
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            cipher,
            outbox: outbox::Outbox::default(),
        })
    }

    /// Closes every connection; with SQLite the write-ahead log is checkpointed into the
    /// database file. Later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Unix milliseconds, strictly increasing within the process so that "oldest first" and
/// "newest" orders are stable even for rows written in the same millisecond.
fn now_ms() -> i64 {
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
fn rfc3339(ms: i64) -> String {
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

fn stored_state(index: i64) -> Result<State, StoreError> {
    state_from_index(index).ok_or_else(|| StoreError::Corrupt(format!("unknown state {index}")))
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Maps of strings and `serde_json::Value`s always serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
