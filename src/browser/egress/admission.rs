//! What the egress proxy lets through: the policy, where a connection asks to go, and the
//! admission of each destination (allow-list, then pinned resolution, then the
//! private-address rule).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, RwLock};

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
    /// Why each origin was last not reached, for a navigation that failed on it.
    pub(super) failures: Mutex<Failures>,
}

/// The last failure per origin, numbered so that a navigation asks only about the
/// failures that happened since it started.
#[derive(Debug, Default)]
pub(super) struct Failures {
    next: u64,
    by_origin: HashMap<String, (u64, EgressFailure)>,
}

/// Origins remembered at most: a page can make up any number of them.
const FAILURES_KEPT: usize = 256;

impl Failures {
    pub(super) fn record(&mut self, origin: String, failure: EgressFailure) {
        if self.by_origin.len() >= FAILURES_KEPT && !self.by_origin.contains_key(&origin) {
            self.by_origin.clear();
        }
        self.next += 1;
        self.by_origin.insert(origin, (self.next, failure));
    }

    /// The number the next failure will be given above.
    pub(super) fn mark(&self) -> u64 {
        self.next
    }

    pub(super) fn since(&self, origin: &str, mark: u64) -> Option<EgressFailure> {
        self.by_origin
            .get(origin)
            .filter(|(n, _)| *n > mark)
            .map(|(_, f)| *f)
    }
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
    /// The name did not resolve.
    NotResolved(std::io::Error),
    /// No address answered.
    Unreachable(std::io::Error),
}

impl Refused {
    /// Why, as the proxy tells it to gleaner (never to the site).
    pub(super) fn failure(&self) -> EgressFailure {
        match self {
            Refused::Blocked(kind) => EgressFailure::Blocked(*kind),
            Refused::NotResolved(_) => EgressFailure::NameNotResolved,
            Refused::Unreachable(e) => match e.kind() {
                std::io::ErrorKind::ConnectionRefused => EgressFailure::ConnectionRefused,
                std::io::ErrorKind::TimedOut => EgressFailure::TimedOut,
                _ => EgressFailure::Unreachable,
            },
        }
    }
}

/// The header on the proxy's own answers that says why a host was not reached; the proxy
/// removes it from every response it forwards, so a site cannot write it.
pub const EGRESS_HEADER: &str = "x-gleaner-egress";

/// Why the proxy could not reach an origin: what the browser only sees as a `502` (for an
/// `http://` request) or a failed tunnel (`net::ERR_TUNNEL_CONNECTION_FAILED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgressFailure {
    ConnectionRefused,
    NameNotResolved,
    TimedOut,
    /// No route, host down, or another connection error.
    Unreachable,
    /// Connected, but the site closed the connection without an answer.
    NoAnswer,
    /// Outside the connector's domains.
    Blocked(BlockKind),
}

impl EgressFailure {
    /// The value of the proxy's `X-Gleaner-Egress` header.
    pub fn header_value(self) -> String {
        match self {
            EgressFailure::ConnectionRefused => "connection-refused".into(),
            EgressFailure::NameNotResolved => "name-not-resolved".into(),
            EgressFailure::TimedOut => "timed-out".into(),
            EgressFailure::Unreachable => "unreachable".into(),
            EgressFailure::NoAnswer => "no-answer".into(),
            EgressFailure::Blocked(kind) => format!("blocked-{}", kind.label()),
        }
    }

    /// Reads an `X-Gleaner-Egress` value back (the blocked kinds as [`BlockKind::Host`]:
    /// the guard's log has the precise kind).
    pub fn from_header_value(value: &str) -> Option<EgressFailure> {
        Some(match value {
            "connection-refused" => EgressFailure::ConnectionRefused,
            "name-not-resolved" => EgressFailure::NameNotResolved,
            "timed-out" => EgressFailure::TimedOut,
            "unreachable" => EgressFailure::Unreachable,
            "no-answer" => EgressFailure::NoAnswer,
            v if v.starts_with("blocked-") => EgressFailure::Blocked(BlockKind::Host),
            _ => return None,
        })
    }

    /// The Chromium net error a direct connection would have given.
    pub fn net_error(self) -> &'static str {
        match self {
            EgressFailure::ConnectionRefused => "ERR_CONNECTION_REFUSED",
            EgressFailure::NameNotResolved => "ERR_NAME_NOT_RESOLVED",
            EgressFailure::TimedOut => "ERR_CONNECTION_TIMED_OUT",
            EgressFailure::Unreachable => "ERR_ADDRESS_UNREACHABLE",
            EgressFailure::NoAnswer => "ERR_EMPTY_RESPONSE",
            EgressFailure::Blocked(_) => "ERR_BLOCKED_BY_CLIENT",
        }
    }
}

impl Shared {
    /// Remembers why `dest` was not reached.
    pub(super) fn record_failure(&self, dest: &Destination, failure: EgressFailure) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(dest.origin(), failure);
    }

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
                .map_err(Refused::NotResolved)?
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
