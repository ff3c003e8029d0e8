//! Login, the two 2FA flavours (`/otp` page for redirect users, modal on
//! `/login` for modal users), the "remember this device" cookie both 2FA forms can set
//! (a later password login from that browser skips the 2FA), and logout.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use crate::data::TwoFactor;
use crate::render::{self, SiteError, Val, escape_html, html, html_response, text};
use crate::routes::SiteState;
use crate::site_login::{
    self, OtpOutcome, PENDING, REMEMBER, REMEMBER_MAX_AGE, SID, clear_cookie, set_cookie,
    set_lasting_cookie,
};

const BAD_CREDENTIALS: &str = "Identifiant ou mot de passe incorrect.";
const EXPIRED: &str = "Votre demande de connexion a expiré. Veuillez vous reconnecter.";
const LOCKED: &str = "Trop de codes incorrects. Veuillez vous reconnecter.";
const WRONG_CODE: &str = "<p class=\"otp-error\">Code incorrect.</p>";

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    login: Option<String>,
    password: Option<String>,
    /// `otp` when the modal's form is submitted.
    step: Option<String>,
    code: Option<String>,
    /// The 2FA forms' "Se souvenir de cet appareil" checkbox.
    remember: Option<String>,
}

impl LoginForm {
    fn remember(&self) -> bool {
        self.remember.as_deref().is_some_and(|v| !v.is_empty())
    }
}

/// Whether this browser carries a remembered device of `login`.
fn remembered(site: &SiteState, headers: &HeaderMap, login: &str) -> bool {
    site_login::cookie(headers, REMEMBER)
        .and_then(|t| site.site_logins.device_user(&t))
        .is_some_and(|u| u == login)
}

/// After a right code: the site login, and the device remembered if the person asked.
fn code_accepted(
    site: &SiteState,
    headers: &HeaderMap,
    login: &str,
    remember: bool,
) -> Result<Response, SiteError> {
    let resp = login_success(site, headers, login)?;
    if !remember {
        return Ok(resp);
    }
    let token = site.site_logins.remember_device(login);
    render::with_cookies(
        resp,
        &[set_lasting_cookie(REMEMBER, &token, REMEMBER_MAX_AGE)],
    )
}

/// What the login page shows besides the form.
enum Modal {
    Hidden,
    Shown,
    WrongCode,
}

async fn render_login(
    site: &SiteState,
    headers: &HeaderMap,
    login: &str,
    alert: Option<&str>,
    modal: Modal,
) -> Result<Response, SiteError> {
    let alert = match alert {
        Some(msg) => format!(
            "<div class=\"alert-error\" role=\"alert\">{}</div>",
            escape_html(msg)
        ),
        None => String::new(),
    };
    let modal = match modal {
        Modal::Hidden => String::new(),
        Modal::Shown | Modal::WrongCode => {
            let error = if matches!(modal, Modal::WrongCode) {
                WRONG_CODE
            } else {
                ""
            };
            let tpl = render::load(&site.root, "partials/otp-modal.html").await?;
            render::substitute(&tpl, &[("error", html(error))])
        }
    };
    let banner = if site_login::cookie(headers, "consent").is_some() {
        String::new()
    } else {
        render::load(&site.root, "partials/cookie-banner.html").await?
    };
    let vars = [
        ("alert", html(alert)),
        ("login", text(login)),
        ("otp_modal", Val::Html(modal)),
        ("cookie_banner", Val::Html(banner)),
    ];
    let body = render::page(&site.root, "Connexion", None, "login", &vars).await?;
    Ok(html_response(StatusCode::OK, body))
}

