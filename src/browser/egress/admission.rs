//! What the egress proxy lets through: the policy, where a connection asks to go, and the
//! admission of each destination (allow-list, then pinned resolution, then the
//! private-address rule).

use std::net::{IpAddr, SocketAddr};
use std::sync::RwLock;

use tokio::sync::watch;
use url::{Host, Url};

use super::resolve::PinnedResolver;
use crate::browser::guard::{BlockKind, BlockedLog, HostAllowList, ip_is_private};

/// What the proxy lets through.
#[derive(Debug, Clone)]
pub(super) enum Policy {
    /// Everything: a browser no collect has restricted yet (tests, `gleaner` tools).
    Open,
    /// The collect's origins; private addresses only when the base URL is one.
    Only(HostAllowList),
}

/// The proxy's state, shared by its connections and the tabs that restrict it.
pub(super) struct Shared {
    pub(super) policy: RwLock<Policy>,
    pub(super) resolver: PinnedResolver,
    pub(super) blocked: BlockedLog,
    /// How many connections were refused so far, for whoever waits on a block.
    pub(super) refusals: watch::Sender<u64>,
}

/// Where a connection asks to go: `CONNECT host:port` (a tunnel: TLS, WebSocket, TURN) or
/// an `http://` request.
#[derive(Debug, Clone)]
pub(super) struct Destination {
    pub(super) url: Url,
    tunnel: bool,
}

impl Destination {
    pub(super) fn tunnel(authority: &str) -> Option<Destination> {
        let url = Url::parse(&format!("https://{authority}/")).ok()?;
        url.host_str()?;
        Some(Destination { url, tunnel: true })
    }

    pub(super) fn request(uri: &str) -> Option<Destination> {
        let url = Url::parse(uri).ok()?;
        url.host_str()?;
        Some(Destination { url, tunnel: false })
    }

    pub(super) fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(0)
    }

    /// `https://host:port` or `http://host:port`, for logs: never a path or a query.
    pub(super) fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

/// Why a destination was not reached.
#[derive(Debug)]
pub(super) enum Refused {
    /// The allow-list (or the private-address rule) says no.
    Blocked(BlockKind),
    /// The name did not resolve, or no address answered.
    Unreachable(std::io::Error),
}

impl Shared {
    /// Checks `dest` against the policy and returns the pinned addresses to connect to.
    pub(super) async fn admit(&self, dest: &Destination) -> Result<Vec<SocketAddr>, Refused> {
        let policy = self
            .policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let private_ok = match &policy {
            Policy::Open => true,
            Policy::Only(allow) => {
                if let Some(kind) = refusal(allow, dest) {
                    return Err(self.refuse(dest, kind));
                }
                allow.private_ok()
            }
        };
        let ips: Vec<IpAddr> = match dest.url.host() {
            Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(Host::Domain(name)) => self
                .resolver
                .addresses(name)
                .await
                .map_err(Refused::Unreachable)?
                .to_vec(),
            None => return Err(self.refuse(dest, BlockKind::Scheme)),
        };
        let port = dest.port();
        let usable: Vec<SocketAddr> = ips
            .into_iter()
            .filter(|ip| private_ok || !ip_is_private(*ip))
            .map(|ip| SocketAddr::new(ip, port))
            .collect();
        if usable.is_empty() {
            return Err(self.refuse(dest, BlockKind::Private));
        }
        Ok(usable)
    }

    fn refuse(&self, dest: &Destination, kind: BlockKind) -> Refused {
        let origin = dest.origin();
        tracing::info!(
            "the browser was kept from reaching {origin} ({}): outside the connector's domains",
            kind.label()
        );
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(&origin, kind, false);
        self.refusals.send_modify(|n| *n += 1);
        Refused::Blocked(kind)
    }
}

/// A tunnel carries TLS (`https`, `wss`) or, for `ws://` and TURN, plain bytes to the same
/// host and port: it passes when either scheme's origin is allowed.
fn refusal(allow: &HostAllowList, dest: &Destination) -> Option<BlockKind> {
    let first = allow.refusal(&dest.url)?;
    if !dest.tunnel {
        return Some(first);
    }
    let mut plain = dest.url.clone();
    let port = dest.port();
    if plain.set_scheme("http").is_err() || plain.set_port(Some(port)).is_err() {
        return Some(first);
    }
    allow.refusal(&plain).map(|_| first)
}
