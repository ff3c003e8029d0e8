//! A customer's backend and web page on another origin, embedding gleaner's UI: the page has a
//! "Connect an account" button; the backend asks gleaner for a session (with its API key, which
//! never reaches the browser) and the page opens the returned `/ui` URL in an iframe, showing
//! every event the iframe posts in `<pre id="events">`. "Open as a full page" sends the person
//! to gleaner instead, with this page as `redirectUrl`; the outcome comes back in the query.
//!
//! ```text
//! cargo run --example host -- --listen 127.0.0.1:5000 --gleaner http://127.0.0.1:8080 \
//!     --key $GLEANER_API_KEY [--user demo-user] [--connector demo-bank]
//! ```
//! gleaner must list this page's origin among the origins allowed to frame its UI.

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// Where this host page listens (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: String,
    /// gleaner's base URL.
    #[arg(long, env = "GLEANER_URL", default_value = "http://127.0.0.1:8080")]
    gleaner: String,
    /// An API key of gleaner (stays on this backend).
    #[arg(long, env = "GLEANER_API_KEY", hide_env_values = true)]
    key: String,
    /// The user id this customer knows its user by.
    #[arg(long, default_value = "demo-user")]
    user: String,
    /// Open the UI on this connector directly.
    #[arg(long)]
    connector: Option<String>,
}

struct App {
    args: Args,
    /// This page's own URL (`redirectUrl` of full-page sessions).
    home: String,
    base: url::Url,
    http: reqwest::Client,
}

#[tokio::main]
async fn main() -> Result<()> {
    gleaner::tls::install_crypto_provider();
    let args = Args::parse();
    let base = url::Url::parse(&args.gleaner).context("--gleaner must be a URL")?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let app = Arc::new(App {
        args,
        home: format!("http://{addr}/"),
        base,
        http: reqwest::Client::new(),
    });
    let router = Router::new()
        .route("/", get(page))
        .route("/connect", post(connect))
        .with_state(app);
    println!("host page: http://{addr}/");
    axum::serve(listener, router).await?;
    Ok(())
}

#[derive(serde::Deserialize)]
struct ConnectQuery {
    /// `page`: the person leaves for gleaner and comes back here.
    mode: Option<String>,
}

/// Asks gleaner for a session token for our user; the browser only gets the token and URL.
async fn connect(State(app): State<Arc<App>>, Query(q): Query<ConnectQuery>) -> Response {
    match session(&app, q.mode.as_deref() == Some("page")).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "error": { "code": "GLEANER", "message": format!("{e:#}") } })),
        )
            .into_response(),
    }
}

async fn session(app: &App, full_page: bool) -> Result<Value> {
    let mut body = json!({ "userId": app.args.user });
    if let Some(c) = &app.args.connector {
        body["connector"] = json!(c);
    }
    if full_page {
        body["redirectUrl"] = json!(app.home);
    }
    let res = app
        .http
        .post(app.base.join("session")?)
        .bearer_auth(&app.args.key)
        .json(&body)
        .send()
        .await
        .context("POST /session")?;
    let status = res.status();
    let mut v: Value = res.json().await.context("POST /session: not JSON")?;
    if !status.is_success() {
        anyhow::bail!("POST /session: {status}: {v}");
    }
    // The iframe needs an absolute URL on gleaner's origin.
    let url = v["url"].as_str().context("POST /session: no url")?;
    v["url"] = json!(app.base.join(url)?.as_str());
    Ok(v)
}

