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

use crate::app;
use crate::data::{SiteData, User};
use crate::human;
use crate::login;
use crate::render::{self, SiteError, escape_html, html, html_response, text};
use crate::site_login::{self, SID, SiteLogins};
use crate::third_party;
use crate::{DemoSiteOptions, HitCounter, IssuedCodes, LoginCounter};

/// What every handler of the site shares.
pub struct SiteState {
    pub root: PathBuf,
    pub data: SiteData,
    pub opts: DemoSiteOptions,
    /// Shared with [`crate::DemoSite`], which can end the site logins it holds.
    pub site_logins: Arc<SiteLogins>,
    pub password_logins: LoginCounter,
    pub codes: watch::Sender<IssuedCodes>,
    /// Open `/human` challenges.
    pub human: human::Challenges,
}

impl SiteState {
    /// The user of a valid `sid` cookie, if any.
    pub fn user(&self, headers: &HeaderMap) -> Option<&User> {
        let sid = site_login::cookie(headers, SID)?;
        let login = self.site_logins.site_login_user(&sid)?;
        self.data.user(&login)
    }

    /// A password submitted to `POST /login`.
    pub fn count_login(&self) {
        self.password_logins.record(false);
    }

    /// A password submitted to `POST /api/app/login`.
    pub fn count_app_login(&self) {
        self.password_logins.record(true);
    }

    /// Issues (and announces) a fresh 2FA code for `login`.
    pub fn issue_code(&self, login: &str) -> String {
        let code = self
            .opts
            .fixed_code
            .clone()
            .unwrap_or_else(site_login::random_code);
        if self.opts.print_codes {
            eprintln!("[demo-bank] SMS to {login}: your code is {code}");
        }
        tracing::debug!(user = login, "demo-bank: 2FA code issued");
        self.codes.send_modify(|c| c.record(login, &code));
        code
    }
}

pub fn router(
    root: PathBuf,
    opts: DemoSiteOptions,
    codes: watch::Sender<IssuedCodes>,
    hits: HitCounter,
    human: human::Challenges,
    site_logins: Arc<SiteLogins>,
    password_logins: LoginCounter,
) -> std::io::Result<Router> {
    let data = SiteData::load(&root)?;
    let state = Arc::new(SiteState {
        root,
        data,
        opts,
        site_logins,
        password_logins,
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
        .merge(crate::hostile::routes())
        .merge(crate::greedy::routes())
        .merge(crate::downloads::routes())
        .merge(crate::broken::routes())
        .merge(crate::dialogs::routes())
        .merge(crate::frames::routes())
        .merge(crate::json_api::routes())
        .merge(crate::popup_pages::routes())
        .merge(crate::selector_pages::routes())
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

async fn index() -> Result<Response, SiteError> {
    render::redirect("/login")
}

async fn fallback(State(site): State<Arc<SiteState>>) -> Response {
    render::not_found(&site.root, "La page demandée n’existe pas.").await
}

async fn down(State(site): State<Arc<SiteState>>) -> Result<Response, SiteError> {
    let body = render::page(&site.root, "Service indisponible", None, "down", &[]).await?;
    let mut resp = html_response(StatusCode::SERVICE_UNAVAILABLE, body);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
    Ok(resp)
}

async fn accounts(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    let Some(user) = site.user(&headers) else {
        return render::redirect("/login");
    };
    let mut rows = String::new();
    for a in &site.data.accounts {
        let id = escape_html(&a.id);
        rows.push_str(&format!(
            "      <tr data-id=\"{id}\"><td class=\"id\">{id}</td><td class=\"label\">{}</td>\
             <td class=\"balance\">{}</td><td><a href=\"/accounts/{id}/operations\">Voir les opérations</a></td></tr>\n",
            escape_html(&a.label),
            escape_html(&a.balance),
        ));
    }
    let vars = [("name", text(&user.name)), ("rows", html(rows))];
    let body = render::page(
        &site.root,
        "Mes comptes",
        Some(&user.name),
        "accounts",
        &vars,
    )
    .await?;
    Ok(html_response(StatusCode::OK, body))
}

async fn operations(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SiteError> {
    let Some(user) = site.user(&headers) else {
        return render::redirect("/login");
    };
    let Some(account) = site.data.account(&id) else {
        return Ok(render::not_found(&site.root, "Ce compte n’existe pas.").await);
    };
    let per = site.data.operations_page_size;
    let pages = account.operations.len().div_ceil(per).max(1);
    let page = match q.get("page").map(|p| p.trim().parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if (1..=pages).contains(&n) => n,
        Some(_) => {
            return Ok(
                render::not_found(&site.root, "Cette page d’opérations n’existe pas.").await,
            );
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
        &site.root,
        &account.label,
        Some(&user.name),
        "operations",
        &vars,
    )
    .await?;
    Ok(html_response(StatusCode::OK, body))
}

async fn invoices(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    let Some(user) = site.user(&headers) else {
        return render::redirect("/login");
    };
    let mut rows = String::new();
    let extra = site.opts.extra_invoices.list();
    for inv in site.data.invoices.iter().chain(&extra) {
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
        &site.root,
        "Mes factures",
        Some(&user.name),
        "invoices",
        &[("rows", html(rows))],
    )
    .await?;
    Ok(html_response(StatusCode::OK, body))
}

async fn invoice_pdf(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, SiteError> {
    if site.user(&headers).is_none() {
        let msg = "Vous devez être connecté pour télécharger ce document.";
        return Ok(
            render::error_page(&site.root, StatusCode::FORBIDDEN, "Accès refusé", msg).await,
        );
    }
    if let Some((invoice, pdf)) = file
        .strip_suffix(".pdf")
        .and_then(|id| site.opts.extra_invoices.pdf(id))
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
    let Some(invoice) = file
        .strip_suffix(".pdf")
        .and_then(|id| site.data.invoice(id))
    else {
        return Ok(render::not_found(&site.root, "Cette facture n’existe pas.").await);
    };
    let path = site
        .root
        .join("invoices")
        .join(format!("{}.pdf", invoice.id));
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(render::not_found(&site.root, "Cette facture n’est plus disponible.").await);
        }
        Err(source) => {
            return Err(SiteError::File {
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

fn message_item(m: &crate::data::Message) -> String {
    format!(
        "    <li class=\"message\" data-id=\"{}\"><span class=\"date\">{}</span> <span class=\"subject\">{}</span></li>\n",
        escape_html(&m.id),
        escape_html(&m.date),
        escape_html(&m.subject),
    )
}

async fn messages(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    let Some(user) = site.user(&headers) else {
        return render::redirect("/login");
    };
    let per = site.data.messages_page_size;
    let items: String = site
        .data
        .messages
        .iter()
        .take(per)
        .map(message_item)
        .collect();
    let load_more = if site.data.messages.len() > per {
        format!("<button id=\"load-more\" type=\"button\" data-offset=\"{per}\">Voir plus</button>")
    } else {
        String::new()
    };
    let vars = [("items", html(items)), ("load_more", html(load_more))];
    let body = render::page(
        &site.root,
        "Mes messages",
        Some(&user.name),
        "messages",
        &vars,
    )
    .await?;
    Ok(html_response(StatusCode::OK, body))
}

async fn api_messages(
    State(site): State<Arc<SiteState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if site.user(&headers).is_none() {
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
    let all = &site.data.messages;
    let start = offset.min(all.len());
    let end = (start + site.data.messages_page_size).min(all.len());
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