pub async fn login_get(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SiteError> {
    let alert = match q.get("error").map(String::as_str) {
        Some("otp-locked") => Some(LOCKED),
        Some("expired") => Some(EXPIRED),
        _ => None,
    };
    render_login(&site, &headers, "", alert, Modal::Hidden).await
}

pub async fn login_post(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, SiteError> {
    if form.step.as_deref() == Some("otp") {
        let code = form.code.as_deref().unwrap_or("");
        return modal_step(&site, &headers, code, form.remember()).await;
    }
    site.count_login();
    let login = form.login.as_deref().unwrap_or("").trim();
    let password = form.password.as_deref().unwrap_or("");
    let Some(user) = site.data.user(login).filter(|u| u.password == password) else {
        return render_login(&site, &headers, login, Some(BAD_CREDENTIALS), Modal::Hidden).await;
    };
    let previous = site_login::cookie(&headers, PENDING);
    if remembered(&site, &headers, &user.login) {
        return login_success(&site, &headers, &user.login);
    }
    match user.two_factor {
        TwoFactor::None => login_success(&site, &headers, &user.login),
        TwoFactor::Redirect => {
            let code = site.issue_code(&user.login);
            let token = site
                .site_logins
                .start_pending(&user.login, &code, previous.as_deref());
            render::with_cookies(render::redirect("/otp")?, &[set_cookie(PENDING, &token)])
        }
        TwoFactor::Modal => {
            let code = site.issue_code(&user.login);
            let token = site
                .site_logins
                .start_pending(&user.login, &code, previous.as_deref());
            let page = render_login(&site, &headers, login, None, Modal::Shown).await?;
            render::with_cookies(page, &[set_cookie(PENDING, &token)])
        }
    }
}

/// The modal's form, posted to `/login` with `step=otp`: the URL never changes.
async fn modal_step(
    site: &SiteState,
    headers: &HeaderMap,
    code: &str,
    remember: bool,
) -> Result<Response, SiteError> {
    let Some(token) = site_login::cookie(headers, PENDING) else {
        return render_login(site, headers, "", Some(EXPIRED), Modal::Hidden).await;
    };
    match site.site_logins.check_code(&token, code) {
        OtpOutcome::Success { login } => code_accepted(site, headers, &login, remember),
        OtpOutcome::Wrong { login } => {
            render_login(site, headers, &login, None, Modal::WrongCode).await
        }
        OtpOutcome::Missing => {
            let page = render_login(site, headers, "", Some(EXPIRED), Modal::Hidden).await?;
            render::with_cookies(page, &[clear_cookie(PENDING)])
        }
        OtpOutcome::Locked => {
            let page = render_login(site, headers, "", Some(LOCKED), Modal::Hidden).await?;
            render::with_cookies(page, &[clear_cookie(PENDING)])
        }
    }
}

async fn render_otp(site: &SiteState, login: &str, wrong: bool) -> Result<Response, SiteError> {
    let name = site.data.user(login).map_or(login, |u| u.name.as_str());
    let vars = [
        ("name", text(name)),
        ("error", html(if wrong { WRONG_CODE } else { "" })),
    ];
    let body = render::page(
        &site.root,
        "Vérification en deux étapes",
        None,
        "otp",
        &vars,
    )
    .await?;
    Ok(html_response(StatusCode::OK, body))
}

pub async fn otp_get(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    match site_login::cookie(&headers, PENDING).and_then(|t| site.site_logins.pending_user(&t)) {
        Some(login) => render_otp(&site, &login, false).await,
        None => render::redirect("/login"),
    }
}

pub async fn otp_post(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, SiteError> {
    let Some(token) = site_login::cookie(&headers, PENDING) else {
        return render::redirect("/login");
    };
    match site
        .site_logins
        .check_code(&token, form.code.as_deref().unwrap_or(""))
    {
        OtpOutcome::Success { login } => code_accepted(&site, &headers, &login, form.remember()),
        OtpOutcome::Wrong { login } => render_otp(&site, &login, true).await,
        OtpOutcome::Missing => {
            render::with_cookies(render::redirect("/login")?, &[clear_cookie(PENDING)])
        }
        OtpOutcome::Locked => render::with_cookies(
            render::redirect("/login?error=otp-locked")?,
            &[clear_cookie(PENDING)],
        ),
    }
}

/// Starts the site login (ending any previous one) and goes to `/accounts`.
pub(super) fn login_success(
    site: &SiteState,
    headers: &HeaderMap,
    login: &str,
) -> Result<Response, SiteError> {
    if let Some(old) = site_login::cookie(headers, SID) {
        site.site_logins.end_site_login(&old);
    }
    let mut cookies = Vec::with_capacity(2);
    if let Some(pending) = site_login::cookie(headers, PENDING) {
        site.site_logins.drop_pending(&pending);
        cookies.push(clear_cookie(PENDING));
    }
    let sid = site.site_logins.start_site_login(login);
    cookies.push(set_cookie(SID, &sid));
    tracing::debug!(user = login, "demo-bank: site login started");
    render::with_cookies(render::redirect("/accounts")?, &cookies)
}

pub async fn logout(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    if let Some(sid) = site_login::cookie(&headers, SID) {
        site.site_logins.end_site_login(&sid);
    }
    render::with_cookies(render::redirect("/login")?, &[clear_cookie(SID)])
}
