//! Collects and their timelines. Each state change is one transaction that updates the
//! collect, appends to its timeline and updates the credential's state (when the collect is
//! still the credential's last one). A finished collect (`finished_at` set) no longer changes.
//! The webhook events of a change are written in its transaction (see [`super::outbox`]).

use sqlx::{FromRow, Sqlite, Transaction};

use super::change::{Change, CollectRef};
use super::columns::{new_id, now_ms, parse_json, rfc3339, stored_state, to_json};
use super::db::Store;
use super::error::StoreError;
use super::outbox;
use super::types::{Collect, CollectSummary, TimelineEntry};
use crate::codes::{ErrorInfo, ErrorKind, State};

const INTERRUPTED_MESSAGE: &str = "the service stopped during the collect";

#[derive(FromRow)]
struct CollectRow {
    id: String,
    credential_id: String,
    background: bool,
    state: i64,
    error_code: Option<String>,
    error_message: Option<String>,
    records: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

#[derive(FromRow)]
struct EventRow {
    state: i64,
    message: Option<String>,
    at: i64,
}

/// Appends to the collect's timeline, with the next sequence number.
async fn append_event(
    tx: &mut Transaction<'static, Sqlite>,
    collect_id: &str,
    state: State,
    message: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO collect_events (collect_id, seq, state, message, at) \
         SELECT $1, COALESCE(MAX(seq), -1) + 1, $2, $3, $4 \
         FROM collect_events WHERE collect_id = $1",
    )
    .bind(collect_id)
    .bind(i64::from(state.index()))
    .bind(message)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets the credential's state, if `collect_id` is still its last collect.
async fn follow_on_credential(
    tx: &mut Transaction<'static, Sqlite>,
    credential_id: &str,
    collect_id: &str,
    state: State,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE credentials SET state = $1, updated_at = $2 \
         WHERE id = $3 AND last_collect_id = $4",
    )
    .bind(i64::from(state.index()))
    .bind(at)
    .bind(credential_id)
    .bind(collect_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Starts a collect of the credential in state 1 (preparing), and makes it the
    /// credential's last collect. Whether one is already in progress is the caller's check
    /// ([`Store::collect_in_progress`]). A `verify` collect logs in only; its end is also
    /// reported as `credential.verified` or `credential.verification_failed`.
    pub async fn start_collect(
        &self,
        credential_id: &str,
        background: bool,
        verify: bool,
    ) -> Result<CollectSummary, StoreError> {
        let id = new_id();
        let now = now_ms();
        let state = State::Preparing;
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE credentials SET state = $1, last_collect_id = $2, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(i64::from(state.index()))
        .bind(&id)
        .bind(now)
        .bind(credential_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound(format!("credential {credential_id}")));
        }
        sqlx::query(
            "INSERT INTO collects (id, credential_id, background, verify, state, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(credential_id)
        .bind(background)
        .bind(verify)
        .bind(i64::from(state.index()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        append_event(&mut tx, &id, state, None, now).await?;
        let collect = CollectRef {
            collect_id: &id,
            credential_id,
            verify,
        };
        let change = Change::CollectState {
            collect,
            state,
            message: None,
        };
        outbox::record(&mut tx, &self.outbox, change, now).await?;
        tx.commit().await?;
        self.outbox.written();
        Ok(CollectSummary {
            id,
            credential_id: credential_id.to_string(),
            background,
            state: state.index(),
            state_name: state.name().to_string(),
        })
    }

    /// Records a state change of a running collect. Does nothing if the collect is
    /// already finished.
    pub async fn record_state(
        &self,
        collect_id: &str,
        state: State,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let updated: Option<(String, bool)> = sqlx::query_as(
            "UPDATE collects SET state = $1, updated_at = $2 \
             WHERE id = $3 AND finished_at IS NULL RETURNING credential_id, verify",
        )
        .bind(i64::from(state.index()))
        .bind(now)
        .bind(collect_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((credential_id, verify)) = updated else {
            drop(tx);
            return self.finished_or_missing(collect_id).await;
        };
        append_event(&mut tx, collect_id, state, message, now).await?;
        follow_on_credential(&mut tx, &credential_id, collect_id, state, now).await?;
        let collect = CollectRef {
            collect_id,
            credential_id: &credential_id,
            verify,
        };
        let change = Change::CollectState {
            collect,
            state,
            message,
        };
        outbox::record(&mut tx, &self.outbox, change, now).await?;
        tx.commit().await?;
        self.outbox.written();
        Ok(())
    }

    /// Ends a collect in `state` (normally -2, -1 or 7), with the error if it failed and the
    /// records it extracted. Does nothing if the collect is already finished.
    pub async fn finish_collect(
        &self,
        collect_id: &str,
        state: State,
        error: Option<&ErrorInfo>,
        records: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let records = (!records.is_null()).then(|| to_json(records));
        let mut tx = self.pool.begin().await?;
        let updated: Option<(String, bool)> = sqlx::query_as(
            "UPDATE collects SET state = $1, error_code = $2, error_message = $3, records = $4, \
             updated_at = $5, finished_at = $5 \
             WHERE id = $6 AND finished_at IS NULL RETURNING credential_id, verify",
        )
        .bind(i64::from(state.index()))
        .bind(error.map(|e| e.code.as_str()))
        .bind(error.map(|e| e.message.as_str()))
        .bind(records)
        .bind(now)
        .bind(collect_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((credential_id, verify)) = updated else {
            drop(tx);
            return self.finished_or_missing(collect_id).await;
        };
        let message = error.map(|e| e.message.as_str());
        append_event(&mut tx, collect_id, state, message, now).await?;
        follow_on_credential(&mut tx, &credential_id, collect_id, state, now).await?;
        let collect = CollectRef {
            collect_id,
            credential_id: &credential_id,
            verify,
        };
        outbox::collect_end(&mut tx, &self.outbox, collect, state, error, now).await?;
        tx.commit().await?;
        self.outbox.written();
        Ok(())
    }

    async fn finished_or_missing(&self, collect_id: &str) -> Result<(), StoreError> {
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM collects WHERE id = $1")
            .bind(collect_id)
            .fetch_optional(&self.pool)
            .await?;
        match exists {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(format!("collect {collect_id}"))),
        }
    }

    /// The collect with its timeline.
    pub async fn collect(&self, id: &str) -> Result<Option<Collect>, StoreError> {
        let row: Option<CollectRow> = sqlx::query_as(
            "SELECT id, credential_id, background, state, error_code, error_message, records, \
             created_at, finished_at FROM collects WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let events: Vec<EventRow> = sqlx::query_as(
            "SELECT state, message, at FROM collect_events WHERE collect_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let timeline = events
            .into_iter()
            .map(|e| {
                let state = stored_state(e.state)?;
                Ok(TimelineEntry {
                    state: state.index(),
                    name: state.name().to_string(),
                    message: e.message,
                    at: rfc3339(e.at),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let state = stored_state(row.state)?;
        let records = row
            .records
            .as_deref()
            .map(|r| parse_json(&format!("collect {id} records"), r))
            .transpose()?;
        let error = row.error_code.map(|code| ErrorInfo {
            code,
            message: row.error_message.unwrap_or_default(),
        });
        Ok(Some(Collect {
            id: row.id,
            credential_id: row.credential_id,
            background: row.background,
            state: state.index(),
            state_name: state.name().to_string(),
            error,
            timeline,
            records,
            created_at: rfc3339(row.created_at),
            finished_at: row.finished_at.map(rfc3339),
        }))
    }

    /// The credential's newest collect in states 1–6, if any.
    pub async fn collect_in_progress(
        &self,
        credential_id: &str,
    ) -> Result<Option<CollectSummary>, StoreError> {
        let row: Option<(String, bool, i64)> = sqlx::query_as(
            "SELECT id, background, state FROM collects \
             WHERE credential_id = $1 AND state BETWEEN 1 AND 6 AND finished_at IS NULL \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(credential_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, background, state)| {
            let state = stored_state(state)?;
            Ok(CollectSummary {
                id,
                credential_id: credential_id.to_string(),
                background,
                state: state.index(),
                state_name: state.name().to_string(),
            })
        })
        .transpose()
    }

    /// At start-up: every collect left in states 1–6 by a previous run ends in -1
    /// `INTERRUPTED`, and so does its credential. Returns how many there were.
    pub async fn interrupt_unfinished(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        let state = State::Error;
        let mut tx = self.pool.begin().await?;
        let interrupted: Vec<(String, String, bool)> = sqlx::query_as(
            "UPDATE collects SET state = $1, error_code = $2, error_message = $3, \
             updated_at = $4, finished_at = $4 \
             WHERE state BETWEEN 1 AND 6 AND finished_at IS NULL \
             RETURNING id, credential_id, verify",
        )
        .bind(i64::from(state.index()))
        .bind(ErrorKind::Interrupted.as_str())
        .bind(INTERRUPTED_MESSAGE)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let error = ErrorInfo {
            code: ErrorKind::Interrupted.as_str().to_string(),
            message: INTERRUPTED_MESSAGE.to_string(),
        };
        for (collect_id, credential_id, verify) in &interrupted {
            append_event(&mut tx, collect_id, state, Some(INTERRUPTED_MESSAGE), now).await?;
            follow_on_credential(&mut tx, credential_id, collect_id, state, now).await?;
            let collect = CollectRef {
                collect_id,
                credential_id,
                verify: *verify,
            };
            outbox::collect_end(&mut tx, &self.outbox, collect, state, Some(&error), now).await?;
        }
        tx.commit().await?;
        self.outbox.written();
        Ok(interrupted.len() as u64)
    }
}
