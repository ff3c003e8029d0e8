//! Keeps a tab on the connector's sites. Every request the page makes is paused (CDP
//! `Fetch`) and let through only when its origin is allowed: a logged-in page cannot send the
//! person's data to a tracker or a third-party script's server, and a site that redirects
//! somewhere unexpected stops the collect instead of leading the browser there.
//!
//! An origin is allowed by scheme, host and port, never by host alone: the base URL allows
//! its own scheme and port (and its host's subdomains), a `domains` entry `bank.example`
//! allows that host and its subdomains on the default ports (`https` 443, `http` 80), and
//! `bank.example:8443` on that port only. Private, loopback and link-local addresses (in any
//! spelling the URL parser accepts: `2130706433`, `0x7f.1`, `0177.0.0.1`, `[::ffff:7f00:1]`,
//! and the names `localhost` and `*.localhost`) are refused unless the base URL is itself
//! such an address, so a public site's page cannot reach the machine or its network.
//!
//! `data:` and `blob:` URLs never reach the network, so `Fetch` does not pause them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::fetch::{
    EnableParams, EventRequestPaused, FailRequestParams, RequestPattern, RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use chromiumoxide::cdp::browser_protocol::page::FrameId;
use chromiumoxide::cdp::browser_protocol::target::SessionId;
use futures::StreamExt;
use tokio::task::JoinHandle;
use url::{Host, Url};

use super::fetch_tap;
use super::network_tap::NetworkTap;

/// Which ports an allowed host may be reached on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ports {
    /// The default port of the URL's scheme: 443 for `https`/`wss`, 80 for `http`/`ws`.
    Default,
    /// This port, whatever the scheme.
    Only(u16),
    /// The base URL's: this scheme (`http` or `https`, its WebSocket twin included) and port.
    Origin { secure: bool, port: u16 },
}

/// One allowed host (and its subdomains) with its ports.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    /// Lowercase, as the URL parser writes it (`127.0.0.1`, `[::1]`, `xn--…`).
    host: String,
    ports: Ports,
}

/// A `domains` entry that is not `host` or `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "domain {0:?} must be a host name, optionally with a port, such as bank.example or bank.example:8443"
)]
pub struct BadDomain(pub String);

/// The origins a page may reach: the base URL's, and the connector's `domains`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowList {
    allowed: Vec<Allowed>,
    /// The base URL is itself a private address: the connector targets a local site.
    private_ok: bool,
}

impl HostAllowList {
    /// The base URL's origin (and its host's subdomains), and each `domains` entry. Entries
    /// that do not parse are skipped: the connector check refuses them before a collect.
    pub fn for_collect<I, S>(base_url: &Url, domains: I) -> HostAllowList
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = HostAllowList {
            allowed: Vec::new(),
            private_ok: url_is_private(base_url),
        };
        if let (Some(host), Some(port)) = (base_url.host_str(), base_url.port_or_known_default()) {
            list.push(Allowed {
                host: host.to_ascii_lowercase(),
                ports: Ports::Origin {
                    secure: matches!(base_url.scheme(), "https" | "wss"),
                    port,
                },
            });
        }
        for entry in domains {
            if let Ok(allowed) = parse_domain(entry.as_ref()) {
                list.push(allowed);
            }
        }
        list
    }

    fn push(&mut self, allowed: Allowed) {
        if !self.allowed.contains(&allowed) {
            self.allowed.push(allowed);
        }
    }

    /// The allowed hosts, without ports: whose cookies and storage make a browser session.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for a in &self.allowed {
            let host = a
                .host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        hosts
    }

    /// Whether a page may load `url`. URLs without a host pass only for `about:` and
    /// `data:`/`blob:` (which stay in the browser).
    pub fn permits(&self, url: &Url) -> bool {
        self.refusal(url).is_none()
    }

    pub fn permits_str(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|u| self.permits(&u))
    }

    /// Why `url` is refused, or `None` when it is allowed.
    pub fn refusal(&self, url: &Url) -> Option<BlockKind> {
        let scheme = url.scheme();
        let Some(host) = url.host_str() else {
            return (!matches!(scheme, "about" | "data" | "blob")).then_some(BlockKind::Scheme);
        };
        let secure = match scheme {
            "https" | "wss" => true,
            "http" | "ws" => false,
            _ => return Some(BlockKind::Scheme),
        };
        if !self.private_ok && url_is_private(url) {
            return Some(BlockKind::Private);
        }
        let Some(port) = url.port_or_known_default() else {
            return Some(BlockKind::Scheme);
        };
        let host = host.to_ascii_lowercase();
        let mut host_known = false;
        for a in &self.allowed {
            if !host_matches(&host, &a.host) {
                continue;
            }
            host_known = true;
            let port_ok = match a.ports {
                Ports::Default => port == if secure { 443 } else { 80 },
                Ports::Only(p) => port == p,
                Ports::Origin { secure: s, port: p } => secure == s && port == p,
            };
            if port_ok {
                return None;
            }
        }
        Some(if host_known {
            BlockKind::Port
        } else {
            BlockKind::Host
        })
    }

    /// Whether the base URL is a private address (and other private addresses are then
    /// allowed, when listed).
    pub fn private_ok(&self) -> bool {
        self.private_ok
    }
}

