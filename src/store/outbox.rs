//! The webhook outbox: each event is a row of `webhook_events`, written in the transaction
//! of the change it reports (a collect's state, its end, a document), with its delivery
//! state. The delivery worker ([`crate::webhooks`]) reads the pending rows back in order
//! and records each attempt.
//!
//! Events are written only when the store was opened for webhooks
//! ([`Store::with_webhooks`]): a service without a webhook URL keeps no outbox, so that
//! configuring one later does not send months of old events.
//!
//! The store describes each change as facts ([`Change`]); the reporter given to
//! [`Store::with_webhooks`] (the webhooks module's) turns them into events, which the
//! store keeps as they are: a type and a JSON body.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Sqlite, Transaction};
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::change::{Change, CollectRef, OutboxEvent, Reporter};
use super::columns::{now_ms, rfc3339};
use super::db::{Outbox, Store};
use super::error::StoreError;
use crate::codes::{ErrorInfo, State};

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet: waiting for its turn or for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; it blocks nothing and can be replayed.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "dead" => Ok(DeliveryStatus::Dead),
            other => Err(StoreError::Corrupt(format!("webhook status {other:?}"))),
        }
    }
}

/// An event and its delivery, as `GET /webhooks/deliveries` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// `msg_…`: the `webhook-id` header.
    pub id: String,
    /// `collect.state`, `document.new`…
    #[serde(rename = "type")]
    pub event_type: String,
    pub credential_id: Option<String>,
    pub status: DeliveryStatus,
    /// Attempts since the event was written or last replayed.
    pub attempts: u32,
    /// The HTTP status of the last attempt, if the receiver answered.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// When a pending event is tried next.
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
}

/// A pending event at the head of its credential's queue, for the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub id: String,
    pub seq: i64,
    pub credential_id: Option<String>,
    pub event_type: String,
    /// The stored JSON payload.
    pub payload: String,
    pub attempts: u32,
    /// Unix milliseconds.
    pub next_attempt_at: i64,
}

/// How one delivery attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// 2xx, with the status.
    Delivered { status: u16 },
    /// Not delivered: the status if the receiver answered, and why. `retry_at` (unix ms)
    /// is when to try again; `None` makes the event dead.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<i64>,
    },
}

/// What a replay found.
#[derive(Debug)]
pub enum Replay {
    /// Put back to pending, attempts reset.
    Replayed(Delivery),
    /// Still pending: nothing to replay.
    Pending,
    NotFound,
}

#[derive(FromRow)]
struct DeliveryRow {
    id: String,
    credential_id: Option<String>,
    #[sqlx(rename = "type")]
    event_type: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    delivered_at: Option<i64>,
    created_at: i64,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery, StoreError> {
        let status = DeliveryStatus::parse(&self.status)?;
        Ok(Delivery {
            id: self.id,
            event_type: self.event_type,
            credential_id: self.credential_id,
            status,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            last_status: self.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: self.last_error,
            next_attempt_at: (status == DeliveryStatus::Pending)
                .then(|| rfc3339(self.next_attempt_at)),
            delivered_at: self.delivered_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
        })
    }
}

/// `SELECT <the columns of DeliveryRow> FROM webhook_events <tail>`.
macro_rules! select_deliveries {
    ($tail:literal) => {
        concat!(
            "SELECT id, credential_id, type, status, attempts, next_attempt_at, last_status, ",
            "last_error, delivered_at, created_at FROM webhook_events ",
            $tail
        )
    };
}

#[derive(FromRow)]
struct PendingRow {
    id: String,
    seq: i64,
    credential_id: Option<String>,
    #[sqlx(rename = "type")]
    event_type: String,
    payload: String,
    attempts: i64,
    next_attempt_at: i64,
}

/// Writes the events of `change` in `tx`, after the transaction's other writes. Does
/// nothing when the outbox is disabled.
pub(super) async fn record(
    tx: &mut Transaction<'static, Sqlite>,
    outbox: &Outbox,
    change: Change<'_>,
    at: i64,
) -> Result<(), StoreError> {
    let Some(reporter) = outbox.reporter else {
        return Ok(());
    };
    let events = reporter(&change, &rfc3339(at))
        .map_err(|e| StoreError::Corrupt(format!("a webhook event: {e}")))?;
    for event in events {
        write_event(tx, change.credential_id(), &event, at).await?;
    }
    Ok(())
}

/// Records a collect's end, with the count of the documents it added.
pub(super) async fn collect_end(
    tx: &mut Transaction<'static, Sqlite>,
    outbox: &Outbox,
    collect: CollectRef<'_>,
    state: State,
    error: Option<&ErrorInfo>,
    at: i64,
) -> Result<(), StoreError> {
    if outbox.reporter.is_none() {
        return Ok(());
    }
    let new_documents: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE collect_id = $1")
            .bind(collect.collect_id)
            .fetch_one(&mut **tx)
            .await?;
    let change = Change::CollectEnd {
        collect,
        state,
        error,
        new_documents,
    };
    record(tx, outbox, change, at).await
}

