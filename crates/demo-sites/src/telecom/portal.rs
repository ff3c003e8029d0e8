//! The portal's side of the login: `/login` embeds the identity provider's frame, and
//! `/sso/callback` turns the IdP's one-time grant into the portal's `sid` cookie (on
//! `127.0.0.1`, HttpOnly, SameSite=Lax). Also `/home`, `/logout`, and the guard every
//! logged-in page uses.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::TelecomState;
use super::data;
use super::pages::Shell;
use crate::render::{self, SiteError, escape_html};
use crate::site_login::{self, SID, clear_cookie, set_cookie};

const SSO_FAILED: &str = "La connexion a échoué. Veuillez réessayer.";

/// The login of a valid `sid` cookie, if any.
pub fn customer(site: &TelecomState, headers: &HeaderMap) -> Option<String> {
    let sid = site_login::cookie(headers, SID)?;
    site.store.site_login_user(&sid)
}

pub async fn index() -> Result<Response, SiteError> {
    render::redirect("/login")
}

/// The frame's URL: the IdP, another site, told which client asks.
fn idp_frame_url(site: &TelecomState) -> String {
    format!("{}/idp/login?client_id={}", site.idp_origin(), super::ID)
}

/// `?error=sso` after a refused grant; `?banner=0` leaves the consent banner out (for
/// tests of the frame alone).
pub async fn login_page(
    State(site): State<Arc<TelecomState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let alert = if q.get("error").is_some_and(|e| e == "sso") {
        format!(r#"<div class="alert-error" role="alert">{SSO_FAILED}</div>"#)
    } else {
        String::new()
    };
    let content = format!(
        r#"{alert}<p>Connectez-vous avec votre compte Demo ID.</p>
<iframe id="auth" title="Demo ID" src="{}" width="440" height="440" style="border: 1px solid #d9d0e8; border-radius: 8px;"></iframe>"#,
        escape_html(&idp_frame_url(&site))
    );
    let mut shell = Shell::new("Connexion", None, &headers);
    shell.banner &= q.get("banner").is_none_or(|b| b != "0");
    shell.render(&content)
}

#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    #[serde(default)]
    grant: String,
}

/// Reached by the IdP's `<form target="_top" method="post">`: a cross-site POST, so the
/// browser sends none of the portal's Lax cookies, and none are needed: the grant is the
/// proof. The cookie set here is first-party (the top window is the portal now).
pub async fn sso_callback(
    State(site): State<Arc<TelecomState>>,
    headers: HeaderMap,
    Form(form): Form<Callback>,
) -> Result<Response, SiteError> {
    let Some(sid) = site.store.redeem(&form.grant) else {
        return render::redirect("/login?error=sso");
    };
    if let Some(old) = site_login::cookie(&headers, SID) {
        site.store.end_site_login(&old);
    }
    tracing::debug!("demo-telecom: site login started");
    render::with_cookies(render::redirect("/home")?, &[set_cookie(SID, &sid)])
}

pub async fn logout(
    State(site): State<Arc<TelecomState>>,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    if let Some(sid) = site_login::cookie(&headers, SID) {
        site.store.end_site_login(&sid);
    }
    render::with_cookies(render::redirect("/login")?, &[clear_cookie(SID)])
}

pub async fn home(
    State(site): State<Arc<TelecomState>>,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    if customer(&site, &headers).is_none() {
        return render::redirect("/login");
    }
    let content = format!(
        r#"<p id="welcome">Bonjour <span class="name">{name}</span></p>
<dl id="customer">
  <dt>Numéro client</dt><dd class="customer-id">{id}</dd>
  <dt>Offre</dt><dd class="offer">{offer}</dd>
</dl>
<ul id="shortcuts">
  <li><a id="go-bills" href="/bills">Mes factures</a></li>
  <li><a id="go-usage" href="/usage">Ma consommation</a></li>
</ul>"#,
        name = escape_html(data::CUSTOMER_NAME),
        id = data::CUSTOMER_ID,
        offer = escape_html(data::OFFER),
    );
    Ok(Shell::new("Mon espace", Some(data::CUSTOMER_NAME), &headers).render(&content))
}
