//! Tokens of the embedded UI: random, short-lived, scoped to one user. Only their
//! SHA-256 is stored, so a copy of the database gives no usable token.

use sha2::{Digest, Sha256};
use sqlx::FromRow;

use super::columns::{now_ms, rfc3339};
use super::db::Store;
use super::error::StoreError;

/// What a backend asks a UI token for.
#[derive(Debug, Clone)]
pub struct NewUiToken {
    pub user_id: String,
    pub connector: Option<String>,
    pub credential_id: Option<String>,
    pub redirect_url: Option<String>,
    pub hide_end_screen: bool,
    pub ttl: std::time::Duration,
}

/// A UI token, as the UI's requests find it.
#[derive(Debug, Clone, FromRow)]
pub struct UiToken {
    pub user_id: String,
    pub connector: Option<String>,
    pub credential_id: Option<String>,
    pub redirect_url: Option<String>,
    pub hide_end_screen: bool,
    /// Unix milliseconds.
    pub expires_at: i64,
}

impl UiToken {
    pub fn is_expired(&self) -> bool {
        now_ms() >= self.expires_at
    }

    pub fn expires_at_rfc3339(&self) -> String {
        rfc3339(self.expires_at)
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Creates a UI token; returns it (shown once, never stored) and what it grants.
    pub async fn create_ui_token(&self, new: NewUiToken) -> Result<(String, UiToken), StoreError> {
        let token = crate::secrets::random_token();
        let now = now_ms();
        let ttl = i64::try_from(new.ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let ui_token = UiToken {
            user_id: new.user_id,
            connector: new.connector,
            credential_id: new.credential_id,
            redirect_url: new.redirect_url,
            hide_end_screen: new.hide_end_screen,
            expires_at: now.saturating_add(ttl),
        };
        // Expired tokens are useless: they go when new ones come.
        sqlx::query("DELETE FROM ui_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO ui_tokens (token_hash, user_id, connector, credential_id, \
             redirect_url, hide_end_screen, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token_hash(&token))
        .bind(&ui_token.user_id)
        .bind(&ui_token.connector)
        .bind(&ui_token.credential_id)
        .bind(&ui_token.redirect_url)
        .bind(ui_token.hide_end_screen)
        .bind(ui_token.expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok((token, ui_token))
    }

    /// What a token grants, expired or not (the caller tells the person which).
    pub async fn ui_token(&self, token: &str) -> Result<Option<UiToken>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT user_id, connector, credential_id, redirect_url, hide_end_screen, expires_at \
             FROM ui_tokens WHERE token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await?)
    }
}
