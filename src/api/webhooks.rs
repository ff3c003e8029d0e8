//! The webhook outbox as backends see it: the deliveries, and the replay of a dead (or
//! delivered) event.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{AppError, ErrorBody};
use super::state::AppState;
use crate::store::{Delivery, DeliveryStatus, Replay};

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only the events in this status.
    pub status: Option<DeliveryStatus>,
    /// At most this many, newest first (default 100); 0 or over 1000 is refused (400).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/webhooks/deliveries",
    tag = "webhooks",
    security(("api_key" = [])),
    params(DeliveriesQuery),
    responses(
        (status = 200, body = Vec<Delivery>, description = "the webhook events and their delivery, newest first"),
        (status = 400, body = ErrorBody, description = "an unknown status or parameter, or a limit that is not 1 to 1000"),
    )
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<Vec<Delivery>>, AppError> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit {limit}: from 1 to {MAX_LIMIT}"
        )));
    }
    let deliveries = state
        .collector
        .store()
        .webhook_deliveries(query.status, limit)
        .await?;
    Ok(Json(deliveries))
}

#[utoipa::path(
    post,
    path = "/webhooks/deliveries/{id}/replay",
    tag = "webhooks",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "the event id (`msg_…`)")),
    responses(
        (status = 200, body = Delivery, description = "the event is pending again, attempts reset; it keeps its place in its credential's order"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the event is still pending"),
    )
)]
pub async fn replay_delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Delivery>, AppError> {
    match state.collector.store().replay_webhook(&id).await? {
        Replay::Replayed(delivery) => Ok(Json(delivery)),
        Replay::Pending => Err(AppError::Conflict(format!(
            "webhook event {id} is still pending: it will be delivered or dead-lettered first"
        ))),
        Replay::NotFound => Err(AppError::NotFound(format!("no webhook event {id}"))),
    }
}