/// Why a request was kept from the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// A host that neither the base URL nor `domains` names.
    Host,
    /// An allowed host, on a port or scheme not allowed.
    Port,
    /// A private, loopback or link-local address, while the base URL is public.
    Private,
    /// A scheme that reaches no allowed origin (`file:`, `ftp:`…).
    Scheme,
    /// A tab the page opened (`window.open`, `target=_blank`), closed before it ran.
    Popup,
    /// A WebSocket to an origin outside the list.
    WebSocket,
}

impl BlockKind {
    /// The `kind` label of `gleaner_guard_blocked_total`.
    pub fn label(self) -> &'static str {
        match self {
            BlockKind::Host => "host",
            BlockKind::Port => "port",
            BlockKind::Private => "private_address",
            BlockKind::Scheme => "scheme",
            BlockKind::Popup => "popup",
            BlockKind::WebSocket => "websocket",
        }
    }
}

/// `host` is `allowed` or one of its subdomains. IP addresses have no subdomains.
fn host_matches(host: &str, allowed: &str) -> bool {
    host == allowed
        || (!is_ip_literal(allowed)
            && host
                .strip_suffix(allowed)
                .is_some_and(|prefix| prefix.ends_with('.')))
}

fn is_ip_literal(host: &str) -> bool {
    host.starts_with('[') || host.parse::<Ipv4Addr>().is_ok()
}

/// Checks the syntax of a `domains` entry: `bank.example`, `bank.example:8443`,
/// `127.0.0.1:4000`, `[::1]:4000`. A leading dot (`.bank.example`) is the same as none.
pub fn check_domain(entry: &str) -> Result<(), BadDomain> {
    parse_domain(entry).map(drop)
}

fn parse_domain(entry: &str) -> Result<Allowed, BadDomain> {
    let bad = || BadDomain(entry.to_string());
    let trimmed = entry.trim().trim_start_matches('.');
    if trimmed.is_empty()
        || trimmed.contains(['/', '\\', '@', '?', '#', ' '])
        || trimmed.contains("://")
    {
        return Err(bad());
    }
    // An explicit port is a number after the host's last colon (outside `[...]`).
    let explicit_port = match trimmed.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && (!host.contains(':') || host.ends_with(']')) => {
            Some(
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(bad)?,
            )
        }
        Some(_) if !trimmed.starts_with('[') => return Err(bad()),
        _ => None,
    };
    let url = Url::parse(&format!("http://{trimmed}/")).map_err(|_| bad())?;
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?;
    Ok(Allowed {
        host: host.to_ascii_lowercase(),
        ports: explicit_port.map_or(Ports::Default, Ports::Only),
    })
}

