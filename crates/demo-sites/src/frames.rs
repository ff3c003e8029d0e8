//! Pages with frames, for gleaner's tests of steps and pages inside frames (issue 13).
//!
//! - `/frames/outer` embeds the login in `iframe#auth`, far below the fold and offset by a
//!   margin, a border and a padding (a click computed without the frame's place misses).
//!   The frame is cross-site: it is served from `localhost` on the same port, which Chromium
//!   runs in another process. `?same=1` serves it from this host instead (same-site), and
//!   `?host=NAME` from another host name.
//! - `/frames/nested` holds `iframe#wrap` (same-site, `/frames/wrap`), which holds the
//!   cross-site `iframe#auth`.
//! - `/frames/idp/login` (any host) is the login: `#user`, `#pass`, `#go`. `alice` / `demo`
//!   shows the code prompt in the frame (`#code`, `#verify`); any other password shows
//!   `#error`. The code `424242` shows `#welcome` with a list of items (`#items li`, each
//!   with a `data-id` and a link to `doc/<id>.pdf`, relative to the frame's URL: `/frames/idp/doc/<id>.pdf`, where
//!   the page's would be `/frames/doc/…`); another
//!   code shows `#code-error`.
//! - `/frames/idp/counter` (`/frames/outer?page=counter` embeds it) counts the clicks on
//!   `#verify` (`#count`, with `data-n`), and each one moves the form (`#code`, `#verify`)
//!   from the top of the frame to its bottom or back: the next click comes right after a
//!   content change, and bringing the form into view scrolls the page.

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::render::{escape_html, test_page};

/// The routes, under `/frames/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/frames/outer", get(outer))
        .route("/frames/nested", get(nested))
        .route("/frames/wrap", get(wrap))
        .route(
            "/frames/idp/login",
            get(|| async { page("Connexion", LOGIN) }),
        )
        .route(
            "/frames/idp/counter",
            get(|| async { page("Compteur", COUNTER) }),
        )
        .route("/frames/idp/doc/{file}", get(doc))
}

/// A small PDF per item, naming it.
async fn doc(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let body = format!("%PDF-1.4\n% {}\n%%EOF\n", escape_html(&file));
    let mut resp = axum::response::IntoResponse::into_response(body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/pdf"),
    );
    resp
}

#[derive(Deserialize)]
struct Where {
    same: Option<String>,
    host: Option<String>,
    page: Option<String>,
}

/// This server's port, from the `Host` the browser sent.
fn port(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, p)| p.to_string())
        .unwrap_or_default()
}

async fn outer(headers: HeaderMap, Query(q): Query<Where>) -> Response {
    let inner = match q.page.as_deref() {
        Some("counter") => "counter",
        _ => "login",
    };
    let src = if q.same.is_some() {
        format!("/frames/idp/{inner}")
    } else {
        let host = q.host.as_deref().unwrap_or("localhost");
        format!(
            "http://{}:{}/frames/idp/{inner}",
            escape_html(host),
            port(&headers)
        )
    };
    page(
        "Portail",
        &format!(
            r#"<p id="intro">Connectez-vous ci-dessous.</p>
<iframe id="auth" title="Connexion" src="{src}"
  style="margin: 1500px 0 0 230px; border: 9px solid #333; padding: 13px; width: 520px; height: 420px"></iframe>"#
        ),
    )
}

async fn nested() -> Response {
    page(
        "Portail",
        r#"<iframe id="wrap" src="/frames/wrap" style="margin: 120px 0 0 60px; border: 4px solid #999; width: 700px; height: 600px"></iframe>"#,
    )
}

async fn wrap(headers: HeaderMap) -> Response {
    page(
        "Cadre",
        &format!(
            r#"<iframe id="auth" src="http://localhost:{}/frames/idp/login" style="margin: 40px 0 0 70px; border: 3px solid #333; width: 560px; height: 480px"></iframe>"#,
            port(&headers)
        ),
    )
}

const LOGIN: &str = r#"<form id="login" style="margin: 30px 0 0 40px">
  <label>Identifiant <input id="user" autocomplete="off"></label>
  <label>Mot de passe <input id="pass" type="password"></label>
  <button id="go" type="submit">Se connecter</button>
</form>
<p id="error" hidden>Identifiant ou mot de passe incorrect</p>
<form id="code-box" hidden>
  <label>Code reçu par SMS <input id="code" inputmode="numeric" placeholder="123456"></label>
  <button id="verify" type="submit">Valider</button>
</form>
<p id="code-error" hidden>Code incorrect</p>
<div id="welcome" hidden>
  <p>Bienvenue</p>
  <ul id="items">
    <li data-id="L1"><span class="label">Ligne fixe</span> <a href="doc/L1.pdf">Facture</a></li>
    <li data-id="L2"><span class="label">Mobile</span> <a href="doc/L2.pdf">Facture</a></li>
  </ul>
</div>
<script>
const $ = (id) => document.getElementById(id);
$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const ok = $('user').value === 'alice' && $('pass').value === 'demo';
  $('error').hidden = ok;
  if (ok) { $('login').hidden = true; $('code-box').hidden = false; }
});
$('code-box').addEventListener('submit', (e) => {
  e.preventDefault();
  const ok = $('code').value === '424242';
  $('code-error').hidden = ok;
  if (ok) { $('code-box').hidden = true; $('welcome').hidden = false; }
});
</script>"#;

const COUNTER: &str = r#"<div id="spacer"></div>
<form id="code-box" style="margin: 10px 0 0 40px">
  <label>Code <input id="code" inputmode="numeric"></label>
  <button id="verify" type="submit">Valider</button>
</form>
<p id="count" data-n="0">0</p>
<script>
const $ = (id) => document.getElementById(id);
let n = 0;
$('code-box').addEventListener('submit', (e) => {
  e.preventDefault();
  n += 1;
  $('count').dataset.n = String(n);
  $('count').textContent = String(n);
  // The top of the frame, then its bottom: bringing the form into view scrolls the page
  // each time.
  $('spacer').style.height = (n % 2) * 340 + 'px';
});
</script>"#;

fn page(title: &str, body: &str) -> Response {
    test_page(title, body)
}
