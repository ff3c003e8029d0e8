//! What the page looked like after a step: its URL, HTML and a screenshot with the inputs
//! that hold a secret covered. Each part is bounded in time; one that fails or times out
//! is named in `problems` and the others are still taken.

use std::time::Duration;

use crate::browser::Tab;
use crate::secrets::Redactor;

/// A JPEG of modest quality: a trace stays small enough to attach to a bug report.
const JPEG_QUALITY: i64 = 60;
/// Each part of a snapshot gets at most this long.
const PART_TIMEOUT: Duration = Duration::from_secs(3);
/// A page's HTML beyond this is cut.
const MAX_HTML: usize = 4 << 20;

pub struct PageSnapshot {
    pub url: Option<String>,
    pub html: Option<String>,
    pub screenshot: Option<Vec<u8>>,
    pub problems: Vec<String>,
}

impl PageSnapshot {
    /// Reads `tab` now. Texts are redacted with `redactor`.
    pub async fn take(tab: &Tab, redactor: &Redactor) -> PageSnapshot {
        let mut problems = Vec::new();
        let mut part = |what: &str, e: String| problems.push(format!("{what}: {e}"));
        let url = match bounded(tab.url()).await {
            Ok(u) => Some(redactor.redact_encoded(&u)),
            Err(e) => {
                part("url", e);
                None
            }
        };
        let html = match bounded(tab.top_html()).await {
            Ok(mut h) => {
                if let Some((i, _)) = h.char_indices().nth(MAX_HTML) {
                    h.truncate(i);
                    h.push_str("\n<!-- cut by gleaner's trace -->");
                }
                Some(redactor.redact_encoded(&h))
            }
            Err(e) => {
                part("html", e);
                None
            }
        };
        let screenshot = match bounded(masked_screenshot(tab, redactor)).await {
            Ok(shot) => Some(shot),
            Err(e) => {
                part("screenshot", e);
                None
            }
        };
        PageSnapshot {
            url,
            html,
            screenshot,
            problems,
        }
    }
}

async fn bounded<T>(
    work: impl Future<Output = Result<T, crate::browser::BrowserError>>,
) -> Result<T, String> {
    match tokio::time::timeout(PART_TIMEOUT, work).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", PART_TIMEOUT.as_secs())),
    }
}

/// The screenshot, with every input whose value holds a secret (and every one-time-code
/// input) covered by a box, like Playwright's `mask`. The values are read from the page
/// and judged here: no secret is sent to the page.
async fn masked_screenshot(
    tab: &Tab,
    redactor: &Redactor,
) -> Result<Vec<u8>, crate::browser::BrowserError> {
    let typed = tab.typed_values().await?;
    let secret: Vec<usize> = typed
        .iter()
        .enumerate()
        .filter(|(_, v)| v.as_deref().is_none_or(|v| redactor.redact(v) != v))
        .map(|(i, _)| i)
        .collect();
    if secret.is_empty() {
        return tab.screenshot_jpeg(JPEG_QUALITY).await;
    }
    tab.mask_inputs(&secret, typed.len()).await?;
    let shot = tab.screenshot_jpeg(JPEG_QUALITY).await;
    // Left in place, the boxes would cover the inputs in the next screenshot only.
    if let Err(e) = tab.unmask_inputs().await {
        tracing::debug!("trace: could not remove the input masks: {e}");
    }
    shot
}
