//! What becomes of the requests a collect makes, beyond the allow-list: nothing more
//! ([`NetworkTap::Live`]); each exchange handed to a recorder as it ends
//! ([`NetworkTap::Record`], `gleaner record`); or each request answered by a responder
//! without reaching the network ([`NetworkTap::Replay`], `gleaner test`).
//!
//! The tap sees what the tabs' `Fetch` guards see: pages, popups, their frames (a cross-site
//! frame's session gets `Fetch` of its own when it attaches), and gleaner's own requests
//! for documents by link. At replay the egress proxy refuses everything, so a request the
//! tap did not see fails instead of reaching the network.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A request as the tap sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    /// As sent, in order. The browser's are those the page set (`Fetch` sees them before
    /// the network stack adds `Cookie`).
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// A response as the tap sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    /// `None`: not available (a redirect, or a body over [`MAX_RECORDED_BODY`]).
    pub body: Option<Vec<u8>>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// The first value of a header, by name case-insensitively.
pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Who made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    /// A page, popup or frame, through the browser.
    Browser,
    /// gleaner, for a document by link (with the browser's cookies).
    Downloader,
}

/// One request and its response.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: HttpRequest,
    pub response: HttpResponse,
    pub started: SystemTime,
    /// From the request to the end of its response.
    pub duration: Duration,
    pub initiator: Initiator,
}

/// Bodies larger than this are recorded without their bytes: a recording is for
/// replaying a site's pages and documents, not for holding a large file in memory.
pub const MAX_RECORDED_BODY: u64 = 64 * 1024 * 1024;

/// Receives each exchange as it ends (`gleaner record`).
pub trait ExchangeSink: Send + Sync + std::fmt::Debug {
    fn exchange(&self, exchange: Exchange);
}

/// Answers requests instead of the network (`gleaner test`).
pub trait Responder: Send + Sync + std::fmt::Debug {
    /// The answer, or `None` when there is none: the request then fails as if the network
    /// had refused it, and the responder keeps the reason for its report.
    fn respond(&self, request: &HttpRequest, initiator: Initiator) -> Option<HttpResponse>;
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub enum NetworkTap {
    #[default]
    Live,
    Record(Arc<dyn ExchangeSink>),
    Replay(Arc<dyn Responder>),
}

impl NetworkTap {
    /// Recording or replaying.
    pub fn is_tapped(&self) -> bool {
        !matches!(self, NetworkTap::Live)
    }

    pub fn is_replay(&self) -> bool {
        matches!(self, NetworkTap::Replay(_))
    }
}
