//! Router, shared state, and the authenticated pages.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::watch;

use super::app;
use super::auth::{self, SID, Store};
use super::data::{SiteData, User};
use super::human;
use super::login;
use super::render::{self, AppError, escape_html, html, html_response, text};
use super::third_party;
use super::{DemoSiteOptions, HitCounter, IssuedCodes, LoginCounter};

pub struct AppState {
    pub root: PathBuf,
    pub data: SiteData,
    pub opts: DemoSiteOptions,
    /// Shared with [`super::DemoSite`], which can end the sessions it holds.
    pub store: Arc<Store>,
    pub logins: LoginCounter,
    pub codes: watch::Sender<IssuedCodes>,
    /// Open `/human` challenges.
    pub human: human::Challenges,
}

pub type St = State<Arc<AppState>>;

impl AppState {
    /// The user of a valid `sid` cookie, if any.
    pub fn user(&self, headers: &HeaderMap) -> Option<&User> {
        let sid = auth::cookie(headers, SID)?;
        let login = self.store.session_user(&sid)?;
        self.data.user(&login)
    }

    /// A password submitted to `POST /login`.
    pub fn count_login(&self) {
        self.logins.record(false);
    }

    /// A password submitted to `POST /api/app/login`.
    pub fn count_app_login(&self) {
        self.logins.record(true);
    }

    /// Issues (and announces) a fresh 2FA code for `login`.
    pub fn issue_code(&self, login: &str) -> String {
        let code = self
            .opts
            .fixed_code
            .clone()
            .unwrap_or_else(auth::random_code);
        if self.opts.print_codes {
            eprintln!("[demo-bank] SMS to {login}: your code is {code}");
        }
        tracing::debug!(user = login, "demo-bank: 2FA code issued");
        self.codes.send_modify(|c| c.record(login, &code));
        code
    }
}

pub fn app(
    root: PathBuf,
    opts: DemoSiteOptions,
    codes: watch::Sender<IssuedCodes>,
    hits: HitCounter,
    human: human::Challenges,
    store: Arc<Store>,
    logins: LoginCounter,
) -> std::io::Result<Router> {
    let data = SiteData::load(&root)?;
    let state = Arc::new(AppState {
        root,
        data,
        opts,
        store,
        logins,
        codes,
        human,
    });
    Ok(Router::new()
        .route("/", get(index))
        .route("/login", get(login::login_get).post(login::login_post))
        .route("/otp", get(login::otp_get).post(login::otp_post))
        .route("/logout", get(login::logout))
        .route("/human", get(human::human_get).post(human::human_post))
        .route("/accounts", get(accounts))
        .route("/accounts/{id}/operations", get(operations))
        .route("/invoices", get(invoices))
        .route("/invoices/{file}", get(invoice_pdf))
        .route("/messages", get(messages))
        .route("/api/messages", get(api_messages))
        .route("/down", get(down))
        .route("/app", get(app::page))
        .route("/app/app.js", get(app::script))
        .route("/api/app/login", post(app::login))
        .route("/api/app/otp", post(app::otp))
        .route("/api/app/accounts", get(app::accounts))
        .route("/api/app/logout", post(app::logout))
        .route("/third-party", get(third_party::page))
        .route("/away", get(third_party::away))
        .route("/tracker.png", get(third_party::tracker_png))
        .route("/tracker.js", get(third_party::tracker_js))
        .route("/tracker.json", get(third_party::tracker_json))
        .route("/tracker.html", get(third_party::tracker_html))
        .route("/elsewhere", get(third_party::elsewhere))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(hits, count_hits))
        .with_state(state))
}

async fn count_hits(State(hits): State<HitCounter>, req: Request, next: Next) -> Response {
    tracing::debug!(method = %req.method(), uri = %req.uri(), "demo-bank request");
    hits.record(req.uri().path());
    hits.record(&format!("{} {}", req.method(), req.uri().path()));
    next.run(req).await
}

async fn index() -> Result<Response, AppError> {
    render::redirect("/login")
}

async fn fallback(State(st): St) -> Response {
    render::not_found(&st.root, "La page demandée n’existe pas.").await
}

async fn down(State(st): St) -> Result<Response, AppError> {
    let body = render::page(&st.root, "Service indisponible", None, "down", &[]).await?;
    let mut resp = html_response(StatusCode::SERVICE_UNAVAILABLE, body);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
    Ok(resp)
}

async fn accounts(State(st): St, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(user) = st.user(&headers) else {
        return render::redirect("/login");
    };
    let mut rows = String::new();
    for a in &st.data.accounts {
        let id = escape_html(&a.id);
        rows.push_str(&format!(
            "      <tr data-id=\"{id}\"><td class=\"id\">{id}</td><td class=\"label\">{}</td>\
             <td class=\"balance\">{}</td><td><a href=\"/accounts/{id}/operations\">Voir les opérations</a></td></tr>\n",
            escape_html(&a.label),
            escape_html(&a.balance),
        ));
    }
    let vars = [("name", text(&user.name)), ("rows", html(rows))];
    let body = render::page(&st.root, "Mes comptes", Some(&user.name), "accounts", &vars).await?;
    Ok(html_response(StatusCode::OK, body))
}

