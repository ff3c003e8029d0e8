//! What a credential already has: the documents collected before (by the site's id and by
//! sha256), so that a collect downloads only new ones, and the `since` date before which
//! documents are not wanted.

use chrono::NaiveDate;

use super::columns::now_ms;
use super::db::Store;
use super::error::StoreError;
use crate::engine::KnownDocuments;

/// The day a credential's `since` column holds (ISO `YYYY-MM-DD`); `None` when it holds
/// something else.
pub fn since_day(since: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(since.trim(), "%Y-%m-%d").ok()
}

impl Store {
    /// Every document the credential has, by the site's id and by sha256.
    pub async fn known_documents(&self, credential_id: &str) -> Result<KnownDocuments, StoreError> {
        let rows: Vec<(Option<String>, String)> =
            sqlx::query_as("SELECT doc_id, sha256 FROM documents WHERE credential_id = $1")
                .bind(credential_id)
                .fetch_all(&self.pool)
                .await?;
        let mut known = KnownDocuments::default();
        for (doc_id, sha) in rows {
            if let Some(id) = doc_id {
                known.ids.insert(id);
            }
            known.sha256s.insert(sha);
        }
        Ok(known)
    }

    /// Sets (or clears) the day before which documents are skipped.
    pub async fn set_since(
        &self,
        credential_id: &str,
        since: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE credentials SET since = $1, updated_at = $2 WHERE id = $3")
            .bind(since)
            .bind(now_ms())
            .bind(credential_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}
