//! Data that exists only as JSON. `/usage` draws a chart in a `<canvas>` from what its
//! script fetches from `GET /api/usage`; `POST /api/lines` (`{"status": "active"}`) lists
//! the phone lines, and no page calls it. No HTML carries any of these values, so a
//! connector can only read them from the JSON. Both answer `401` JSON without the
//! portal's `sid` cookie.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::TelecomState;
use super::data::{self, LINES, USAGE, USAGE_LINE};
use super::pages::Shell;
use super::portal::customer;
use crate::render::{self, SiteError};

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn unauthorized() -> Response {
    json_response(StatusCode::UNAUTHORIZED, json!({ "error": "unauthorized" }))
}

pub async fn usage_page(
    State(site): State<Arc<TelecomState>>,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    if customer(&site, &headers).is_none() {
        return render::redirect("/login");
    }
    Ok(Shell::new("Ma consommation", Some(data::CUSTOMER_NAME), &headers).render(USAGE_PAGE))
}

/// `#usage-status` turns `data-state="ready"` once the chart is drawn (`error` if the
/// fetch failed): something to wait on that carries no figure.
const USAGE_PAGE: &str = r#"<p id="usage-status" data-state="loading">Chargement…</p>
<canvas id="usage-chart" width="600" height="300" aria-label="Consommation de données par mois"></canvas>
<script>
(async () => {
  const status = document.getElementById('usage-status');
  try {
    const resp = await fetch('/api/usage', { headers: { Accept: 'application/json' } });
    if (!resp.ok) throw new Error('HTTP ' + resp.status);
    const usage = await resp.json();
    const ctx = document.getElementById('usage-chart').getContext('2d');
    const max = Math.max(...usage.months.map((m) => m.data_gb), 1);
    usage.months.forEach((m, i) => {
      const h = Math.round((m.data_gb / max) * 240);
      ctx.fillStyle = '#5b2a86';
      ctx.fillRect(40 + i * 180, 270 - h, 120, h);
      ctx.fillStyle = '#221a33';
      ctx.fillText(m.month + ' : ' + m.data_gb + ' ' + usage.unit, 40 + i * 180, 290);
    });
    status.textContent = 'Graphique à jour';
    status.dataset.state = 'ready';
  } catch (e) {
    status.textContent = 'Données indisponibles';
    status.dataset.state = 'error';
  }
})();
</script>"#;

/// `GET /api/usage`: `{"line", "unit", "months": [{"month", "data_gb", "calls_min", "sms"}]}`.
pub async fn usage(State(site): State<Arc<TelecomState>>, headers: HeaderMap) -> Response {
    if customer(&site, &headers).is_none() {
        return unauthorized();
    }
    let months: Vec<Value> = USAGE
        .iter()
        .map(|u| {
            json!({
                "month": u.month,
                "data_gb": u.data_gb,
                "calls_min": u.calls_min,
                "sms": u.sms,
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({ "line": USAGE_LINE, "unit": "Go", "months": months }),
    )
}

#[derive(Debug, Deserialize)]
pub struct LinesQuery {
    status: String,
}

/// `POST /api/lines` with `Content-Type: application/json` and `{"status": "active" |
/// "suspended" | "all"}` → `{"lines": [{"id", "number", "plan", "monthly_price",
/// "status"}], "count"}`. A body that is not such JSON gets `400` (`415` without the JSON
/// content type), as a strict API would answer.
pub async fn lines(
    State(site): State<Arc<TelecomState>>,
    headers: HeaderMap,
    body: Result<Json<LinesQuery>, JsonRejection>,
) -> Response {
    if customer(&site, &headers).is_none() {
        return unauthorized();
    }
    let query = match body {
        Ok(Json(q)) => q,
        Err(rejection) => {
            return json_response(
                rejection.status(),
                json!({ "error": rejection.body_text() }),
            );
        }
    };
    if !["active", "suspended", "all"].contains(&query.status.as_str()) {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "error": "status must be active, suspended or all" }),
        );
    }
    let lines: Vec<Value> = LINES
        .iter()
        .filter(|l| query.status == "all" || l.status == query.status)
        .map(|l| {
            json!({
                "id": l.id,
                "number": l.number,
                "plan": l.plan,
                "monthly_price": l.monthly_price,
                "status": l.status,
            })
        })
        .collect();
    let count = lines.len();
    json_response(StatusCode::OK, json!({ "lines": lines, "count": count }))
}
