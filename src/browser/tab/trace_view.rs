//! What a trace reads from a page after each step: a JPEG of the viewport, the top
//! document's HTML (open shadow roots included), the values typed into its inputs (to
//! mask the secret ones before the capture), and the page's activity (requests, console
//! messages, uncaught errors) as it happens.
//!
//! Nothing here knows which values are secret: the caller decides from the values, so no
//! secret is ever sent to the page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFailed, EventRequestWillBeSent, EventResponseReceived, RequestId,
};
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams,
};
use chromiumoxide::cdp::js_protocol::runtime::{
    EventConsoleApiCalled, EventExceptionThrown, EventExecutionContextCreated,
};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant};

use super::Tab;
use crate::browser::error::BrowserError;

/// Requests kept between two reads of a [`PageActivity`]; more are counted, not kept.
const MAX_REQUESTS: usize = 500;
/// Console lines kept between two reads.
const MAX_CONSOLE: usize = 200;
/// How long a read waits for the page's new document when a navigation took its context.
const SETTLE: Duration = Duration::from_secs(2);
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

/// Walks the top document and its open shadow roots, in document order, calling `visit`
/// on each element: the same order for [`Tab::typed_values`] and [`Tab::mask_inputs`].
const WALK: &str = r#"
const walk = (root, visit) => {
  for (const el of root.querySelectorAll('*')) {
    visit(el);
    if (el.shadowRoot) walk(el.shadowRoot, visit);
  }
};
const typed = [];
walk(document, (el) => {
  const tag = el.localName;
  const skip = ['hidden', 'checkbox', 'radio', 'submit', 'button', 'image', 'reset', 'file', 'range', 'color'];
  if ((tag === 'input' && !skip.includes(el.type)) || tag === 'textarea') {
    if (el.value) typed.push(el);
  }
});
"#;

impl Tab {
    /// Evaluates `js` in the top document; when a navigation destroyed the context it ran
    /// in (a step that just clicked a link), runs it again in the new document's, until
    /// [`SETTLE`] has passed.
    async fn eval_settled(&self, js: &str) -> Result<Value, BrowserError> {
        let deadline = Instant::now() + SETTLE;
        let mut contexts = self
            .page()
            .event_listener::<EventExecutionContextCreated>()
            .await
            .map_err(|e| self.err(e))?;
        loop {
            match self.eval(js).await {
                Ok(v) => return Ok(v),
                Err(BrowserError::Crashed) => return Err(BrowserError::Crashed),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => {
                    // Bounded: the context may already exist, or the error have another cause.
                    let wait = (deadline - Instant::now()).min(Duration::from_millis(250));
                    let _ = tokio::time::timeout(wait, contexts.next()).await;
                }
            }
        }
    }

    /// A JPEG of the viewport (`quality` 0–100).
    pub async fn screenshot_jpeg(&self, quality: i64) -> Result<Vec<u8>, BrowserError> {
        let params = CaptureScreenshotParams::builder()
            .format(CaptureScreenshotFormat::Jpeg)
            .quality(quality)
            .build();
        let shot = self.page().execute(params).await.map_err(|e| self.err(e))?;
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&shot.result.data)
            .map_err(|e| BrowserError::Cdp(format!("screenshot: {e}")))
    }

    /// The top document's HTML as the DOM holds it now, its open shadow roots written as
    /// declarative shadow DOM. Inputs' typed values are not in it (they are properties,
    /// not attributes).
    pub async fn top_html(&self) -> Result<String, BrowserError> {
        let js = r#"(() => {
  const roots = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) { roots.push(el.shadowRoot); walk(el.shadowRoot); }
    }
  };
  walk(document);
  const dt = document.doctype ? '<!DOCTYPE ' + document.doctype.name + '>\n' : '';
  const top = document.documentElement;
  if (!top) return dt;
  if (!roots.length || !top.getHTML) return dt + top.outerHTML;
  const open = top.cloneNode(false).outerHTML.replace(/<\/html>$/, '');
  return dt + open + top.getHTML({ shadowRoots: roots }) + '</html>';
})()"#;
        Ok(self
            .eval_settled(js)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// The values typed into the top document's text inputs (open shadow roots included),
    /// in document order; one-time-code inputs are reported as `None`: masked whatever
    /// they hold, since a code may be typed one digit per box.
    pub async fn typed_values(&self) -> Result<Vec<Option<String>>, BrowserError> {
        let js = format!(
            "(() => {{ {WALK} return typed.map((el) => \
             (el.autocomplete === 'one-time-code') ? null : String(el.value)); }})()"
        );
        let v = self.eval_settled(&js).await?;
        Ok(v.as_array()
            .map(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default())
    }

    /// Covers the inputs at `indices` of [`Tab::typed_values`] with opaque boxes until
    /// [`Tab::unmask_inputs`]. If the page no longer has `expected` typed inputs (it
    /// changed in between), every typed input is covered.
    pub async fn mask_inputs(
        &self,
        indices: &[usize],
        expected: usize,
    ) -> Result<(), BrowserError> {
        let js = format!(
            r#"(() => {{ {WALK}
  const args = {args};
  const all = typed.length !== args.expected;
  const boxes = [];
  typed.forEach((el, i) => {{
    if (!all && !args.indices.includes(i)) return;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) return;
    const b = document.createElement('div');
    b.style.cssText = 'position:fixed;z-index:2147483647;pointer-events:none;background:#ff00ff;'
      + 'left:' + r.left + 'px;top:' + r.top + 'px;width:' + r.width + 'px;height:' + r.height + 'px';
    document.documentElement.appendChild(b);
    boxes.push(b);
  }});
  globalThis[Symbol.for('gleaner.trace.masks')] = boxes;
  return boxes.length;
}})()"#,
            args = json!({ "indices": indices, "expected": expected })
        );
        self.eval_settled(&js).await.map(|_| ())
    }

    /// Removes the boxes of [`Tab::mask_inputs`].
    pub async fn unmask_inputs(&self) -> Result<(), BrowserError> {
        let js = "(() => { const k = Symbol.for('gleaner.trace.masks'); \
                  for (const b of globalThis[k] || []) b.remove(); delete globalThis[k]; })()";
        self.eval(js).await.map(|_| ())
    }

    /// Starts recording the page's requests, console messages and uncaught errors.
    pub async fn watch_activity(&self) -> Result<PageActivity, BrowserError> {
        let page = self.page();
        let log = Arc::new(Mutex::new(ActivityLog::default()));
        let mut sent = page
            .event_listener::<EventRequestWillBeSent>()
            .await
            .map_err(|e| self.err(e))?;
        let mut received = page
            .event_listener::<EventResponseReceived>()
            .await
            .map_err(|e| self.err(e))?;
        let mut failed = page
            .event_listener::<EventLoadingFailed>()
            .await
            .map_err(|e| self.err(e))?;
        let mut console = page
            .event_listener::<EventConsoleApiCalled>()
            .await
            .map_err(|e| self.err(e))?;
        let mut thrown = page
            .event_listener::<EventExceptionThrown>()
            .await
            .map_err(|e| self.err(e))?;
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
}
