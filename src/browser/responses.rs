//! The JSON the page's own requests received, for the `capture` step: an API response the
//! page fetched on load often arrives before the step that wants it runs, so the tab
//! records them as they come (CDP `Network.responseReceived`, then the body through
//! `Network.getResponseBody` once `Network.loadingFinished` says it is complete).
//!
//! Only the current main document's responses are kept: a new main-frame document clears
//! the buffer. What is kept is bounded ([`MAX_KEPT`] responses, [`MAX_KEPT_BYTES`] of
//! bodies, [`MAX_BODY`] per body; the oldest go first), so a page that polls an API
//! cannot grow gleaner's memory.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFailed, EventLoadingFinished, EventResponseReceived, GetResponseBodyParams,
    LoaderId, RequestId, ResourceType,
};
use chromiumoxide::cdp::browser_protocol::page::FrameId;
use chromiumoxide::error::CdpError;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::error::without_query;
use crate::duration::format_duration;

/// Responses kept at most (the newest).
pub const MAX_KEPT: usize = 32;
/// Bytes of bodies kept at most, all responses together.
pub const MAX_KEPT_BYTES: usize = 16 << 20;
/// A body larger than this is not read: its response is kept as [`Body::TooLarge`].
pub const MAX_BODY: usize = 8 << 20;
/// Requests whose response came and whose body did not yet: at most this many are followed.
const MAX_PENDING: usize = 256;

/// A response of the page's own requests.
#[derive(Debug, Clone)]
pub struct Response {
    /// Its URL without the query (which may carry tokens): for messages.
    pub shown_url: String,
    /// The full URL, matched against a step's pattern, never logged.
    url: String,
    pub status: u16,
    pub mime_type: String,
    pub body: Body,
    /// The body's size as received, counted against [`MAX_KEPT_BYTES`].
    bytes: usize,
}

#[derive(Debug, Clone)]
pub enum Body {
    Json(Value),
    /// A JSON content type whose body does not parse: the parser's message.
    BadJson(String),
    /// Not a JSON content type: the body is not read.
    NotJson,
    /// Larger than [`MAX_BODY`]: its size in bytes.
    TooLarge(usize),
    /// The browser no longer had it (or never gave it): why.
    Unavailable(String),
}

#[derive(Default)]
struct Kept {
    responses: VecDeque<Response>,
    bytes: usize,
    /// Responses seen, whose body is awaited (request id → response without body).
    pending: HashMap<RequestId, Response>,
    pending_order: VecDeque<RequestId>,
    /// The main frame's current document.
    document: Option<LoaderId>,
}

impl Kept {
    fn clear(&mut self) {
        self.responses.clear();
        self.bytes = 0;
        self.pending.clear();
        self.pending_order.clear();
    }

    fn push(&mut self, response: Response) {
        self.bytes += response.bytes;
        self.responses.push_back(response);
        while self.responses.len() > MAX_KEPT || self.bytes > MAX_KEPT_BYTES {
            match self.responses.pop_front() {
                Some(old) => self.bytes -= old.bytes,
                None => break,
            }
        }
    }

    fn await_body(&mut self, id: RequestId, response: Response) {
        if self.pending_order.len() >= MAX_PENDING
            && let Some(old) = self.pending_order.pop_front()
        {
            self.pending.remove(&old);
        }
        self.pending_order.push_back(id.clone());
        self.pending.insert(id, response);
    }

    fn take_pending(&mut self, id: &RequestId) -> Option<Response> {
        let response = self.pending.remove(id)?;
        self.pending_order.retain(|p| p != id);
        Some(response)
    }
}

/// The tab's recorder of responses. Its task ends when it is dropped.
pub(crate) struct Responses {
    kept: Arc<Mutex<Kept>>,
    /// Bumped at each response kept: a waiting `capture` wakes on it.
    arrivals: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl Drop for Responses {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why [`Responses::take`] gave nothing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "no response whose URL matches {pattern:?} came within {}{}",
        format_duration(*.within),
        seen_text(.seen)
    )]
    Timeout {
        pattern: String,
        within: Duration,
        seen: Vec<String>,
    },
    #[error("the browser is gone")]
    Closed,
}

fn seen_text(seen: &[String]) -> String {
    if seen.is_empty() {
        " (the page's requests received no response since it loaded)".into()
    } else {
        format!(" (responses since the page loaded: {})", seen.join(", "))
    }
}

impl Responses {
    pub(crate) async fn start(page: &Page, main_frame: Option<FrameId>) -> Result<Self, CdpError> {
        let mut received = page.event_listener::<EventResponseReceived>().await?;
        let mut finished = page.event_listener::<EventLoadingFinished>().await?;
        let mut failed = page.event_listener::<EventLoadingFailed>().await?;
        let kept = Arc::new(Mutex::new(Kept::default()));
        let (arrived, arrivals) = watch::channel(0u64);
        let page = page.clone();
        let sink = kept.clone();
        let task = tokio::spawn(async move {
            loop {
                // Biased: a response is always handled before the end of its loading,
                // which the browser sends after it (each listener's queue keeps order).
                tokio::select! {
                    biased;
                    ev = received.next() => match ev {
                        Some(ev) => on_response(&sink, &ev, main_frame.as_ref()),
                        None => break,
                    },
                    ev = finished.next() => match ev {
                        Some(ev) => {
                            let Some(response) = lock(&sink).take_pending(&ev.request_id) else {
                                continue;
                            };
                            let response = with_body(&page, &ev, response).await;
                            lock(&sink).push(response);
                            arrived.send_modify(|n| *n += 1);
                        }
                        None => break,
                    },
                    ev = failed.next() => match ev {
                        Some(ev) => {
                            lock(&sink).take_pending(&ev.request_id);
                        }
                        None => break,
                    },
                }
            }
        });
        Ok(Responses {
            kept,
            arrivals,
            task,
        })
    }