/// Whether the URL's host is a private, loopback or link-local address, or a name that
/// always means this machine (`localhost`, `*.localhost`).
pub fn url_is_private(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip_is_private(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => ip_is_private(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// 127/8, 10/8, 172.16/12, 192.168/16, 169.254/16, 0/8, ::1, ::, fc00::/7, fe80::/10, and
/// IPv4 addresses mapped or embedded in IPv6 (`::ffff:127.0.0.1`, `::127.0.0.1`).
pub fn ip_is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return ip_is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// The IPv4 address inside `::ffff:a.b.c.d` (mapped) or `::a.b.c.d` (compatible).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    (s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified())
        .then(|| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
}

/// Requests kept from the network: how many, the first few, and the pages the main frame
/// was kept from loading.
#[derive(Debug, Clone, Default)]
pub struct BlockedRequests {
    pub count: u64,
    /// The first [`BlockedRequests::KEPT`] URLs, for logs and error messages.
    pub first: Vec<String>,
    /// Navigations of the main frame blocked, and the last one's URL.
    pub documents: u64,
    pub last_document: Option<String>,
    /// How many of each kind (see [`BlockKind::label`]).
    pub by_kind: std::collections::BTreeMap<&'static str, u64>,
}

impl BlockedRequests {
    pub const KEPT: usize = 20;

    /// Adds `other`'s counts (the egress proxy's to a tab's).
    pub(super) fn merge(&mut self, other: &BlockedRequests) {
        self.count += other.count;
        for (kind, n) in &other.by_kind {
            *self.by_kind.entry(kind).or_insert(0) += n;
        }
        let room = Self::KEPT.saturating_sub(self.first.len());
        self.first.extend(other.first.iter().take(room).cloned());
        self.documents += other.documents;
        if other.last_document.is_some() {
            self.last_document.clone_from(&other.last_document);
        }
    }

    pub(super) fn record(&mut self, url: &str, kind: BlockKind, document: bool) {
        self.count += 1;
        *self.by_kind.entry(kind.label()).or_insert(0) += 1;
        if self.first.len() < Self::KEPT {
            self.first.push(url.to_string());
        }
        if document {
            self.documents += 1;
            self.last_document = Some(url.to_string());
        }
    }
}

pub(super) type BlockedLog = Arc<Mutex<BlockedRequests>>;

/// What a log line may show of a blocked URL: its scheme, host and port, never its path or
/// query, which can carry the person's data.
pub(super) fn loggable_origin(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) if u.host_str().is_some() => u.origin().ascii_serialization(),
        Ok(u) => format!("{}:", u.scheme()),
        Err(_) => "(not a URL)".into(),
    }
}

/// Records a block in `log` and says it in the log, redacted to the origin.
pub(super) fn note_block(log: &BlockedLog, url: &str, kind: BlockKind, document: bool) {
    tracing::info!(
        origin = %loggable_origin(url),
        kind = kind.label(),
        "guard: blocked, outside the connector's domains"
    );
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .record(url, kind, document);
}

/// Starts pausing the page's requests and deciding on each. The returned task ends when
/// the page's event stream does (the tab closed or the browser went away).
pub(super) async fn start(
    page: &Page,
    main_frame: Option<FrameId>,
    allow: HostAllowList,
    log: BlockedLog,
    tap: NetworkTap,
) -> Result<JoinHandle<()>, chromiumoxide::error::CdpError> {
    // Listen before enabling, so the first paused request is not missed.
    let mut paused = page.event_listener::<EventRequestPaused>().await?;
    page.execute(enable_params()).await?;
    let via = fetch_tap::Via {
        page: page.clone(),
        session: None,
    };
    let pending = fetch_tap::Pending::default();
    Ok(tokio::spawn(async move {
        while let Some(event) = paused.next().await {
            decide(
                &via,
                event,
                &allow,
                &log,
                &tap,
                &pending,
                main_frame.as_ref(),
            );
        }
    }))
}

/// `Fetch.enable` for every request, paused before it is sent.
pub(super) fn enable_params() -> EnableParams {
    let pattern = RequestPattern::builder()
        .url_pattern("*")
        .request_stage(RequestStage::Request)
        .build();
    EnableParams::builder().pattern(pattern).build()
}

/// The guard of the tab's cross-site frames, when the network is tapped: each one's
/// session has `Fetch` (enabled as it attaches), and its pauses reach the browser's
/// listeners, not the page's; a pause is this tab's when `session_of` its frame is one of
/// the tab's sessions.
pub(super) async fn start_frames(
    browser: &chromiumoxide::browser::BrowserHandle,
    page: &Page,
    session_of: impl Fn(&FrameId) -> Option<SessionId> + Send + 'static,
    allow: HostAllowList,
    log: BlockedLog,
    tap: NetworkTap,
) -> Result<JoinHandle<()>, chromiumoxide::error::CdpError> {
    let mut paused = browser.event_listener::<EventRequestPaused>().await?;
    let page = page.clone();
    let pending = fetch_tap::Pending::default();
    Ok(tokio::spawn(async move {
        while let Some(event) = paused.next().await {
            let Some(session) = session_of(&event.frame_id) else {
                continue;
            };
            let via = fetch_tap::Via {
                page: page.clone(),
                session: Some(session),
            };
            decide(&via, event, &allow, &log, &tap, &pending, None);
        }
    }))
}

/// Lets a paused request through, taps it, or fails it when its origin is not allowed.
fn decide(
    via: &fetch_tap::Via,
    event: Arc<EventRequestPaused>,
    allow: &HostAllowList,
    log: &BlockedLog,
    tap: &NetworkTap,
    pending: &fetch_tap::Pending,
    main_frame: Option<&FrameId>,
) {
    let (via, tap, pending) = (via.clone(), tap.clone(), pending.clone());
    if fetch_tap::is_response(&event) {
        tokio::spawn(async move {
            fetch_tap::response(&via, &event, &tap, &pending).await;
        });
        return;
    }
    let refusal = Url::parse(&event.request.url)
        .map(|u| allow.refusal(&u))
        .unwrap_or(Some(BlockKind::Scheme));
    if let Some(kind) = refusal {
        let document = matches!(event.resource_type, ResourceType::Document)
            && main_frame == Some(&event.frame_id);
        note_block(log, &event.request.url, kind, document);
    }
    // One task per request: a slow answer must not hold the requests behind it. The answer
    // can fail when the page navigated away meanwhile; nothing to do then.
    tokio::spawn(async move {
        if refusal.is_none() {
            fetch_tap::allowed_request(&via, &event, &tap, &pending).await;
        } else {
            let id = event.request_id.clone();
            let _ = via
                .execute(FailRequestParams::new(id, ErrorReason::BlockedByClient))
                .await;
        }
    });
}

#[cfg(test)]
mod tests;
