//! Session tokens of the embedded UI: random, short-lived, scoped to one user. Only their
//! SHA-256 is stored, so a copy of the database gives no usable token.

use sha2::{Digest, Sha256};
use sqlx::FromRow;

use super::columns::{now_ms, rfc3339};
use super::db::Store;
use super::error::StoreError;

/// What a backend asks a session for.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: String,
    pub connector: Option<String>,
    pub credential_id: Option<String>,
    pub redirect_url: Option<String>,
    pub hide_end_screen: bool,
    pub ttl: std::time::Duration,
}

/// A session, as the UI's requests find it.
#[derive(Debug, Clone, FromRow)]
pub struct Session {
    pub user_id: String,
    pub connector: Option<String>,
    pub credential_id: Option<String>,
    pub redirect_url: Option<String>,
    pub hide_end_screen: bool,
    /// Unix milliseconds.
    pub expires_at: i64,
}

impl Session {
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
    /// Creates a session; returns its token (shown once, never stored) and the session.
    pub async fn create_session(&self, new: NewSession) -> Result<(String, Session), StoreError> {
        let token = crate::secrets::random_token();
        let now = now_ms();
        let ttl = i64::try_from(new.ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let session = Session {
            user_id: new.user_id,
            connector: new.connector,
            credential_id: new.credential_id,
            redirect_url: new.redirect_url,
            hide_end_screen: new.hide_end_screen,
            expires_at: now.saturating_add(ttl),
        };
        // Expired sessions are useless: they go when new ones come.
        sqlx::query("DELETE FROM ui_sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO ui_sessions (token_hash, user_id, connector, credential_id, \
             redirect_url, hide_end_screen, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token_hash(&token))
        .bind(&session.user_id)
        .bind(&session.connector)
        .bind(&session.credential_id)
        .bind(&session.redirect_url)
        .bind(session.hide_end_screen)
        .bind(session.expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok((token, session))
    }

    /// The session of a token, expired or not (the caller tells the person which).
    pub async fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT user_id, connector, credential_id, redirect_url, hide_end_screen, expires_at \
             FROM ui_sessions WHERE token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await?)
    }
}