    /// The newest response not taken yet whose full URL `matches`, waiting for one up to
    /// `within`. It is taken (with any older match): the next call waits for a new one.
    pub(crate) async fn take(
        &self,
        matches: impl Fn(&str) -> bool,
        pattern: &str,
        within: Duration,
    ) -> Result<Response, CaptureError> {
        let deadline = Instant::now() + within;
        let mut arrivals = self.arrivals.clone();
        loop {
            arrivals.borrow_and_update();
            {
                let mut kept = lock(&self.kept);
                if let Some(newest) = kept.responses.iter().rposition(|r| matches(&r.url)) {
                    let response = kept.responses[newest].clone();
                    let mut index = 0;
                    let mut freed = 0;
                    kept.responses.retain(|r| {
                        let drop = index <= newest && matches(&r.url);
                        index += 1;
                        if drop {
                            freed += r.bytes;
                        }
                        !drop
                    });
                    kept.bytes -= freed;
                    return Ok(response);
                }
            }
            match tokio::time::timeout_at(deadline, arrivals.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(CaptureError::Closed),
                Err(_) => {
                    let seen = lock(&self.kept)
                        .responses
                        .iter()
                        .map(|r| r.shown_url.clone())
                        .collect();
                    return Err(CaptureError::Timeout {
                        pattern: pattern.to_string(),
                        within,
                        seen,
                    });
                }
            }
        }
    }
}

fn lock(kept: &Mutex<Kept>) -> std::sync::MutexGuard<'_, Kept> {
    kept.lock().unwrap_or_else(|e| e.into_inner())
}

/// A JSON media type: `application/json`, `text/json`, `application/problem+json`...
fn is_json(mime: &str) -> bool {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

fn on_response(kept: &Mutex<Kept>, ev: &EventResponseReceived, main_frame: Option<&FrameId>) {
    let mut kept = lock(kept);
    let in_main_frame = ev.frame_id.is_some() && ev.frame_id.as_ref() == main_frame;
    if ev.r#type == ResourceType::Document && in_main_frame {
        // A new document: what the one before received is not this page's.
        kept.clear();
        kept.document = Some(ev.loader_id.clone());
    } else if in_main_frame
        && kept
            .document
            .as_ref()
            .is_some_and(|doc| *doc != ev.loader_id)
    {
        // A late answer to a request of the document before.
        return;
    }
    if !matches!(
        ev.r#type,
        ResourceType::Xhr | ResourceType::Fetch | ResourceType::Document
    ) {
        return;
    }
    let response = Response {
        shown_url: without_query(&ev.response.url),
        url: ev.response.url.clone(),
        status: ev.response.status as u16,
        mime_type: ev.response.mime_type.clone(),
        body: Body::NotJson,
        bytes: 0,
    };
    kept.await_body(ev.request_id.clone(), response);
}

/// Reads the body of a finished JSON response.
async fn with_body(page: &Page, ev: &EventLoadingFinished, mut response: Response) -> Response {
    if !is_json(&response.mime_type) {
        return response;
    }
    let size = ev.encoded_data_length.max(0.0) as usize;
    if size > MAX_BODY {
        response.body = Body::TooLarge(size);
        return response;
    }
    response.body = match page
        .execute(GetResponseBodyParams::new(ev.request_id.clone()))
        .await
    {
        Ok(answer) => {
            let text = if answer.result.base64_encoded {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(answer.result.body.as_bytes())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            } else {
                answer.result.body.clone()
            };
            // A parsed value takes more memory than its text; the text is a fair measure.
            response.bytes = text.len();
            if text.len() > MAX_BODY {
                response.bytes = 0;
                Body::TooLarge(text.len())
            } else {
                match serde_json::from_str(&text) {
                    Ok(v) => Body::Json(v),
                    Err(e) => Body::BadJson(e.to_string()),
                }
            }
        }
        Err(e) => Body::Unavailable(e.to_string()),
    };
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(is_json("text/json"));
        assert!(!is_json("text/html"));
        assert!(!is_json("application/javascript"));
    }

    fn response(url: &str, bytes: usize) -> Response {
        Response {
            shown_url: url.into(),
            url: url.into(),
            status: 200,
            mime_type: "application/json".into(),
            body: Body::Json(Value::String("x".repeat(bytes))),
            bytes,
        }
    }

    #[test]
    fn the_buffer_keeps_the_newest_within_its_caps() {
        let mut kept = Kept::default();
        for i in 0..MAX_KEPT + 5 {
            kept.push(response(&format!("/r{i}"), 10));
        }
        assert_eq!(kept.responses.len(), MAX_KEPT);
        assert_eq!(kept.responses[0].url, "/r5");
        kept.push(response("/big", MAX_KEPT_BYTES - 100));
        assert!(kept.bytes <= MAX_KEPT_BYTES, "{}", kept.bytes);
        assert_eq!(kept.responses.back().map(|r| r.url.as_str()), Some("/big"));
    }
}
