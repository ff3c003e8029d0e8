//! "Demo Bank": a small French online-bank fixture site served by axum, used by gleaner's
//! integration tests (driven by real Chromium) and, through the `demo-sites` binary, by
//! `scripts/demo` and `scripts/bench`. It is not part of gleaner: the product binary
//! carries no fake bank.
//!
//! Pages are HTML templates read from the workspace's `fixtures/demo-bank/` (see
//! [`demo_bank_fixtures`] and `render.rs`); the data displayed comes from
//! `fixtures/demo-bank/data.json` (see `data.rs`). Site logins (`sid` cookies), pending 2FA
//! logins, cookies, form POSTs and redirects are real.
//!
//! Two ways to stay logged in, for gleaner's tests of what it keeps between collects:
//! - the 2FA forms have a "Se souvenir de cet appareil" checkbox (`#remember`): it sets a
//!   year-long `remember_device` cookie, and a password login from a browser carrying it
//!   skips the 2FA. The `sid` cookie is valid for as long as the server keeps the site
//!   login ([`DemoSite::expire_site_logins`] ends them all; [`DemoSite::forget_devices`]
//!   forgets the remembered devices);
//! - `/app` is a single-page app that keeps a bearer token in `localStorage` (see `app.rs`).
//!
//! [`telecom`] is a second site, "Demo Telecom" ([`DemoTelecom`]): a portal whose login and
//! 2FA run in a cross-site frame, with a shadow-root consent banner, POST, `blob:` and
//! new-tab downloads, a `confirm` dialog and JSON-only data.

mod app;
mod broken;
mod data;
pub mod dialogs;
pub mod downloads;
mod extra;
pub mod frames;
pub mod greedy;
pub mod hostile;
mod human;
mod json_api;
mod login;
pub mod popup_pages;
mod render;
mod routes;
mod selector_pages;
mod site_login;
pub mod telecom;
#[cfg(test)]
mod tests;
pub mod third_party;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use data::{Account, Invoice, Message, Operation, SiteData, TwoFactor, User, format_eur};
pub use extra::ExtraInvoices;
pub use telecom::{DemoTelecom, DemoTelecomOptions};

use site_login::SiteLogins;

/// The demo bank's pages and data, `fixtures/demo-bank/` at the workspace's root: found
/// from where this crate was built, so `cargo run -p demo-sites` and the tests work from any
/// directory of the checkout.
pub fn demo_bank_fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/demo-bank"
    ))
}

#[derive(Default, Clone, Debug)]
pub struct DemoSiteOptions {
    /// Every 2FA code is this value instead of a random 6-digit string.
    pub fixed_code: Option<String>,
    /// Print `[demo-bank] SMS to {user}: your code is {code}` to stderr.
    pub print_codes: bool,
    /// Invoices published after start, listed after those of `data.json`.
    pub extra_invoices: ExtraInvoices,
}

/// The 2FA codes issued so far: for each user, the latest one with its
/// sequence number (sequence numbers grow across all users).
#[derive(Debug, Clone, Default)]
pub struct IssuedCodes {
    seq: u64,
    latest: HashMap<String, (u64, String)>,
}

impl IssuedCodes {
    /// The most recent code issued for `user`, with its sequence number.
    pub fn latest(&self, user: &str) -> Option<(u64, &str)> {
        self.latest
            .get(user)
            .map(|(seq, code)| (*seq, code.as_str()))
    }

    fn record(&mut self, user: &str, code: &str) {
        self.seq += 1;
        self.latest
            .insert(user.to_string(), (self.seq, code.to_string()));
    }
}

/// Requests served per path (query string excluded), and per method and path
/// (`"POST /login"`).
#[derive(Debug, Clone, Default)]
pub struct HitCounter(Arc<Mutex<HashMap<String, u64>>>);

impl HitCounter {
    pub fn get(&self, path: &str) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    fn record(&self, path: &str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(path.to_string())
            .or_insert(0) += 1;
    }
}

/// Password logins seen, per way in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Logins {
    /// `POST /login` with a login and a password (the modal's code step excluded).
    pub form: u64,
    /// `POST /api/app/login`.
    pub app: u64,
}

/// Counts [`Logins`]; clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct LoginCounter(Arc<Mutex<Logins>>);

impl LoginCounter {
    pub fn get(&self) -> Logins {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, app: bool) {
        let mut l = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if app {
            l.app += 1;
        } else {
            l.form += 1;
        }
    }
}

/// Why [`DemoSite::wait_code`] returned no code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitCodeError {
    #[error("demo-bank stopped before a code was issued for {user}")]
    Stopped { user: String },
    #[error("no 2FA code issued for {user} within {timeout:?}")]
    TimedOut { user: String, timeout: Duration },
}

