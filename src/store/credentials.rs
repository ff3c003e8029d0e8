//! Credentials: non-secret fields in clear, secret values encrypted one by one.
//!
//! A secret is sealed with the associated data `<credential id> NUL <field name>`: a blob
//! copied to another credential, or to another field, does not decrypt.

use indexmap::IndexMap;
use sqlx::FromRow;

use super::columns::{new_id, now_ms, parse_json, rfc3339, stored_state, to_json};
use super::db::Store;
use super::error::StoreError;
use super::types::{Credential, NewCredential};

/// `SELECT <the columns of CredentialRow> FROM credentials <tail>`.
macro_rules! select_credentials {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, connector, fields, secrets, state, last_collect_id, since, ",
            "created_at, updated_at, (SELECT s.next_collect_at FROM schedules s ",
            "WHERE s.credential_id = credentials.id) AS next_collect_at FROM credentials ",
            $tail
        )
    };
}

#[derive(FromRow)]
struct CredentialRow {
    id: String,
    user_id: String,
    connector: String,
    fields: String,
    secrets: String,
    state: i64,
    last_collect_id: Option<String>,
    since: Option<String>,
    created_at: i64,
    updated_at: i64,
    next_collect_at: Option<i64>,
}

impl CredentialRow {
    fn into_credential(self) -> Result<Credential, StoreError> {
        let what = |col: &str| format!("credential {} {col}", self.id);
        let fields: IndexMap<String, String> = parse_json(&what("fields"), &self.fields)?;
        let secrets: IndexMap<String, String> = parse_json(&what("secrets"), &self.secrets)?;
        let state = stored_state(self.state)?;
        Ok(Credential {
            id: self.id,
            user_id: self.user_id,
            connector: self.connector,
            fields,
            secret_fields: secrets.into_keys().collect(),
            state: state.index(),
            state_name: state.name().to_string(),
            last_collect_id: self.last_collect_id,
            since: self.since,
            next_collect_at: self.next_collect_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        })
    }
}

/// The associated data a secret of credential `credential_id` is sealed with.
fn secret_aad(credential_id: &str, name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(credential_id.len() + 1 + name.len());
    aad.extend_from_slice(credential_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(name.as_bytes());
    aad
}

impl Store {
    /// Stores a new credential (and its user, the first time), the secret values encrypted.
    pub async fn create_credential(&self, new: NewCredential) -> Result<Credential, StoreError> {
        let id = new_id();
        let now = now_ms();
        let mut fields = new.fields;
        fields.retain(|name, _| !new.secrets.contains_key(name));
        let sealed: IndexMap<&str, String> = new
            .secrets
            .iter()
            .map(|(name, value)| {
                let aad = secret_aad(&id, name);
                (name.as_str(), self.cipher.encrypt_str(value, &aad))
            })
            .collect();

        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&new.user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO credentials (id, user_id, connector, fields, secrets, browser_state, state, \
             last_collect_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, 0, NULL, $6, $6)",
        )
        .bind(&id)
        .bind(&new.user_id)
        .bind(&new.connector)
        .bind(to_json(&fields))
        .bind(to_json(&sealed))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;

        Ok(Credential {
            id,
            user_id: new.user_id,
            connector: new.connector,
            fields,
            secret_fields: new.secrets.into_keys().collect(),
            state: 0,
            state_name: crate::codes::State::Unknown.name().to_string(),
            last_collect_id: None,
            since: None,
            next_collect_at: None,
            created_at: rfc3339(now),
            updated_at: rfc3339(now),
        })
    }

    /// Replaces the credential's values (a person correcting their details, or adding an
    /// account they already had). Secret fields not given keep their stored value.
    pub async fn update_credential(
        &self,
        id: &str,
        fields: IndexMap<String, String>,
        secrets: IndexMap<String, String>,
    ) -> Result<Credential, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT secrets FROM credentials WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some((stored,)) = row else {
            return Err(StoreError::NotFound(format!("credential {id}")));
        };
        let mut sealed: IndexMap<String, String> =
            parse_json(&format!("credential {id} secrets"), &stored)?;
        for (name, value) in &secrets {
            sealed.insert(
                name.clone(),
                self.cipher.encrypt_str(value, &secret_aad(id, name)),
            );
        }
        let mut fields = fields;
        fields.retain(|name, _| !sealed.contains_key(name));
        sqlx::query(
            // A credential waiting for a person (-2) may be scheduled again once updated.
            "UPDATE credentials SET fields = $1, secrets = $2, updated_at = $3, \
             state = CASE WHEN state = -2 THEN 0 ELSE state END WHERE id = $4",
        )
        .bind(to_json(&fields))
        .bind(to_json(&sealed))
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.credential(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("credential {id}")))
    }

    /// The credential, without its secret values.
    pub async fn credential(&self, id: &str) -> Result<Option<Credential>, StoreError> {
        let row: Option<CredentialRow> = sqlx::query_as(select_credentials!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(CredentialRow::into_credential).transpose()
    }

    /// The user's credentials, oldest first.
    pub async fn credentials_of_user(&self, user_id: &str) -> Result<Vec<Credential>, StoreError> {
        let rows: Vec<CredentialRow> = sqlx::query_as(select_credentials!(
            "WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(CredentialRow::into_credential)
            .collect()
    }

    /// Every field value of the credential, secrets decrypted: what a collect logs in with.
    /// Non-secret fields come first.
    pub async fn credential_values(
        &self,
        id: &str,
    ) -> Result<Option<IndexMap<String, String>>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT fields, secrets FROM credentials WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some((fields, secrets)) = row else {
            return Ok(None);
        };
        let mut values: IndexMap<String, String> =
            parse_json(&format!("credential {id} fields"), &fields)?;
        let sealed: IndexMap<String, String> =
            parse_json(&format!("credential {id} secrets"), &secrets)?;
        for (name, blob) in sealed {
            let value = self.cipher.decrypt_str(&blob, &secret_aad(id, &name))?;
            values.insert(name, value);
        }
        Ok(Some(values))
    }

    /// Deletes the credential with its collects and documents. The secrets and the browser state
    /// are wiped first, in their own transaction, so that they are gone even if the delete
    /// fails. Returns false if there was no such credential.
    pub async fn delete_credential(&self, id: &str) -> Result<bool, StoreError> {
        let wiped = sqlx::query(
            "UPDATE credentials SET secrets = '{}', browser_state = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if wiped == 0 {
            return Ok(false);
        }
        let deleted = sqlx::query("DELETE FROM credentials WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }
}
