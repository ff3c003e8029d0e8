//! "Demo Telecom": a second fixture site, a French telecom operator's customer portal built
//! with the shapes the demo bank lacks (issue 13, item 9). Every page is written in Rust
//! (no fixture directory) and every value is fixed, so tests can assert exact records and
//! documents (see [`data`]).
//!
//! One server answers under two host names, told apart by the `Host` header (see
//! [`hosts`]): the portal on `127.0.0.1:PORT` and its identity provider ("Demo ID") on
//! `localhost:PORT`. They are different sites, so Chromium runs the IdP's frame out of
//! process, as a real portal's login frame would be.
//!
//! - `idp.rs`: the login form, its 2FA code prompt and the one-time grant, all inside the
//!   frame;
//! - `portal.rs`: `/login` (the page embedding the frame), `/sso/callback`, `/logout`,
//!   `/home`, and the portal's site logins;
//! - `pages.rs`: the page shell, with the consent banner (open shadow root) and the support
//!   widget (closed shadow root);
//! - `bills.rs`: the bills table and its downloads (POST form, `blob:`, new tab, `confirm`);
//! - `api.rs`: `/usage` (a canvas drawn from JSON) and the JSON-only `/api/usage` and
//!   `/api/lines`;
//! - `pdf.rs`: the small deterministic PDFs.
//!
//! The map, for connector authors and tests (values in [`data`]):
//! - portal `/login`: `iframe#auth` → `http://localhost:PORT/idp/login?client_id=demo-telecom`;
//!   `?banner=0` leaves the banner out, `?error=sso` says a grant was refused;
//! - frame: `#username`, `#password`, `#idp-submit`; then `#otp`, `#otp-submit`; then
//!   `#continue` (in `form#sso`, `target="_top"`, POST `/sso/callback` with `grant`);
//!   errors `.idp-error` ([`BAD_CREDENTIALS`], [`LOCKED`], [`EXPIRED`]) and `.otp-error`
//!   ([`WRONG_CODE`]);
//! - `/home` (`#welcome .name`, `dd.customer-id`, `dd.offer`), `/logout`;
//! - `/bills[?page=2][&evil=1][&confirm=0]`: `table#bills tbody tr.bill[data-id]`,
//!   `td.date`, `td.label`, `td.amount`, `button.download` (POST `/bills/download`,
//!   `bill=ID`, after [`CONFIRM_QUESTION`]), `a.next`, `#releve` (`blob:`), `#contract`
//!   (new tab, `/contract.pdf` inline);
//! - `/usage` (`canvas#usage-chart`, `#usage-status[data-state=ready]`), `GET /api/usage`,
//!   `POST /api/lines` `{"status": "active"}`;
//! - every portal page: `consent-banner >> button.accept` until the `consent` cookie is
//!   set; `support-chat` holds `button.chat-open` in a closed root.

mod api;
mod bills;
pub mod data;
mod hosts;
mod idp;
mod pages;
pub mod pdf;
mod portal;
mod store;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::HitCounter;

pub use bills::CONFIRM_QUESTION;
pub use idp::{BAD_CREDENTIALS, EXPIRED, LOCKED, WRONG_CODE};
pub use pages::CONSENT;

/// The connector id and the name the site shows.
pub const ID: &str = "demo-telecom";
pub const NAME: &str = "Demo Telecom";

/// The defaults of [`DemoTelecomOptions`]: the same login, password and scripted code as
/// the demo bank's tests use.
pub const DEFAULT_LOGIN: &str = "alice";
pub const DEFAULT_PASSWORD: &str = "demo";
pub const DEFAULT_CODE: &str = "424242";

/// Who can log in, and the 2FA code the IdP "sends by SMS".
#[derive(Clone, Debug)]
pub struct DemoTelecomOptions {
    pub login: String,
    pub password: String,
    /// Every 2FA code is this one: the site must stay deterministic.
    pub code: String,
    /// Print `[demo-telecom] SMS to {login}: your code is {code}` to stderr.
    pub print_codes: bool,
}

impl Default for DemoTelecomOptions {
    fn default() -> Self {
        DemoTelecomOptions {
            login: DEFAULT_LOGIN.into(),
            password: DEFAULT_PASSWORD.into(),
            code: DEFAULT_CODE.into(),
            print_codes: false,
        }
    }
}