async fn operations(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let Some(user) = st.user(&headers) else {
        return render::redirect("/login");
    };
    let Some(account) = st.data.account(&id) else {
        return Ok(render::not_found(&st.root, "Ce compte n’existe pas.").await);
    };
    let per = st.data.operations_page_size;
    let pages = account.operations.len().div_ceil(per).max(1);
    let page = match q.get("page").map(|p| p.trim().parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if (1..=pages).contains(&n) => n,
        Some(_) => {
            return Ok(render::not_found(&st.root, "Cette page d’opérations n’existe pas.").await);
        }
    };
    let mut rows = String::new();
    for op in account.operations.iter().skip((page - 1) * per).take(per) {
        rows.push_str(&format!(
            "      <tr><td class=\"date\">{}</td><td class=\"label\">{}</td><td class=\"amount\">{}</td></tr>\n",
            escape_html(&op.date),
            escape_html(&op.label),
            escape_html(&op.amount),
        ));
    }
    let prev = if page > 1 {
        format!(
            "<a class=\"prev\" href=\"?page={}\">Précédent</a>",
            page - 1
        )
    } else {
        String::new()
    };
    let next = if page < pages {
        format!("<a class=\"next\" href=\"?page={}\">Suivant</a>", page + 1)
    } else {
        String::new()
    };
    let vars = [
        ("label", text(&account.label)),
        ("id", text(&account.id)),
        ("balance", text(&account.balance)),
        ("rows", html(rows)),
        ("prev", html(prev)),
        ("next", html(next)),
        ("page", text(page.to_string())),
        ("pages", text(pages.to_string())),
    ];
    let body = render::page(
        &st.root,
        &account.label,
        Some(&user.name),
        "operations",
        &vars,
    )
    .await?;
    Ok(html_response(StatusCode::OK, body))
}

async fn invoices(State(st): St, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(user) = st.user(&headers) else {
        return render::redirect("/login");
    };
    let mut rows = String::new();
    let extra = st.opts.extra_invoices.list();
    for inv in st.data.invoices.iter().chain(&extra) {
        let id = escape_html(&inv.id);
        rows.push_str(&format!(
            "      <tr data-id=\"{id}\"><td class=\"id\">{id}</td><td class=\"date\">{}</td><td class=\"label\">{}</td>\
             <td class=\"amount\">{}</td><td><a class=\"invoice\" data-id=\"{id}\" href=\"/invoices/{id}.pdf\">Télécharger</a></td></tr>\n",
            escape_html(&inv.date),
            escape_html(&inv.label),
            escape_html(&inv.amount),
        ));
    }
    let body = render::page(
        &st.root,
        "Mes factures",
        Some(&user.name),
        "invoices",
        &[("rows", html(rows))],
    )
    .await?;
    Ok(html_response(StatusCode::OK, body))
}

async fn invoice_pdf(
    State(st): St,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    if st.user(&headers).is_none() {
        let msg = "Vous devez être connecté pour télécharger ce document.";
        return Ok(render::error_page(&st.root, StatusCode::FORBIDDEN, "Accès refusé", msg).await);
    }
    if let Some((invoice, pdf)) = file
        .strip_suffix(".pdf")
        .and_then(|id| st.opts.extra_invoices.pdf(id))
    {
        let disposition = format!("attachment; filename=\"{}.pdf\"", invoice.id);
        return Ok((
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "application/pdf".to_string(),
                ),
                (axum::http::header::CONTENT_DISPOSITION, disposition),
            ],
            pdf,
        )
            .into_response());
    }
    // Only ids listed in data.json are served: no path from the URL reaches the disk.
    let Some(invoice) = file.strip_suffix(".pdf").and_then(|id| st.data.invoice(id)) else {
        return Ok(render::not_found(&st.root, "Cette facture n’existe pas.").await);
    };
    let path = st.root.join("invoices").join(format!("{}.pdf", invoice.id));
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(render::not_found(&st.root, "Cette facture n’est plus disponible.").await);
        }
        Err(source) => {
            return Err(AppError::File {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let disposition = format!("attachment; filename=\"{}.pdf\"", invoice.id);
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)?,
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

fn message_item(m: &super::data::Message) -> String {
    format!(
        "    <li class=\"message\" data-id=\"{}\"><span class=\"date\">{}</span> <span class=\"subject\">{}</span></li>\n",
        escape_html(&m.id),
        escape_html(&m.date),
        escape_html(&m.subject),
    )
}

async fn messages(State(st): St, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(user) = st.user(&headers) else {
        return render::redirect("/login");
    };
    let per = st.data.messages_page_size;
    let items: String = st
        .data
        .messages
        .iter()
        .take(per)
        .map(message_item)
        .collect();
    let load_more = if st.data.messages.len() > per {
        format!("<button id=\"load-more\" type=\"button\" data-offset=\"{per}\">Voir plus</button>")
    } else {
        String::new()
    };
    let vars = [("items", html(items)), ("load_more", html(load_more))];
    let body = render::page(
        &st.root,
        "Mes messages",
        Some(&user.name),
        "messages",
        &vars,
    )
    .await?;
    Ok(html_response(StatusCode::OK, body))
}

async fn api_messages(
    State(st): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if st.user(&headers).is_none() {
        return json_response(StatusCode::UNAUTHORIZED, json!({ "error": "unauthorized" }));
    }
    let offset = match q.get("offset").map(|o| o.trim().parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({ "error": "invalid offset" }),
            );
        }
    };
    let all = &st.data.messages;
    let start = offset.min(all.len());
    let end = (start + st.data.messages_page_size).min(all.len());
    let body = json!({
        "messages": &all[start..end],
        "offset": start,
        "next_offset": end,
        "total": all.len(),
        "has_more": end < all.len(),
    });
    json_response(StatusCode::OK, body)
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