/// A running demo bank. Dropping it without [`DemoSite::shutdown`] still asks
/// the server to stop, but does not wait for it.
pub struct DemoSite {
    addr: SocketAddr,
    shutdown_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    codes: watch::Receiver<IssuedCodes>,
    /// user → sequence number of the last code returned by `wait_code`.
    consumed: Mutex<HashMap<String, u64>>,
    hits: HitCounter,
    human: human::Challenges,
    site_logins: Arc<SiteLogins>,
    password_logins: LoginCounter,
}

impl DemoSite {
    /// Binds 127.0.0.1:0, serves `root` (the fixtures/demo-bank dir) in a spawned task.
    pub async fn start(
        root: impl Into<PathBuf>,
        opts: DemoSiteOptions,
    ) -> std::io::Result<DemoSite> {
        let root = root.into();
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (codes_tx, codes_rx) = watch::channel(IssuedCodes::default());
        let hits = HitCounter::default();
        // Build (and load data.json) before spawning, so errors surface here.
        let human = human::Challenges::default();
        let site_logins = Arc::new(SiteLogins::default());
        let password_logins = LoginCounter::default();
        let app = routes::router(
            root,
            opts,
            codes_tx,
            hits.clone(),
            human.clone(),
            site_logins.clone(),
            password_logins.clone(),
        )?;
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let signal = async move {
            // Either an explicit shutdown or the DemoSite being dropped.
            let _ = shutdown_rx.await;
        };
        let task = tokio::spawn(run(listener, app, signal));
        tracing::info!(%addr, "demo-bank listening");
        Ok(DemoSite {
            addr,
            shutdown_tx: Some(shutdown_tx),
            task: Some(task),
            codes: codes_rx,
            consumed: Mutex::new(HashMap::new()),
            hits,
            human,
            site_logins,
            password_logins,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// "http://127.0.0.1:PORT/" (with trailing slash)
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Waits until a 2FA code has been issued for `user` that no previous
    /// `wait_code` call returned, and returns the most recent such code.
    pub async fn wait_code(&self, user: &str, timeout: Duration) -> Result<String, WaitCodeError> {
        let mut rx = self.codes.clone();
        let wait = async {
            loop {
                let seen = self.consumed_seq(user);
                let found = {
                    let codes = rx
                        .wait_for(|c| c.latest(user).is_some_and(|(seq, _)| seq > seen))
                        .await
                        .map_err(|_| WaitCodeError::Stopped {
                            user: user.to_string(),
                        })?;
                    codes
                        .latest(user)
                        .map(|(seq, code)| (seq, code.to_string()))
                };
                if let Some((seq, code)) = found {
                    let mut consumed = self.consumed.lock().unwrap_or_else(|e| e.into_inner());
                    let last = consumed.entry(user.to_string()).or_insert(0);
                    if seq > *last {
                        *last = seq;
                        return Ok(code);
                    }
                    // A concurrent wait_code took it: wait for the next one.
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| WaitCodeError::TimedOut {
                user: user.to_string(),
                timeout,
            })?
    }

    fn consumed_seq(&self, user: &str) -> u64 {
        self.consumed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .copied()
            .unwrap_or(0)
    }

    /// Number of HTTP requests served per path so far (query string excluded).
    pub fn hits(&self, path: &str) -> u64 {
        self.hits.get(path)
    }

    /// Requests served for one method and path: `hits_of("POST", "/login")`.
    pub fn hits_of(&self, method: &str, path: &str) -> u64 {
        self.hits
            .get(&format!("{} {path}", method.to_ascii_uppercase()))
    }

    /// Password logins so far: `POST /login` (form) and `POST /api/app/login` (app).
    pub fn logins(&self) -> Logins {
        self.password_logins.get()
    }

    /// Ends every site login server-side: `sid` cookies and the app's tokens stop working,
    /// as after a server restart. Remembered devices stay remembered.
    pub fn expire_site_logins(&self) {
        self.site_logins.expire_site_logins();
    }

    /// Forgets every remembered device: the next logins ask for a code again.
    pub fn forget_devices(&self) {
        self.site_logins.forget_devices();
    }

    /// The phrase of the latest `/human` challenge not answered yet: what its page asks
    /// to type (the page shows it too, once the square is clicked).
    pub fn human_phrase(&self) -> Option<String> {
        self.human.latest_phrase()
    }

    /// Graceful: stops accepting, lets open connections finish, awaits the task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "demo-bank server error"),
                Err(e) => tracing::warn!(error = %e, "demo-bank server task failed"),
            }
        }
    }
}

impl Drop for DemoSite {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves until `shutdown` resolves. `start` uses the same machinery.
/// `codes` receives every issued 2FA code; `hits` counts requests per path.
pub async fn serve(
    listener: TcpListener,
    root: PathBuf,
    opts: DemoSiteOptions,
    codes: watch::Sender<IssuedCodes>,
    hits: HitCounter,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = routes::router(
        root,
        opts,
        codes,
        hits,
        human::Challenges::default(),
        Arc::default(),
        LoginCounter::default(),
    )?;
    run(listener, app, shutdown).await
}

async fn run(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
