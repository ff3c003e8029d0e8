//! JSON-only data, for gleaner's `capture`, `fetch` and JSON `extract` (issue 13):
//! - `/json/usage` fetches `/json/api/usage` on load and draws it in a canvas (the numbers
//!   are nowhere in its HTML); `#status` gets `data-done` once drawn;
//! - `/json/later` fetches the same API only when `#load` is clicked;
//! - `/json/login` opens a session (the `json_session` cookie, HttpOnly) and carries a CSRF
//!   token in `<meta name="csrf">`; `/json/home` opens none;
//! - `/json/api/invoices?year=2026` (GET) and `/json/api/search` (POST, JSON body
//!   `{"year": 2026}` with the number, header `X-Csrf-Token`) answer 401 without the session;
//! - `/json/api/broken` answers 500, `/json/api/html` an HTML page.

use axum::Router;
use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::render::html_response;

/// The session cookie's value: fixed, the fixture only checks that the browser sends it.
const SESSION: &str = "json_session=s3ss10n";
/// The CSRF token `/json/login` shows and `/json/api/search` wants.
const CSRF: &str = "c5rf-t0ken";

/// The routes, under `/json/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/json/usage", get(|| async { page("Consommation", USAGE) }))
        .route("/json/home", get(|| async { page("Accueil", "") }))
        .route("/json/later", get(|| async { page("Plus tard", LATER) }))
        .route("/json/login", get(login))
        .route(
            "/json/api/usage",
            get(|| async { json_response(StatusCode::OK, usage()) }),
        )
        .route("/json/api/invoices", get(invoices))
        .route("/json/api/search", post(search))
        .route(
            "/json/api/broken",
            get(|| async {
                json_response(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "boom"}))
            }),
        )
        .route(
            "/json/api/html",
            get(|| async { page("Pas du JSON", "<p>Bonjour</p>") }),
        )
}

fn usage() -> Value {
    json!({
        "customer": {"name": "Alice Martin", "contract": "EL-0042"},
        "months": [
            {"month": "2026-09", "kwh": "312,5"},
            {"month": "2026-10", "kwh": "287,0"},
            {"month": "2026-11", "kwh": 301}
        ]
    })
}

fn page(title: &str, body: &str) -> Response {
    html_response(
        StatusCode::OK,
        format!(
            r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="csrf" content="{CSRF}"><title>{title}</title></head>
<body>
<h1 id="title">{title}</h1>
{body}
</body></html>
"#
        ),
    )
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn login() -> Response {
    let mut r = page("Connecté", "<p id=\"in\">Session ouverte</p>");
    if let Ok(v) = format!("{SESSION}; Path=/json; HttpOnly; SameSite=Lax").parse() {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    r
}

fn has_session(headers: &HeaderMap) -> bool {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| c.trim() == SESSION)
}

fn unauthorized() -> Response {
    json_response(StatusCode::UNAUTHORIZED, json!({"error": "not logged in"}))
}

async fn invoices(
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if !has_session(&headers) {
        return unauthorized();
    }
    let year = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("year="))
        .unwrap_or("")
        .to_string();
    json_response(
        StatusCode::OK,
        json!({
            "year": year,
            "invoices": [
                {"id": format!("F-{year}-01"), "amount": "42,50 €", "paid": true},
                {"id": format!("F-{year}-02"), "amount": "38,10 €", "paid": false}
            ]
        }),
    )
}

async fn search(headers: HeaderMap, body: Bytes) -> Response {
    if !has_session(&headers) {
        return unauthorized();
    }
    if headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) != Some(CSRF) {
        return json_response(StatusCode::FORBIDDEN, json!({"error": "bad csrf token"}));
    }
    let json_body = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let year = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["year"].as_u64());
    match (json_body, year) {
        (true, Some(year)) => json_response(
            StatusCode::OK,
            json!({"results": [{"id": format!("S-{year}-7"), "label": "Facture annuelle"}]}),
        ),
        _ => json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "a JSON body with a numeric year is wanted"}),
        ),
    }
}

/// The usage page: its data only ever exists as JSON and pixels.
const USAGE: &str = r#"<canvas id="chart" width="300" height="120"></canvas>
<p id="status">Chargement…</p>
<script>
fetch('/json/api/usage').then((r) => r.json()).then((d) => {
  const ctx = document.getElementById('chart').getContext('2d');
  d.months.forEach((m, i) => {
    const kwh = typeof m.kwh === 'number' ? m.kwh : parseFloat(m.kwh.replace(',', '.'));
    ctx.fillRect(20 + i * 60, 120 - kwh / 4, 40, kwh / 4);
  });
  const status = document.getElementById('status');
  status.textContent = 'Consommation affichée';
  status.dataset.done = '1';
});
</script>"#;

/// The API is called on a click, after the page loaded.
const LATER: &str = r#"<button id="load">Afficher</button>
<script>
document.getElementById('load').addEventListener('click', () => fetch('/json/api/usage'));
</script>"#;