async fn page(State(app): State<Arc<App>>) -> Html<String> {
    let origin = app.base.origin().ascii_serialization();
    let origin = serde_json::to_string(&origin)
        .unwrap_or_default()
        .replace('<', "\\u003c");
    Html(PAGE.replace("__GLEANER_ORIGIN__", &origin))
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Energy — your account</title>
<style>
  body { margin: 0; font: 16px/1.5 system-ui, sans-serif; background: #f6f4ef; color: #222; }
  header { background: #0f3d3e; color: #fff; padding: 16px 24px; font-weight: 700; font-size: 20px; }
  main { max-width: 720px; margin: 32px auto; padding: 0 16px; }
  .box { background: #fff; border-radius: 12px; padding: 24px; box-shadow: 0 2px 10px rgba(0,0,0,.06); margin-bottom: 24px; }
  button#connect { background: #e2725b; color: #fff; border: 0; border-radius: 8px; padding: 12px 20px; font: inherit; font-weight: 600; cursor: pointer; }
  button.plain { background: none; border: 0; color: #0f3d3e; text-decoration: underline; font: inherit; cursor: pointer; margin-left: 12px; }
  button:focus-visible { outline: 3px solid #0f3d3e; outline-offset: 2px; }
  #connected { color: #1a7f45; font-weight: 600; }
  #error { color: #b00020; }
  pre#events { background: #1e1e1e; color: #d4d4d4; padding: 12px; border-radius: 8px; min-height: 3em; overflow: auto; font-size: 13px; }
  #modal { position: fixed; inset: 0; background: rgba(15, 25, 35, .55); display: flex; align-items: center; justify-content: center; }
  #modal[hidden] { display: none; }
  .dialog { position: relative; background: #fff; border-radius: 16px; overflow: hidden; box-shadow: 0 20px 60px rgba(0,0,0,.3); max-width: 100vw; }
  .dialog iframe { display: block; border: 0; max-width: 100vw; max-height: 100vh; }
  #close { position: absolute; top: 8px; right: 8px; z-index: 1; border: 0; background: #fff; border-radius: 50%; width: 32px; height: 32px; font-size: 20px; cursor: pointer; }
</style>
</head>
<body>
<header>Acme Energy</header>
<main>
  <div class="box">
    <h1>Your account</h1>
    <p>Link your bank or supplier account so that we fetch your bills for you.</p>
    <button id="connect" type="button">Connect an account</button>
    <button id="full-page" type="button" class="plain">Open as a full page</button>
    <p id="connected" role="status"></p>
    <p id="error" role="alert"></p>
  </div>
  <div class="box">
    <h2>Events received from the iframe</h2>
    <pre id="events"></pre>
  </div>
</main>
<div id="modal" hidden>
  <div class="dialog" role="dialog" aria-modal="true" aria-label="Connect your account">
    <button id="close" type="button" aria-label="Close">×</button>
    <div id="frame-slot"></div>
  </div>
</div>
<script>
  const GLEANER_ORIGIN = __GLEANER_ORIGIN__;
  const $ = (id) => document.getElementById(id);
  function closeModal() { $('modal').hidden = true; $('frame-slot').textContent = ''; $('connect').focus(); }
  $('close').addEventListener('click', closeModal);
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !$('modal').hidden) closeModal(); });
  async function start(mode) {
    $('error').textContent = '';
    const res = await fetch('/connect' + (mode ? '?mode=' + mode : ''), { method: 'POST' });
    const data = await res.json().catch(() => ({}));
    if (!res.ok || !data.url) { $('error').textContent = (data.error && data.error.message) || 'Could not start a session'; return null; }
    return data;
  }
  // Back from a full-page session: gleaner put the outcome in the query.
  const back = new URLSearchParams(location.search);
  if (back.has('status')) {
    $('connected').textContent = (back.get('status') === 'success' ? 'Connected: ' : 'Not connected: ')
      + back.get('authorizationId') + (back.get('code') ? ' (' + back.get('code') + ')' : '');
  }
  $('full-page').addEventListener('click', async () => {
    const data = await start('page');
    if (data) location.assign(data.url);
  });
  $('connect').addEventListener('click', async () => {
    const data = await start(null);
    if (!data) return;
    const frame = document.createElement('iframe');
    frame.id = 'gleaner-frame';
    frame.src = data.url;
    frame.width = 480;
    frame.height = 640;
    frame.title = 'Connect your account';
    frame.allow = 'clipboard-write';
    $('frame-slot').replaceChildren(frame);
    $('modal').hidden = false;
    frame.focus();
  });
  window.addEventListener('message', (event) => {
    if (event.origin !== GLEANER_ORIGIN) return;
    const line = document.createTextNode(JSON.stringify(event.data) + '\n');
    $('events').appendChild(line);
    if (event.data && event.data.type === 'did-add-authorization') {
      $('connected').textContent = 'Connected: ' + event.data.identity;
      closeModal();
    }
  });
</script>
</body>
</html>
"##;
