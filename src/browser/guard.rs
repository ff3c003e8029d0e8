//! Keeps a tab on the connector's sites. Every request the page makes is paused (CDP
//! `Fetch`) and let through only when its host is allowed: a logged-in page cannot send the
//! person's data to a tracker or a third-party script's server, and a site that redirects
//! somewhere unexpected stops the collect instead of leading the browser there.
//!
//! `data:` and `blob:` URLs never reach the network, so `Fetch` does not pause them.

use std::sync::{Arc, Mutex};

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EnableParams, EventRequestPaused, FailRequestParams, RequestPattern,
    RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use chromiumoxide::cdp::browser_protocol::page::FrameId;
use futures::StreamExt;
use tokio::task::JoinHandle;
use url::Url;

/// The hosts a page may reach: each one and its subdomains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowList {
    hosts: Vec<String>,
}

impl HostAllowList {
    pub fn new<I, S>(hosts: I) -> HostAllowList
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = HostAllowList::default();
        for host in hosts {
            list.add(host.as_ref());
        }
        list
    }

    pub fn add(&mut self, host: &str) {
        let host = host.trim().trim_start_matches('.').to_ascii_lowercase();
        if !host.is_empty() && !self.hosts.contains(&host) {
            self.hosts.push(host);
        }
    }

    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether a page may load `url`. URLs without a host pass only for `about:` and
    /// `data:`/`blob:` (which stay in the browser).
    pub fn permits(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return matches!(url.scheme(), "about" | "data" | "blob");
        };
        let host = host.to_ascii_lowercase();
        self.hosts.iter().any(|allowed| {
            host == *allowed
                || host
                    .strip_suffix(allowed.as_str())
                    .is_some_and(|prefix| prefix.ends_with('.'))
        })
    }

    pub fn permits_str(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|u| self.permits(&u))
    }
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
}

impl BlockedRequests {
    pub const KEPT: usize = 20;

    fn record(&mut self, url: &str, document: bool) {
        self.count += 1;
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

/// Starts pausing the page's requests and deciding on each. The returned task ends when
/// the page's event stream does (the tab closed or the browser went away).
pub(super) async fn start(
    page: &Page,
    main_frame: Option<FrameId>,
    allow: HostAllowList,
    log: BlockedLog,
) -> Result<JoinHandle<()>, chromiumoxide::error::CdpError> {
    // Listen before enabling, so the first paused request is not missed.
    let mut paused = page.event_listener::<EventRequestPaused>().await?;
    let pattern = RequestPattern::builder()
        .url_pattern("*")
        .request_stage(RequestStage::Request)
        .build();
    page.execute(EnableParams::builder().pattern(pattern).build())
        .await?;
    let page = page.clone();
    Ok(tokio::spawn(async move {
        while let Some(event) = paused.next().await {
            let page = page.clone();
            let permitted = allow.permits_str(&event.request.url);
            if !permitted {
                let document = matches!(event.resource_type, ResourceType::Document)
                    && main_frame.as_ref() == Some(&event.frame_id);
                tracing::debug!(url = %event.request.url, "blocked: outside the connector's domains");
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .record(&event.request.url, document);
            }
            // One task per request: a slow answer must not hold the requests behind it.
            // The answer can fail when the page navigated away meanwhile; nothing to do then.
            tokio::spawn(async move {
                let id = event.request_id.clone();
                let _ = if permitted {
                    page.execute(ContinueRequestParams::new(id)).await.map(drop)
                } else {
                    page.execute(FailRequestParams::new(id, ErrorReason::BlockedByClient))
                        .await
                        .map(drop)
                };
            });
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn hosts_and_their_subdomains_pass() {
        let list = HostAllowList::new(["bank.example", ".Static.CDN.example", "127.0.0.1"]);
        assert!(list.permits(&url("https://bank.example/login")));
        assert!(list.permits(&url("https://www.bank.example/")));
        assert!(list.permits(&url("https://img.static.cdn.example/a.png")));
        assert!(list.permits(&url("http://127.0.0.1:8080/")));
        assert!(list.permits(&url("HTTPS://BANK.EXAMPLE/")));
        assert!(list.permits(&url("data:text/plain,hi")));
        assert!(list.permits(&url("about:blank")));
    }

    #[test]
    fn other_hosts_do_not() {
        let list = HostAllowList::new(["bank.example", "127.0.0.1"]);
        assert!(!list.permits(&url("https://evilbank.example/")));
        assert!(!list.permits(&url("https://bank.example.evil.test/")));
        assert!(!list.permits(&url("https://tracker.test/pixel.gif")));
        assert!(!list.permits(&url("http://localhost:8080/")));
        assert!(!list.permits(&url("file:///etc/passwd")));
        assert!(!list.permits_str("not a url"));
    }

    #[test]
    fn the_log_keeps_the_first_urls_and_the_last_document() {
        let mut log = BlockedRequests::default();
        for i in 0..30 {
            log.record(&format!("https://t.test/{i}"), i == 3);
        }
        assert_eq!(log.count, 30);
        assert_eq!(log.documents, 1);
        assert_eq!(log.first.len(), BlockedRequests::KEPT);
        assert_eq!(log.last_document.as_deref(), Some("https://t.test/3"));
    }
}
