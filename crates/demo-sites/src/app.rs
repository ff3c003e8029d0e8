//! `/app`: the bank as a small single-page app. The page (`fixtures/demo-bank/app/`) logs in
//! with `fetch`, keeps a bearer token in `localStorage.token`, and renders the accounts from
//! the JSON API below. Users with 2FA get the same SMS codes as on `/login` (`wait_code`).
//!
//! - `POST /api/app/login` `{login, password}` → `{token}`, or `{pending}` when a code is
//!   needed, or 401 `{error}`;
//! - `POST /api/app/otp` `{pending, code}` → `{token}`, or 401 `{error, retry}`;
//! - `GET /api/app/accounts` with `Authorization: Bearer <token>` → `{name, accounts}`, or 401;
//! - `POST /api/app/logout` with the token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::data::TwoFactor;
use crate::render::{self, SiteError};
use crate::routes::SiteState;
use crate::site_login::OtpOutcome;

const BAD_CREDENTIALS: &str = "Identifiant ou mot de passe incorrect.";
const WRONG_CODE: &str = "Code incorrect.";
const EXPIRED: &str = "Votre demande de connexion a expiré. Veuillez vous reconnecter.";
const LOCKED: &str = "Trop de codes incorrects. Veuillez vous reconnecter.";

#[derive(Debug, Default, Deserialize)]
pub struct LoginBody {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct OtpBody {
    #[serde(default)]
    pending: Option<String>,
    #[serde(default)]
    code: String,
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn unauthorized(body: serde_json::Value) -> Response {
    json_response(StatusCode::UNAUTHORIZED, body)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_string())
}

async fn file(
    site: &SiteState,
    rel: &str,
    content_type: &'static str,
) -> Result<Response, SiteError> {
    let body = render::load(&site.root, rel).await?;
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

pub async fn page(State(site): State<Arc<SiteState>>) -> Result<Response, SiteError> {
    file(&site, "app/index.html", "text/html; charset=utf-8").await
}

pub async fn script(State(site): State<Arc<SiteState>>) -> Result<Response, SiteError> {
    file(&site, "app/app.js", "text/javascript; charset=utf-8").await
}

pub async fn login(State(site): State<Arc<SiteState>>, Json(body): Json<LoginBody>) -> Response {
    site.count_app_login();
    let login = body.login.trim();
    let Some(user) = site
        .data
        .user(login)
        .filter(|u| u.password == body.password)
    else {
        return unauthorized(json!({ "error": BAD_CREDENTIALS }));
    };
    match user.two_factor {
        TwoFactor::None => {
            let token = site.site_logins.create_app_token(&user.login);
            json_response(StatusCode::OK, json!({ "token": token }))
        }
        TwoFactor::Redirect | TwoFactor::Modal => {
            let code = site.issue_code(&user.login);
            let pending = site.site_logins.start_pending(&user.login, &code, None);
            json_response(StatusCode::OK, json!({ "pending": pending }))
        }
    }
}

pub async fn otp(State(site): State<Arc<SiteState>>, Json(body): Json<OtpBody>) -> Response {
    let Some(pending) = body.pending.filter(|p| !p.is_empty()) else {
        return unauthorized(json!({ "error": EXPIRED, "retry": false }));
    };
    match site.site_logins.check_code(&pending, &body.code) {
        OtpOutcome::Success { login } => {
            let token = site.site_logins.create_app_token(&login);
            json_response(StatusCode::OK, json!({ "token": token }))
        }
        OtpOutcome::Wrong { .. } => unauthorized(json!({ "error": WRONG_CODE, "retry": true })),
        OtpOutcome::Missing => unauthorized(json!({ "error": EXPIRED, "retry": false })),
        OtpOutcome::Locked => unauthorized(json!({ "error": LOCKED, "retry": false })),
    }
}

pub async fn accounts(State(site): State<Arc<SiteState>>, headers: HeaderMap) -> Response {
    let Some(user) = bearer(&headers)
        .and_then(|t| site.site_logins.app_token_user(&t))
        .and_then(|login| site.data.user(&login).cloned())
    else {
        return unauthorized(json!({ "error": "unauthorized" }));
    };
    let accounts: Vec<_> = site
        .data
        .accounts
        .iter()
        .map(|a| json!({ "id": a.id, "label": a.label, "balance": a.balance }))
        .collect();
    json_response(
        StatusCode::OK,
        json!({ "name": user.name, "accounts": accounts }),
    )
}

pub async fn logout(State(site): State<Arc<SiteState>>, headers: HeaderMap) -> Response {
    if let Some(token) = bearer(&headers) {
        site.site_logins.drop_app_token(&token);
    }
    StatusCode::NO_CONTENT.into_response()
}
