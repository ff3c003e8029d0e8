//! "Demo ID", the identity provider, served as `localhost` and shown in the portal's
//! `iframe#auth`. Everything happens inside the frame: the password form, its error, the
//! 2FA code prompt and its error. After the right code the frame shows a "Continuer"
//! button in a `<form target="_top" method="post">` to the portal's `/sso/callback`: a
//! click (a user gesture) navigates the top window, which Chromium allows a cross-site
//! frame only with one, so there is no script-only submission that a policy could block.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::TelecomState;
use super::store::CodeOutcome;
use crate::render::{escape_html, html_response};

pub const BAD_CREDENTIALS: &str = "Identifiant ou mot de passe incorrect.";
pub const WRONG_CODE: &str = "Code incorrect.";
pub const LOCKED: &str = "Trop de codes incorrects. Veuillez vous reconnecter.";
pub const EXPIRED: &str = "Votre demande de connexion a expiré. Veuillez vous reconnecter.";

/// An IdP page, framable by the portal only.
fn page(site: &TelecomState, title: &str, body: &str) -> Response {
    let mut resp = html_response(
        StatusCode::OK,
        format!(
            r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{title} · Demo ID</title>
<style>
  body {{ margin: 0; padding: 18px; font-family: system-ui, sans-serif; background: #fff; color: #1b2a3a; }}
  label {{ display: block; margin: 12px 0 4px; font-weight: 600; }}
  input {{ width: 100%; padding: 8px; font-size: 1rem; box-sizing: border-box; }}
  button {{ margin-top: 16px; padding: 10px 16px; font-size: 1rem; }}
  .idp-error, .otp-error {{ color: #b42318; font-weight: 600; }}
</style></head>
<body>
<p class="idp-brand">Demo ID</p>
<h1 id="idp-title">{title}</h1>
{body}
</body></html>
"#
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("frame-ancestors {}", site.portal_origin())) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

fn error(class: &str, msg: &str) -> String {
    format!(
        r#"<p class="{class}" role="alert">{}</p>"#,
        escape_html(msg)
    )
}

fn login_page(site: &TelecomState, login: &str, alert: Option<&str>) -> Response {
    let alert = alert.map(|m| error("idp-error", m)).unwrap_or_default();
    let body = format!(
        r#"{alert}<form id="idp-login" method="post" action="/idp/login">
  <input type="hidden" name="client_id" value="{client}">
  <label for="username">Identifiant</label>
  <input id="username" name="username" autocomplete="username" value="{login}">
  <label for="password">Mot de passe</label>
  <input id="password" name="password" type="password" autocomplete="current-password">
  <button id="idp-submit" type="submit">Se connecter</button>
</form>"#,
        client = super::ID,
        login = escape_html(login),
    );
    page(site, "Connexion", &body)
}

fn code_page(site: &TelecomState, txn: &str, wrong: bool) -> Response {
    let alert = if wrong {
        error("otp-error", WRONG_CODE)
    } else {
        String::new()
    };
    let body = format!(
        r#"<p class="otp-hint">Saisissez le code à 6 chiffres reçu par SMS.</p>
{alert}<form id="idp-otp" method="post" action="/idp/otp">
  <input type="hidden" name="txn" value="{txn}">
  <label for="otp">Code</label>
  <input id="otp" name="code" inputmode="numeric" autocomplete="one-time-code">
  <button id="otp-submit" type="submit">Valider</button>
</form>"#
    );
    page(site, "Vérification", &body)
}

fn granted_page(site: &TelecomState, grant: &str) -> Response {
    let body = format!(
        r#"<p class="idp-done">Vous êtes authentifié.</p>
<form id="sso" method="post" action="{portal}/sso/callback" target="_top">
  <input type="hidden" name="grant" value="{grant}">
  <button id="continue" type="submit">Continuer vers Demo Telecom</button>
</form>"#,
        portal = site.portal_origin(),
    );
    page(site, "Connexion réussie", &body)
}

pub async fn login_form(State(site): State<Arc<TelecomState>>) -> Response {
    login_page(&site, "", None)
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn login_submit(
    State(site): State<Arc<TelecomState>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let login = form.username.trim();
    if login != site.opts.login || form.password != site.opts.password {
        return login_page(&site, login, Some(BAD_CREDENTIALS));
    }
    let txn = site.store.start_pending(login);
    if site.opts.print_codes {
        eprintln!(
            "[demo-telecom] SMS to {login}: your code is {}",
            site.opts.code
        );
    }
    tracing::debug!(user = login, "demo-telecom: 2FA code sent");
    code_page(&site, &txn, false)
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    txn: String,
    #[serde(default)]
    code: String,
}

pub async fn otp_submit(
    State(site): State<Arc<TelecomState>>,
    Form(form): Form<CodeForm>,
) -> Response {
    match site
        .store
        .check_code(&form.txn, &form.code, &site.opts.code)
    {
        CodeOutcome::Granted { grant } => granted_page(&site, &grant),
        CodeOutcome::Wrong => code_page(&site, &form.txn, true),
        CodeOutcome::Locked => login_page(&site, "", Some(LOCKED)),
        CodeOutcome::Missing => login_page(&site, "", Some(EXPIRED)),
    }
}
