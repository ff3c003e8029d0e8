//! Pages that reach another host, for the off-domain guard: `/third-party` loads an image,
//! a script, a `fetch` and a frame from the "other" origin and links there (`#leave`), and
//! `/away` redirects there.
//!
//! The other origin is this same server under another name (`localhost` when the page was
//! asked for as `127.0.0.1`, and the other way round), so a test counts on the site's own
//! hit counter whether anything reached it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::render::{self, SiteError, html_response};

/// The paths only the other origin serves: their hit counts tell what got through.
pub const TRACKER_PATHS: &[&str] = &[
    "/tracker.png",
    "/tracker.js",
    "/tracker.json",
    "/tracker.html",
    "/elsewhere",
];

/// `http://<the other name>:<port>`.
pub(crate) fn other_origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let (name, port) = host.rsplit_once(':').unwrap_or((host, "80"));
    let other = if name == "localhost" {
        "127.0.0.1"
    } else {
        "localhost"
    };
    format!("http://{other}:{port}")
}

/// `window.settled` resolves once every third-party load has either worked or failed,
/// so a test waits on it instead of on time.
pub async fn page(headers: HeaderMap) -> Response {
    let other = other_origin(&headers);
    let body = format!(
        r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Contenu tiers</title></head>
<body>
<h1 id="title">Contenu tiers</h1>
<img id="pixel" alt="" src="{other}/tracker.png">
<p><a id="leave" href="{other}/elsewhere">Partir ailleurs</a></p>
<script>
const img = document.getElementById('pixel');
const loaded = (el) => new Promise((ok) => {{
  el.addEventListener('load', () => ok(true));
  el.addEventListener('error', () => ok(false));
}});
const script = document.createElement('script');
script.src = '{other}/tracker.js';
const frame = document.createElement('iframe');
frame.src = '{other}/tracker.html';
const waits = [
  img.complete ? Promise.resolve(img.naturalWidth > 0) : loaded(img),
  loaded(script),
  fetch('{other}/tracker.json', {{ mode: 'no-cors' }}).then(() => true, () => false),
  loaded(frame),
];
document.head.appendChild(script);
document.body.appendChild(frame);
window.settled = Promise.all(waits).then(([image, script, fetched, frame]) =>
  ({{ image, script, fetched, frame }}));
</script>
</body></html>"#
    );
    html_response(StatusCode::OK, body)
}

pub async fn away(headers: HeaderMap) -> Result<Response, SiteError> {
    render::redirect(&format!("{}/elsewhere", other_origin(&headers)))
}

pub async fn tracker_png() -> Response {
    // A 1×1 transparent PNG.
    const PIXEL: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
        PIXEL,
    )
        .into_response()
}

pub async fn tracker_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript")],
        "window.tracked = true;",
    )
        .into_response()
}

pub async fn tracker_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
}

pub async fn tracker_html() -> Response {
    html_response(
        StatusCode::OK,
        "<!doctype html><title>Tracker</title><p>tracked</p>".into(),
    )
}

pub async fn elsewhere() -> Response {
    html_response(
        StatusCode::OK,
        "<!doctype html><title>Ailleurs</title><h1 id=\"elsewhere\">Ailleurs</h1>".into(),
    )
}
