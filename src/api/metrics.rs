//! `GET /metrics`: the service's Prometheus metrics (see [`crate::metrics`]), behind the
//! API key like the rest of the backend's API.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::{AppError, ErrorBody};
use super::state::AppState;

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    security(("api_key" = [])),
    responses(
        (status = 200, content_type = "application/openmetrics-text", body = String,
         description = "OpenMetrics text: gleaner_collects_started_total, gleaner_collects_finished_total, gleaner_collect_duration_seconds, gleaner_documents_new_total, gleaner_collects_in_progress, gleaner_collects_running, gleaner_collects_queued, gleaner_viewers, gleaner_webhook_events, gleaner_build_info"),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, AppError> {
    let collector = &state.collector;
    let mut gauges = collector.gauges().await;
    gauges.webhook_events = collector
        .store()
        .webhook_event_counts()
        .await?
        .into_iter()
        .map(|(status, n)| (status.as_str(), n))
        .collect();
    let text = collector.metrics().encode(&gauges);
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response())
}
