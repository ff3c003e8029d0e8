//! Login, the two 2FA flavours (`/otp` page for redirect users, modal on
//! `/login` for modal users), the "remember this device" cookie both 2FA forms can set
//! (a later password login from that browser skips the 2FA), and logout.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::auth::{
    self, OtpOutcome, PENDING, REMEMBER, REMEMBER_MAX_AGE, SID, clear_cookie, set_cookie,
    set_lasting_cookie,
};
use super::data::TwoFactor;
use super::render::{self, AppError, Val, escape_html, html, html_response, text};
use super::routes::{AppState, St};

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
fn remembered(st: &AppState, headers: &HeaderMap, login: &str) -> bool {
    auth::cookie(headers, REMEMBER)
        .and_then(|t| st.store.device_user(&t))
        .is_some_and(|u| u == login)
}

/// After a right code: the session, and the device remembered if the person asked.
fn code_accepted(
    st: &AppState,
    headers: &HeaderMap,
    login: &str,
    remember: bool,
) -> Result<Response, AppError> {
    let resp = login_success(st, headers, login)?;
    if !remember {
        return Ok(resp);
    }
    let token = st.store.remember_device(login);
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
    st: &AppState,
    headers: &HeaderMap,
    login: &str,
    alert: Option<&str>,
    modal: Modal,
) -> Result<Response, AppError> {
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
            let tpl = render::load(&st.root, "partials/otp-modal.html").await?;
            render::substitute(&tpl, &[("error", html(error))])
        }
    };
    let banner = if auth::cookie(headers, "consent").is_some() {
        String::new()
    } else {
        render::load(&st.root, "partials/cookie-banner.html").await?
    };
    let vars = [
        ("alert", html(alert)),
        ("login", text(login)),
        ("otp_modal", Val::Html(modal)),
        ("cookie_banner", Val::Html(banner)),
    ];
    let body = render::page(&st.root, "Connexion", None, "login", &vars).await?;
    Ok(html_response(StatusCode::OK, body))
}

pub async fn login_get(
    State(st): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let alert = match q.get("error").map(String::as_str) {
        Some("otp-locked") => Some(LOCKED),
        Some("expired") => Some(EXPIRED),
        _ => None,
    };
    render_login(&st, &headers, "", alert, Modal::Hidden).await
}

pub async fn login_post(
    State(st): St,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    if form.step.as_deref() == Some("otp") {
        let code = form.code.as_deref().unwrap_or("");
        return modal_step(&st, &headers, code, form.remember()).await;
    }
    st.count_login();
    let login = form.login.as_deref().unwrap_or("").trim();
    let password = form.password.as_deref().unwrap_or("");
    let Some(user) = st.data.user(login).filter(|u| u.password == password) else {
        return render_login(&st, &headers, login, Some(BAD_CREDENTIALS), Modal::Hidden).await;
    };
    let previous = auth::cookie(&headers, PENDING);
    if remembered(&st, &headers, &user.login) {
        return login_success(&st, &headers, &user.login);
    }
    match user.two_factor {
        TwoFactor::None => login_success(&st, &headers, &user.login),
        TwoFactor::Redirect => {
            let code = st.issue_code(&user.login);
            let token = st
                .store
                .start_pending(&user.login, &code, previous.as_deref());
            render::with_cookies(render::redirect("/otp")?, &[set_cookie(PENDING, &token)])
        }
        TwoFactor::Modal => {
            let code = st.issue_code(&user.login);
            let token = st
                .store
                .start_pending(&user.login, &code, previous.as_deref());
            let page = render_login(&st, &headers, login, None, Modal::Shown).await?;
            render::with_cookies(page, &[set_cookie(PENDING, &token)])
        }
    }
}

/// The modal's form, posted to `/login` with `step=otp`: the URL never changes.
async fn modal_step(
    st: &AppState,
    headers: &HeaderMap,
    code: &str,
    remember: bool,
) -> Result<Response, AppError> {
    let Some(token) = auth::cookie(headers, PENDING) else {
        return render_login(st, headers, "", Some(EXPIRED), Modal::Hidden).await;
    };
    match st.store.check_code(&token, code) {
        OtpOutcome::Success { login } => code_accepted(st, headers, &login, remember),
        OtpOutcome::Wrong { login } => {
            render_login(st, headers, &login, None, Modal::WrongCode).await
        }
        OtpOutcome::Missing => {
            let page = render_login(st, headers, "", Some(EXPIRED), Modal::Hidden).await?;
            render::with_cookies(page, &[clear_cookie(PENDING)])
        }
        OtpOutcome::Locked => {
            let page = render_login(st, headers, "", Some(LOCKED), Modal::Hidden).await?;
            render::with_cookies(page, &[clear_cookie(PENDING)])
        }
    }
}

async fn render_otp(st: &AppState, login: &str, wrong: bool) -> Result<Response, AppError> {
    let name = st.data.user(login).map_or(login, |u| u.name.as_str());
    let vars = [
        ("name", text(name)),
        ("error", html(if wrong { WRONG_CODE } else { "" })),
    ];
    let body = render::page(&st.root, "Vérification en deux étapes", None, "otp", &vars).await?;
    Ok(html_response(StatusCode::OK, body))
}

pub async fn otp_get(State(st): St, headers: HeaderMap) -> Result<Response, AppError> {
    match auth::cookie(&headers, PENDING).and_then(|t| st.store.pending_user(&t)) {
        Some(login) => render_otp(&st, &login, false).await,
        None => render::redirect("/login"),
    }
}

pub async fn otp_post(
    State(st): St,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let Some(token) = auth::cookie(&headers, PENDING) else {
        return render::redirect("/login");
    };
    match st
        .store
        .check_code(&token, form.code.as_deref().unwrap_or(""))
    {
        OtpOutcome::Success { login } => code_accepted(&st, &headers, &login, form.remember()),
        OtpOutcome::Wrong { login } => render_otp(&st, &login, true).await,
        OtpOutcome::Missing => {
            render::with_cookies(render::redirect("/login")?, &[clear_cookie(PENDING)])
        }
        OtpOutcome::Locked => render::with_cookies(
            render::redirect("/login?error=otp-locked")?,
            &[clear_cookie(PENDING)],
        ),
    }
}

/// Creates the session (replacing any previous one) and goes to `/accounts`.
pub(super) fn login_success(
    st: &AppState,
    headers: &HeaderMap,
    login: &str,
) -> Result<Response, AppError> {
    if let Some(old) = auth::cookie(headers, SID) {
        st.store.drop_session(&old);
    }
    let mut cookies = Vec::with_capacity(2);
    if let Some(pending) = auth::cookie(headers, PENDING) {
        st.store.drop_pending(&pending);
        cookies.push(clear_cookie(PENDING));
    }
    let sid = st.store.create_session(login);
    cookies.push(set_cookie(SID, &sid));
    tracing::debug!(user = login, "demo-bank: session created");
    render::with_cookies(render::redirect("/accounts")?, &cookies)
}

pub async fn logout(State(st): St, headers: HeaderMap) -> Result<Response, AppError> {
    if let Some(sid) = auth::cookie(&headers, SID) {
        st.store.drop_session(&sid);
    }
    render::with_cookies(render::redirect("/login")?, &[clear_cookie(SID)])
}
