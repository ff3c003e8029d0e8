//! A credential's schedule of background collects: `PUT`, `GET` and `DELETE
//! /credential/{id}/schedule`. Each change wakes the scheduler, so that a schedule due now
//! runs at once.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiJson, AppError, ErrorBody};
use super::state::AppState;
use crate::store::{Schedule, StoreError};

/// The longest `every`: a year.
const MAX_EVERY: Duration = Duration::from_secs(366 * 86_400);

/// A duration: `24h`, `30m`, `90s`, `7d`, or a number of seconds; at most 366 days.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DurationValue {
    /// Any JSON number: JSON Schema's `integer` includes `60.0`, so an integral float is
    /// whole seconds too.
    Seconds(serde_json::Number),
    Text(String),
}

/// Written by hand: the derive cannot carry the range of the number and the pattern of the
/// text.
impl utoipa::PartialSchema for DurationValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .maximum(Some(MAX_EVERY.as_secs()))
            .description(Some("seconds"));
        let text = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^[0-9]+[smhd]?$"))
            .description(Some("digits and one unit: s, m, h or d (`24h`, `7d`)"));
        OneOfBuilder::new()
            .item(seconds)
            .item(text)
            .description(Some(
                "A duration: `24h`, `30m`, `90s`, `7d`, or a number of seconds; at most 366 days.",
            ))
            .into()
    }
}

impl ToSchema for DurationValue {}

/// Whether `text` is written as the document says: digits, then at most one unit.
fn written_as_documented(text: &str) -> bool {
    let digits = text.trim_end_matches(['s', 'm', 'h', 'd']);
    text.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

impl DurationValue {
    /// Whole seconds; `what` names the field in errors.
    fn to_duration(&self, what: &str) -> Result<Duration, AppError> {
        let bad = |why: String| AppError::Unprocessable(format!("{what}: {why}"));
        let duration = match self {
            DurationValue::Seconds(n) => {
                let whole = n.as_u64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && (0.0..=MAX_EVERY.as_secs_f64()).contains(f))
                        .map(|f| f as u64)
                });
                Duration::from_secs(whole.ok_or_else(|| {
                    bad(format!(
                        "{n} is not a whole number of seconds from 0 to 366 days"
                    ))
                })?)
            }
            DurationValue::Text(text) if !written_as_documented(text) => {
                return Err(bad(format!(
                    "{:?} is not a whole number of seconds, minutes, hours or days: write digits and one unit (s, m, h or d), such as 24h or 7d",
                    super::error::capped(text)
                )));
            }
            DurationValue::Text(text) => {
                crate::duration::parse_with_days(text).map_err(|e| bad(e.to_string()))?
            }
        };
        if duration.subsec_nanos() != 0 {
            return Err(bad(format!(
                "{duration:?} is not a whole number of seconds"
            )));
        }
        if duration > MAX_EVERY {
            return Err(bad("at most 366 days".into()));
        }
        Ok(duration)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetSchedule {
    /// The interval between two background collects: `24h`, `7d`, or seconds. At least
    /// 60 s.
    pub every: DurationValue,
    /// A random delay from 0 to this, added to each interval. At most `every`. Default 0.
    #[serde(default)]
    pub jitter: Option<DurationValue>,
    /// When the first collect runs (RFC 3339). Default: now + `every`. A time in the past
    /// runs at once.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub first_at: Option<String>,
}

/// A credential's schedule.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    pub credential_id: String,
    /// Seconds between two collects.
    pub every: u64,
    /// Seconds: the most the random delay adds to `every`.
    pub jitter: u64,
    /// When the next background collect starts (RFC 3339).
    pub next_collect_at: String,
    /// When the scheduler last started (or attached to) a collect, if ever.
    pub last_started_at: Option<String>,
}

