//! The browser state kept per credential (cookies and localStorage), in the credential's
//! `browser_state` column, sealed like its secrets. `delete_credential` wipes it with them.
//!
//! It is sealed with the associated data `<credential id> NUL ":session"`: a blob copied to
//! another credential does not decrypt, and it cannot pass for a secret field's value (a
//! secret is sealed with `<credential id> NUL <field name>`, and no field name starts with
//! `:`). The label stays `:session`, the name it had when the first states were sealed, so
//! they still open.

use super::db::Store;
use super::error::StoreError;
use crate::browser::BrowserState;

fn state_aad(credential_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(credential_id.len() + 9);
    aad.extend_from_slice(credential_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(b":session");
    aad
}

impl Store {
    /// Keeps the credential's browser state, replacing the previous one. A credential
    /// deleted meanwhile keeps nothing.
    pub async fn save_browser_state(
        &self,
        credential_id: &str,
        session: &BrowserState,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(session)
            .map_err(|e| StoreError::Corrupt(format!("browser state: {e}")))?;
        let sealed = self.cipher.encrypt_str(&json, &state_aad(credential_id));
        sqlx::query("UPDATE credentials SET browser_state = $1 WHERE id = $2")
            .bind(sealed)
            .bind(credential_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The credential's kept browser state, if any. A state that cannot be read back
    /// (another key, altered, an old format) is as good as none: a warning, and the collect
    /// logs in afresh.
    pub async fn load_browser_state(&self, credential_id: &str) -> Option<BrowserState> {
        let row: Result<Option<(Option<String>,)>, sqlx::Error> =
            sqlx::query_as("SELECT browser_state FROM credentials WHERE id = $1")
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await;
        let sealed = match row {
            Ok(Some((Some(sealed),))) => sealed,
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(
                    credential = credential_id,
                    "cannot read the browser state: {e}"
                );
                return None;
            }
        };
        let json = match self.cipher.decrypt_str(&sealed, &state_aad(credential_id)) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(
                    credential = credential_id,
                    "the kept browser state is unreadable, ignored: {e}"
                );
                return None;
            }
        };
        match serde_json::from_str(&json) {
            Ok(session) => Some(session),
            Err(e) => {
                // serde's message may quote the input: name the line and column only.
                tracing::warn!(
                    credential = credential_id,
                    "the kept browser state does not parse, ignored (line {}, column {})",
                    e.line(),
                    e.column()
                );
                None
            }
        }
    }

    /// Forgets the credential's browser state.
    pub async fn delete_browser_state(&self, credential_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE credentials SET browser_state = NULL WHERE id = $1")
            .bind(credential_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use indexmap::IndexMap;
    use tempfile::TempDir;

    use super::*;
    use crate::browser::KeptCookie;
    use crate::secrets::{Cipher, MasterKey};
    use crate::store::NewCredential;

    const COOKIE_VALUE: &str = "sid-value-5c1f0e9a7b3d";
    const TOKEN_VALUE: &str = "bearer-token-9d2e4f6a8c0b";

    async fn open(dir: &TempDir, key: u8) -> Store {
        let url = format!("sqlite://{}", dir.path().join("gleaner.db").display());
        Store::open(&url, Cipher::new(&MasterKey::from_bytes([key; 32])))
            .await
            .unwrap()
    }

    async fn credential(store: &Store) -> String {
        let new = NewCredential {
            user_id: "u1".into(),
            connector: "demo-bank".into(),
            fields: IndexMap::from([("login".to_string(), "alice".to_string())]),
            secrets: IndexMap::from([("password".to_string(), "demo".to_string())]),
        };
        store.create_credential(new).await.unwrap().id
    }

    fn session() -> BrowserState {
        BrowserState {
            cookies: vec![KeptCookie {
                name: "sid".into(),
                value: COOKIE_VALUE.into(),
                domain: "127.0.0.1".into(),
                path: "/".into(),
                expires: None,
                http_only: true,
                secure: false,
                same_site: Some("Lax".into()),
                source_scheme: Some("NonSecure".into()),
                source_port: Some(4321),
                partition_key: None,
            }],
            local_storage: BTreeMap::from([(
                "http://127.0.0.1:4321".to_string(),
                BTreeMap::from([("token".to_string(), TOKEN_VALUE.to_string())]),
            )]),
        }
    }

    fn files_contain(dir: &TempDir, needle: &str) -> bool {
        std::fs::read_dir(dir.path()).unwrap().any(|e| {
            let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
    }

    #[tokio::test]
    async fn a_browser_state_round_trips_encrypted_and_is_replaced() {
        let dir = TempDir::new().unwrap();
        let store = open(&dir, 1).await;
        let id = credential(&store).await;
        assert_eq!(store.load_browser_state(&id).await, None);
        store.save_browser_state(&id, &session()).await.unwrap();
        assert_eq!(store.load_browser_state(&id).await, Some(session()));

        let mut newer = session();
        newer.cookies[0].value = "another".into();
        store.save_browser_state(&id, &newer).await.unwrap();
        assert_eq!(store.load_browser_state(&id).await, Some(newer));

        store.close().await;
        for value in [COOKIE_VALUE, TOKEN_VALUE, "another"] {
            assert!(
                !files_contain(&dir, value),
                "{value} is in the database in clear"
            );
        }
    }

    #[tokio::test]
    async fn a_browser_state_of_another_credential_or_key_reads_as_none() {
        let dir = TempDir::new().unwrap();
        let store = open(&dir, 1).await;
        let a = credential(&store).await;
        let b = credential(&store).await;
        store.save_browser_state(&a, &session()).await.unwrap();
        // Moved to another credential: it does not authenticate there.
        sqlx::query("UPDATE credentials SET browser_state = (SELECT browser_state FROM credentials WHERE id = $1) WHERE id = $2")
            .bind(&a)
            .bind(&b)
            .execute(&store.pool)
            .await
            .unwrap();
        assert_eq!(store.load_browser_state(&b).await, None);
        // Garbage, and a sealed value that is not a browser state.
        sqlx::query("UPDATE credentials SET browser_state = 'not base64!' WHERE id = $1")
            .bind(&b)
            .execute(&store.pool)
            .await
            .unwrap();
        assert_eq!(store.load_browser_state(&b).await, None);
        let sealed = store.cipher.encrypt_str("[1, 2", &state_aad(&b));
        sqlx::query("UPDATE credentials SET browser_state = $1 WHERE id = $2")
            .bind(sealed)
            .bind(&b)
            .execute(&store.pool)
            .await
            .unwrap();
        assert_eq!(store.load_browser_state(&b).await, None);
        store.close().await;
        // Another master key reads none either.
        let other = open(&dir, 2).await;
        assert_eq!(other.load_browser_state(&a).await, None);
        other.close().await;
        let same = open(&dir, 1).await;
        assert_eq!(same.load_browser_state(&a).await, Some(session()));
        same.close().await;
    }

    #[tokio::test]
    async fn deleting_the_credential_or_the_browser_state_leaves_none() {
        let dir = TempDir::new().unwrap();
        let store = open(&dir, 1).await;
        let id = credential(&store).await;
        store.save_browser_state(&id, &session()).await.unwrap();
        store.delete_browser_state(&id).await.unwrap();
        assert_eq!(store.load_browser_state(&id).await, None);

        store.save_browser_state(&id, &session()).await.unwrap();
        assert!(store.delete_credential(&id).await.unwrap());
        assert_eq!(store.load_browser_state(&id).await, None);
        let left: (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM credentials WHERE browser_state IS NOT NULL")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!(left.0, 0);
        // Saving for a deleted credential keeps nothing.
        store.save_browser_state(&id, &session()).await.unwrap();
        assert_eq!(store.load_browser_state(&id).await, None);
        store.close().await;
    }
}