async fn write_event(
    tx: &mut Transaction<'static, Sqlite>,
    credential_id: &str,
    event: &OutboxEvent,
    at: i64,
) -> Result<(), StoreError> {
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(
        "INSERT INTO webhook_events (id, seq, credential_id, type, payload, created_at, \
         status, attempts, next_attempt_at) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, 'pending', 0, $5 \
         FROM webhook_events",
    )
    .bind(&id)
    .bind(credential_id)
    .bind(event.event_type)
    .bind(&event.payload)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// From now on, changes write the webhook events `reporter` makes of them to the
    /// outbox. Call before cloning the store out.
    pub fn with_webhooks(mut self, reporter: Reporter) -> Store {
        self.outbox.reporter = Some(reporter);
        self
    }

    /// Notified after each commit that wrote events (and after a replay).
    pub fn webhook_wakeup(&self) -> Arc<Notify> {
        self.outbox.wake.clone()
    }

    /// How many events the outbox holds per status (every status listed, 0 included).
    pub async fn webhook_event_counts(&self) -> Result<Vec<(DeliveryStatus, i64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM webhook_events GROUP BY status")
                .fetch_all(&self.pool)
                .await?;
        let mut counts = vec![
            (DeliveryStatus::Pending, 0),
            (DeliveryStatus::Delivered, 0),
            (DeliveryStatus::Dead, 0),
        ];
        for (status, n) in rows {
            let status = DeliveryStatus::parse(&status)?;
            if let Some(c) = counts.iter_mut().find(|(s, _)| *s == status) {
                c.1 = n;
            }
        }
        Ok(counts)
    }

    /// The pending events that may be sent now or later: for each credential, its oldest
    /// pending event only (a later one waits until it is delivered or dead), soonest
    /// attempt first, then in write order. At most `limit`.
    pub async fn webhook_heads(&self, limit: u32) -> Result<Vec<PendingEvent>, StoreError> {
        let rows: Vec<PendingRow> = sqlx::query_as(
            "SELECT e.id, e.seq, e.credential_id, e.type, e.payload, e.attempts, \
             e.next_attempt_at FROM webhook_events e \
             WHERE e.status = 'pending' AND NOT EXISTS ( \
                 SELECT 1 FROM webhook_events p \
                 WHERE p.status = 'pending' AND p.credential_id = e.credential_id \
                 AND p.seq < e.seq) \
             ORDER BY e.next_attempt_at, e.seq LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PendingEvent {
                id: r.id,
                seq: r.seq,
                credential_id: r.credential_id,
                event_type: r.event_type,
                payload: r.payload,
                attempts: u32::try_from(r.attempts).unwrap_or(0),
                next_attempt_at: r.next_attempt_at,
            })
            .collect())
    }

    /// Records an attempt at a pending event (one more attempt; delivered, retried later,
    /// or dead). Does nothing if the event is no longer pending.
    pub async fn record_webhook_attempt(
        &self,
        id: &str,
        attempt: &Attempt,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let query = match attempt {
            Attempt::Delivered { status } => sqlx::query(
                "UPDATE webhook_events SET status = 'delivered', attempts = attempts + 1, \
                 last_status = $1, last_error = NULL, delivered_at = $2 \
                 WHERE id = $3 AND status = 'pending'",
            )
            .bind(i64::from(*status))
            .bind(now)
            .bind(id),
            Attempt::Failed {
                status,
                error,
                retry_at,
            } => sqlx::query(
                "UPDATE webhook_events SET status = $1, attempts = attempts + 1, \
                 last_status = $2, last_error = $3, next_attempt_at = $4 \
                 WHERE id = $5 AND status = 'pending'",
            )
            .bind(match retry_at {
                Some(_) => DeliveryStatus::Pending.as_str(),
                None => DeliveryStatus::Dead.as_str(),
            })
            .bind(status.map(i64::from))
            .bind(error)
            .bind(retry_at.unwrap_or(now))
            .bind(id),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// The events, newest first, optionally of one status.
    pub async fn webhook_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = match status {
            Some(status) => {
                sqlx::query_as(select_deliveries!(
                    "WHERE status = $1 ORDER BY seq DESC LIMIT $2"
                ))
                .bind(status.as_str())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(select_deliveries!("ORDER BY seq DESC LIMIT $1"))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }

    pub async fn webhook_delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        let row: Option<DeliveryRow> = sqlx::query_as(select_deliveries!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(DeliveryRow::into_delivery).transpose()
    }

    /// Puts a dead or delivered event back to pending, attempts reset, due now. It keeps
    /// its place in its credential's order: later pending events wait for it.
    pub async fn replay_webhook(&self, id: &str) -> Result<Replay, StoreError> {
        let now = now_ms();
        let replayed = sqlx::query(
            "UPDATE webhook_events SET status = 'pending', attempts = 0, next_attempt_at = $1, \
             delivered_at = NULL WHERE id = $2 AND status <> 'pending'",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let delivery = self.webhook_delivery(id).await?;
        Ok(match delivery {
            None => Replay::NotFound,
            Some(d) if replayed > 0 => {
                self.outbox.wake.notify_one();
                Replay::Replayed(d)
            }
            Some(_) => Replay::Pending,
        })
    }
}
