//! The browser's only way to the network: an HTTP proxy in gleaner's own process that
//! Chromium is forced through for every host, loopback included (`--proxy-server`,
//! `--proxy-bypass-list=<-loopback>`), and that refuses what the collect's allow-list
//! does not name.
//!
//! The tab's `Fetch` guard (`browser/guard.rs`) sees the requests of the tab it is attached
//! to. What it cannot see still has to open a connection, and every connection of every
//! target comes here: popups and their scripts, WebSockets, WebRTC's TURN over TCP (UDP
//! is off: `--webrtc-ip-handling-policy=disable_non_proxied_udp`), preconnect hints,
//! workers, and redirects of document downloads. Chromium resolves no name itself
//! (`--host-resolver-rules` maps every name to "not found"): the proxy resolves, once per
//! name for the browser's life ([`resolve::PinnedResolver`]), and refuses private
//! addresses unless the base URL is one.
//!
//! A local process that connects to the proxy gains nothing: it reaches only the hosts the
//! connector lists, which it could reach directly, and the proxy holds no cookie.

mod admission;

mod proxy;
pub mod resolve;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::guard::{BlockedRequests, HostAllowList};
pub use admission::{EGRESS_HEADER, EgressFailure};
use admission::{Failures, Policy, Shared};
use resolve::{Lookup, PinnedResolver, SystemLookup};

/// A running egress proxy. Dropping it stops it.
pub struct Egress {
    addr: SocketAddr,
    handle: EgressHandle,
    task: JoinHandle<()>,
}

impl Egress {
    /// Listens on `127.0.0.1:0`, open until [`EgressHandle::restrict`].
    pub async fn start() -> std::io::Result<Egress> {
        Egress::start_with(Box::new(SystemLookup)).await
    }

    pub async fn start_with(lookup: Box<dyn Lookup>) -> std::io::Result<Egress> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            policy: RwLock::new(Policy::Open),
            resolver: PinnedResolver::new(lookup),
            blocked: Arc::new(Mutex::new(BlockedRequests::default())),
            refusals: watch::Sender::new(0),
            failures: Mutex::new(Failures::default()),
        });
        let task = tokio::spawn(proxy::serve(listener, shared.clone()));
        let url = url::Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)?;
        Ok(Egress {
            addr,
            handle: EgressHandle { shared, url },
            task,
        })
    }

    /// The `--proxy-server` value.
    pub fn proxy_server(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn handle(&self) -> EgressHandle {
        self.handle.clone()
    }
}

impl Drop for Egress {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a tab holds of its browser's proxy.
#[derive(Clone)]
pub struct EgressHandle {
    shared: Arc<Shared>,
    url: url::Url,
}

impl std::fmt::Debug for EgressHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EgressHandle")
    }
}

impl EgressHandle {
    /// From now on, only `allow`'s origins are reached, by every target of the browser.
    pub fn restrict(&self, allow: HostAllowList) {
        *self
            .shared
            .policy
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Policy::Only(allow);
    }

    /// The proxy's URL, for gleaner's own requests on the page's behalf (downloads).
    pub fn proxy_url(&self) -> url::Url {
        self.url.clone()
    }

    /// The number of connections refused so far, changing with each refusal.
    pub fn refusals(&self) -> watch::Receiver<u64> {
        self.shared.refusals.subscribe()
    }

    /// A mark for [`EgressHandle::failure_since`]: failures after this moment.
    pub fn failure_mark(&self) -> u64 {
        self.failures().mark()
    }

    /// Why `origin` (`https://host:port`, as [`url::Origin::ascii_serialization`] writes
    /// it) was last not reached, if that happened after `mark`.
    pub fn failure_since(&self, origin: &str, mark: u64) -> Option<EgressFailure> {
        self.failures().since(origin, mark)
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, Failures> {
        self.shared
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The connections refused so far.
    pub fn blocked(&self) -> BlockedRequests {
        self.shared
            .blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests;
