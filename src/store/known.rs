//! What a credential already has: the documents collected before (by the site's id and by
//! sha256), so that a collect downloads only new ones, and the `since` date before which
//! documents are not wanted.

use std::collections::HashSet;

use super::{Store, StoreError, now_ms};

/// The key of a document known by the site's id.
pub fn id_key(doc_id: &str) -> String {
    format!("id:{doc_id}")
}

/// The key of a document known by its content.
pub fn sha_key(sha256: &str) -> String {
    format!("sha256:{sha256}")
}

impl Store {
    /// Every document the credential has: `id:<site id>` and `sha256:<hex>` keys.
    pub async fn known_documents(
        &self,
        credential_id: &str,
    ) -> Result<HashSet<String>, StoreError> {
        let rows: Vec<(Option<String>, String)> =
            sqlx::query_as("SELECT doc_id, sha256 FROM documents WHERE credential_id = $1")
                .bind(credential_id)
                .fetch_all(&self.pool)
                .await?;
        let mut known = HashSet::with_capacity(rows.len() * 2);
        for (doc_id, sha) in rows {
            if let Some(id) = doc_id {
                known.insert(id_key(&id));
            }
            known.insert(sha_key(&sha));
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
