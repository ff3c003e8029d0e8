//! The page's activity as it happens, for traces: its requests (method, URL, type,
//! status or failure) and its console messages and uncaught errors, kept between two
//! reads, bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFailed, EventRequestWillBeSent, EventResponseReceived, RequestId,
};
use chromiumoxide::cdp::js_protocol::runtime::{EventConsoleApiCalled, EventExceptionThrown};
use chromiumoxide::error::CdpError;
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinHandle;

/// Requests kept between two reads of a [`PageActivity`]; more are counted, not kept.
const MAX_REQUESTS: usize = 500;
/// Console lines kept between two reads.
const MAX_CONSOLE: usize = 200;
/// A console line longer than this is cut.
const MAX_CONSOLE_CHARS: usize = 2000;

/// A request the page made.
#[derive(Debug, Clone, Serialize)]
pub struct RequestSeen {
    pub method: String,
    pub url: String,
    /// `Document`, `Script`, `XHR`, `Fetch`…
    pub resource_type: String,
    /// The response's status, once it came.
    pub status: Option<u16>,
    /// Why it failed (`net::ERR_…`), when it did.
    pub failed: Option<String>,
}

/// A console message or an uncaught error of the page.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleLine {
    /// `log`, `warning`, `error`…, or `exception` for an uncaught error.
    pub level: String,
    pub text: String,
}

#[derive(Debug, Default)]
struct ActivityLog {
    requests: Vec<RequestSeen>,
    /// Where each request of `requests` is, to add its response.
    index: HashMap<RequestId, usize>,
    dropped_requests: usize,
    console: Vec<ConsoleLine>,
}

/// The page's requests and console since the last [`PageActivity::take`]. Listens while
/// it lives.
pub struct PageActivity {
    log: Arc<Mutex<ActivityLog>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for PageActivity {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What a [`PageActivity`] saw since it was last read.
#[derive(Debug, Default)]
pub struct Activity {
    pub requests: Vec<RequestSeen>,
    /// Requests beyond [`MAX_REQUESTS`], not kept.
    pub more_requests: usize,
    pub console: Vec<ConsoleLine>,
}

impl PageActivity {
    /// Starts recording `page`'s requests, console messages and uncaught errors.
    pub(super) async fn start(page: &Page) -> Result<PageActivity, CdpError> {
        let log = Arc::new(Mutex::new(ActivityLog::default()));
        let mut sent = page.event_listener::<EventRequestWillBeSent>().await?;
        let mut received = page.event_listener::<EventResponseReceived>().await?;
        let mut failed = page.event_listener::<EventLoadingFailed>().await?;
        let mut console = page.event_listener::<EventConsoleApiCalled>().await?;
        let mut thrown = page.event_listener::<EventExceptionThrown>().await?;
        let l = log.clone();
        let requests = tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(ev) = sent.next() => {
                        let mut log = lock(&l);
                        if log.requests.len() >= MAX_REQUESTS {
                            log.dropped_requests += 1;
                            continue;
                        }
                        let seen = RequestSeen {
                            method: ev.request.method.clone(),
                            url: ev.request.url.clone(),
                            resource_type: ev
                                .r#type
                                .as_ref()
                                .map(|t| t.as_ref().to_string())
                                .unwrap_or_else(|| "Other".into()),
                            status: None,
                            failed: None,
                        };
                        let i = log.requests.len();
                        log.requests.push(seen);
                        log.index.insert(ev.request_id.clone(), i);
                    }
                    Some(ev) = received.next() => {
                        let mut log = lock(&l);
                        if let Some(&i) = log.index.get(&ev.request_id) {
                            log.requests[i].status = Some(ev.response.status as u16);
                        }
                    }
                    Some(ev) = failed.next() => {
                        let mut log = lock(&l);
                        if let Some(&i) = log.index.get(&ev.request_id) {
                            log.requests[i].failed = Some(ev.error_text.clone());
                        }
                    }
                    else => break,
                }
            }
        });
        let l = log.clone();
        let messages = tokio::spawn(async move {
            loop {
                let line = tokio::select! {
                    Some(ev) = console.next() => ConsoleLine {
                        level: ev.r#type.as_ref().to_string(),
                        text: console_text(&ev.args),
                    },
                    Some(ev) = thrown.next() => {
                        let d = &ev.exception_details;
                        let detail = d
                            .exception
                            .as_ref()
                            .and_then(|e| e.description.clone())
                            .unwrap_or_else(|| d.text.clone());
                        ConsoleLine { level: "exception".into(), text: cut(detail) }
                    }
                    else => break,
                };
                let mut log = lock(&l);
                if log.console.len() < MAX_CONSOLE {
                    log.console.push(line);
                }
            }
        });
        Ok(PageActivity {
            log,
            tasks: vec![requests, messages],
        })
    }

    /// What was seen since the last call.
    pub fn take(&self) -> Activity {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.index.clear();
        Activity {
            requests: std::mem::take(&mut log.requests),
            more_requests: std::mem::take(&mut log.dropped_requests),
            console: std::mem::take(&mut log.console),
        }
    }
}

fn lock(log: &Mutex<ActivityLog>) -> std::sync::MutexGuard<'_, ActivityLog> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

/// The text of a console call's arguments, as DevTools would print them (roughly).
fn console_text(args: &[chromiumoxide::cdp::js_protocol::runtime::RemoteObject]) -> String {
    let parts: Vec<String> = args
        .iter()
        .map(|a| match &a.value {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => a
                .description
                .clone()
                .unwrap_or_else(|| format!("{:?}", a.r#type)),
        })
        .collect();
    cut(parts.join(" "))
}

fn cut(mut text: String) -> String {
    if let Some((i, _)) = text.char_indices().nth(MAX_CONSOLE_CHARS) {
        text.truncate(i);
        text.push('…');
    }
    text
}
