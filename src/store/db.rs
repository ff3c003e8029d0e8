//! The store's handle: the database pool, the key of the secrets, and the outbox's
//! setting; opening runs the migrations.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tokio::sync::Notify;

use super::change::Reporter;
use super::error::StoreError;
use crate::secrets::{Cipher, private_file};

/// The store. Cloning is cheap (a pool handle and a key handle).
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) pool: SqlitePool,
    pub(super) cipher: Cipher,
    /// Webhook events: written or not, and the delivery worker's wake-up.
    pub(super) outbox: Outbox,
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
        // The file exists with mode 0600 before SQLite opens it, and SQLite gives its WAL and
        // SHM the database's mode; files an older version left readable are fixed.
        let file = options.get_filename().to_path_buf();
        let on_disk = !file.as_os_str().is_empty() && file.as_os_str() != ":memory:";
        let restrict = |path: &std::path::Path, create: bool| {
            let done = if create {
                private_file::create_empty(path)
            } else {
                private_file::restrict(path)
            };
            done.map_err(|source| StoreError::FileMode {
                path: path.to_path_buf(),
                source,
            })
        };
        if on_disk {
            restrict(&file, true)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        if on_disk {
            for suffix in ["-wal", "-shm"] {
                let mut side = file.clone().into_os_string();
                side.push(suffix);
                restrict(std::path::Path::new(&side), false)?;
            }
        }
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            cipher,
            outbox: Outbox::default(),
        })
    }

    /// Closes every connection; with SQLite the write-ahead log is checkpointed into the
    /// database file. Later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether events are written (with a reporter), and the wake-up of the delivery worker.
/// Shared by clones.
#[derive(Debug, Clone, Default)]
pub(super) struct Outbox {
    pub(super) reporter: Option<Reporter>,
    pub(super) wake: Arc<Notify>,
}

impl Outbox {
    /// After a commit that wrote events: the worker looks again (a permit is kept if it is
    /// busy, so no wake-up is lost).
    pub(super) fn written(&self) {
        if self.reporter.is_some() {
            self.wake.notify_one();
        }
    }
}
