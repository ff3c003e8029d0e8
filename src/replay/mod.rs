//! Record a collect once, replay it offline: `gleaner record` and `gleaner test`.
//!
//! - [`matching`]: which recorded exchange answers a request the replayed collect makes
//!   (method, URL with its query sorted, volatile parameters ignored, canonical bodies,
//!   identical requests consumed in order, header overlap breaking ties), and the nearest
//!   candidate when none does.
//! - [`scrub`]: secrets out of a recording before it is written: field values and one-time
//!   codes replaced by stable placeholders in every encoding, cookie and authorization
//!   values replaced.

pub mod matching;
pub mod scrub;

/// A request the replayed collect is about to send (from the browser's `Fetch` pause or
/// from the document downloader), as replay sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRequest {
    pub method: String,
    pub url: String,
    /// As sent, in order; names in any case.
    pub headers: Vec<(String, String)>,
    /// `None` for a request without a body.
    pub body: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests;