/// What every handler shares.
pub(crate) struct TelecomState {
    pub opts: DemoTelecomOptions,
    /// The bound port: the portal and the IdP link to each other by absolute URL.
    pub port: u16,
    pub store: store::Store,
}

impl TelecomState {
    /// `http://127.0.0.1:PORT`
    pub fn portal_origin(&self) -> String {
        format!("http://{}:{}", hosts::PORTAL, self.port)
    }

    /// `http://localhost:PORT`
    pub fn idp_origin(&self) -> String {
        format!("http://{}:{}", hosts::IDP, self.port)
    }
}

/// A running Demo Telecom. Dropping it without [`DemoTelecom::shutdown`] still asks the
/// server to stop, but does not wait for it.
pub struct DemoTelecom {
    addr: SocketAddr,
    shutdown_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    hits: HitCounter,
}

impl DemoTelecom {
    /// Binds 127.0.0.1:0 and serves the portal and its IdP in a spawned task.
    pub async fn start(opts: DemoTelecomOptions) -> std::io::Result<DemoTelecom> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let hits = HitCounter::default();
        let state = Arc::new(TelecomState {
            opts,
            port: addr.port(),
            store: store::Store::default(),
        });
        let app = router(state, hits.clone());
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let signal = async move {
            // Either an explicit shutdown or the DemoTelecom being dropped.
            let _ = shutdown_rx.await;
        };
        let task = tokio::spawn(crate::run(listener, app, signal));
        tracing::info!(%addr, "demo-telecom listening");
        Ok(DemoTelecom {
            addr,
            shutdown_tx: Some(shutdown_tx),
            task: Some(task),
            hits,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The portal: "http://127.0.0.1:PORT/" (with trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}:{}/", hosts::PORTAL, self.addr.port())
    }

    /// The identity provider, another site: "http://localhost:PORT/".
    pub fn idp_url(&self) -> String {
        format!("http://{}:{}/", hosts::IDP, self.addr.port())
    }

    /// The IdP's entry for a connector's `domains` (`localhost:PORT`): the frame is another
    /// site, which the collect must be allowed to reach.
    pub fn idp_domain(&self) -> String {
        format!("{}:{}", hosts::IDP, self.addr.port())
    }

    /// Requests served per path (query string excluded), both hosts together.
    pub fn hits(&self, path: &str) -> u64 {
        self.hits.get(path)
    }

    /// Requests served for one method and path, both hosts together:
    /// `hits_of("POST", "/bills/download")`.
    pub fn hits_of(&self, method: &str, path: &str) -> u64 {
        self.hits
            .get(&format!("{} {path}", method.to_ascii_uppercase()))
    }

    /// Graceful: stops accepting, lets open connections finish, awaits the task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "demo-telecom server error"),
                Err(e) => tracing::warn!(error = %e, "demo-telecom server task failed"),
            }
        }
    }
}

impl Drop for DemoTelecom {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
    }
}

fn router(state: Arc<TelecomState>, hits: HitCounter) -> Router {
    Router::new()
        .route("/", get(portal::index))
        .route("/login", get(portal::login_page))
        .route("/sso/callback", post(portal::sso_callback))
        .route("/logout", get(portal::logout))
        .route("/home", get(portal::home))
        .route("/bills", get(bills::page))
        .route("/bills/download", post(bills::download))
        .route("/contract.pdf", get(bills::contract))
        .route("/usage", get(api::usage_page))
        .route("/api/usage", get(api::usage))
        .route("/api/lines", post(api::lines))
        .route("/idp/login", get(idp::login_form).post(idp::login_submit))
        .route("/idp/otp", post(idp::otp_submit))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn(hosts::one_site_per_host))
        .layer(axum::middleware::from_fn_with_state(hits, count_hits))
        .with_state(state)
}

async fn count_hits(
    axum::extract::State(hits): axum::extract::State<HitCounter>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    tracing::debug!(method = %req.method(), uri = %req.uri(), "demo-telecom request");
    hits.record(req.uri().path());
    hits.record(&format!("{} {}", req.method(), req.uri().path()));
    next.run(req).await
}
