//! What a trace reads from a page after each step: a JPEG of the viewport, the top
//! document's HTML (open shadow roots included), the values typed into its inputs (to
//! mask the secret ones before the capture); and the start of the page's activity log
//! (`activity.rs`).
//!
//! Nothing here knows which values are secret: the caller decides from the values, so no
//! secret is ever sent to the page.

use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams,
};
use chromiumoxide::cdp::js_protocol::runtime::EventExecutionContextCreated;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::time::{Duration, Instant};

use super::Tab;
use super::activity::PageActivity;
use crate::browser::error::BrowserError;

/// How long a read waits for the page's new document when a navigation took its context.
const SETTLE: Duration = Duration::from_secs(2);

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
}

impl Tab {
    /// Starts recording the page's requests, console messages and uncaught errors.
    pub async fn watch_activity(&self) -> Result<PageActivity, BrowserError> {
        PageActivity::start(self.page())
            .await
            .map_err(|e| self.err(e))
    }
}
