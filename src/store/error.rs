//! The store's error.

use crate::secrets::CipherError;

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
    /// The database file's mode could not be set to 0600.
    #[error("database file {}: {source}", path.display())]
    FileMode {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