impl From<Schedule> for ScheduleView {
    fn from(s: Schedule) -> Self {
        let secs = |ms: i64| u64::try_from(ms / 1000).unwrap_or(0);
        ScheduleView {
            credential_id: s.credential_id,
            every: secs(s.every_ms),
            jitter: secs(s.jitter_ms),
            next_collect_at: rfc3339(s.next_collect_at),
            last_started_at: s.last_started_at.map(rfc3339),
        }
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

async fn require_credential(state: &AppState, id: &str) -> Result<(), AppError> {
    match state.collector.store().credential(id).await? {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound(format!("no credential {id}"))),
    }
}

#[utoipa::path(
    put,
    path = "/credential/{id}/schedule",
    tag = "schedules",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    request_body = SetSchedule,
    responses(
        (status = 200, body = ScheduleView, description = "the schedule, created or replaced"),
        (status = 404, body = ErrorBody, description = "no such credential"),
        (status = 422, body = ErrorBody, description = "every too short, jitter longer than every, a bad duration or date"),
    )
)]
pub async fn put_schedule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetSchedule>,
) -> Result<Json<ScheduleView>, AppError> {
    let every = body.every.to_duration("every")?;
    let min = state.schedules.min_interval;
    if every < min || every.is_zero() {
        return Err(AppError::Unprocessable(format!(
            "every: at least {}s",
            min.as_secs().max(1)
        )));
    }
    let jitter = match &body.jitter {
        Some(j) => j.to_duration("jitter")?,
        None => Duration::ZERO,
    };
    if jitter > every {
        return Err(AppError::Unprocessable(
            "jitter: at most every (the interval)".into(),
        ));
    }
    let first_at = match &body.first_at {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|e| {
                AppError::Unprocessable(format!(
                    "firstAt: {e}: expected an RFC 3339 time such as 2025-01-31T06:00:00Z"
                ))
            })?
            .timestamp_millis(),
        None => chrono::Utc::now()
            .timestamp_millis()
            .saturating_add(millis(every)),
    };
    require_credential(&state, &id).await?;
    let schedule = state
        .collector
        .store()
        .set_schedule(&id, millis(every), millis(jitter), first_at)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => AppError::NotFound(format!("no credential {id}")),
            e => e.into(),
        })?;
    state.schedules.wakeup.poke();
    Ok(Json(schedule.into()))
}

#[utoipa::path(
    get,
    path = "/credential/{id}/schedule",
    tag = "schedules",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ScheduleView),
        (status = 404, body = ErrorBody, description = "no such credential, or it has no schedule"),
    )
)]
pub async fn get_schedule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ScheduleView>, AppError> {
    require_credential(&state, &id).await?;
    state
        .collector
        .store()
        .schedule(&id)
        .await?
        .map(|s| Json(s.into()))
        .ok_or_else(|| AppError::NotFound(format!("credential {id} has no schedule")))
}

#[utoipa::path(
    delete,
    path = "/credential/{id}/schedule",
    tag = "schedules",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "deleted: no more scheduled collects (one in progress goes on)"),
        (status = 404, body = ErrorBody, description = "no such credential, or it has no schedule"),
    )
)]
pub async fn delete_schedule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    require_credential(&state, &id).await?;
    if !state.collector.store().delete_schedule(&id).await? {
        return Err(AppError::NotFound(format!(
            "credential {id} has no schedule"
        )));
    }
    state.schedules.wakeup.poke();
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_text_days_or_seconds() {
        let secs = |v: DurationValue| v.to_duration("every").map(|d| d.as_secs());
        assert_eq!(secs(DurationValue::Text("24h".into())).unwrap(), 86_400);
        assert_eq!(secs(DurationValue::Text("7d".into())).unwrap(), 7 * 86_400);
        assert_eq!(secs(DurationValue::Text("90".into())).unwrap(), 90);
        assert_eq!(secs(DurationValue::Seconds(3600.into())).unwrap(), 3600);
        // Found by schemathesis: `integer` in JSON Schema includes an integral float.
        let float = |f: f64| DurationValue::Seconds(serde_json::Number::from_f64(f).unwrap());
        assert_eq!(secs(float(1_750_243.0)).unwrap(), 1_750_243);
        for bad in [1.5, -60.0, 1e300] {
            assert!(secs(float(bad)).is_err(), "{bad}");
        }
        assert!(secs(DurationValue::Seconds((-60).into())).is_err());
        for bad in [
            "1.5s", "soon", "400d", "-1h", " 1h", "1 h", "1ms", "1min", "h",
        ] {
            assert!(secs(DurationValue::Text(bad.into())).is_err(), "{bad}");
        }
        assert!(secs(DurationValue::Seconds((400 * 86_400).into())).is_err());
        let err = secs(DurationValue::Text("48h".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("7d"), "{err}");
    }
}
